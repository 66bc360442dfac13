/**
 * Temporary git repositories for tests, built with the real git CLI (as changesets' `gitdir`).
 *
 *   const repo = await gitdir({
 *     files: { 'prompts/core/set.yaml': 'name: core\n' },
 *     commits: [{ message: 'add tone', files: { 'prompts/core/tone.md': 'Hi' }, tags: ['core@1.0.0'] }],
 *   });
 *   await repo.commit('edit', { 'prompts/core/tone.md': 'Hello' });
 *   await repo.tag('core@1.1.0');
 *   const mirror = await repo.bare();
 *   after(cleanupGitdirs);
 *
 * Everything is deterministic: the default branch is `main`, author, committer and tagger are
 * fixed, and each commit or tag is dated one minute after the previous one from 2024-01-01, so
 * the same steps give the same commit ids on every machine and every run. The user's own git
 * configuration is shut out (no signing prompts, no hooks, no autocrlf).
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** File contents by repository-relative path; `null` deletes, `{symlink}` makes a link. */
export type FileMap = Record<string, string | Uint8Array | { symlink: string } | null>;

export interface TagOptions {
  /** Annotated tag message; defaults to the tag name. */
  message?: string;
  /** A lightweight tag (a bare ref) instead of an annotated one. */
  lightweight?: boolean;
  /** What to tag: a ref or commit id; defaults to HEAD. */
  at?: string;
  /** Move the tag if it exists (for "a release tag was moved" tests). */
  force?: boolean;
}

export type TagSpec = string | ({ name: string } & TagOptions);

export interface CommitSpec {
  message?: string;
  files?: FileMap;
  /** Tags on this commit once it is made. */
  tags?: TagSpec[];
  /** Any date git accepts (`2024-05-01T12:00:00+02:00`); defaults to the next fixed minute. */
  date?: string;
}

export interface GitdirSpec {
  /** Committed first, as "initial commit". Without files or commits the repository is empty. */
  files?: FileMap;
  /** Further commits, in order. */
  commits?: CommitSpec[];
  /** Tags on the last commit. */
  tags?: TagSpec[];
}

export interface GitDir {
  /** The repository's folder (real path; for a bare repository, the git folder itself). */
  readonly dir: string;
  readonly isBare: boolean;
  /** An absolute path inside the repository. */
  path(...segments: string[]): string;
  /** Writes (or deletes) files in the working tree without committing. */
  write(files: FileMap): Promise<void>;
  /** Writes `files`, stages everything and commits; returns the new commit id. */
  commit(message?: string, files?: FileMap, options?: { date?: string }): Promise<string>;
  /** Tags HEAD (or `at`); returns what the tag ref points to: the tag object, or the commit. */
  tag(name: string, options?: TagOptions): Promise<string>;
  deleteTag(name: string): Promise<void>;
  /** Creates a branch at HEAD (or `at`) without switching to it. */
  branch(name: string, at?: string): Promise<void>;
  checkout(ref: string): Promise<void>;
  /** The full object id of a revision (`HEAD`, `core@1.0.0^{commit}`, `main~1`). */
  revParse(rev: string): Promise<string>;
  /** Runs git in the repository; returns stdout without the final newline. */
  git(...args: string[]): Promise<string>;
  /** A bare clone, as the forge's mirror would be. */
  bare(): Promise<GitDir>;
  /** A normal clone with this repository as `origin`. */
  clone(): Promise<GitDir>;
  /** Deletes the repository (and, for the first one, every clone made from it). */
  cleanup(): Promise<void>;
}

const BASE_TIME = Date.parse('2024-01-01T00:00:00Z') / 1000;
const AUTHOR = { name: 'Anvil Test', email: 'test@anvil.invalid' };

const roots = new Set<string>();

