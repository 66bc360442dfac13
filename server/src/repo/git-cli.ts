/**
 * The few git operations that go through the git CLI (via simple-git) rather than
 * isomorphic-git: those that write (tags, commits, pushes), because they must honour the
 * user's git configuration (identity, signing, hooks, credentials) exactly as `git` would,
 * and those that ask about the working tree, where git's index and ignore rules are the truth.
 * Reading files at a ref is git-snapshot.ts (trees in-process, contents via git-blob-reader.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { simpleGit } from 'simple-git';
import { AnvilError } from '@anvil/content-schema';
import { isValidRefName } from './resolve-ref.ts';

const execFileAsync = promisify(execFile);

/**
 * Creates the annotated tag `name` on `commit` (default HEAD) with `message`, as the user
 * (their identity, their `tag.gpgSign`). Returns the tag object's id. An existing tag is never
 * moved: git refuses, and that refusal is an AnvilError `git.failed`.
 */
export async function createAnnotatedTag(repoDir: string, name: string, message: string, commit = 'HEAD'): Promise<string> {
  checkRefName(name, 'tag name');
  await git(repoDir, ['tag', '--annotate', `--message=${message}`, '--end-of-options', name, commit]);
  return (await git(repoDir, ['rev-parse', '--verify', '--end-of-options', `refs/tags/${name}`])).trim();
}

/**
 * Pushes one tag to `remote`, by its full name so that a branch called the same cannot be
 * pushed instead. A tag that already exists on the remote with another value is refused.
 */
export async function pushTag(repoDir: string, remote: string, name: string): Promise<void> {
  checkRefName(name, 'tag name');
  if (remote.startsWith('-')) throw new AnvilError('git.failed', `"${remote}" is not a remote`, { details: { remote } });
  await git(repoDir, ['push', '--quiet', '--end-of-options', remote, `refs/tags/${name}:refs/tags/${name}`]);
}

/**
 * Stages exactly `paths` (additions, changes and deletions) and commits only them, leaving
 * anything else the user had staged alone. Returns the new commit id.
 */
export async function commitFiles(repoDir: string, message: string, paths: readonly string[]): Promise<string> {
  // Without paths `git commit` would commit whatever happens to be staged.
  if (paths.length === 0) throw new Error('commitFiles needs at least one path');
  // Literal pathspecs: a prompt file named "*.md" or ":(glob)x" means that file, not a pattern.
  await git(repoDir, ['--literal-pathspecs', 'add', '--all', '--', ...paths]);
  await git(repoDir, ['--literal-pathspecs', 'commit', '--quiet', `--message=${message}`, '--', ...paths]);
  return headCommit(repoDir);
}

/** The commit id HEAD points to. */
export async function headCommit(repoDir: string): Promise<string> {
  return (await git(repoDir, ['rev-parse', '--verify', 'HEAD^{commit}'])).trim();
}

/**
 * The default branch (DESIGN §4): the remote's HEAD when there is a remote (`origin`, else the
 * first), else the current branch. The remote's HEAD is read locally from
 * `refs/remotes/<remote>/HEAD`, which `git clone` records; nothing goes to the network, so a
 * repository whose remote was added by hand falls back to its current branch until
 * `git remote set-head origin --auto` is run. In a bare mirror HEAD is the remote's HEAD.
 */
