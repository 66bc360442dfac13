/**
 * The branch `anvil dev` commits the working tree to and has its forge follow as the default
 * branch, so that head builds come from it as they would in production. Named after the prompt
 * repository's own default branch (DESIGN §4), so that what `anvil dev` prints and what the forge
 * records read like the real repository — a hard-coded `main` made a `master` repository publish
 * nothing (issue 13).
 *
 * In order: anvil.yaml's `defaultBranch`; else, in a git repository, the branch the remote's HEAD
 * names (`refs/remotes/origin/HEAD`, recorded by `git clone`), else the branch checked out; else
 * (a plain folder, or a detached HEAD with no remote HEAD) `main`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AnvilError, validateRepoConfig } from '@anvil/content-schema';
import { REPO_CONFIG_FILE } from '../load/load-repo.ts';
import { readYamlConfig } from '../load/read-yaml-config.ts';
import { defaultBranch } from '../repo/git-cli.ts';
import { isValidRefName } from '../repo/resolve-ref.ts';

export const FALLBACK_DEV_BRANCH = 'main';

export async function devBranch(source: string): Promise<string> {
  const configured = await configuredDefaultBranch(source);
  if (configured !== undefined) {
    // The schema's pattern lets through names git refuses (or would read as an option, "-x").
    if (!isValidRefName(configured)) {
      throw new AnvilError('dev.invalid-branch', `anvil.yaml's defaultBranch "${configured}" is not a branch name git accepts`, {
        hint: 'fix defaultBranch in anvil.yaml (e.g. main), or remove it to use the repository\'s default branch',
        file: REPO_CONFIG_FILE,
      });
    }
    return configured;
  }
  try {
    return await defaultBranch(source);
  } catch {
    // No git (a plain folder) or a detached HEAD: the dev repository is Anvil's own, any name works.
    return FALLBACK_DEV_BRANCH;
  }
}

/** anvil.yaml's `defaultBranch` in the working tree; a missing or broken file says nothing (lint reports it). */
async function configuredDefaultBranch(source: string): Promise<string | undefined> {
  const text = await readFile(path.join(source, REPO_CONFIG_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  return readYamlConfig(REPO_CONFIG_FILE, text, validateRepoConfig).value?.defaultBranch;
}
