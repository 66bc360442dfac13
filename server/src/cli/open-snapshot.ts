/** The snapshot a command works on: the working tree, or `--ref` read from git. */
import path from 'node:path';
import { AnvilError } from '@anvil/content-schema';
import type { ReleaseInfo } from '../lint/lint-repo.ts';
import { createGitCache, type GitCache } from '../repo/git-cache.ts';
import { openGitSnapshot } from '../repo/git-snapshot.ts';
import { listReleaseTags, releasesBySet } from '../repo/release-tags.ts';
import type { RepoSnapshot } from '../repo/snapshot.ts';
import { openWorkingTree } from '../repo/working-tree.ts';
import { findRepoRoot, isGitRepo } from './find-repo-root.ts';

export interface OpenedRepo {
  root: string;
  snapshot: RepoSnapshot;
  releases: ReleaseInfo;
  cache: GitCache;
  isGit: boolean;
}

export async function openRepo(values: Record<string, unknown>, cwd: string): Promise<OpenedRepo> {
  const root = typeof values['repo'] === 'string' ? path.resolve(cwd, values['repo']) : findRepoRoot(cwd);
  const cache = createGitCache();
  const isGit = isGitRepo(root);
  const ref = typeof values['ref'] === 'string' ? values['ref'] : undefined;
  if (ref && !isGit) {
    throw new AnvilError('repo.not-git', `--ref needs a git repository, and ${root} is not one`, { hint: 'run `git init` first, or drop --ref' });
  }
  const snapshot = ref ? await openGitSnapshot(root, ref, { cache }) : openWorkingTree(root);
  let releases: ReleaseInfo = { releases: {} };
  if (isGit) {
    const tags = await listReleaseTags(root, { cache });
    releases = { releases: releasesBySet(tags.tags), invalidTags: tags.invalid };
  }
  return { root, snapshot, releases, cache, isGit };
}
