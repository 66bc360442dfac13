/**
 * `anvil dev` on a user's prompt repository (issue 13): it follows the repository's own default
 * branch (a `master` repository publishes too), and it keeps its state — signing key, tokens,
 * forge.db, a clone — in the git folder, where `git add -A` can never pick up a secret.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { devBranch } from '../../src/dev/dev-branch.ts';
import { defaultDevDataDir, exposedToGit } from '../../src/dev/dev-data-dir.ts';
import { runDev, type DevForge } from '../../src/dev/run-dev.ts';
import { createLogger } from '../../src/forge/logger.ts';
import type { SyncReport } from '../../src/forge/sync-project.ts';
import { anvil } from '../cli/cli-support.ts';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';
import { until } from '../support/until.ts';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/anvil.js');

const quiet = { logger: createLogger({ level: 'warn' }) };

const FILES = {
  'anvil.yaml': 'name: "@acme"\npromptsDir: prompts\n',
  'prompts/support/set.yaml': 'description: Support answers.\nmode: live\n',
  'prompts/support/answer.md': '---\ndescription: Answers a question.\ninput:\n  schema:\n    question: string\n---\nAnswer politely: {{question}}\n',
};

interface Envelope { bundles: { set: string; version: string; prompts: Record<string, { template: string }> }[] }

async function developmentEnvelope(dev: DevForge): Promise<Envelope | undefined> {
  const res = await fetch(`${dev.forge.url}/api/v1/projects/acme/envelope?channel=development`, { headers: { authorization: `Bearer ${dev.token}` } });
  return res.ok ? ((await res.json()) as Envelope) : undefined;
}

async function answerTemplate(dev: DevForge): Promise<string | undefined> {
  return (await developmentEnvelope(dev))?.bundles.find((b) => b.set === 'support')?.prompts['answer']?.template;
}

/** What `git add -A` would add and what git ignores, in the working tree: where a secret must never be. */
async function addableOrIgnored(repo: GitDir): Promise<string> {
  const status = await repo.git('status', '--porcelain', '--ignored', '--untracked-files=all');
  const added = await repo.git('add', '--all', '--dry-run');
  return [status, added].filter(Boolean).join('\n');
}