// Whatever a crashed or forgetful run leaves behind still goes when the process exits.
process.once('exit', () => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** Creates a repository in a new temporary folder. */
export async function gitdir(spec: GitdirSpec = {}): Promise<GitDir> {
  const root = await realpath(await mkdtemp(path.join(os.tmpdir(), 'anvil-gitdir-')));
  roots.add(root);
  const globalConfig = path.join(root, 'empty.gitconfig');
  await writeFile(globalConfig, '');
  const context: Context = { root, globalConfig, clock: 0, clones: 0 };
  const dir = path.join(root, 'repo');
  await mkdir(dir);
  await run(context, dir, ['init', '--quiet', '--initial-branch=main']);
  await configure(context, dir);
  const repo = open(context, dir, false);

  if (spec.files !== undefined) await repo.commit('initial commit', spec.files);
  for (const [i, step] of (spec.commits ?? []).entries()) {
    await repo.commit(step.message ?? `commit ${i + 1}`, step.files ?? {}, step.date === undefined ? {} : { date: step.date });
    for (const tag of step.tags ?? []) await applyTag(repo, tag);
  }
  for (const tag of spec.tags ?? []) await applyTag(repo, tag);
  return repo;
}

/** Removes every repository `gitdir()` made; use as `after(cleanupGitdirs)`. */
export async function cleanupGitdirs(): Promise<void> {
  const all = [...roots];
  roots.clear();
  await Promise.all(all.map((root) => rm(root, { recursive: true, force: true })));
}

interface Context {
  root: string;
  globalConfig: string;
  /** Minutes after BASE_TIME of the last dated object, shared by a repository and its clones. */
  clock: number;
  clones: number;
}

function open(context: Context, dir: string, isBare: boolean): GitDir {
  const git = (...args: string[]) => run(context, dir, args);
  const workTree = (what: string) => {
    if (isBare) throw new Error(`cannot ${what} in a bare repository (${dir})`);
  };

  const repo: GitDir = {
    dir,
    isBare,
    path: (...segments) => path.join(dir, ...segments),

    async write(files) {
      workTree('write files');
      for (const [file, content] of Object.entries(files)) {
        const target = path.join(dir, ...file.split('/'));
        await rm(target, { force: true, recursive: true });
        if (content === null) continue;
        await mkdir(path.dirname(target), { recursive: true });
        if (typeof content === 'object' && 'symlink' in content) await symlink(content.symlink, target);
        else await writeFile(target, content);
      }
    },

    async commit(message = 'commit', files = {}, options = {}) {
      workTree('commit');
      await repo.write(files);
      await git('add', '--all');
      const date = options.date ?? nextDate(context);
      await run(context, dir, ['commit', '--quiet', '--allow-empty', '--no-verify', '-m', message], date);
      return git('rev-parse', 'HEAD');
    },

    async tag(name, options = {}) {
      const args = ['tag'];
      if (options.force === true) args.push('--force');
      if (options.lightweight !== true) args.push('--annotate', '--message', options.message ?? name);
      args.push(name, options.at ?? 'HEAD');
      await run(context, dir, args, nextDate(context));
      return git('rev-parse', `refs/tags/${name}`);
    },

    async deleteTag(name) {
      await git('tag', '--delete', name);
    },

    async branch(name, at = 'HEAD') {
      await git('branch', name, at);
    },

    async checkout(ref) {
      workTree('check out');
      await git('checkout', '--quiet', ref);
    },

    revParse: (rev) => git('rev-parse', '--verify', '--quiet', rev),

    git,

    async bare() {
      const target = path.join(context.root, `clone-${++context.clones}.git`);
      await run(context, context.root, ['clone', '--quiet', '--bare', dir, target]);
      return open(context, target, true);
    },

    async clone() {
      const target = path.join(context.root, `clone-${++context.clones}`);
      await run(context, context.root, ['clone', '--quiet', dir, target]);
      await configure(context, target);
      return open(context, target, false);
    },

    async cleanup() {
      const isFirst = dir === path.join(context.root, 'repo');
      await rm(isFirst ? context.root : dir, { recursive: true, force: true });
      if (isFirst) roots.delete(context.root);
    },
  };
  return repo;
}

async function applyTag(repo: GitDir, spec: TagSpec): Promise<void> {
  if (typeof spec === 'string') await repo.tag(spec);
  else await repo.tag(spec.name, spec);
}

/** Local settings that make the repository behave the same whoever runs the tests. */
async function configure(context: Context, dir: string): Promise<void> {
  const settings: [string, string][] = [
    ['user.name', AUTHOR.name],
    ['user.email', AUTHOR.email],
    ['commit.gpgSign', 'false'],
    ['tag.gpgSign', 'false'],
    ['core.autocrlf', 'false'],
    ['core.symlinks', 'true'],
    // A big commit would otherwise start `git gc --auto` in the background, racing with the
    // test that reads the repository and with cleanup.
    ['gc.auto', '0'],
    ['maintenance.auto', 'false'],
  ];
  for (const [key, value] of settings) await run(context, dir, ['config', key, value]);
}

function nextDate(context: Context): string {
  context.clock += 1;
  return `${BASE_TIME + context.clock * 60} +0000`;
}

function run(context: Context, cwd: string, args: string[], date?: string): Promise<string> {
  // Nothing from the caller's git environment: inside a git hook, GIT_DIR and GIT_INDEX_FILE
  // would point every command at the outer repository.
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value;
  Object.assign(env, {
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: context.globalConfig,
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: AUTHOR.name,
    GIT_AUTHOR_EMAIL: AUTHOR.email,
    GIT_COMMITTER_NAME: AUTHOR.name,
    GIT_COMMITTER_EMAIL: AUTHOR.email,
  });
  if (date !== undefined) {
    // Tagger dates come from GIT_COMMITTER_DATE too.
    env.GIT_AUTHOR_DATE = date;
    env.GIT_COMMITTER_DATE = date;
  }
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${args.join(' ')} failed in ${cwd}: ${stderr.trim() || err.message}`, { cause: err }));
      else resolve(stdout.replace(/\n$/, ''));
    });
  });
}

