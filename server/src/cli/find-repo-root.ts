/** The prompt repository around a folder: the nearest ancestor with `anvil.yaml` or `.git`. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AnvilError } from '@anvil/content-schema';

export function findRepoRoot(from: string): string {
  let dir = path.resolve(from);
  for (;;) {
    if (existsSync(path.join(dir, 'anvil.yaml')) || existsSync(path.join(dir, '.git'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new AnvilError('repo.not-found', `no prompt repository at or above ${from}`, {
        hint: 'run inside a repository with anvil.yaml (create one with `npx anvil init`), or pass --repo <dir>',
      });
    }
    dir = parent;
  }
}

export function isGitRepo(dir: string): boolean {
  return existsSync(path.join(dir, '.git')) || existsSync(path.join(dir, 'HEAD'));
}
