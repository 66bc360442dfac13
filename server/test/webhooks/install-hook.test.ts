import { execFile } from 'node:child_process';
import { mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { HOOK_MARKER, installHook } from '../../src/webhooks/install-hook.ts';
import { anvil } from '../cli/cli-support.ts';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';
import { GIT_SECRET, startWebhookForge, type WebhookForge } from './webhook-support.ts';

const SECRET_ENV = 'ANVIL_TEST_HOOK_SECRET';
const ZERO = '0'.repeat(40);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('anvil hook install: the post-receive hook of a plain git server', () => {
  let root: string;
  let bare: string;
  let work: GitDir;
  let emptyConfig: string;

  beforeEach(async () => {
    root = await realpath(await mkdtemp(path.join(os.tmpdir(), 'anvil-hook-')));
    bare = path.join(root, 'prompts.git');
    emptyConfig = path.join(root, 'empty.gitconfig');
    await writeFile(emptyConfig, '');
    await git(root, ['init', '--quiet', '--bare', '--initial-branch=main', bare]);
    work = await gitdir({ files: { 'anvil.yaml': 'name: "@acme"\n' } });
    await work.git('remote', 'add', 'origin', bare);
  });
  afterEach(async () => {
    delete process.env[SECRET_ENV];
    await rm(root, { recursive: true, force: true });
  });
  after(cleanupGitdirs);

  /** git, shut off from the user's configuration, with the output kept. */
  function git(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
    const base: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_') && key !== SECRET_ENV) base[key] = value;
    return new Promise((resolve) => {
      execFile('git', args, {
        cwd,
        env: {
          ...base,
          // The hook runs `node` from PATH: the same Node as the tests.
          PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env['PATH'] ?? ''}`,
          GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: emptyConfig, GIT_TERMINAL_PROMPT: '0',
          ...env,
        },
      }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        if (code !== 0 && !args.includes('push')) throw new Error(`git ${args.join(' ')} failed: ${stderr}`);
        resolve({ code, stdout, stderr });
      });
    });
  }

  async function install(forgeUrl: string, ...extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return anvil(root, 'hook', 'install', 'prompts.git', '--forge', forgeUrl, '--project', 'plain', '--secret-env', SECRET_ENV, ...extra);
  }

  describe('with a forge listening', () => {
    let forge: WebhookForge;
    beforeEach(async () => { forge = await startWebhookForge(); });
    afterEach(async () => forge.close());

    it('a real git push fires the hook, which posts signed push events for the branch and the tag', async () => {
      process.env[SECRET_ENV] = GIT_SECRET;
      const installed = await install(forge.url);
      expect(installed.code, installed.stderr).to.equal(0);
      expect(installed.stdout).to.contain('installed').and.contain(`${forge.url}/webhooks/git`);
      delete process.env[SECRET_ENV];

      // The secret went to the repository's git config; the hook reads it from there.
      expect((await git(bare, ['config', '--get', 'anvil.webhookSecret'])).stdout.trim()).to.equal(GIT_SECRET);
      const hook = path.join(bare, 'hooks', 'post-receive');
      expect((await stat(hook)).mode & 0o111).to.equal(0o111);
      expect(await readFile(hook, 'utf8')).to.match(/^#!\/usr\/bin\/env node\n/).and.contain(HOOK_MARKER);

      await work.tag('onboarding@1.0.0');
      const first = await git(work.dir, ['push', 'origin', 'main', 'refs/tags/onboarding@1.0.0']);
      expect(first.code, first.stderr).to.equal(0);
      expect(first.stderr).to.contain('remote: anvil: forge notified (2 ref updates)');
      await forge.drain();
      const main1 = await work.revParse('main');
      const tagObject = await work.revParse('refs/tags/onboarding@1.0.0');
      const [branch, tag, ...rest] = forge.events;
      expect(rest).to.deep.equal([]);
      expect(branch).to.deep.include({ kind: 'push', project: 'plain', ref: 'refs/heads/main', before: ZERO, after: main1, created: true, deleted: false, forced: false });
      expect(tag).to.deep.include({ kind: 'push', project: 'plain', ref: 'refs/tags/onboarding@1.0.0', before: ZERO, after: tagObject, created: true, deleted: false });
      expect(branch!.deliveryId).to.equal(tag!.deliveryId).and.match(/^[0-9a-f-]{36}$/);

      // A fast-forward, then a rewritten history pushed with --force.
      const main2 = await work.commit('more', { 'README.md': 'more\n' });
      expect((await git(work.dir, ['push', 'origin', 'main'])).code).to.equal(0);
      await work.git('reset', '--hard', main1);
      const main3 = await work.commit('rewritten', { 'README.md': 'other\n' });
      expect((await git(work.dir, ['push', '--force', 'origin', 'main'])).code).to.equal(0);
      await forge.drain();
      expect(forge.events.slice(2).map((e) => e.kind === 'push' && [e.before, e.after, e.forced])).to.deep.equal([
        [main1, main2, false],
        [main2, main3, true],
      ]);
      // Deleting the tag is an update too.
      expect((await git(work.dir, ['push', 'origin', ':refs/tags/onboarding@1.0.0'])).code).to.equal(0);
      await forge.drain();
      expect(forge.events.at(-1)).to.deep.include({ ref: 'refs/tags/onboarding@1.0.0', after: ZERO, deleted: true });
    });

    it('without a stored secret, the hook takes it from the environment variable when it runs', async () => {
      const installed = await install(forge.url);
      expect(installed.code).to.equal(0);
      expect(installed.stderr).to.contain('no secret yet');

      const unsigned = await git(work.dir, ['push', 'origin', 'main']);
      expect(unsigned.code).to.equal(0);
      expect(unsigned.stderr).to.contain('anvil: warning: no webhook secret');
      expect(forge.events).to.deep.equal([]);

      await work.commit('next', { 'README.md': 'next\n' });
      const signed = await git(work.dir, ['push', 'origin', 'main'], { [SECRET_ENV]: GIT_SECRET });
      expect(signed.stderr).to.contain('anvil: forge notified (1 ref update)');
      await forge.drain();
      expect(forge.events.map((e) => e.kind === 'push' && e.ref)).to.deep.equal(['refs/heads/main']);
    });

    it('a wrong secret: the forge refuses (401), the push still succeeds and says why', async () => {
      process.env[SECRET_ENV] = 'not the project secret';
      expect((await install(forge.url)).code).to.equal(0);
      const pushed = await git(work.dir, ['push', 'origin', 'main']);
      expect(pushed.code).to.equal(0);
      expect(pushed.stderr).to.contain('answered 401 webhook.signature.invalid');
      expect(forge.events).to.deep.equal([]);
    });
  });

  it('the push still succeeds, with one warning, when the forge is down', async () => {
    const port = await closedPort();
    process.env[SECRET_ENV] = GIT_SECRET;
    expect((await install(`http://127.0.0.1:${port}`)).code).to.equal(0);
    const started = Date.now();
    const pushed = await git(work.dir, ['push', 'origin', 'main']);
    expect(pushed.code, pushed.stderr).to.equal(0);
    expect(Date.now() - started).to.be.below(5000);
    const warnings = pushed.stderr.split('\n').filter((line) => line.includes('anvil:'));
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.contain('anvil: warning: could not reach the forge').and.contain('the push itself succeeded');
    expect((await git(bare, ['rev-parse', 'main'])).stdout.trim()).to.equal(await work.revParse('main'));
  });

  it('a forge that takes the connection and never answers holds the push only until the hook\'s timeout', async () => {
    const silent = createServer(() => { /* accepts, never answers */ });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as { port: number };
      await installHook({ repo: bare, forge: `http://127.0.0.1:${port}`, project: 'plain', secret: GIT_SECRET, timeoutMs: 300 });
      const pushed = await git(work.dir, ['push', 'origin', 'main']);
      expect(pushed.code, pushed.stderr).to.equal(0);
      expect(pushed.stderr).to.contain('anvil: warning: could not reach the forge').and.contain('no answer within 300 ms');
    } finally {
      silent.close();
    }
  });

  describe('refusals and options', () => {
    it('refuses a repository with a working tree, a folder that is no repository, and a folder inside one', async () => {
      const notBare = await anvil(root, 'hook', 'install', work.dir, '--forge', 'http://forge', '--project', 'plain');
      expect(notBare.code).to.equal(1);
      expect(notBare.stderr).to.contain('hook.not-bare');
      expect(notBare.stderr).not.to.contain('    at ');
      await writeFile(path.join(root, 'file'), '');
      for (const dir of [root, path.join(bare, 'refs'), path.join(root, 'missing'), path.join(root, 'file')]) {
        const result = await anvil(root, 'hook', 'install', dir, '--forge', 'http://forge', '--project', 'plain');
        expect(result.code, dir).to.equal(1);
        expect(result.stderr, dir).to.contain('hook.not-a-repository');
      }
    });

    it('refuses to overwrite a post-receive hook that is not Anvil\'s, unless --force (which keeps it aside)', async () => {
      const hook = path.join(bare, 'hooks', 'post-receive');
      const theirs = '#!/bin/sh\necho deploying\n';
      await writeFile(hook, theirs, { mode: 0o755 });
      const refused = await install('http://forge.example.com');
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.contain('hook.exists').and.contain('--force');
      expect(await readFile(hook, 'utf8')).to.equal(theirs);

      const forced = await install('http://forge.example.com', '--force', '--json');
      expect(forced.code).to.equal(0);
      const report = JSON.parse(forced.stdout) as Record<string, unknown>;
      expect(report).to.include({ ok: true, hook, forge: 'http://forge.example.com', project: 'plain', replaced: `${hook}.before-anvil`, secret: 'missing' });
      expect(await readFile(`${hook}.before-anvil`, 'utf8')).to.equal(theirs);
      expect(await readFile(hook, 'utf8')).to.contain(HOOK_MARKER);

      // Its own hook is updated in place, no --force needed.
      const again = await install('https://forge.example.com/');
      expect(again.code).to.equal(0);
      expect(await readFile(hook, 'utf8')).to.contain('"forge":"https://forge.example.com"');
    });

    it('checks its options', async () => {
      const cases: [string[], string][] = [
        [['hook', 'install', 'prompts.git', '--project', 'plain'], 'cli.bad-arguments'],
        [['hook', 'install', 'prompts.git', '--forge', 'http://x'], 'cli.bad-arguments'],
        [['hook', 'uninstall', 'prompts.git'], 'cli.bad-arguments'],
        [['hook', 'install', 'prompts.git', '--forge', 'ftp://x', '--project', 'plain'], 'hook.bad-forge-url'],
        [['hook', 'install', 'prompts.git', '--forge', 'not a url', '--project', 'plain'], 'hook.bad-forge-url'],
        [['hook', 'install', 'prompts.git', '--forge', 'http://x', '--project', 'Bad Name'], 'hook.bad-project'],
        [['hook', 'install', 'prompts.git', '--forge', 'http://x', '--project', 'plain', '--secret-env', '1-BAD'], 'hook.bad-secret-env'],
      ];
      for (const [argv, code] of cases) {
        const result = await anvil(root, ...argv);
        expect(result.code, argv.join(' ')).to.equal(1);
        expect(result.stderr, argv.join(' ')).to.contain(code);
      }
    });

    it('--help says where the secret comes from', async () => {
      const help = await anvil(root, 'hook', '--help');
      expect(help.code).to.equal(0);
      expect(help.stdout).to.contain('anvil hook install <bare-repo> --forge <url> --project <name>').and.contain('git config anvil.webhookSecret');
      expect((await anvil(root, '--help')).stdout).to.match(/\n\s+hook\s+install the post-receive hook/);
    });
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
