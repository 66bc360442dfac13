import path from 'node:path';

/**
 * What isomorphic-git may keep between calls on a repository: chiefly its parsed packfile
 * indexes and packfiles. Without a shared cache, every snapshot of a mirror would parse the
 * same packs again (DESIGN §10: "one shared pack cache").
 */
export interface GitCache {
  /** The isomorphic-git `cache` object for one repository, created on first use. */
  forGitDir(gitdir: string): object;
  /**
   * Forgets what is cached, for one git folder or for all. Only memory is at stake: after
   * `git gc` replaces a repository's packs, the old packs stay cached until this is called.
   */
  clear(gitdir?: string): void;
}

/**
 * A cache to share across snapshots, for as long as the process reads the repositories (the
 * forge keeps one for its lifetime). It keeps one isomorphic-git cache object per repository,
 * so one `GitCache` can serve many repositories and each can be forgotten alone.
 */
export function createGitCache(): GitCache {
  const byGitDir = new Map<string, object>();
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
    clear(gitdir) {
      if (gitdir === undefined) byGitDir.clear();
      else byGitDir.delete(path.resolve(gitdir));
    },
  };
}