export async function defaultBranch(repoDir: string): Promise<string> {
  const remotes = (await git(repoDir, ['remote'])).split('\n').map((r) => r.trim()).filter(Boolean);
  const remote = remotes.includes('origin') ? 'origin' : remotes[0];
  if (remote !== undefined) {
    const prefix = `refs/remotes/${remote}/`;
    const remoteHead = await gitOrUndefined(repoDir, ['symbolic-ref', '--quiet', `${prefix}HEAD`]);
    if (remoteHead?.startsWith(prefix)) return remoteHead.slice(prefix.length);
  }
  const current = await gitOrUndefined(repoDir, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
  if (current) return current;
  throw new AnvilError('git.no-default-branch', `cannot tell the default branch of ${repoDir}: HEAD is detached and no remote names one`, {
    hint: 'set defaultBranch in anvil.yaml, or check out the default branch',
    details: { repoDir },
  });
}

/**
 * True when git sees no change at all, staged, unstaged or untracked (ignored files aside),
 * in the whole working tree or, with `paths`, below those paths.
 */
export async function isWorkingTreeClean(repoDir: string, paths: readonly string[] = []): Promise<boolean> {
  const args = ['--literal-pathspecs', 'status', '--porcelain', '--untracked-files=all'];
  if (paths.length > 0) args.push('--', ...paths);
  return (await git(repoDir, args)).trim() === '';
}

/** Runs git in `repoDir`; a failure becomes an AnvilError `git.failed` carrying git's stderr. */
async function git(repoDir: string, args: string[]): Promise<string> {
  try {
    // simple-git checks the folder when the instance is made, hence inside the try.
    return await simpleGit({ baseDir: repoDir, trimmed: false }).raw(args);
  } catch (err) {
    const stderr = err instanceof Error ? err.message.trim() : String(err);
    // The command, not every argument: a tag message may be a whole page of release notes.
    const command = args.find((a) => !a.startsWith('-')) ?? '';
    throw new AnvilError('git.failed', `git ${command} failed in ${repoDir}: ${stderr}`, {
      cause: err,
      details: { repoDir, args },
    });
  }
}

async function gitOrUndefined(repoDir: string, args: string[]): Promise<string | undefined> {
  try {
    return (await git(repoDir, args)).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Names that git would read as an option, or refuse, are refused first with a clear message. */
function checkRefName(value: string, what: string): void {
  if (!isValidRefName(value)) {
    throw new AnvilError('git.failed', `"${value}" is not a valid ${what} for git`, {
      hint: 'release tags look like onboarding@1.2.0',
      details: { [what]: value },
    });
  }
}

/** The top folder of the git working tree that holds `dir`, or undefined when there is none. */
export async function workTreeRoot(dir: string): Promise<string | undefined> {
  return gitOrUndefined(dir, ['rev-parse', '--show-toplevel']);
}

/** `git init` in `dir`, with the user's own defaults (initial branch name, templates). */
export async function initRepository(dir: string): Promise<void> {
  await git(dir, ['init', '--quiet']);
}

/** Commits on the first-parent chain up to `commit`, itself included (the `n` of a head version). */
export async function firstParentCount(repoDir: string, commit: string): Promise<number> {
  return Number((await git(repoDir, ['rev-list', '--first-parent', '--count', '--end-of-options', commit])).trim());
}

/** True when `commit` is `ref` or one of its ancestors. */
export async function isAncestor(repoDir: string, commit: string, ref: string): Promise<boolean> {
  // The answer is the exit code alone (0 or 1, nothing on stderr), which simple-git does not
  // report as a failure, so git is run directly here.
  return new Promise((resolve) => {
    execFile('git', ['merge-base', '--is-ancestor', '--end-of-options', commit, ref], { cwd: repoDir }, (err) => resolve(err === null));
  });
}

/**
 * True when `commit` is on `branch` as `remote` has it now (fetched first): a forge refuses a
 * release tag on a commit that is not on its default branch, so a tag must not be pushed ahead
 * of the commit it names.
 */
export async function isOnRemoteBranch(repoDir: string, remote: string, branch: string, commit: string): Promise<boolean> {
  checkRefName(branch, 'branch name');
  if (remote.startsWith('-')) throw new AnvilError('git.failed', `"${remote}" is not a remote`, { details: { remote } });
  const fetched = await git(repoDir, ['fetch', '--quiet', '--no-tags', '--end-of-options', remote, `refs/heads/${branch}`]).then(() => true, () => false);
  return fetched && isAncestor(repoDir, commit, 'FETCH_HEAD');
}

/**
 * The git tree id that `dir` would have if the working tree were committed now, ignored files
 * left out as git leaves them. Computed in a throw-away index so that the user's staging area
 * is untouched; the blobs it writes are loose objects that git collects as garbage.
 */
export async function workingTreeId(repoDir: string, dir: string): Promise<string> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'anvil-index-'));
  try {
    // simple-git refuses an environment carrying the user's EDITOR and the like, so git is run directly.
    const options = { cwd: repoDir, env: { ...process.env, GIT_INDEX_FILE: path.join(tmp, 'index') } };
    await execFileAsync('git', ['--literal-pathspecs', 'add', '--all', '--', dir], options);
    return (await execFileAsync('git', ['write-tree', `--prefix=${dir}/`], options)).stdout.trim();
  } catch (err) {
    throw new AnvilError('git.failed', `cannot compute the tree of ${dir} in ${repoDir}: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`, { cause: err });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Replaces `dir` in the working tree and the index with its content at `ref` (deleted files
 * included), for a rollback. Only that folder changes.
 */
export async function restoreFolder(repoDir: string, ref: string, dir: string): Promise<void> {
  await git(repoDir, ['--literal-pathspecs', 'rm', '-r', '--quiet', '--ignore-unmatch', '--', dir]);
  await git(repoDir, ['--literal-pathspecs', 'checkout', ref, '--', dir]);
}

/** Pushes the current HEAD to `branch` on `remote` (a fast-forward; git refuses anything else). */
export async function pushBranch(repoDir: string, remote: string, branch: string): Promise<void> {
  checkRefName(branch, 'branch name');
  if (remote.startsWith('-')) throw new AnvilError('git.failed', `"${remote}" is not a remote`, { details: { remote } });
  await git(repoDir, ['push', '--quiet', '--end-of-options', remote, `HEAD:refs/heads/${branch}`]);
}

/** True when the repository has at least one remote. */
export async function hasRemote(repoDir: string): Promise<boolean> {
  return (await git(repoDir, ['remote'])).trim() !== '';
}
