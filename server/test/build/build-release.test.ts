/**
 * The same release built twice — later, after its dependency has a newer release, and from
 * another clone ("another machine") — gives byte-identical bundles.
 */
import { expect } from 'chai';
import { canonicalJson } from '@anvil/content-schema';
import { buildRelease } from '../../src/build/build-release.ts';
import { formatReleaseMessage } from '../../src/release/release-record.ts';
import { cleanupGitdirs, gitdir } from '../support/gitdir.ts';

const FILES = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/core/set.yaml': 'mode: locked\n',
  'prompts/core/_signature.md': '— The {{company}} team',
  'prompts/onboarding/set.yaml': 'mode: locked\ndependencies:\n  core: ^1.0.0\n',
  'prompts/onboarding/welcome/message.md': '---\ninput:\n  schema:\n    name: string\n    company: string\n---\nHi {{name}}\n{{> core/signature}}',
};

describe('building a release from git', function () {
  after(cleanupGitdirs);

  it('is byte-identical later, after newer dependency releases, and on another clone', async function () {
    const repo = await gitdir({ files: FILES });
    await repo.tag('core@1.0.0', { message: formatReleaseMessage({ set: 'core', version: '1.0.0', dependencies: {} }) });
    await repo.tag('onboarding@1.0.0', { message: formatReleaseMessage({ set: 'onboarding', version: '1.0.0', dependencies: { core: '1.0.0' } }) });

    const first = await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme' });
    expect(first.problems).to.deep.equal([]);
    expect(first.bundle!.dependencies).to.deep.equal({ core: '1.0.0' });
    expect(first.bundle!.source.tag).to.equal('onboarding@1.0.0');

    // The world moves on: core changes and is released as 1.1.0, onboarding changes too.
    await repo.commit('new signature', { 'prompts/core/_signature.md': '— Cheers, {{company}}' });
    await repo.tag('core@1.1.0', { message: formatReleaseMessage({ set: 'core', version: '1.1.0', dependencies: {} }) });
    await repo.commit('edit welcome', { 'prompts/onboarding/welcome/message.md': 'Changed {{name}}' });

    const later = await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme' });
    const elsewhere = await buildRelease((await repo.bare()).dir, 'onboarding@1.0.0', { project: 'acme' });
    expect(canonicalJson(later.bundle)).to.equal(canonicalJson(first.bundle));
    expect(canonicalJson(elsewhere.bundle)).to.equal(canonicalJson(first.bundle));
  });

  it('names the releases that exist when asked for one that does not', async function () {
    const repo = await gitdir({ files: FILES, tags: ['core@1.0.0'] });
    try {
      await buildRelease(repo.dir, 'core@9.9.9', { project: 'acme' });
      expect.fail('expected an error');
    } catch (err) {
      expect(err).to.have.property('code', 'release.unknown');
      expect(err).to.have.property('hint').that.includes('1.0.0');
    }
  });
});