describe('anvil dev on a user\'s prompt repository', function () {
  this.timeout(60_000);
  const running: DevForge[] = [];
  const temps: string[] = [];
  after(async () => {
    await Promise.all(running.map((d) => d.close()));
    await Promise.all(temps.map((t) => rm(t, { recursive: true, force: true })));
    await cleanupGitdirs();
  });

  async function tempDir(): Promise<string> {
    const dir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'anvil-dev-')));
    temps.push(dir);
    return dir;
  }

  it('follows a repository whose branch is master: a saved edit to a live set is published', async function () {
    const repo = await gitdir({ files: FILES });
    await repo.git('branch', '-m', 'main', 'master');
    const reports: SyncReport[] = [];
    const dev = await runDev({ source: repo.dir, dataDir: await defaultDevDataDir(repo.dir), project: 'acme', ...quiet, onSync: (r) => reports.push(r) });
    running.push(dev);
    expect(dev.branch).to.equal('master');
    expect(await answerTemplate(dev)).to.include('Answer politely');

    await writeFile(repo.path('prompts/support/answer.md'), FILES['prompts/support/answer.md'].replace('politely', 'briefly'));
    await until('the edit on the development channel', async () => (await answerTemplate(dev))?.includes('Answer briefly') === true);
    const last = reports.at(-1);
    expect(last?.branch).to.equal('master');
    expect(last?.decisions.find((d) => d.set === 'support')?.published?.version).to.match(/-head\.\d+\+[0-9a-f]{7}$/);
  });

  it('keeps its state in <git dir>/anvil/dev: nothing git add -A would pick up holds a secret', async function () {
    const repo = await gitdir({ files: { ...FILES, '.gitignore': 'node_modules/\n' } });
    const dataDir = await defaultDevDataDir(repo.dir);
    expect(dataDir).to.equal(path.join(repo.dir, '.git', 'anvil', 'dev'));
    const dev = await runDev({ source: repo.dir, dataDir, project: 'acme', ...quiet });
    running.push(dev);
    await writeFile(repo.path('prompts/support/answer.md'), FILES['prompts/support/answer.md'].replace('politely', 'warmly'));
    await until('the edit published', async () => (await answerTemplate(dev))?.includes('Answer warmly') === true);

    // The secrets exist, readable by their owner only…
    for (const secret of ['admin-token', 'project-token', 'webhook-secret']) {
      const file = path.join(dataDir, 'secrets', secret);
      expect(existsSync(file), secret).to.equal(true);
      expect(statSync(file).mode & 0o077, secret).to.equal(0);
    }
    expect(existsSync(path.join(dataDir, 'forge', 'forge.db'))).to.equal(true);
    // …and git sees nothing but the edit: no untracked, no ignored file anywhere in the working tree.
    expect(await addableOrIgnored(repo)).to.equal(' M prompts/support/answer.md\nadd \'prompts/support/answer.md\'');
    expect(existsSync(repo.path('.anvil-dev'))).to.equal(false);
  });

  it('the anvil dev command does the same, and says which branch and data dir it uses', async function () {
    if (!existsSync(path.resolve(path.dirname(BIN), '../dist/cli/main.js'))) this.skip();
    const repo = await gitdir({ files: FILES });
    await repo.git('branch', '-m', 'main', 'master');
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, [BIN, 'dev'], { cwd: repo.dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => void (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => void (err += d.toString()));
      await until('anvil dev to start', () => out.includes('watching') || child!.exitCode !== null, 30_000);
      expect(out, err).to.include('watching');
      expect(out).to.match(/^branch {3}master\b/m);
      expect(out).to.include(`data     ${path.join(repo.dir, '.git', 'anvil', 'dev')}`);
      await writeFile(repo.path('prompts/support/answer.md'), FILES['prompts/support/answer.md'].replace('politely', 'kindly'));
      await until('the edit published', () => /prompts\/support\/answer\.md: support@.*-head\..* → development/.test(out), 20_000);
      expect(await addableOrIgnored(repo)).to.equal(' M prompts/support/answer.md\nadd \'prompts/support/answer.md\'');
    } finally {
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child!.once('exit', resolve));
        child.kill('SIGINT');
        await exited;
      }
    }
  });

  it('warns about a .anvil-dev/ left in the working tree by older versions', async function () {
    if (!existsSync(path.resolve(path.dirname(BIN), '../dist/cli/main.js'))) this.skip();
    const repo = await gitdir({ files: { ...FILES, '.gitignore': '.anvil-dev/\n' } });
    await mkdir(repo.path('.anvil-dev/secrets'), { recursive: true });
    await writeFile(repo.path('.anvil-dev/secrets/admin-token'), 'old\n');
    const child = spawn(process.execPath, [BIN, 'dev'], { cwd: repo.dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
    try {
      await until('anvil dev to start', () => out.includes('watching') || child.exitCode !== null, 30_000);
      expect(out).to.include(`note: ${repo.path('.anvil-dev')} is left from an older anvil dev and is no longer used; it holds secrets`);
    } finally {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGINT');
        await exited;
      }
    }
  });

  it('runs straight after anvil init, before the first commit, and publishes the example live set', async function () {
    const dir = await tempDir();
    expect((await anvil(dir, 'init', '--branch', 'trunk')).code).to.equal(0);
    const dev = await runDev({ source: dir, dataDir: await defaultDevDataDir(dir), project: 'acme', ...quiet });
    running.push(dev);
    expect(dev.branch).to.equal('trunk');
    const greeting = async () => (await developmentEnvelope(dev))?.bundles.find((b) => b.set === 'hello')?.prompts['greeting']?.template;
    expect(await greeting()).to.include('friendly greeting');
    await writeFile(path.join(dir, 'prompts/hello/greeting.md'), (await readFile(path.join(dir, 'prompts/hello/greeting.md'), 'utf8')).replace('friendly greeting', 'cheerful greeting'));
    await until('the edit published', async () => (await greeting())?.includes('cheerful greeting') === true);
    // Git sees only what init wrote: the data dir is in .git/.
    const added = await new Promise<string>((resolve, reject) => {
      execFile('git', ['add', '--all', '--dry-run'], { cwd: dir }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    expect(added).to.not.match(/secret|forge\.db|anvil\/dev|\.anvil-dev/);
    expect(added).to.include('add \'prompts/hello/greeting.md\'');
  });

  it('picks the branch: anvil.yaml defaultBranch, else the remote HEAD, else the branch checked out, else main', async function () {
    const configured = await gitdir({ files: { ...FILES, 'anvil.yaml': 'name: "@acme"\ndefaultBranch: trunk\n' } });
    expect(await devBranch(configured.dir)).to.equal('trunk');

    const origin = await gitdir({ files: FILES });
    const clone = await origin.clone();
    await clone.git('checkout', '--quiet', '-b', 'feature');
    expect(await devBranch(clone.dir)).to.equal('main');

    await origin.git('checkout', '--quiet', '-b', 'develop');
    expect(await devBranch(origin.dir)).to.equal('develop');

    const plain = await tempDir();
    await writeFile(path.join(plain, 'anvil.yaml'), 'name: "@acme"\n');
    expect(await devBranch(plain)).to.equal('main');

    const bad = await gitdir({ files: { ...FILES, 'anvil.yaml': 'name: "@acme"\ndefaultBranch: "-x"\n' } });
    let error: unknown;
    await devBranch(bad.dir).catch((err: unknown) => void (error = err));
    expect(error).to.have.property('code', 'dev.invalid-branch');
  });

  it('a feature branch checked out is published as if merged to the default branch', async function () {
    const origin = await gitdir({ files: FILES });
    const clone = await origin.clone();
    await clone.git('checkout', '--quiet', '-b', 'feature');
    await clone.commit('on the feature branch', { 'prompts/support/answer.md': FILES['prompts/support/answer.md'].replace('politely', 'on a feature branch') });
    const dev = await runDev({ source: clone.dir, dataDir: await defaultDevDataDir(clone.dir), project: 'acme', ...quiet });
    running.push(dev);
    expect(dev.branch).to.equal('main');
    expect(await answerTemplate(dev)).to.include('Answer on a feature branch');
  });

  it('knows when a --data-dir would be committed by git add -A', async function () {
    const repo = await gitdir({ files: { ...FILES, '.gitignore': '.anvil-dev/\n' } });
    expect(await exposedToGit(repo.dir, repo.path('state'))).to.equal(true);
    expect(await exposedToGit(repo.dir, repo.path('.anvil-dev'))).to.equal(false);
    expect(await exposedToGit(repo.dir, await defaultDevDataDir(repo.dir))).to.equal(false);
    expect(await exposedToGit(repo.dir, await tempDir())).to.equal(false);
  });

  it('puts the state of a sub-folder repository, and of a plain folder, outside the working tree too', async function () {
    const repo = await gitdir({ files: { 'app/prompts-repo/anvil.yaml': FILES['anvil.yaml'] } });
    expect(await defaultDevDataDir(repo.path('app/prompts-repo'))).to.equal(path.join(repo.dir, '.git', 'anvil', 'dev', 'subfolders', 'app', 'prompts-repo'));

    const plain = path.join(await tempDir(), 'My Prompts');
    await mkdir(plain);
    const cache = await tempDir();
    const dir = await defaultDevDataDir(plain, { XDG_CACHE_HOME: cache });
    expect(path.dirname(dir)).to.equal(path.join(cache, 'anvil', 'dev'));
    expect(path.basename(dir)).to.match(/^my-prompts-[0-9a-f]{12}$/);
  });
});
