import { expect } from 'chai';
import { AnvilError } from '@anvil/content-schema';
import { createGitCache } from '../../src/repo/git-cache.ts';
import { gitDateToIso, openGitSnapshot } from '../../src/repo/git-snapshot.ts';
import type { RepoSnapshot } from '../../src/repo/snapshot.ts';
import { openWorkingTree } from '../../src/repo/working-tree.ts';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';

const V1 = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/core/set.yaml': 'name: core\n',
  'prompts/core/_signature.md': '-- Acme\n',
  'prompts/core/tone/formal.md': '---\ndescription: formal\n---\nDear {{name}},\n',
  'prompts/onboarding/set.yaml': 'name: onboarding\ndependencies:\n  core: ^1.0.0\n',
  'prompts/onboarding/welcome/message.md': 'Welcome {{name}}\n',
  'prompts/onboarding/welcome/message.fr.md': 'Bienvenue {{name}} ✨\n',
  'prompts/a.b/x.md': 'sorts between a.b and a/b in git, not here\n',
  'prompts/a.md': 'a\n',
};

/** Every file of a snapshot with its text, as a plain object. */
async function contents(snapshot: RepoSnapshot, dir = ''): Promise<Record<string, string | undefined>> {
  const files = await snapshot.listFiles(dir);
  return Object.fromEntries(await Promise.all(files.map(async (f) => [f, await snapshot.readText(f)] as const)));
}

