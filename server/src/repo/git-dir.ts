import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { AnvilError } from '@anvil/content-schema';

/** Where a repository's git data lives. */
export interface GitDirs {
  /** The folder with `objects/` and `refs/`: `<repo>/.git`, or the repository itself when bare. */
  gitdir: string;
  /**
   * A linked worktree's own git folder (`.git/worktrees/<name>`), which holds its `HEAD`;
   * everything else is shared through `gitdir`.
   */
  worktreeGitdir?: string | undefined;
}

/**
 * Finds the git folder of `repoDir`, which may be a normal clone (`.git/` inside), a bare
 * repository or mirror (the forge's `<dataDir>/repos/<project>.git`), a `.git` folder given
 * directly, or a linked worktree or submodule (a `.git` file saying `gitdir: …`).
 */
export async function findGitDirs(repoDir: string): Promise<GitDirs> {
  const dir = path.resolve(repoDir);
  const dotGit = path.join(dir, '.git');
  const dotGitStat = await stat(dotGit).catch(() => undefined);
  if (dotGitStat?.isDirectory()) return { gitdir: dotGit };
  if (dotGitStat?.isFile()) {
    const pointer = /^gitdir:\s*(.+?)\s*$/m.exec(await readFile(dotGit, 'utf8'))?.[1];
    if (pointer !== undefined) return withCommonDir(path.resolve(dir, pointer));
  }
  if (await looksLikeGitDir(dir)) return withCommonDir(dir);
  throw new AnvilError('git.not-a-repository', `${repoDir} is not a git repository`, {
    hint: 'give the folder that holds .git/, or a bare repository (the folder with HEAD, objects/ and refs/)',
    details: { repoDir },
  });
}

/** Linked worktrees keep objects and refs in the main repository, named by a `commondir` file. */
async function withCommonDir(gitdir: string): Promise<GitDirs> {
  const commondir = await readFile(path.join(gitdir, 'commondir'), 'utf8').catch(() => undefined);
  if (commondir === undefined) return { gitdir };
  return { gitdir: path.resolve(gitdir, commondir.trim()), worktreeGitdir: gitdir };
}

async function looksLikeGitDir(dir: string): Promise<boolean> {
  const [head, objects] = await Promise.all([
    stat(path.join(dir, 'HEAD')).catch(() => undefined),
    stat(path.join(dir, 'objects')).catch(() => undefined),
  ]);
  return head?.isFile() === true && objects?.isDirectory() === true;
}
