/**
 * `anvil dev`'s git repository: the prompt folder being edited, kept as a real git repository in
 * the data dir, so that the forge sees exactly what it sees in production (commits, tags, a
 * mirror) while the engineer only saves files. A source that is a git repository is cloned
 * (history and releases come along); a plain folder is copied, committed, and each of its sets
 * released once, so that review and locked sets have something to serve.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { AnvilError } from '@anvil/content-schema';
import { buildContextOf } from '../cli/build-context.ts';
import { openRepo } from '../cli/open-snapshot.ts';
import { formatProblem } from '../lint/problem.ts';
import { loadRepo } from '../load/load-repo.ts';
import { createRelease } from '../release/create-release.ts';
import { openWorkingTree } from '../repo/working-tree.ts';

const run = promisify(execFile);

/** Fixed identity and no user hooks: the dev repository is the tool's, not the user's. */
const GIT_ENV = {
  GIT_AUTHOR_NAME: 'anvil dev', GIT_AUTHOR_EMAIL: 'dev@anvil.invalid',
  GIT_COMMITTER_NAME: 'anvil dev', GIT_COMMITTER_EMAIL: 'dev@anvil.invalid',
  GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null',
};

async function git(dir: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-c', 'core.hooksPath=/dev/null', ...args], { cwd: dir, env: { ...process.env, ...GIT_ENV } });
  return stdout.trim();
}

export interface DevWorkspace {
  /** The repository the forge uses as its remote. */
  repo: string;
  /** The branch every change is committed to: the one the forge must follow as default branch. */
  branch: string;
  /**
   * Copies the source's files in (only `files`, absolute paths the watcher saw change, when
   * given; everything otherwise) and commits; the commit id, or undefined when nothing changed.
   */
  commitChanges(message: string, files?: readonly string[]): Promise<string | undefined>;
}

const IGNORED = new Set(['.git', 'node_modules', '.anvil-dev', '.anvil-cache']);

/**
 * Opens (creating on first use) the dev repository for `source` in `dataDir`, with `branch`
 * checked out: the working tree's files are committed there, whichever branch the source has
 * checked out, so that the forge following `branch` sees every saved edit.
 */
export async function openDevWorkspace(source: string, dataDir: string, branch: string): Promise<DevWorkspace> {
  const repo = path.join(dataDir, 'repo');
  if (!existsSync(path.join(repo, '.git'))) {
    await rm(repo, { recursive: true, force: true });
    await mkdir(path.dirname(repo), { recursive: true });
    if (existsSync(path.join(source, '.git'))) {
      await run('git', ['clone', '--quiet', source, repo]);
      // Start from the source's own copy of the branch when it has one (the source may have a
      // feature branch checked out); the working tree is committed on top of it.
      if (await git(repo, 'rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}`).catch(() => '') !== '') {
        await git(repo, 'checkout', '--quiet', '-B', branch, `refs/remotes/origin/${branch}`);
      }
    } else {
      await mkdir(repo, { recursive: true });
      await git(repo, 'init', '--quiet', `--initial-branch=${branch}`);
      await copyTree(source, repo);
      await git(repo, 'add', '-A');
      await git(repo, 'commit', '--quiet', '-m', 'anvil dev: the prompts as they were at start');
      await releaseEverySet(repo);
    }
  }
  await useBranch(repo, branch);
  return {
    repo,
    branch,
    async commitChanges(message, files) {
      if (files) await copyFiles(source, repo, files);
      else await copyTree(source, repo);
      await git(repo, 'add', '-A');
      if ((await git(repo, 'status', '--porcelain')) === '') return undefined;
      await git(repo, 'commit', '--quiet', '-m', message);
      return git(repo, 'rev-parse', 'HEAD');
    },
  };
}

/**
 * Checks out `branch` in the dev repository, keeping its current commit and files: a clone has
 * the source's checked-out branch, and an earlier run may have followed another branch (the
 * default branch changed, or an older version committed to the clone's branch).
 */
async function useBranch(repo: string, branch: string): Promise<void> {
  const current = await git(repo, 'symbolic-ref', '--quiet', '--short', 'HEAD').catch(() => '');
  if (current === branch) return;
  const hasCommit = await git(repo, 'rev-parse', '--verify', '--quiet', 'HEAD^{commit}').then(() => true, () => false);
  // An empty repository (cloned from a fresh `git init`) has no commit to put the branch on yet.
  if (hasCommit) await git(repo, 'checkout', '--quiet', '-B', branch);
  else await git(repo, 'symbolic-ref', 'HEAD', `refs/heads/${branch}`);
}

/** Copies each changed path (file or folder) of `from` into `to`, or removes it there when it is gone. */
async function copyFiles(from: string, to: string, files: readonly string[]): Promise<void> {
  for (const file of files) {
    const rel = path.relative(from, file);
    if (rel.startsWith('..') || path.isAbsolute(rel) || rel.split(path.sep).some((part) => IGNORED.has(part))) continue;
    const target = path.join(to, rel);
    await rm(target, { recursive: true, force: true });
    if (existsSync(file)) {
      await mkdir(path.dirname(target), { recursive: true });
      await cp(file, target, { recursive: true });
    }
  }
}

/** Makes `to` hold exactly the files of `from` (ignoring VCS and cache folders). */
async function copyTree(from: string, to: string): Promise<void> {
  const wanted = new Set((await readdir(from)).filter((n) => !IGNORED.has(n)));
  for (const name of await readdir(to)) {
    if (!IGNORED.has(name) && !wanted.has(name)) await rm(path.join(to, name), { recursive: true, force: true });
  }
  for (const name of wanted) {
    const target = path.join(to, name);
    await rm(target, { recursive: true, force: true });
    await cp(path.join(from, name), target, { recursive: true });
  }
}

/** Releases each set at 1.0.0, dependencies first, as `anvil release <set> 1.0.0` would. */
async function releaseEverySet(repo: string): Promise<void> {
  const loaded = await loadRepo(openWorkingTree(repo));
  const order: string[] = [];
  const visit = (name: string, path: string[] = []) => {
    if (order.includes(name) || path.includes(name)) return;
    const set = loaded.sets.find((s) => s.name === name);
    for (const dep of Object.keys(set?.config.dependencies ?? {})) visit(dep, [...path, name]);
    if (set) order.push(name);
  };
  for (const s of loaded.sets) visit(s.name);
  for (const set of order) {
    const opened = await openRepo({ repo }, repo);
    const outcome = await createRelease({ ctx: await buildContextOf(opened), releases: opened.releases, set, request: '1.0.0' });
    if (!outcome.plan) {
      const first = outcome.problems.find((p) => p.severity === 'error');
      throw new AnvilError('dev.release-failed', `anvil dev could not make a first release of ${set}: ${first ? formatProblem(first) : 'unknown problem'}`, {
        hint: 'fix it (see `npx anvil lint`) and start again', details: { problems: outcome.problems.length },
      });
    }
  }
}