describe('openGitSnapshot', () => {
  let repo: GitDir;
  let v1: string;
  let v2: string;

  before(async () => {
    repo = await gitdir({ files: V1, tags: ['core@1.0.0', 'onboarding@1.0.0'] });
    v1 = await repo.revParse('HEAD');
    await repo.tag('light', { lightweight: true });
    v2 = await repo.commit('reword welcome', {
      'prompts/onboarding/welcome/message.md': 'Welcome aboard {{name}}\n',
      'prompts/onboarding/error/not_found.md': 'Not found\n',
      'prompts/a.md': null,
    });
    await repo.tag('onboarding@1.1.0-rc.1+build.7');
  });

  after(cleanupGitdirs);

  it('reads the same files and contents as the working tree at the same commit', async () => {
    const fromGit = await openGitSnapshot(repo.dir, 'HEAD');
    const fromDisk = openWorkingTree(repo.dir);
    expect(await fromGit.listFiles('')).to.deep.equal(await fromDisk.listFiles(''));
    expect(await contents(fromGit)).to.deep.equal(await contents(fromDisk));
    expect(await fromGit.listFiles('prompts/onboarding')).to.deep.equal(await fromDisk.listFiles('prompts/onboarding'));
  });

  it('reads a tag without checking it out, while the working tree has moved on', async () => {
    const snapshot = await openGitSnapshot(repo.dir, 'onboarding@1.0.0');
    expect(await snapshot.readText('prompts/onboarding/welcome/message.md')).to.equal('Welcome {{name}}\n');
    expect(await snapshot.readText('prompts/onboarding/error/not_found.md')).to.equal(undefined);
    expect(await snapshot.readText('prompts/a.md')).to.equal('a\n');
    expect(await contents(snapshot)).to.deep.equal(V1);
    // Still the new content on disk, and no checkout happened.
    expect(await openWorkingTree(repo.dir).readText('prompts/onboarding/welcome/message.md')).to.equal('Welcome aboard {{name}}\n');
    expect(await repo.git('status', '--porcelain')).to.equal('');
    expect(await repo.git('symbolic-ref', '--short', 'HEAD')).to.equal('main');
  });

  it('describes where the files came from: commit, ref, tag and committer date', async () => {
    const annotated = await openGitSnapshot(repo.dir, 'core@1.0.0');
    expect(annotated.source).to.deep.equal({ commit: v1, ref: 'core@1.0.0', tag: 'core@1.0.0', committedAt: '2024-01-01T00:01:00Z' });
    expect(annotated.label).to.equal(`core@1.0.0 (${v1.slice(0, 7)})`);

    const lightweight = await openGitSnapshot(repo.dir, 'light');
    expect(lightweight.source).to.include({ commit: v1, tag: 'light' });

    const prerelease = await openGitSnapshot(repo.dir, 'refs/tags/onboarding@1.1.0-rc.1+build.7');
    expect(prerelease.source).to.include({ commit: v2, tag: 'onboarding@1.1.0-rc.1+build.7' });

    const branch = await openGitSnapshot(repo.dir, 'main');
    expect(branch.source).to.deep.equal({ commit: v2, ref: 'main', committedAt: '2024-01-01T00:05:00Z' });
    expect(branch.label).to.equal(`main (${v2.slice(0, 7)})`);
  });

  it('reads full and abbreviated commit ids', async () => {
    const full = await openGitSnapshot(repo.dir, v1);
    expect(full.source).to.deep.equal({ commit: v1, ref: v1, committedAt: '2024-01-01T00:01:00Z' });
    expect(full.label).to.equal(v1.slice(0, 7));
    const short = await openGitSnapshot(repo.dir, v1.slice(0, 9).toUpperCase());
    expect(short.source.commit).to.equal(v1);
    expect(await short.readText('prompts/a.md')).to.equal('a\n');
  });

  it('keeps the committer\'s own time zone in committedAt', async () => {
    const zoned = await gitdir({ commits: [{ files: { 'a.md': 'a' }, date: '2024-05-01T12:30:00+05:45' }] });
    const snapshot = await openGitSnapshot(zoned.dir, 'main');
    expect(snapshot.source.committedAt).to.equal('2024-05-01T12:30:00+05:45');
    expect(gitDateToIso(Date.parse('2024-05-01T12:30:00Z') / 1000, 180)).to.equal('2024-05-01T09:30:00-03:00');
  });

  it('reads a bare repository', async () => {
    const bare = await repo.bare();
    const snapshot = await openGitSnapshot(bare.dir, 'onboarding@1.0.0');
    expect(await contents(snapshot)).to.deep.equal(V1);
    expect((await openGitSnapshot(bare.dir, 'HEAD')).source.commit).to.equal(v2);
  });

  it('gives a directory\'s tree id: stable while its files are, new when one changes', async () => {
    const before = await openGitSnapshot(repo.dir, 'onboarding@1.0.0');
    const after = await openGitSnapshot(repo.dir, 'main');
    const core = await before.treeId('prompts/core');
    expect(core).to.match(/^[0-9a-f]{40}$/);
    expect(await after.treeId('prompts/core/')).to.equal(core);
    expect(await after.treeId('prompts/onboarding')).to.not.equal(await before.treeId('prompts/onboarding'));
    expect(core).to.equal(await repo.git('rev-parse', 'onboarding@1.0.0:prompts/core'));
    expect(await before.treeId('')).to.equal(await repo.git('rev-parse', 'onboarding@1.0.0^{tree}'));
    expect(await before.treeId('prompts/missing')).to.equal(undefined);
    expect(await before.treeId('prompts/a.md')).to.equal(undefined);
  });

  it('lists nothing for a missing folder, a file or a path that climbs out', async () => {
    const snapshot = await openGitSnapshot(repo.dir, 'main');
    expect(await snapshot.listFiles('prompts/missing')).to.deep.equal([]);
    expect(await snapshot.listFiles('anvil.yaml')).to.deep.equal([]);
    expect(await snapshot.listFiles('prompts/..')).to.deep.equal([]);
    expect(await snapshot.readText('prompts/../anvil.yaml')).to.equal(undefined);
    expect(await snapshot.readText('prompts/core')).to.equal(undefined);
  });

  it('returns a fresh list each time, so callers cannot spoil the memoised one', async () => {
    const snapshot = await openGitSnapshot(repo.dir, 'main');
    const first = await snapshot.listFiles('prompts');
    first.length = 0;
    expect(await snapshot.listFiles('prompts')).to.have.length.greaterThan(0);
  });

  it('skips symbolic links, as the working tree does', async () => {
    const linked = await gitdir({ files: { 'prompts/x.md': 'x', 'prompts/y.md': { symlink: 'x.md' }, 'prompts/up.md': { symlink: '../../etc/passwd' } } });
    const snapshot = await openGitSnapshot(linked.dir, 'main');
    expect(await snapshot.listFiles('')).to.deep.equal(['prompts/x.md']);
    expect(await snapshot.readText('prompts/y.md')).to.equal(undefined);
    expect(await openWorkingTree(linked.dir).listFiles('')).to.deep.equal(['prompts/x.md']);
  });

  it('refuses an unknown ref with git.unknown-ref, naming branches and tags that exist', async () => {
    const error = await openGitSnapshot(repo.dir, 'onboarding@9.9.9').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).to.be.instanceOf(AnvilError);
    const anvilError = error as AnvilError;
    expect(anvilError.code).to.equal('git.unknown-ref');
    expect(anvilError.message).to.contain('"onboarding@9.9.9"');
    expect(anvilError.hint).to.contain('branches: main');
    // Tags of the same set come first: they are the likely ones.
    expect(anvilError.hint).to.match(/tags: onboarding@1\.0\.0, onboarding@1\.1\.0-rc\.1\+build\.7, core@1\.0\.0/);
    expect(anvilError.details).to.include({ ref: 'onboarding@9.9.9' });
  });

  it('suggests the closest ref, and refuses names that are not refs at all', async () => {
    const typo = await openGitSnapshot(repo.dir, 'mian').catch((err: unknown) => err);
    expect(typo).to.be.instanceOf(AnvilError).with.property('code', 'git.unknown-ref');
    expect((typo as AnvilError).hint).to.contain('did you mean "main"?');
    for (const ref of ['../../config', 'HEAD~1', '', '-x', 'deadbeef', '0'.repeat(40)]) {
      const err = await openGitSnapshot(repo.dir, ref).catch((e: unknown) => e);
      expect(err, ref).to.be.instanceOf(AnvilError).with.property('code', 'git.unknown-ref');
    }
  });

  it('reads a linked worktree, whose HEAD is its own', async () => {
    const worktree = `${repo.dir}-worktree`;
    await repo.git('worktree', 'add', '--quiet', '--detach', worktree, 'core@1.0.0');
    try {
      expect((await openGitSnapshot(worktree, 'HEAD')).source.commit).to.equal(v1);
      expect((await openGitSnapshot(worktree, 'main')).source.commit).to.equal(v2);
    } finally {
      await repo.git('worktree', 'remove', '--force', worktree);
    }
  });

  it('refuses a folder that is not a git repository', async () => {
    const err = await openGitSnapshot(repo.path('prompts'), 'main').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AnvilError).with.property('code', 'git.not-a-repository');
  });

  it('shares one pack cache per repository across snapshots', async () => {
    const packed = await repo.bare();
    await packed.git('gc', '--quiet');
    const cache = createGitCache();
    const a = await openGitSnapshot(packed.dir, 'core@1.0.0', { cache });
    expect(await a.readText('prompts/core/set.yaml')).to.equal('name: core\n');
    const shared = cache.forGitDir(packed.dir);
    expect(Object.getOwnPropertySymbols(shared)).to.have.length.greaterThan(0);
    const b = await openGitSnapshot(packed.dir, 'main', { cache });
    expect(await b.readText('prompts/onboarding/error/not_found.md')).to.equal('Not found\n');
    expect(cache.forGitDir(packed.dir)).to.equal(shared);
    cache.clear(packed.dir);
    expect(cache.forGitDir(packed.dir)).to.not.equal(shared);
  });
});
