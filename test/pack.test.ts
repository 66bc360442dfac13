/**
 * The pack test: what users install works. Every package is built and packed with `npm pack`,
 * and the tarballs are installed into fresh folders outside this repository, the way each kind
 * of user works, then run with plain `node` (no tsx, no TypeScript sources):
 * - an engineer's prompt repository: `npm i -D @anvil/server`, then `npx anvil init`, `new
 *   prompt`, `lint`, `render`, `release`, `types`;
 * - the GitHub workflow `anvil init` wrote, its steps run here on a clone of that repository;
 * - an operator's forge: `anvil serve` from the installed package, answering /healthz and
 *   serving the release;
 * - an app (`"type": "module"`): `npm i @anvil/client`, `anvil-live connect` + `install`, then
 *   `anvil.prompt()` from its disk cache with the forge gone;
 * - that app's `anvil-live check`: its generated prompt types against its lock, passing, then failing;
 * - that app's `anvil-live mcp`: a clear error without the optional MCP SDK, prompts over stdio
 *   to the SDK's client once it is installed;
 * - a TypeScript app compiled with plain `tsc` (strict; nodenext, node16 and bundler), where
 *   the generated prompt types make a misspelt id or a wrong variable fail to compile.
 * The steps build on each other, in order, like the walkthrough of a new user.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, cp, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { parse as parseYaml } from 'yaml';
import {
  buildPackages,
  installTarballs,
  packPackages,
  repoVersionOf,
  run,
  runOk,
  userEnv,
  type Tarballs,
} from '../test-support/packages.ts';

describe('the packed packages, installed outside the repository', function () {
  // One real install of @anvil/server builds better-sqlite3 from source (about a minute here).
  this.timeout(600_000);

  let root: string;
  let tarballs: Tarballs;
  let env: NodeJS.ProcessEnv;
  let repo: string;
  let forgeDir: string;
  let forge: { process: ChildProcess; url: string } | undefined;
  let token: string;
  let app: string;

  const node = (cwd: string, args: string[], extra: Record<string, string> = {}) => run(process.execPath, args, { cwd, env: { ...env, ...extra }, timeoutMs: 120_000 });
  const npx = (cwd: string, args: string[], extra: Record<string, string> = {}) => run('npx', ['--no-install', ...args], { cwd, env: { ...env, ...extra }, timeoutMs: 120_000 });
  const npxOk = async (cwd: string, args: string[], extra: Record<string, string> = {}) => {
    const result = await npx(cwd, args, extra);
    expect(result.code, `npx ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).to.equal(0);
    return result;
  };

  before(async function () {
    root = await mkdtemp(path.join(os.tmpdir(), 'anvil-pack-'));
    // git as on a new machine: no user config decides the branch or signs tags.
    const gitConfig = path.join(root, 'gitconfig');
    await writeFile(gitConfig, '[user]\n\tname = Pack Test\n\temail = pack@example.com\n[tag]\n\tgpgSign = false\n[commit]\n\tgpgSign = false\n');
    env = userEnv({ GIT_CONFIG_GLOBAL: gitConfig, GIT_CONFIG_NOSYSTEM: '1' });
    await buildPackages();
    tarballs = await packPackages(path.join(root, 'packs'));
  });

  after(async function () {
    forge?.process.kill('SIGTERM');
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('each tarball holds dist/ and what it needs at run time, and no sources or tests', async function () {
    for (const [dir, tarball] of Object.entries(tarballs)) {
      const listed = await runOk('tar', ['-tzf', tarball], { cwd: root });
      const files = listed.stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
      expect(files, dir).to.include('dist/index.js').and.include('dist/index.d.ts').and.include('package.json');
      expect(files.filter((f) => /^(src|test)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts')), dir).to.deep.equal([]);
      const manifest = JSON.parse((await runOk('tar', ['-xzOf', tarball, 'package/package.json'], { cwd: root })).stdout) as Record<string, unknown>;
      expect(manifest['private'], dir).to.equal(undefined);
      if (dir === 'server') expect(files).to.include('templates/init/anvil.yaml').and.include('templates/review/pull-request-comment.md.hbs').and.include('bin/anvil.js');
      if (dir === 'client') expect(files).to.include('bin/anvil-live.js');
    }
  });

  it('a prompt repository: npm i -D @anvil/server, then init → new prompt → lint → render → release → types', async function () {
    repo = path.join(root, 'my-prompts');
    const installed = await installTarballs(repo, [tarballs.server, tarballs.client, tarballs['content-schema']], {
      dev: true,
      packageJson: { name: 'my-prompts', version: '1.0.0', private: true },
    });
    expect(`${installed.stdout}${installed.stderr}`).to.not.match(/EBADENGINE|ERESOLVE|deprecated/);
    // The bins run with plain node: nothing compiles TypeScript at run time.
    expect(existsSync(path.join(repo, 'node_modules/tsx'))).to.equal(false);

    const init = await npxOk(repo, ['anvil', 'init']);
    expect(init.stdout).to.include('npx anvil lint');
    expect((await runOk('git', ['branch', '--show-current'], { cwd: repo, env })).stdout.trim()).to.equal('main');
    const manifest = JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(Object.keys(manifest.devDependencies)).to.include('@anvil/server');

    await npxOk(repo, ['anvil', 'new', 'prompt', 'hello/farewell']);
    const lint = await npxOk(repo, ['anvil', 'lint']);
    expect(lint.stdout).to.include('0 errors');
    const rendered = await npxOk(repo, ['anvil', 'render', 'hello/greeting', '--var', 'name=Ada']);
    expect(rendered.stdout).to.include('Ada');

    await runOk('git', ['add', '-A'], { cwd: repo, env });
    // Nothing `git add -A` picked up holds a secret or an installed package.
    const staged = (await runOk('git', ['diff', '--cached', '--name-only'], { cwd: repo, env })).stdout.split('\n');
    expect(staged.filter((f) => f.startsWith('node_modules/') || f.startsWith('.anvil-dev/'))).to.deep.equal([]);
    await runOk('git', ['commit', '-qm', 'Add prompts'], { cwd: repo, env });
    const release = await npxOk(repo, ['anvil', 'release', 'hello']);
    expect(release.stdout).to.match(/tagged hello@1\.0\.0/);
    const fromRelease = await npxOk(repo, ['anvil', 'render', '@my-prompts/hello@latest/greeting', '--var', 'name=Grace']);
    expect(fromRelease.stdout).to.include('Grace');

    // Export and import (issue 17) from the bundled CLI, with its precompiled archive validator:
    // the release exported, then imported back into the same repository is a no-op.
    const exported = await npxOk(repo, ['anvil', 'export', 'hello@1.0.0', '--out', path.join(root, 'hello.anvil.json')]);
    expect(exported.stdout).to.include('hello');
    const archive = JSON.parse(await readFile(path.join(root, 'hello.anvil.json'), 'utf8')) as { format: string };
    expect(archive.format).to.equal('anvil.archive/1');
    const reimport = await npxOk(repo, ['anvil', 'import', path.join(root, 'hello.anvil.json'), '--dry-run', '--json']);
    const actions = [...JSON.stringify(JSON.parse(reimport.stdout)).matchAll(/"action":"([a-z]+)"/g)].map((m) => m[1]);
    expect(actions).to.have.length.greaterThan(0);
    expect(new Set(actions)).to.deep.equal(new Set(['unchanged']));

    const types = await npxOk(repo, ['anvil', 'types', '--out', 'types/anvil-prompts.d.ts']);
    expect(types.stdout).to.match(/wrote types\/anvil-prompts\.d\.ts: \d+ prompts/);
    expect(await readFile(path.join(repo, 'types/anvil-prompts.d.ts'), 'utf8')).to.include("declare module '@anvil/client'").and.include("'hello/greeting'");
  });

  it('the workflow anvil init wrote passes when its steps run on a clone, and fails on a lint error', async function () {
    const workflow = parseYaml(await readFile(path.join(repo, '.github/workflows/anvil-lint.yml'), 'utf8')) as {
      jobs: Record<string, { steps: { run?: string; uses?: string }[] }>;
    };
    const steps = Object.values(workflow.jobs).flatMap((job) => job.steps).filter((s) => s.run !== undefined).map((s) => s.run!);
    expect(steps.length).to.be.greaterThan(0);
    // A clone beside the repository: the lock file's `file:` tarballs resolve as they did there.
    const clone = path.join(root, 'ci-clone');
    await runOk('git', ['clone', '-q', repo, clone], { cwd: root, env });
    const ciEnv = { CI: 'true', GITHUB_ACTIONS: 'true' };
    for (const step of steps) {
      const result = await run('bash', ['-eo', 'pipefail', '-c', step], { cwd: clone, env: { ...env, ...ciEnv }, timeoutMs: 300_000 });
      expect(result.code, `${step}\n${result.stdout}\n${result.stderr}`).to.equal(0);
    }

    await writeFile(path.join(clone, 'prompts/hello/greeting.md'), '---\ninput:\n  schema:\n    name: string\n---\nHello {{#if name}}{{name}}\n');
    const lintStep = steps.find((s) => s.includes('anvil lint'));
    expect(lintStep, 'a step runs anvil lint').to.be.a('string');
    const failing = await run('bash', ['-eo', 'pipefail', '-c', lintStep!], { cwd: clone, env: { ...env, ...ciEnv }, timeoutMs: 120_000 });
    expect(failing.code).to.equal(1);
    expect(failing.stdout).to.match(/^::error file=prompts\/hello\/greeting\.md,line=\d+/m);
  });

  it('anvil serve from the installed package answers /healthz and serves the release', async function () {
    forgeDir = path.join(root, 'forge');
    await mkdir(forgeDir, { recursive: true });
    await writeFile(path.join(forgeDir, 'anvil-forge.yaml'), `name: pack-forge\ndataDir: ./data\nport: 0\nprojects:\n  - name: my-prompts\n    remote: ${JSON.stringify(repo)}\n`);
    const forgeEnv = { ...env, ANVIL_WEBHOOK_SECRET: 'pack-test-webhook-secret-0123456789' };
    const child = spawn(path.join(repo, 'node_modules/.bin/anvil'), ['serve'], { cwd: forgeDir, env: forgeEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the forge did not start:\n${stderr}`)), 60_000);
      child.stderr.on('data', () => {
        const found = /listening on (http:\/\/[^\s)]+)/.exec(stderr);
        if (found) {
          clearTimeout(timer);
          resolve(found[1]!);
        }
      });
      child.on('exit', (code) => reject(new Error(`the forge exited (${code}):\n${stderr}`)));
    });
    forge = { process: child, url };

    const health = await fetch(`${url}/healthz`);
    expect(health.status).to.equal(200);
    expect(await health.json()).to.deep.include({ ok: true });
    // The dashboard and its stylesheet (package.json `files`: assets) work from the bundled dist/.
    const dashboard = await fetch(`${url}/ui/`);
    expect(dashboard.status).to.equal(200);
    expect(await dashboard.text()).to.include('action="/ui/sign-in"');
    expect((await fetch(`${url}/ui/assets/dashboard.css`)).status).to.equal(200);

    const created = await run(path.join(repo, 'node_modules/.bin/anvil'), ['token', 'create', '--project', 'my-prompts', '--label', 'pack test app'], { cwd: forgeDir, env: forgeEnv });
    expect(created.code, created.stderr).to.equal(0);
    token = created.stdout.trim();
    expect(token).to.match(/^anvil_[A-Za-z0-9_-]{43}$/);
    const versions = await fetch(`${url}/api/v1/projects/my-prompts/sets/hello/versions`, { headers: { authorization: `Bearer ${token}` } });
    expect(versions.status).to.equal(200);
    expect(JSON.stringify(await versions.json())).to.include('1.0.0');
  });

  it('an app ("type": "module") installs @anvil/client and renders from its disk cache with the forge gone', async function () {
    app = path.join(root, 'my-app');
    await installTarballs(app, [tarballs.client, tarballs['content-schema']], { packageJson: { name: 'my-app', version: '1.0.0', private: true, type: 'module' } });
    // The client stays light: no git, HTTP framework or GitHub SDK comes with it.
    for (const heavy of ['isomorphic-git', 'simple-git', 'express', 'octokit', 'better-sqlite3', 'tsx']) {
      expect(existsSync(path.join(app, 'node_modules', heavy)), heavy).to.equal(false);
    }
    const appEnv = { ANVIL_TOKEN: token };
    await npxOk(app, ['anvil-live', 'connect', '--forge', forge!.url, '--project', 'my-prompts', '--channel', 'development', '--set', 'hello@^1.0.0'], appEnv);
    await npxOk(app, ['anvil-live', 'install'], appEnv);
    // A pull from the installed forge, checked by the installed client: the envelope statement
    // the forge signed (project, channel, bundles), and each bundle against the channel's rules.
    const envelope = await fetch(`${forge!.url}/api/v1/projects/my-prompts/envelope?channel=development`, { headers: { authorization: `Bearer ${token}` } });
    expect(envelope.status).to.equal(200);
    expect(((await envelope.json()) as { envelopeSignatures?: unknown[] }).envelopeSignatures).to.have.length.greaterThan(0);
    await writeFile(path.join(app, 'pull.js'), [
      "import { createClientFromConfig } from '@anvil/client';",
      "const anvil = await createClientFromConfig('anvil-live.json', { readyTimeoutMs: 0, pollMs: 0 });",
      "console.log(JSON.stringify({ ...(await anvil.sync()), version: anvil.status().sets['hello']?.version }));",
      'await anvil.close();',
      '',
    ].join('\n'));
    const pulled = await node(app, ['pull.js'], appEnv);
    expect(pulled.code, pulled.stderr).to.equal(0);
    const pull = JSON.parse(pulled.stdout) as { code: string; version: string };
    expect(pull.code).to.be.oneOf(['applied', 'unchanged', 'not-modified']);
    // The development channel serves the live set's newest build (a head build after the release).
    expect(pull.version).to.match(/^1\.0\.\d+/);
    await writeFile(path.join(app, 'app.js'), [
      "import { createClientFromConfig } from '@anvil/client';",
      "const anvil = await createClientFromConfig('anvil-live.json');",
      "console.log(JSON.stringify({ text: anvil.prompt('greeting', { name: 'Ada' }), served: anvil.track('greeting') }));",
      'await anvil.close();',
      '',
    ].join('\n'));

    // An app without an inbound port (issue 16): the installed client on an outbound stream from
    // the installed forge, verifying what arrives as it would a push.
    await writeFile(path.join(app, 'stream.js'), [
      "import { createClient } from '@anvil/client';",
      `const anvil = await createClient({ forge: ${JSON.stringify(forge!.url)}, project: 'my-prompts', token: process.env.ANVIL_TOKEN, channel: 'development', cacheDir: '.stream-cache', transport: 'stream', pollMs: 0, readyTimeoutMs: 10000 });`,
      'const deadline = Date.now() + 20000;',
      "while (!(anvil.status().transport.state === 'connected' && anvil.status().sets.hello) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));",
      "console.log(JSON.stringify({ transport: anvil.status().transport, version: anvil.status().sets.hello?.version, text: anvil.prompt('greeting', { name: 'Ada' }) }));",
      'await anvil.close();',
      '',
    ].join('\n'));
    const streamed = await node(app, ['stream.js'], appEnv);
    expect(streamed.code, streamed.stderr).to.equal(0);
    const stream = JSON.parse(streamed.stdout) as { transport: { kind: string; state: string; connects: number }; version: string; text: string };
    expect(stream.transport).to.include({ kind: 'stream', state: 'connected' });
    expect(stream.version).to.equal(pull.version);
    expect(stream.text).to.include('Ada');

    forge!.process.kill('SIGTERM');
    await new Promise((resolve) => forge!.process.once('exit', resolve));
    const started = await node(app, ['app.js'], appEnv);
    expect(started.code, started.stderr).to.equal(0);
    const { text, served } = JSON.parse(started.stdout) as { text: string; served: Record<string, unknown> };
    expect(text).to.include('Ada');
    expect(served).to.deep.include({ set: 'hello', version: pull.version });
  });

  it('anvil-live check from the installed package: the app\'s prompt types against its lock, offline; a type change fails', async function () {
    // The app of the step above: its lock and cache (the forge is gone by now; the cache has moved
    // on to the channel's head build, and the locked bundle's file is still in its folder).
    await mkdir(path.join(app, 'src'), { recursive: true });
    await cp(path.join(repo, 'types/anvil-prompts.d.ts'), path.join(app, 'src/anvil-prompts.d.ts'));
    const ok = await npx(app, ['anvil-live', 'check', '--json']);
    expect(ok.code, `${ok.stdout}\n${ok.stderr}`).to.equal(0);
    expect(JSON.parse(ok.stdout)).to.deep.include({ ok: true, breaks: [], bundles: [{ set: 'hello', version: '1.0.0', role: 'current' }] });

    // Types generated from an edit the locked release does not have: topic now a number.
    const greeting = path.join(repo, 'prompts/hello/greeting.md');
    const original = await readFile(greeting, 'utf8');
    try {
      await writeFile(greeting, original.replace('topic?: string', 'topic: number'));
      await npxOk(repo, ['anvil', 'types', '--out', path.join(app, 'src/anvil-prompts.d.ts')]);
    } finally {
      await writeFile(greeting, original);
    }
    const broken = await npx(app, ['anvil-live', 'check']);
    expect(broken.code, broken.stderr).to.equal(1);
    expect(broken.stdout).to.match(/^src\/anvil-prompts\.d\.ts: hello\/greeting topic {2}type-changed {2}topic: the app's types say number, hello@1\.0\.0 takes /m);
  });

  it('anvil-live mcp from the installed package: mcp.sdk-missing without the MCP SDK; with it, prompts over stdio', async function () {
    // The SDK is an optional peer of @anvil/client (it brings Express): not installed with it.
    const without = await run('npx', ['--no-install', 'anvil-live', 'mcp'], { cwd: app, env: { ...env, ANVIL_TOKEN: token }, input: '', timeoutMs: 60_000 });
    expect(without.code, without.stderr).to.equal(1);
    expect(without.stderr).to.include('mcp.sdk-missing').and.include('npm install @modelcontextprotocol/sdk');
    expect(without.stdout).to.equal('');

    await runOk('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', `@modelcontextprotocol/sdk@${await repoVersionOf('@modelcontextprotocol/sdk')}`], { cwd: app, env });
    // An MCP host's side, with the SDK's client: the forge is gone, so this is the disk cache.
    await writeFile(path.join(app, 'mcp-host.js'), [
      "import { Client } from '@modelcontextprotocol/sdk/client/index.js';",
      "import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';",
      "const transport = new StdioClientTransport({ command: 'node_modules/.bin/anvil-live', args: ['mcp', '--poll', '0'], env: { ...process.env }, stderr: 'ignore' });",
      "const client = new Client({ name: 'pack-test-host', version: '1.0.0' });",
      'await client.connect(transport);',
      'const { prompts } = await client.listPrompts();',
      "const got = await client.getPrompt({ name: 'hello/greeting', arguments: { name: 'Ada' } });",
      'console.log(JSON.stringify({ names: prompts.map((p) => p.name), meta: got._meta, text: got.messages.map((m) => m.content.text).join() }));',
      'await client.close();',
      '',
    ].join('\n'));
    const hosted = await node(app, ['mcp-host.js'], { ANVIL_TOKEN: token });
    expect(hosted.code, hosted.stderr).to.equal(0);
    const listed = JSON.parse(hosted.stdout) as { names: string[]; meta: Record<string, unknown>; text: string };
    expect(listed.names).to.include('hello/greeting');
    expect(listed.meta).to.include({ set: 'hello' });
    expect(listed.text).to.include('Ada');
  });

  it('a TypeScript app compiled with plain tsc: a misspelt id and a wrong variable type fail, correct calls compile', async function () {
    const tsApp = path.join(root, 'my-ts-app');
    await installTarballs(tsApp, [tarballs.client, tarballs['content-schema'], `typescript@${await repoVersionOf('typescript')}`, `@types/node@${await repoVersionOf('@types/node')}`], {
      packageJson: { name: 'my-ts-app', version: '1.0.0', private: true, type: 'module' },
    });
    await mkdir(path.join(tsApp, 'src'), { recursive: true });
    await cp(path.join(repo, 'types/anvil-prompts.d.ts'), path.join(tsApp, 'src/anvil-prompts.d.ts'));
    await writeFile(path.join(tsApp, 'src/good.ts'), [
      "import { createClient } from '@anvil/client';",
      "const anvil = await createClient({ forge: 'http://127.0.0.1:1', project: 'my-prompts', token: 't', channel: 'production', cacheDir: '.cache' });",
      "export const a: string = anvil.prompt('hello/greeting', { name: 'Ada' });",
      "export const b: string = anvil.prompt('greeting', { name: 'Ada', topic: null });",
      "export const c: string = anvil.prompt('farewell');",
      '',
    ].join('\n'));
    const bad = {
      'misspelt.ts': ["import { createClient } from '@anvil/client';", "const anvil = await createClient({ forge: 'x', project: 'p', token: 't', channel: 'production', cacheDir: '.c' });", "anvil.prompt('greting', { name: 'Ada' });", ''],
      'wrong-type.ts': ["import { createClient } from '@anvil/client';", "const anvil = await createClient({ forge: 'x', project: 'p', token: 't', channel: 'production', cacheDir: '.c' });", "anvil.prompt('greeting', { name: 42 });", ''],
    };
    await mkdir(path.join(tsApp, 'bad'), { recursive: true });
    for (const [file, lines] of Object.entries(bad)) await writeFile(path.join(tsApp, 'bad', file), lines.join('\n'));

    const tsc = path.join(tsApp, 'node_modules/typescript/bin/tsc');
    const resolutions = [
      { module: 'nodenext', moduleResolution: 'nodenext' },
      { module: 'node16', moduleResolution: 'node16' },
      { module: 'esnext', moduleResolution: 'bundler' },
    ];
    for (const options of resolutions) {
      const label = options.moduleResolution;
      // One program with every file; each file's diagnostics are checked on their own.
      await writeFile(path.join(tsApp, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { strict: true, target: 'ES2022', ...options, noEmit: true, skipLibCheck: false, types: ['node'] },
        files: ['src/anvil-prompts.d.ts', 'src/good.ts', 'bad/misspelt.ts', 'bad/wrong-type.ts'],
      }));
      const compiled = await node(tsApp, [tsc, '-p', 'tsconfig.json', '--pretty', 'false']);
      const errors = compiled.stdout.split('\n').filter((line) => / error TS\d+:/.test(line));
      expect(errors.filter((line) => !line.startsWith('bad/')), `${label}: only the bad files fail\n${compiled.stdout}`).to.deep.equal([]);
      expect(errors.filter((line) => line.startsWith('bad/misspelt.ts')), `${label}: a misspelt id fails`).to.satisfy((found: string[]) =>
        found.length === 1 && /^bad\/misspelt\.ts\(3,\d+\): error TS\d+: .*greting/.test(found[0]!));
      expect(errors.filter((line) => line.startsWith('bad/wrong-type.ts')), `${label}: a wrong variable type fails`).to.satisfy((found: string[]) =>
        found.length === 1 && /^bad\/wrong-type\.ts\(3,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/.test(found[0]!));
      expect(compiled.code, label).to.not.equal(0);
    }
  });

  it('anvil build from the installed package compiles a large set on every core, then only a changed prompt', async function () {
    const PROMPTS = 2_000;
    const big = path.join(root, 'big-prompts');
    await mkdir(path.join(big, 'prompts/big'), { recursive: true });
    await writeFile(path.join(big, 'anvil.yaml'), 'name: "@big"\n');
    await writeFile(path.join(big, 'prompts/big/set.yaml'), 'mode: live\n');
    // Prompts the size of the reference prompt, enough of them that the main thread is still
    // compiling when the workers are ready (one-line prompts compile in ~0.2 ms each, so the
    // main thread could finish before a worker had loaded, and the count would say 1).
    for (let i = 0; i < PROMPTS; i++) await writeFile(path.join(big, `prompts/big/p${i}.md`), supportPrompt(i));
    await runOk('git', ['init', '-q', '-b', 'main'], { cwd: big, env });
    await runOk('git', ['add', '-A'], { cwd: big, env });
    await runOk('git', ['commit', '-qm', 'big'], { cwd: big, env });
    const anvil = path.join(repo, 'node_modules/.bin/anvil');
    const build = async () => {
      const result = await run(anvil, ['build', 'big', '--repo', big, '--out', path.join(root, 'big-out'), '--json'], { cwd: root, env });
      expect(result.code, result.stderr).to.equal(0);
      return (JSON.parse(result.stdout) as { bundles: { compiled: number; threads: number; reused: boolean }[] }).bundles[0]!;
    };
    const cold = await build();
    expect(cold.compiled).to.equal(PROMPTS);
    if (os.availableParallelism() > 1) expect(cold.threads, 'worker threads from dist/build/compile-worker.js').to.be.greaterThan(1);

    await writeFile(path.join(big, 'prompts/big/p7.md'), '---\ninput:\n  schema:\n    name: string\n---\nHi {{name}}, prompt 7 changed.\n');
    await runOk('git', ['commit', '-qam', 'one prompt'], { cwd: big, env });
    const incremental = await build();
    expect(incremental).to.include({ compiled: 1, reused: false });
  });
});

/** A prompt shaped like ../shared/bench/reference-prompt.md (Picoschema, if/else, each). */
function supportPrompt(i: number): string {
  return [
    '---',
    'input:',
    '  schema:',
    '    company: string',
    '    premium?: boolean',
    '    question: string',
    '    articles(array):',
    '      title: string',
    '      summary: string',
    '---',
    `You are support assistant ${i} for {{company}}. Answer clearly and politely.`,
    '{{#if premium}}This is a premium customer: prioritize the request and offer escalation.{{else}}This is a free-plan customer: point to self-service docs.{{/if}}',
    'Relevant articles:',
    '{{#each articles}}- {{title}}: {{summary}}',
    '{{/each}}',
    'Customer question: {{question}}',
    '',
  ].join('\n');
}
