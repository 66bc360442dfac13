import fs from 'node:fs';
import git, { type TreeEntry } from 'isomorphic-git';
import { createGitCache, type GitCache } from './git-cache.ts';
import { findGitDirs } from './git-dir.ts';
import { joinRepoPath, sortPaths, splitRepoPath } from './repo-path.ts';
import { resolveCommit, type GitContext } from './resolve-ref.ts';
import type { RepoSnapshot, SnapshotSource } from './snapshot.ts';

export interface GitSnapshotOptions {
  /** Shared across snapshots so packfiles are parsed once per repository (see createGitCache). */
  cache?: GitCache | undefined;
}

/** A folder's entries by name; memoised per snapshot so each git tree is read at most once. */
type Tree = ReadonlyMap<string, TreeEntry>;

const SYMLINK_MODE = '120000';

/**
 * The files of `repoDir` at `ref` (a branch, a tag, annotated or lightweight, a full ref or a
 * commit id), read in-process with isomorphic-git: no checkout, no git process, and the
 * working tree, if there is one, is never touched. `repoDir` may be a bare repository.
 *
 * Trees are read on demand and memoised, so listing a folder of 10,000 files reads each tree
 * below it once; file contents are read only when asked for. Symbolic links (mode 120000) and
 * submodules are skipped, as the working tree skips links, so both views list the same files.
 */
export async function openGitSnapshot(repoDir: string, ref: string, options: GitSnapshotOptions = {}): Promise<RepoSnapshot> {
  const dirs = await findGitDirs(repoDir);
  const cache = (options.cache ?? createGitCache()).forGitDir(dirs.gitdir);
  const ctx: GitContext = { ...dirs, repoDir, cache };
  const resolved = await resolveCommit(ctx, ref);
  const { commit, commitObject } = resolved;

  const source: SnapshotSource = {
    commit,
    ref,
    ...(resolved.tag === undefined ? {} : { tag: resolved.tag }),
    committedAt: gitDateToIso(commitObject.committer.timestamp, commitObject.committer.timezoneOffset),
  };
  const short = commit.slice(0, 7);
  // A commit id needs no repeating; a branch or tag is shown with the commit it stood for.
  const label = resolved.fullRef === undefined ? short : `${ref} (${short})`;

  const trees = new Map<string, Promise<Tree | undefined>>();
  const listings = new Map<string, Promise<string[]>>();

  function readTree(oid: string): Promise<Tree> {
    return git.readTree({ fs, gitdir: ctx.gitdir, oid, cache }).then(({ tree }) => new Map(tree.map((e) => [e.path, e])));
  }

  /** The tree at `segments`, or undefined when that is not a folder in this commit. */
  function treeAt(segments: readonly string[]): Promise<Tree | undefined> {
    const key = segments.join('/');
    let tree = trees.get(key);
    if (tree === undefined) {
      if (segments.length === 0) {
        tree = readTree(commitObject.tree);
      } else {
        const name = segments[segments.length - 1] as string;
        tree = treeAt(segments.slice(0, -1)).then((parent) => {
          const entry = parent?.get(name);
          return entry?.type === 'tree' ? readTree(entry.oid) : undefined;
        });
      }
      trees.set(key, tree);
    }
    return tree;
  }

  async function entryAt(segments: readonly string[]): Promise<TreeEntry | undefined> {
    const name = segments[segments.length - 1];
    if (name === undefined) return undefined;
    return (await treeAt(segments.slice(0, -1)))?.get(name);
  }

  async function collect(segments: readonly string[], into: string[]): Promise<void> {
    const tree = await treeAt(segments);
    if (tree === undefined) return;
    const prefix = segments.join('/');
    const subtrees: Promise<void>[] = [];
    for (const entry of tree.values()) {
      if (entry.type === 'tree') subtrees.push(collect([...segments, entry.path], into));
      else if (entry.type === 'blob' && entry.mode !== SYMLINK_MODE) into.push(joinRepoPath(prefix, entry.path));
      // type "commit" is a submodule: its files are in another repository.
    }
    await Promise.all(subtrees);
  }

  return {
    label,
    source,

    async listFiles(dir) {
      const segments = splitRepoPath(dir);
      if (segments === undefined) return [];
      const key = segments.join('/');
      let listing = listings.get(key);
      if (listing === undefined) {
        const files: string[] = [];
        listing = collect(segments, files).then(() => sortPaths(files));
        listings.set(key, listing);
      }
      // A copy, so a caller that sorts or filters in place cannot change what others see.
      return (await listing).slice();
    },

    async readText(path) {
      const segments = splitRepoPath(path);
      const entry = segments === undefined ? undefined : await entryAt(segments);
      if (entry?.type !== 'blob' || entry.mode === SYMLINK_MODE) return undefined;
      const { blob } = await git.readBlob({ fs, gitdir: ctx.gitdir, oid: entry.oid, cache });
      return Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString('utf8');
    },

    async treeId(dir) {
      const segments = splitRepoPath(dir);
      if (segments === undefined) return undefined;
      if (segments.length === 0) return commitObject.tree;
      const entry = await entryAt(segments);
      return entry?.type === 'tree' ? entry.oid : undefined;
    },
  };
}

/**
 * A git date as ISO 8601 in the committer's own offset (`2024-03-01T10:00:00+01:00`), so the
 * value depends on the commit alone, never on the machine that reads it. isomorphic-git gives
 * the offset with JavaScript's sign (minutes to add to local time to reach UTC).
 */
export function gitDateToIso(timestamp: number, timezoneOffset: number): string {
  const offsetMinutes = -timezoneOffset;
  const local = new Date((timestamp + offsetMinutes * 60) * 1000).toISOString().slice(0, 19);
  if (offsetMinutes === 0) return `${local}Z`;
  const sign = offsetMinutes > 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
