/**
 * The git side of `anvil init`: a new repository gets the branch asked for (default `main`)
 * rather than whatever `init.defaultBranch` the machine has (git's own default is still
 * `master`), so that the scaffold, the docs and `anvil dev` agree on one name out of the box;
 * an existing repository keeps the branch it has.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AnvilError } from '@anvil/content-schema';
import { initRepository } from '../repo/git-cli.ts';

const run = promisify(execFile);

export const DEFAULT_INIT_BRANCH = 'main';

/** `git init` in `dir` (the user's templates and config), with HEAD on `branch`. */
export async function initRepositoryOnBranch(dir: string, branch: string): Promise<void> {
  await initRepository(dir);
  // symbolic-ref rather than `git init --initial-branch`, which git before 2.28 does not know.
  await git(dir, ['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
}

/** The branch HEAD names (born or not), or undefined when HEAD is detached. */
export async function currentBranch(dir: string): Promise<string | undefined> {
  try {
    return (await git(dir, ['symbolic-ref', '--quiet', '--short', 'HEAD'])) || undefined;
  } catch {
    return undefined;
  }
}

async function git(dir: string, args: string[]): Promise<string> {
  try {
    return (await run('git', args, { cwd: dir })).stdout.trim();
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? (err as Error).message).trim();
    throw new AnvilError('git.failed', `git ${args[0] ?? ''} failed in ${dir}: ${stderr}`, { cause: err, details: { dir, args } });
  }
}
