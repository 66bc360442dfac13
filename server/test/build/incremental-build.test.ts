/**
 * The per-prompt build cache (issue 13): after a change, only the prompt files whose text or
 * included partials changed are compiled again, and the bundle is byte for byte the one a cold,
 * cache-less, single-thread build gives — whatever the cache holds.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { canonicalJson, verifyBundleIntegrity } from '@anvil/content-schema';
import type { BuildCache, BuildCacheEntry, CachedPack } from '../../src/build/build-cache.ts';
import { buildRelease } from '../../src/build/build-release.ts';
import type { BuildResult } from '../../src/build/build-set.ts';
import { fileBuildCache } from '../../src/build/file-build-cache.ts';
import { formatReleaseMessage } from '../../src/release/release-record.ts';
import { createGitCache, type GitCache } from '../../src/repo/git-cache.ts';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';

const PLAIN = 12;

function files(): Record<string, string> {
  const out: Record<string, string> = {
    'anvil.yaml': 'name: "@acme"\n',
    'prompts/core/set.yaml': 'mode: locked\n',
    'prompts/core/_signature.md': '— The {{company}} team',
    'prompts/onboarding/set.yaml': 'mode: locked\ndependencies:\n  core: ^1.0.0\n',
    'prompts/onboarding/_tip.md': 'Tip: {{> inner}}',
    'prompts/onboarding/_inner.md': 'be brief',
    'prompts/onboarding/_unused.md': 'never included',
    'prompts/onboarding/welcome/message.md': '---\ninput:\n  schema:\n    name: string\n    company: string\n---\nHi {{name}}\n{{> core/signature}}',
    'prompts/onboarding/welcome/message.fr.md': '---\ntags: {locale: fr}\n---\nSalut {{name}}',
    'prompts/onboarding/help/tip.md': '---\ndescription: A tip.\n---\n{{> tip}}',
    'prompts/onboarding/help/maybe.md': 'Before {{#> extra}}no extra yet{{/extra}} after',
  };
  for (let i = 0; i < PLAIN; i++) out[`prompts/onboarding/plain/p${String(i).padStart(2, '0')}.md`] = `---\nmodel: m${i}\n---\nPlain prompt ${i} for {{name}}.`;
  return out;
}
const PROMPT_FILES = PLAIN + 4;

function mapCache(): BuildCache & { store: Map<string, BuildCacheEntry> } {
  const store = new Map<string, BuildCacheEntry>();
  return { store, get: (key) => store.get(key), set: (key, entry) => void store.set(key, entry) };
}

/** A git cache that notes every object whose contents are read. */
function countingGitCache(): GitCache & { reads: string[] } {
  const base = createGitCache();
  const reads: string[] = [];
  return {
    reads,
    forGitDir: (dir) => base.forGitDir(dir),
    blobReader(dir) {
      const reader = base.blobReader(dir)!;
      return { read: (oid) => (reads.push(oid), reader.read(oid)), close: () => reader.close() };
    },
    clear: (dir) => base.clear(dir),
  };
}

async function release(repo: GitDir, set: string, version: string, dependencies: Record<string, string> = {}): Promise<string> {
  const tag = `${set}@${version}`;
  await repo.tag(tag, { message: formatReleaseMessage({ set, version, dependencies }) });
  return tag;
}

async function released(): Promise<GitDir> {
  const repo = await gitdir({ files: files() });
  await release(repo, 'core', '1.0.0');
  await release(repo, 'onboarding', '1.0.0', { core: '1.0.0' });
  return repo;
}

/** What every build must equal: no cache, one thread. */
function cold(repo: GitDir, tag: string): Promise<BuildResult> {
  return buildRelease(repo.dir, tag, { project: 'acme', threads: 1 });
}

async function expectCold(repo: GitDir, tag: string, built: BuildResult): Promise<void> {
  const reference = await cold(repo, tag);
  expect(reference.bundle, `${tag} builds`).to.not.equal(undefined);
  expect(canonicalJson(built.bundle), tag).to.equal(canonicalJson(reference.bundle));
  expect(verifyBundleIntegrity(built.bundle), tag).to.equal(true);
  expect(built.problems, tag).to.deep.equal(reference.problems);
}

