import fs from 'node:fs';
import git from 'isomorphic-git';
import { AnvilError } from '@anvil/content-schema';
import type { TreeEntry } from './git-objects.ts';
import type { BlobReader, GitObject } from './git-blob-reader.ts';
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
/** How many files of a folder are asked for ahead of the one being read (see readAhead). */
const READ_AHEAD = 32;

interface ReadWindow {
  /** The folder's files with one extension, in the order callers read them (sorted paths). */
  entries: TreeEntry[];
  index: Map<string, number>;
  /** Reads were started for every entry before this one. */
  next: number;
}

/**
 * The files of `repoDir` at `ref` (a branch, a tag, annotated or lightweight, a full ref or a
 * commit id): refs, commits and trees read in-process with isomorphic-git, file contents through
 * the cache's long-lived `git cat-file --batch` (see git-blob-reader.ts; or isomorphic-git
 * too, if the cache says so). No checkout: the working tree, if there is one, is never
 * touched. `repoDir` may be a bare repository.
 *
 * Trees are read on demand and memoised, so listing a folder of 10,000 files reads each tree
 * below it once; file contents are read only when asked for. Symbolic links (mode 120000) and
 * submodules are skipped, as the working tree skips links, so both views list the same files.
 */
export async function openGitSnapshot(repoDir: string, ref: string, options: GitSnapshotOptions = {}): Promise<RepoSnapshot> {
  const dirs = await findGitDirs(repoDir);
  const gitCache = options.cache ?? createGitCache();
  const cache = gitCache.forGitDir(dirs.gitdir);
  const blobReader = gitCache.blobReader(dirs.gitdir);
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

  async function readTree(oid: string): Promise<Tree> {
    if (blobReader !== undefined) {
      // Through cat-file too, when it reads the files: 2–3× faster than isomorphic-git on the
      // 112 folders of the build bench's 10,000-prompt set, where listing them is a third of
      // what a rebuild after a one-prompt change costs (bench/RESULTS.md, "Build", issue 13).
      const object = await blobReader.read(oid);
      const entries = object?.type === 'tree' ? parseTree(object.content, oid.length / 2) : undefined;
      if (entries !== undefined) return new Map(entries.map((e) => [e.path, e]));
    }
    // Anything out of the ordinary is isomorphic-git's to read, or to refuse.
    const { tree } = await git.readTree({ fs, gitdir: ctx.gitdir, oid, cache });
    return new Map(tree.map((e) => [e.path, e]));
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

  /** Blob ids of the files listed so far: a build asks for all of them, one by one. */
  const listedBlobs = new Map<string, string>();

  async function collect(segments: readonly string[], into: string[]): Promise<void> {
    const tree = await treeAt(segments);
    if (tree === undefined) return;
    const prefix = segments.join('/');
    const subtrees: Promise<void>[] = [];
    for (const entry of tree.values()) {
      if (entry.type === 'tree') subtrees.push(collect([...segments, entry.path], into));
      else if (entry.type === 'blob' && entry.mode !== SYMLINK_MODE) {
        const file = joinRepoPath(prefix, entry.path);
        into.push(file);
        listedBlobs.set(file, entry.oid);
      }
      // type "commit" is a submodule: its files are in another repository.
    }
    await Promise.all(subtrees);
  }

  /** Blob reads started ahead of time, by object id, until readText takes them. */
  const ahead = new Map<string, Promise<GitObject | undefined>>();
  /** Per folder and file extension: the files in read order, and how far reads were started. */
  const windows = new WeakMap<Tree, Map<string, ReadWindow>>();

  function takeAhead(oid: string): Promise<GitObject | undefined> | undefined {
    const pending = ahead.get(oid);
    ahead.delete(oid);
    return pending;
  }

  /**
   * Callers read a folder's files one after another (loadRepo does), and through cat-file each
   * read is a round trip. Asking for the next few files of the same kind (extension) at once
   * keeps git busy meanwhile: reading the 11,000 files of the build bench one by one took
   * 0.51–0.59 s without this, 0.19–0.26 s with it. At most READ_AHEAD files per folder and
   * extension are read in vain.
   */
  function readAhead(reader: BlobReader, folder: Tree, name: string): void {
    const ext = extensionOf(name);
    let byExt = windows.get(folder);
    if (byExt === undefined) windows.set(folder, (byExt = new Map()));
    let window = byExt.get(ext);
    if (window === undefined) {
      const entries = [...folder.values()]
        .filter((e) => e.type === 'blob' && e.mode !== SYMLINK_MODE && extensionOf(e.path) === ext)
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      window = { entries, index: new Map(entries.map((e, i) => [e.path, i])), next: 0 };
      byExt.set(ext, window);
    }
    const i = window.index.get(name);
    if (i === undefined) return;
    const last = Math.min(window.entries.length - 1, i + READ_AHEAD);
    for (let j = Math.max(window.next, i + 1); j <= last; j++) {
      const oid = window.entries[j]!.oid;
      if (ahead.has(oid)) continue;
      const pending = reader.read(oid);
      // Never taken, a failed read must not become an unhandled rejection.
      pending.catch(() => undefined);
      ahead.set(oid, pending);
    }
    window.next = Math.max(window.next, last + 1);
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
      const name = segments?.[segments.length - 1];
      if (segments === undefined || name === undefined) return undefined;
      const folder = await treeAt(segments.slice(0, -1));
      const entry = folder?.get(name);
      if (folder === undefined || entry?.type !== 'blob' || entry.mode === SYMLINK_MODE) return undefined;
      if (blobReader !== undefined) {
        const pending = takeAhead(entry.oid) ?? blobReader.read(entry.oid);
        readAhead(blobReader, folder, name);
        const object = await pending;
        if (object?.type !== 'blob') {
          throw new AnvilError('git.failed', `${path} at ${label} should be the blob ${entry.oid}, but the repository has ${object ? `a ${object.type}` : 'no such object'}`, {
            hint: 'the repository may be damaged or a shallow/partial clone; run `git fsck` in it',
            details: { path, oid: entry.oid },
          });
        }
        return object.content.toString('utf8');
      }
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

    async blobId(path) {
      const listed = listedBlobs.get(path);
      if (listed !== undefined) return listed;
      const segments = splitRepoPath(path);
      if (segments === undefined) return undefined;
      const entry = await entryAt(segments);
      // What readText would read: a file, never a link or a submodule.
      return entry?.type === 'blob' && entry.mode !== SYMLINK_MODE ? entry.oid : undefined;
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

/**
 * A git tree object's entries (`<mode> <name>\0<binary id>`, repeated), exactly as isomorphic-git
 * gives them (mode `40000` written `040000`, type from the mode); `idBytes` is 20 for SHA-1.
 * Undefined for anything unusual — a mode isomorphic-git does not know, a name it refuses as
 * unsafe (`..`, `.git`, separators and their look-alikes) or that comes near one, a damaged
 * object — which is then left to isomorphic-git, so that such trees fail as they always have.
 */
export function parseTree(content: Buffer, idBytes: number): TreeEntry[] | undefined {
  const entries: TreeEntry[] = [];
  let at = 0;
  while (at < content.length) {
    const space = content.indexOf(0x20, at);
    const nul = content.indexOf(0, at);
    if (space < 0 || nul < space || nul + 1 + idBytes > content.length) return undefined;
    const raw = content.toString('latin1', at, space);
    const mode = raw === '40000' ? '040000' : raw;
    const type = TREE_ENTRY_TYPES.get(mode);
    const path = content.toString('utf8', space + 1, nul);
    if (type === undefined || !isPlainName(path)) return undefined;
    entries.push({ mode, path, oid: content.toString('hex', nul + 1, nul + 1 + idBytes), type });
    at = nul + 1 + idBytes;
  }
  return entries;
}

const TREE_ENTRY_TYPES = new Map<string, TreeEntry['type']>([
  ['040000', 'tree'], ['100644', 'blob'], ['100755', 'blob'], ['120000', 'blob'], ['160000', 'commit'],
]);

/** A name far from everything isomorphic-git refuses: no separator, colon or invisible character, not a dot name, not .git. */
function isPlainName(name: string): boolean {
  if (name === '' || /[/\\:\u200C-\u200F\u202A-\u202E\u206A-\u206F\uFEFF]/.test(name)) return false;
  const normalized = name.toLowerCase().replace(/[. ]+$/, '');
  return normalized !== '' && normalized !== '.git' && !/^\.?git~[1-9]$/.test(normalized);
}

/** `message.fr.md` → `.md`; `Makefile`, `.gitignore` → ''. */
function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot);
}
