/**
 * Where `anvil dev` keeps its state (a clone of the prompts, forge.db, the signing key, the admin
 * and project tokens) when --data-dir does not say: never in the working tree, where `git add -A`
 * would commit the secrets (issue 13).
 *
 * - In a git repository: `<git dir>/anvil/dev/` (`.git/anvil/dev/` in a normal clone; the
 *   worktree's own git folder in a linked worktree). Git never tracks anything in its own folder,
 *   whatever `.gitignore` says, and `.git/anvil/` is where Anvil keeps per-clone state already
 *   (seen-tags.json). A prompt repository in a sub-folder of a larger repository gets
 *   `<git dir>/anvil/dev/subfolders/<path>/`, so that two of them do not share one forge.
 * - In a plain folder: the user's cache folder (`$XDG_CACHE_HOME`, `~/.cache`,
 *   `~/Library/Caches`, `%LOCALAPPDATA%`) under `anvil/dev/<folder>-<hash of its path>/`, so that
 *   a later `git init && git add -A` finds nothing there either.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The data dir of earlier versions, inside the working tree; `anvil dev` warns while one is left. */
export const LEGACY_DEV_DATA_DIR = '.anvil-dev';

export async function defaultDevDataDir(source: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const git = await gitDirOf(source);
  if (git !== undefined) {
    const sub = git.prefix.split('/').filter(Boolean);
    return path.join(git.dir, 'anvil', 'dev', ...(sub.length > 0 ? ['subfolders', ...sub] : []));
  }
  const real = realpathSync(source);
  const slug = path.basename(real).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 40) || 'prompts';
  const hash = createHash('sha256').update(real).digest('hex').slice(0, 12);
  return path.join(userCacheDir(env), 'anvil', 'dev', `${slug}-${hash}`);
}

/**
 * True when `dataDir` (a --data-dir the user chose) is in the working tree of `source`'s git
 * repository and not ignored there: `git add -A` would commit its secrets.
 */
export async function exposedToGit(source: string, dataDir: string): Promise<boolean> {
  const git = await gitDirOf(source);
  if (git === undefined) return false;
  const inside = (dir: string) => {
    const rel = path.relative(dir, dataDir);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  };
  if (!inside(git.top) || inside(git.dir)) return false;
  try {
    // The trailing slash says "a folder", so that `dir/` patterns match one not created yet.
    await run('git', ['check-ignore', '--quiet', '--', `${path.resolve(dataDir)}/`], { cwd: source });
    return false;
  } catch (err) {
    // Exit code 1 is git's "not ignored"; anything else is a failure that proves nothing.
    return (err as { code?: unknown }).code === 1;
  }
}

/** The git folder holding `dir`, its working tree's top and where `dir` is below it; undefined outside git. */
async function gitDirOf(dir: string): Promise<{ dir: string; top: string; prefix: string } | undefined> {
  try {
    const { stdout } = await run('git', ['rev-parse', '--absolute-git-dir', '--show-toplevel', '--show-prefix'], { cwd: dir });
    const [gitDir, top, prefix = ''] = stdout.split('\n');
    return gitDir && top ? { dir: gitDir, top, prefix: prefix.trim() } : undefined;
  } catch {
    // Not a git repository (or inside a bare one / a .git folder): no git folder to use.
    return undefined;
  }
}

function userCacheDir(env: NodeJS.ProcessEnv): string {
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg && path.isAbsolute(xdg)) return xdg;
  if (process.platform === 'win32' && env['LOCALAPPDATA']) return env['LOCALAPPDATA'];
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Caches');
  return path.join(os.homedir(), '.cache');
}
