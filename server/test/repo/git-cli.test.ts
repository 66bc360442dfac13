import { expect } from 'chai';
import { AnvilError } from '@anvil/content-schema';
import {
  commitFiles,
  createAnnotatedTag,
  defaultBranch,
  headCommit,
  isWorkingTreeClean,
  pushTag,
} from '../../src/repo/git-cli.ts';
import { listReleaseTags } from '../../src/repo/release-tags.ts';
import { cleanupGitdirs, gitdir } from '../support/gitdir.ts';

async function rejection(promise: Promise<unknown>): Promise<AnvilError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).to.be.instanceOf(AnvilError);
  return err as AnvilError;
}

describe('git CLI wrappers', () => {
  after(cleanupGitdirs);

  it('creates an annotated release tag on HEAD or a given commit, and never moves one', async () => {
    const repo = await gitdir({ files: { 'a.md': 'a' } });
    const first = await headCommit(repo.dir);
    const second = await repo.commit('b', { 'b.md': 'b' });
    expect(second).to.equal(await repo.revParse('HEAD'));

    const tagObject = await createAnnotatedTag(repo.dir, 'core@1.0.0', 'core 1.0.0', first);
    await createAnnotatedTag(repo.dir, 'core@1.1.0', 'core 1.1.0');
    const { tags } = await listReleaseTags(repo.dir);
    expect(tags).to.deep.equal([
      { name: 'core@1.0.0', set: 'core', version: '1.0.0', commit: first, tagObject },
      { name: 'core@1.1.0', set: 'core', version: '1.1.0', commit: second, tagObject: await repo.revParse('refs/tags/core@1.1.0') },
    ]);
    expect(await repo.git('tag', '-l', '--format=%(contents:subject)', 'core@1.0.0')).to.equal('core 1.0.0');

    const again = await rejection(createAnnotatedTag(repo.dir, 'core@1.0.0', 'again'));
    expect(again.code).to.equal('git.failed');
    expect(again.message).to.contain('already exists');
    expect(await repo.revParse('core@1.0.0^{commit}')).to.equal(first);

    expect((await rejection(createAnnotatedTag(repo.dir, '--delete', 'x'))).code).to.equal('git.failed');
  });

  it('pushes one tag to a remote', async () => {
    const origin = await gitdir({ files: { 'a.md': 'a' } });
    const remote = await origin.bare();
    const work = await origin.clone();
    await work.git('remote', 'set-url', 'origin', remote.dir);
    await createAnnotatedTag(work.dir, 'core@1.0.0', 'release');
    await pushTag(work.dir, 'origin', 'core@1.0.0');
    expect(await remote.revParse('refs/tags/core@1.0.0')).to.equal(await work.revParse('refs/tags/core@1.0.0'));

    const missing = await rejection(pushTag(work.dir, 'origin', 'core@9.9.9'));
    expect(missing.code).to.equal('git.failed');
    expect(missing.message).to.match(/src refspec|does not match/);
  });

  it('commits only the paths given, deletions included, and leaves other changes alone', async () => {
    const repo = await gitdir({ files: { 'prompts/a.md': 'a', 'prompts/old.md': 'old', 'notes.txt': 'n' } });
    await repo.write({ 'prompts/a.md': 'a2', 'prompts/old.md': null, 'prompts/new.md': 'new', 'notes.txt': 'edited' });
    const commit = await commitFiles(repo.dir, 'rollback prompts', ['prompts/a.md', 'prompts/old.md', 'prompts/new.md']);
    expect(commit).to.equal(await repo.revParse('HEAD'));
    expect(await repo.git('show', '--name-status', '--format=%s', 'HEAD')).to.equal(
      'rollback prompts\n\nM\tprompts/a.md\nA\tprompts/new.md\nD\tprompts/old.md',
    );
    expect(await isWorkingTreeClean(repo.dir, ['prompts'])).to.equal(true);
    expect(await isWorkingTreeClean(repo.dir)).to.equal(false);
  });

  it('says whether the working tree is clean, untracked files included', async () => {
    const repo = await gitdir({ files: { 'prompts/a.md': 'a' } });
    expect(await isWorkingTreeClean(repo.dir)).to.equal(true);
    await repo.write({ 'prompts/new/b.md': 'b' });
    expect(await isWorkingTreeClean(repo.dir)).to.equal(false);
    expect(await isWorkingTreeClean(repo.dir, ['other'])).to.equal(true);
  });

  it('finds the default branch: the remote\'s HEAD, else the current branch', async () => {
    const origin = await gitdir({ files: { 'a.md': 'a' } });
    await origin.branch('feature');
    const clone = await origin.clone();
    await clone.checkout('feature');
    expect(await defaultBranch(clone.dir)).to.equal('main');
    expect(await defaultBranch(origin.dir)).to.equal('main');
    await origin.checkout('feature');
    expect(await defaultBranch(origin.dir)).to.equal('feature');
    expect(await defaultBranch((await origin.bare()).dir)).to.equal('feature');

    await origin.git('checkout', '--quiet', '--detach');
    const detached = await rejection(defaultBranch(origin.dir));
    expect(detached.code).to.equal('git.no-default-branch');
    expect(detached.hint).to.contain('defaultBranch');
  });

  it('turns git failures into git.failed with git\'s own message', async () => {
    const empty = await gitdir();
    const err = await rejection(headCommit(empty.dir));
    expect(err.code).to.equal('git.failed');
    expect(err.message).to.contain('rev-parse');
    expect(err.message).to.match(/fatal|Needed a single revision/);
    const nowhere = await rejection(headCommit(empty.path('no-such-folder')));
    expect(nowhere.code).to.equal('git.failed');
  });
});
