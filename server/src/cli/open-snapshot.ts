/** The snapshot a command works on: the working tree, or `--ref` read from git. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AnvilError, validateRepoConfig, type ResolvedRepoConfig } from '@anvil/content-schema';
import { REPO_CONFIG_FILE } from '../load/load-repo.ts';
import { readYamlConfig } from '../load/read-yaml-config.ts';
import type { ReleaseInfo } from '../lint/lint-repo.ts';
import { createGitCache, type GitCache } from '../repo/git-cache.ts';
import { openGitSnapshot } from '../repo/git-snapshot.ts';
import { listReleaseTags, releasesBySet, type ReleaseTag } from '../repo/release-tags.ts';
import { checkSeenTags } from '../repo/seen-tags.ts';
import type { RepoSnapshot } from '../repo/snapshot.ts';
import { openWorkingTree } from '../repo/working-tree.ts';
import { findRepoRoot, isGitRepo } from './find-repo-root.ts';

export interface OpenedRepo {
  root: string;
  snapshot: RepoSnapshot;
  releases: ReleaseInfo;
  cache: GitCache;
  isGit: boolean;
  /** The project name bundles carry: anvil.yaml's `name` without "@", else the folder's name. */
  project: string;
  /** Every valid release tag (empty outside git). */
  tags: ReleaseTag[];
  /** anvil.yaml's aliases in the working tree (issue 17); empty when it has none or does not validate. */
  aliases: ResolvedRepoConfig['aliases'];
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
    const changes = await checkSeenTags(root, tags.tags);
    releases = { releases: releasesBySet(tags.tags), invalidTags: tags.invalid, tagChanges: changes };
    return { root, snapshot, releases, cache, isGit, tags: tags.tags, ...(await projectOf(root)) };
  }
  return { root, snapshot, releases, cache, isGit, tags: [], ...(await projectOf(root)) };
}

async function projectOf(root: string): Promise<Pick<OpenedRepo, 'project' | 'aliases'>> {
  const text = await readFile(path.join(root, REPO_CONFIG_FILE), 'utf8').catch(() => undefined);
  const config = text === undefined ? undefined : readYamlConfig(REPO_CONFIG_FILE, text, validateRepoConfig).value;
  return { project: (config?.name ?? path.basename(root)).replace(/^@/, ''), aliases: config?.aliases ?? {} };
}
