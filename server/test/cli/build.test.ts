/** `anvil build`: head builds of the working tree or a ref, releases built exactly, incremental. */
import { readdir, readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { canonicalJson, validateBundle } from '@anvil/content-schema';
import { buildRelease } from '../../src/build/build-release.ts';
import { cleanupGitdirs, gitdir } from '../support/gitdir.ts';
import { anvil } from './cli-support.ts';

const FILES = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/core/set.yaml': 'mode: locked\n',
  'prompts/core/_signature.md': '— The team',
  'prompts/onboarding/set.yaml': 'dependencies:\n  core: ^1.0.0\n',
  'prompts/onboarding/welcome/message.md': '---\ninput:\n  schema:\n    name: string\n---\nHi {{name}}\n{{> core/signature}}',
};

describe('anvil build', function () {
  after(cleanupGitdirs);

  it('builds the working tree as a head build, to stdout', async function () {
    const repo = await gitdir({ files: FILES });
    await anvil(repo.dir, 'release', 'core');
    const run = await anvil(repo.dir, 'build', 'onboarding');
    expect(run.code, run.stderr).to.equal(0);
    const bundle = JSON.parse(run.stdout);
    expect(validateBundle(bundle).ok).to.equal(true);
    const head = await repo.revParse('HEAD');
    expect(bundle.version).to.equal(`0.0.1-head.1+${head.slice(0, 7)}`);
    expect(bundle).to.include({ stage: 'head', set: 'onboarding', project: 'acme', repository: '@acme' });
    expect(bundle.source.commit).to.equal(head);
    expect(bundle.source.tree).to.equal(await repo.revParse('HEAD:prompts/onboarding'));
    expect(bundle.dependencies).to.deep.equal({ core: '1.0.0' });
  });

  it('marks uncommitted changes in the version and the tree id', async function () {
    const repo = await gitdir({ files: FILES, tags: ['core@1.0.0'] });
    await repo.write({ 'prompts/onboarding/welcome/message.md': 'Changed {{name}}' });
    const bundle = JSON.parse((await anvil(repo.dir, 'build', 'onboarding')).stdout);
    expect(bundle.version).to.match(/^0\.0\.1-head\.1\+[0-9a-f]{7}\.dirty\.[0-9a-f]{7}$/);
    expect(bundle.source.tree).not.to.equal(await repo.revParse('HEAD:prompts/onboarding'));
    expect(bundle.prompts['welcome.message'].template).to.equal('Changed {{name}}');
    // The user's staging area is untouched.
    expect(await repo.git('diff', '--cached', '--name-only')).to.equal('');
  });

  it('numbers head builds after the latest release and along the branch', async function () {
    const repo = await gitdir({ files: FILES, tags: ['core@1.0.0', 'onboarding@1.2.0'] });
    await repo.commit('one', { 'prompts/onboarding/a.md': 'A' });
    await repo.commit('two', { 'prompts/onboarding/b.md': 'B' });
    const bundle = JSON.parse((await anvil(repo.dir, 'build', 'onboarding', '--ref', 'main')).stdout);
    expect(bundle.version).to.equal(`1.2.1-head.3+${(await repo.revParse('main')).slice(0, 7)}`);
  });

  it('builds a release exactly as released, given its version', async function () {
    const repo = await gitdir({ files: FILES });
    await anvil(repo.dir, 'release', 'core');
    await anvil(repo.dir, 'release', 'onboarding');
    await repo.commit('later', { 'prompts/onboarding/welcome/message.md': 'Later' });
    const run = await anvil(repo.dir, 'build', 'onboarding', '--ref', '1.0.0');
    const expected = await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme' });
    expect(run.stdout.trim()).to.equal(canonicalJson(expected.bundle));
    expect(JSON.parse(run.stdout).stage).to.equal('release');
    const unknown = await anvil(repo.dir, 'build', 'onboarding', '--ref', '3.0.0');
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.contain('onboarding has no release 3.0.0').and.contain('1.0.0');
  });

  it('writes every set to --out and does not recompile an unchanged tree', async function () {
    const repo = await gitdir({ files: FILES, tags: ['core@1.0.0'] });
    const out = repo.path('dist');
    const first = await anvil(repo.dir, 'build', '--out', 'dist', '--json');
    expect(first.code, first.stderr).to.equal(0);
    const summary = JSON.parse(first.stdout);
    expect(summary.bundles.map((b: { set: string; reused: boolean }) => [b.set, b.reused])).to.deep.equal([['core', false], ['onboarding', false]]);
    expect((await readdir(out)).sort()).to.have.length(2);

    const second = JSON.parse((await anvil(repo.dir, 'build', '--out', 'dist', '--json')).stdout);
    expect(second.bundles.map((b: { reused: boolean }) => b.reused)).to.deep.equal([true, true]);
    const file = second.bundles[1].file as string;
    expect(await readFile(file, 'utf8')).to.equal(`${canonicalJson(JSON.parse(await readFile(file, 'utf8')))}\n`);
  });

  it('reports errors as file:line:col on stderr, exits 1, and writes nothing for that set', async function () {
    const repo = await gitdir({ files: FILES, tags: ['core@1.0.0'] });
    await repo.write({ 'prompts/onboarding/welcome/message.md': '{{#each x}}' });
    const run = await anvil(repo.dir, 'build', 'onboarding');
    expect(run.code).to.equal(1);
    expect(run.stdout).to.equal('');
    expect(run.stderr).to.contain('prompts/onboarding/welcome/message.md:1:1  template.unclosed-block');
  });

  it('explains that a bundle needs a commit', async function () {
    const repo = await gitdir();
    await repo.write(FILES);
    const run = await anvil(repo.dir, 'build', 'core');
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain('build.no-commit');
  });
});
