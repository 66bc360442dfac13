import path from 'node:path';
import { createBlobReader, type BlobReader } from './git-blob-reader.ts';

/**
 * What may be kept between reads of a repository: isomorphic-git's parsed packfile indexes and
 * packfiles, and the `git cat-file --batch` process that reads file contents. Without a shared
 * cache, every snapshot of a mirror would parse the same packs again (DESIGN §10: "one shared
 * pack cache").
 */
export interface GitCache {
  /** The isomorphic-git `cache` object for one repository, created on first use. */
  forGitDir(gitdir: string): object;
  /**
   * The reader of file contents for one repository, created on first use; undefined when this
   * cache reads them with isomorphic-git (`createGitCache({blobs: 'isomorphic-git'})`).
   */
  blobReader(gitdir: string): BlobReader | undefined;
  /**
   * Forgets what is cached, for one git folder or for all, and ends their `cat-file` processes.
   * After `git gc` replaces a repository's packs, the old packs stay cached until this is called.
   */
  clear(gitdir?: string): void;
}

export interface GitCacheOptions {
  /**
   * How file contents are read: `cat-file` (default), one long-lived `git cat-file --batch`
   * per repository, several times faster on large sets (bench/RESULTS.md, "Build"); or
   * `isomorphic-git`, in-process, for hosts without a git executable.
   */
  blobs?: 'cat-file' | 'isomorphic-git' | undefined;
}

/**
 * A cache to share across snapshots, for as long as the process reads the repositories (the
 * forge keeps one for its lifetime). It keeps one entry per repository, so one `GitCache` can
 * serve many repositories and each can be forgotten alone.
 */
export function createGitCache(options: GitCacheOptions = {}): GitCache {
  const useCatFile = (options.blobs ?? 'cat-file') === 'cat-file';
  const byGitDir = new Map<string, object>();
  const readers = new Map<string, BlobReader>();
  return {
    forGitDir(gitdir) {
      const key = path.resolve(gitdir);
      let cache = byGitDir.get(key);
      if (cache === undefined) {
        cache = {};
        byGitDir.set(key, cache);
      }
      return cache;
    },
    blobReader(gitdir) {
      if (!useCatFile) return undefined;
      const key = path.resolve(gitdir);
      let reader = readers.get(key);
      if (reader === undefined) {
        reader = createBlobReader(key);
        readers.set(key, reader);
      }
      return reader;
    },
    clear(gitdir) {
      const keys = gitdir === undefined ? [...new Set([...byGitDir.keys(), ...readers.keys()])] : [path.resolve(gitdir)];
      for (const key of keys) {
        byGitDir.delete(key);
        readers.get(key)?.close();
        readers.delete(key);
      }
    },
  };
}