describe('incremental builds (per-prompt build cache)', function () {
  after(cleanupGitdirs);

  it('compiles only the changed prompt after a one-prompt change, and reads no other prompt file', async function () {
    const repo = await released();
    const cache = mapCache();
    const first = await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme', buildCache: cache });
    expect(first.compiled).to.equal(PROMPT_FILES);
    await expectCold(repo, 'onboarding@1.0.0', first);

    await repo.commit('shorter', { 'prompts/onboarding/plain/p07.md': '---\nmodel: m7\n---\nShort prompt 7 for {{name}}.' });
    const tag = await release(repo, 'onboarding', '1.0.1', { core: '1.0.0' });
    const git = countingGitCache();
    const next = await buildRelease(repo.dir, tag, { project: 'acme', cache: git, buildCache: cache });
    expect(next.compiled).to.equal(1);
    expect(next.reused).to.equal(false);
    expect(next.bundle!.prompts['plain.p07']!.template).to.equal('Short prompt 7 for {{name}}.');
    await expectCold(repo, tag, next);
    expect(git.reads).to.include(await repo.revParse(`${tag}:prompts/onboarding/plain/p07.md`));
    for (const unchanged of ['plain/p00.md', 'welcome/message.md', 'help/tip.md']) {
      expect(git.reads, unchanged).to.not.include(await repo.revParse(`${tag}:prompts/onboarding/${unchanged}`));
    }

    // The same tree again: nothing compiled, nothing read, same bytes.
    const again = await buildRelease(repo.dir, tag, { project: 'acme', buildCache: cache });
    expect([again.compiled, again.reused]).to.deep.equal([0, true]);
    expect(canonicalJson(again.bundle)).to.equal(canonicalJson(next.bundle));
  });

  it('recompiles the prompts that include a changed partial, directly or through another partial', async function () {
    const repo = await released();
    const cache = mapCache();
    await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme', buildCache: cache });

    // _inner.md is included by _tip.md, which help/tip.md includes.
    await repo.commit('inner', { 'prompts/onboarding/_inner.md': 'be very brief' });
    const inner = await release(repo, 'onboarding', '1.0.1', { core: '1.0.0' });
    const afterInner = await buildRelease(repo.dir, inner, { project: 'acme', buildCache: cache });
    expect(afterInner.compiled).to.equal(1);
    await expectCold(repo, inner, afterInner);

    // A dependency's partial: a new core release, and onboarding pinned to it.
    await repo.commit('signature', { 'prompts/core/_signature.md': '— Cheers, {{company}}' });
    await release(repo, 'core', '1.1.0');
    const repinned = await release(repo, 'onboarding', '1.0.2', { core: '1.1.0' });
    const afterCore = await buildRelease(repo.dir, repinned, { project: 'acme', buildCache: cache });
    expect(afterCore.compiled).to.equal(1); // welcome/message.md; its fr variant includes nothing
    await expectCold(repo, repinned, afterCore);

    // A partial nobody includes changes nothing compiled, but is still checked.
    await repo.commit('unused', { 'prompts/onboarding/_unused.md': 'broken {{#if}}' });
    const broken = await release(repo, 'onboarding', '1.0.3', { core: '1.1.0' });
    const afterUnused = await buildRelease(repo.dir, broken, { project: 'acme', buildCache: cache });
    expect(afterUnused.bundle).to.equal(undefined);
    expect(afterUnused.compiled).to.equal(0);
    expect(afterUnused.problems).to.deep.equal((await cold(repo, broken)).problems);
    expect(afterUnused.problems.map((p) => p.file)).to.deep.equal(['prompts/onboarding/_unused.md']);
  });

  it('recompiles a prompt whose fallback a new partial replaces', async function () {
    const repo = await released();
    const cache = mapCache();
    await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme', buildCache: cache });
    await repo.commit('extra', { 'prompts/onboarding/_extra.md': 'an extra {{name}}' });
    const tag = await release(repo, 'onboarding', '1.0.1', { core: '1.0.0' });
    const built = await buildRelease(repo.dir, tag, { project: 'acme', buildCache: cache });
    expect(built.compiled).to.equal(1); // help/maybe.md
    expect(built.bundle!.partials['extra']).to.equal('an extra {{name}}');
    await expectCold(repo, tag, built);
  });

  it('gives the cold bytes in worker threads, from a Map, and from the cache on disk in a new process', async function () {
    const repo = await released();
    await repo.commit('p03', { 'prompts/onboarding/plain/p03.md': 'Changed {{name}}' });
    const tag = await release(repo, 'onboarding', '1.0.1', { core: '1.0.0' });
    const reference = await cold(repo, tag);

    const threaded = await buildRelease(repo.dir, tag, { project: 'acme', threads: 3 });
    expect(threaded.threads).to.be.within(1, 3); // as many as had time to help
    expect(canonicalJson(threaded.bundle)).to.equal(canonicalJson(reference.bundle));

    const dir = await mkdtemp(path.join(os.tmpdir(), 'anvil-build-cache-'));
    try {
      // `memory: false` reads the disk every time, as a new process (the CLI) does.
      const disk = () => fileBuildCache(dir, { memory: false });
      await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme', buildCache: disk(), threads: 2 });
      const fromDisk = await buildRelease(repo.dir, tag, { project: 'acme', buildCache: disk() });
      expect(fromDisk.compiled).to.equal(1);
      expect(canonicalJson(fromDisk.bundle)).to.equal(canonicalJson(reference.bundle));
      const warm = await buildRelease(repo.dir, tag, { project: 'acme', buildCache: disk() });
      expect([warm.reused, warm.compiled]).to.deep.equal([true, 0]);
      expect(canonicalJson(warm.bundle)).to.equal(canonicalJson(reference.bundle));
      const remembered = await buildRelease(repo.dir, tag, { project: 'acme', buildCache: fileBuildCache(dir) });
      expect(canonicalJson(remembered.bundle)).to.equal(canonicalJson(reference.bundle));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('treats a damaged file in the cache as a miss', async function () {
    const repo = await released();
    await repo.commit('p05', { 'prompts/onboarding/plain/p05.md': 'Changed {{name}}' });
    const tag = await release(repo, 'onboarding', '1.0.1', { core: '1.0.0' });
    const damages: [string, (bytes: Buffer) => Buffer][] = [
      ['truncated', (b) => b.subarray(0, b.length >> 1)],
      ['a byte changed', (b) => Buffer.concat([b.subarray(0, b.length - 3), Buffer.from('X'), b.subarray(b.length - 2)])],
      ['not JSON', () => Buffer.from('{"format":')],
      ['empty', () => Buffer.alloc(0)],
    ];
    for (const [damage, apply] of damages) {
      for (const target of ['onboarding@1.0.0', tag]) {
        const dir = await mkdtemp(path.join(os.tmpdir(), 'anvil-build-cache-'));
        try {
          await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme', buildCache: fileBuildCache(dir, { memory: false }) });
          for (const name of await readdir(dir)) await writeFile(path.join(dir, name), apply(await readFile(path.join(dir, name))));
          const built = await buildRelease(repo.dir, target, { project: 'acme', buildCache: fileBuildCache(dir, { memory: false }) });
          expect(built.compiled, `${damage}, ${target}`).to.equal(PROMPT_FILES);
          await expectCold(repo, target, built);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    }
  });

  // What a Map hands back is what was put in it, and the file cache checks its files' bytes; a
  // cache that hands back entries changed in other ways (say, by code that changed a built
  // bundle in place) is not supported — but entries of the wrong shape still cost only time.
  it('treats an entry of the wrong shape as a miss', async function () {
    const repo = await released();
    await repo.commit('p05', { 'prompts/onboarding/plain/p05.md': 'Changed {{name}}' });
    const tag = await release(repo, 'onboarding', '1.0.1', { core: '1.0.0' });
    const damages: [string, (pack: CachedPack) => void][] = [
      ['a template that is not text', (pack) => {
        for (const compiled of Object.values(pack.prompts)) (compiled as { template: unknown }).template = 42;
      }],
      ['metadata that is not JSON', (pack) => {
        for (const compiled of Object.values(pack.prompts)) (compiled as { metadata: unknown }).metadata = { temperature: Number.NaN };
      }],
      ['prompts missing', (pack) => {
        for (const blob of Object.keys(pack.prompts)) delete pack.prompts[blob];
      }],
    ];
    for (const [damage, apply] of damages) {
      for (const target of ['onboarding@1.0.0', tag]) {
        const cache = mapCache();
        await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme', buildCache: cache });
        // A copy: the bundle built first shares its objects with the cache.
        for (const [key, entry] of cache.store) {
          if (entry.kind !== 'pack') continue;
          const copy = structuredClone(entry);
          apply(copy);
          cache.store.set(key, copy);
        }
        const built = await buildRelease(repo.dir, target, { project: 'acme', buildCache: cache });
        expect(built.problems, `${damage}, ${target}`).to.deep.equal([]);
        await expectCold(repo, target, built);
      }
    }

    // Entries of the wrong kind, and a link to nothing.
    const cache = mapCache();
    await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme', buildCache: cache });
    for (const [key, entry] of cache.store) cache.store.set(key, entry.kind === 'link' ? { kind: 'link', key: 'nothing' } : ({ kind: 'set', prompts: 'no' } as unknown as BuildCacheEntry));
    await expectCold(repo, tag, await buildRelease(repo.dir, tag, { project: 'acme', buildCache: cache }));
    await expectCold(repo, 'onboarding@1.0.0', await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme', buildCache: cache }));
  });
});
