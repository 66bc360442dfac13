/**
 * The same release built twice — later, after its dependency has a newer release, and from
 * another clone ("another machine") — gives byte-identical bundles.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { canonicalJson } from '@anvil/content-schema';
import type { BuildCache, BuildCacheEntry } from '../../src/build/build-cache.ts';
import { buildRelease } from '../../src/build/build-release.ts';
import { fileBuildCache } from '../../src/build/file-build-cache.ts';
import { formatReleaseMessage } from '../../src/release/release-record.ts';
import { createGitCache, type GitCache } from '../../src/repo/git-cache.ts';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';

const FILES = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/core/set.yaml': 'mode: locked\n',
  'prompts/core/_signature.md': '— The {{company}} team',
  'prompts/onboarding/set.yaml': 'mode: locked\ndependencies:\n  core: ^1.0.0\n',
  'prompts/onboarding/welcome/message.md': '---\ninput:\n  schema:\n    name: string\n    company: string\n---\nHi {{name}}\n{{> core/signature}}',
};

/** A git cache that notes every object whose contents are read. */
function countingGitCache(): GitCache & { reads: string[] } {
  const base = createGitCache();
  const reads: string[] = [];
  return {
    reads,
    forGitDir: (gitdir) => base.forGitDir(gitdir),
    blobReader(gitdir) {
      const reader = base.blobReader(gitdir)!;
      return {
        read: (oid) => {
          reads.push(oid);
          return reader.read(oid);
        },
        close: () => reader.close(),
      };
    },
    clear: (gitdir) => base.clear(gitdir),
  };
}

function mapCache(): BuildCache & { store: Map<string, BuildCacheEntry>; sets: () => number } {
  const store = new Map<string, BuildCacheEntry>();
  return {
    store,
    sets: () => [...store.values()].filter((e) => e.kind === 'set').length,
    get: (key) => store.get(key),
    set: (key, entry) => void store.set(key, entry),
  };
}

/** core@1.0.0, onboarding@1.0.0 (pinned to core 1.0.0), and a prompt in core that onboarding never needs. */
async function released(): Promise<GitDir> {
  const repo = await gitdir({ files: { ...FILES, 'prompts/core/tone/formal.md': 'Dear {{name}},' } });
  await repo.tag('core@1.0.0', { message: formatReleaseMessage({ set: 'core', version: '1.0.0', dependencies: {} }) });
  await repo.tag('onboarding@1.0.0', { message: formatReleaseMessage({ set: 'onboarding', version: '1.0.0', dependencies: { core: '1.0.0' } }) });
  return repo;
}

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

  it('rebuilds from the build cache without reading a prompt file, byte-identical to a cold build', async function () {
    const repo = await released();
    const cold = await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme' });

    const git = countingGitCache();
    const cache = mapCache();
    const first = await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme', cache: git, buildCache: cache });
    const message = await repo.revParse('onboarding@1.0.0:prompts/onboarding/welcome/message.md');
    const signature = await repo.revParse('core@1.0.0:prompts/core/_signature.md');
    const formal = await repo.revParse('core@1.0.0:prompts/core/tone/formal.md');
    expect(first.reused).to.equal(false);
    // Cold: the set's prompts and the dependency's partials, never another set's prompts.
    expect(git.reads).to.include.members([message, signature]);
    expect(git.reads).to.not.include(formal);
    expect(cache.sets()).to.equal(1);

    git.reads.length = 0;
    const warm = await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme', cache: git, buildCache: cache });
    expect(warm.reused).to.equal(true);
    expect(git.reads).to.not.include(message);
    expect(git.reads).to.not.include(signature);
    expect(canonicalJson(warm.bundle)).to.equal(canonicalJson(cold.bundle));
    expect(canonicalJson(first.bundle)).to.equal(canonicalJson(cold.bundle));
    expect(warm.problems).to.deep.equal(cold.problems);
  });

  it('is byte-identical from the CLI\'s cache on disk, which hands back copies', async function () {
    const repo = await released();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'anvil-build-cache-'));
    try {
      const cold = await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme', buildCache: fileBuildCache(dir) });
      const warm = await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme', buildCache: fileBuildCache(dir) });
      expect([cold.reused, warm.reused]).to.deep.equal([false, true]);
      expect(canonicalJson(warm.bundle)).to.equal(canonicalJson(cold.bundle));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('compiles again when the tree or the pinned dependencies differ, and never caches an unread set', async function () {
    const repo = await released();
    const cache = mapCache();
    await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme', buildCache: cache });

    // Same onboarding tree, pinned to another core: another key.
    await repo.commit('new signature', { 'prompts/core/_signature.md': '— Cheers, {{company}}' });
    await repo.tag('core@1.1.0', { message: formatReleaseMessage({ set: 'core', version: '1.1.0', dependencies: {} }) });
    await repo.tag('onboarding@1.0.1', { message: formatReleaseMessage({ set: 'onboarding', version: '1.0.1', dependencies: { core: '1.1.0' } }) });
    const repinned = await buildRelease(repo.dir, 'onboarding@1.0.1', { project: 'acme', buildCache: cache });
    expect(repinned.reused).to.equal(false);

    // Same dependencies, another tree.
    await repo.commit('edit welcome', { 'prompts/onboarding/welcome/message.md': 'Changed {{name}}' });
    await repo.tag('onboarding@1.0.2', { message: formatReleaseMessage({ set: 'onboarding', version: '1.0.2', dependencies: { core: '1.1.0' } }) });
    const edited = await buildRelease(repo.dir, 'onboarding@1.0.2', { project: 'acme', buildCache: cache });
    expect(edited.reused).to.equal(false);
    expect(edited.bundle!.prompts['welcome.message']!.template).to.equal('Changed {{name}}');

    // Every cached content is a real compilation: each warm rebuild equals its cold build.
    for (const tag of ['onboarding@1.0.0', 'onboarding@1.0.1', 'onboarding@1.0.2']) {
      const warm = await buildRelease(repo.dir, tag, { project: 'acme', buildCache: cache });
      const cold = await buildRelease(repo.dir, tag, { project: 'acme' });
      expect(warm.reused, tag).to.equal(true);
      expect(canonicalJson(warm.bundle), tag).to.equal(canonicalJson(cold.bundle));
    }
    expect(cache.sets()).to.equal(3);
  });

  it('reports a set missing at its tag the same way, with or without a build cache', async function () {
    const repo = await released();
    await repo.tag('other@1.0.0', { message: formatReleaseMessage({ set: 'other', version: '1.0.0', dependencies: {} }) });
    const plain = await buildRelease(repo.dir, 'other@1.0.0', { project: 'acme' });
    const cached = await buildRelease(repo.dir, 'other@1.0.0', { project: 'acme', buildCache: mapCache() });
    expect(plain.bundle).to.equal(undefined);
    expect(plain.problems.map((p) => p.code)).to.deep.equal(['build.unknown-set']);
    expect(cached).to.deep.equal(plain);
  });
});
