/**
 * The forge's bare mirror of a project's repository: `<dataDir>/repos/<project>.git`
 * (DESIGN.md §10), cloned and fetched with the git CLI, read in-process afterwards. A mirror
 * fetch moves and prunes tags as the remote has them; the forge compares them with the tags it
 * has seen to refuse releases that moved or vanished, so the mirror itself may follow the remote.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { AnvilError } from '@anvil/content-schema';

const run = promisify(execFile);

export function mirrorPath(dataDir: string, project: string): string {
  return path.join(dataDir, 'repos', `${project}.git`);
}

async function git(args: string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    return stdout;
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? (err as Error).message).trim();
    throw new AnvilError('mirror.git-failed', `git ${args[0]} failed: ${stderr.split('\n').slice(-3).join(' ')}`, {
      hint: 'check that the project remote is reachable and that the forge may read it', cause: err,
    });
  }
}

/** Clones the mirror on first use, fetches it afterwards; returns its path. */
export async function updateMirror(dataDir: string, project: string, remote: string): Promise<string> {
  const dir = mirrorPath(dataDir, project);
  if (!existsSync(path.join(dir, 'HEAD'))) {
    await mkdir(path.dirname(dir), { recursive: true });
    await git(['clone', '--mirror', '--quiet', remote, dir]);
    return dir;
  }
  await git(['fetch', '--prune', '--prune-tags', '--force', '--quiet', 'origin'], dir);
  return dir;
}

/** The commit a branch points at in the mirror, or undefined when it does not exist. */
export async function branchCommit(mirror: string, branch: string): Promise<string | undefined> {
  try {
    return (await git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`], mirror)).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The branch the mirror's HEAD names (the remote's default branch at clone time). */
export async function mirrorHeadBranch(mirror: string): Promise<string | undefined> {
  try {
    const ref = (await git(['symbolic-ref', '--quiet', 'HEAD'], mirror)).trim();
    return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
  } catch {
    return undefined;
  }
}

/** Tree id of `dir` at `commit`, or undefined when the folder is not there. */
export async function treeAt(mirror: string, commit: string, dir: string): Promise<string | undefined> {
  try {
    return (await git(['rev-parse', '--verify', '--quiet', `${commit}:${dir}`], mirror)).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Is `ancestor` reachable from `commit` (so a branch moved forward rather than sideways)? */
export async function isAncestorIn(mirror: string, ancestor: string, commit: string): Promise<boolean> {
  try {
    await run('git', ['merge-base', '--is-ancestor', ancestor, commit], { cwd: mirror });
    return true;
  } catch {
    return false;
  }
}

/**
 * The commits on `to`'s first-parent line that change `dir` and are not reachable from any of
 * `after`, oldest first: the changes as they landed on the branch (a merge commit stands for its
 * whole pull request, diffed against the branch as it was).
 */
export async function landedChanges(mirror: string, after: readonly string[], to: string, dir: string): Promise<string[]> {
  const out = await git(['log', '--first-parent', '--reverse', '--format=%H', to, ...after.map((c) => `^${c}`), '--', dir], mirror);
  return out.split('\n').filter(Boolean);
}

/** The commit's first parent, or undefined for a root commit. */
export async function firstParent(mirror: string, commit: string): Promise<string | undefined> {
  try {
    return (await git(['rev-parse', '--verify', '--quiet', `${commit}^1`], mirror)).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A file's text at a commit, or undefined when it is not there. */
export async function fileAt(mirror: string, commit: string, file: string): Promise<string | undefined> {
  try {
    return await git(['show', `${commit}:${file}`], mirror);
  } catch {
    return undefined;
  }
}

/** Does the mirror have this commit? */
export async function hasCommit(mirror: string, commit: string): Promise<boolean> {
  try {
    await run('git', ['cat-file', '-e', `${commit}^{commit}`], { cwd: mirror });
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes a pull request's head commit available in the mirror. GitHub keeps every pull request's
 * head at `refs/pull/<n>/head`, forks included, which a mirror fetch brings along; when the
 * mirror predates the pull request, the ref is fetched on its own.
 */
export async function ensurePullHead(mirror: string, number: number, headSha: string): Promise<boolean> {
  if (await hasCommit(mirror, headSha)) return true;
  try {
    await git(['fetch', '--quiet', 'origin', `+refs/pull/${number}/head:refs/pull/${number}/head`], mirror);
  } catch {
    return false;
  }
  return hasCommit(mirror, headSha);
}

/** The commit where `head` branched off `base` (what GitHub diffs a pull request against). */
export async function mergeBase(mirror: string, base: string, head: string): Promise<string | undefined> {
  try {
    return (await git(['merge-base', base, head], mirror)).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** What `git merge-tree --write-tree` made of two commits: the merged tree, and whether it merged without conflicts. */
export interface MergeTreeResult {
  tree: string;
  clean: boolean;
}

/**
 * Merges `head` onto `base` in the object database only (no work tree, no ref moves), as GitHub's
 * merge button would: the result an approval of `head` vouches for (issue 18: "evil merges").
 * Undefined when git cannot merge them at all (unrelated histories, a missing commit). A conflicted
 * merge still has a tree, with conflict markers in it; `clean` is false then.
 */
export async function mergeTree(mirror: string, base: string, head: string): Promise<MergeTreeResult | undefined> {
  try {
    const { stdout } = await run('git', ['merge-tree', '--write-tree', '--end-of-options', base, head], { cwd: mirror, maxBuffer: 64 * 1024 * 1024 });
    const tree = stdout.split('\n')[0]?.trim();
    return tree ? { tree, clean: true } : undefined;
  } catch (err) {
    // Exit code 1 is "merged with conflicts"; the first line is still the tree. Anything else is a failure.
    const { code, stdout } = err as { code?: unknown; stdout?: string };
    const tree = code === 1 ? stdout?.split('\n')[0]?.trim() : undefined;
    return tree && /^[0-9a-f]{40,64}$/.test(tree) ? { tree, clean: false } : undefined;
  }
}

/**
 * The commit a revision names in the mirror (`refs/heads/main`, `refs/tags/core@1.0.0`, a commit
 * id), peeled through tags, or undefined when there is none. The caller checks the text first
 * (the dashboard's compare, issue 15); `--end-of-options` keeps it from ever being read as one.
 */
export async function commitOf(mirror: string, rev: string): Promise<string | undefined> {
  try {
    return (await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], mirror)).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Names of the mirror's branches or tags (those starting with `namePrefix`, such as `core@` for
 * one set's releases), newest first, at most `limit`: what a form can offer without listing
 * thousands.
 */
export async function recentRefNames(mirror: string, kind: 'heads' | 'tags', limit: number, namePrefix = ''): Promise<string[]> {
  const base = `refs/${kind}/`;
  const sort = kind === 'heads' ? '-committerdate' : '-creatordate';
  try {
    const out = await git(['for-each-ref', `--count=${limit}`, `--sort=${sort}`, '--format=%(refname)', namePrefix === '' ? base : `${base}${namePrefix}*`], mirror);
    return out.split('\n').filter((name) => name.startsWith(base + namePrefix)).map((name) => name.slice(base.length));
  } catch {
    return [];
  }
}
