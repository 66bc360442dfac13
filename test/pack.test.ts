/**
 * The pack test: what users install works. Every package is built and packed with `npm pack`,
 * and the tarballs are installed into fresh folders outside this repository, the way each kind
 * of user works, then run with plain `node` (no tsx, no TypeScript sources):
 * - an engineer's prompt repository: `npm i -D @anvil/server`, then `npx anvil init`, `new
 *   prompt`, `lint`, `render`, `release`, `export`/`import`, `types`;
 * - its anvil.yaml edited by `anvil canary set|list|rm` and `anvil alias set|list|rm --commit`,
 *   and `anvil render @my-prompts/hello@stable/greeting` rendering the release the alias names;
 * - the GitHub workflow `anvil init` wrote, its steps run here on a clone of that repository;
 * - an operator's forge: `anvil serve` from the installed package, answering /healthz and
 *   serving the release;
 * - an app (`"type": "module"`): `npm i @anvil/client`, `anvil-live connect` + `install`, then
 *   `anvil.prompt()` from its disk cache with the forge gone;
 * - that app's `anvil-live check`: its generated prompt types against its lock, passing, then failing;
 * - that app's `anvil-live mcp`: a clear error without the optional MCP SDK, prompts over stdio
 *   to the SDK's client once it is installed;
 * - the forge restarted on its store: the app's `anvil.reportMetrics()` calls sent on `close()`,
 *   and `anvil analytics hello [--json]` reading back their count and success rate;
 * - a second forge with `knownForges` naming the first: `anvil peers browse|connect|list`;
 * - a TypeScript app compiled with plain `tsc` (strict; nodenext, node16 and bundler), where
 *   the generated prompt types make a misspelt id or a wrong variable fail to compile;
 * - `anvil build` of a large set on worker threads, then of one changed prompt.
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
  offerBuiltSqlite,
  packPackages,
  repoVersionOf,
  run,
  runOk,
  userEnv,
  type Tarballs,
} from '../test-support/packages.ts';

describe('the packed packages, installed outside the repository', function () {
  // A real install of @anvil/server builds better-sqlite3 from source (about 90 s here) unless
  // offerBuiltSqlite hands it this checkout's binary, as it does by default.
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
  /** The `anvil` bin the prompt repository installed, run as a shell runs it (its shebang: plain node). */
  const anvilBin = () => path.join(repo, 'node_modules/.bin/anvil');
  const anvilOk = async (cwd: string, args: string[], extra: Record<string, string> = {}) => {
    const result = await run(anvilBin(), args, { cwd, env: { ...env, ...extra }, timeoutMs: 120_000 });
    expect(result.code, `anvil ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).to.equal(0);
    return result;
  };
  const forgeEnv = (extra: Record<string, string> = {}) => ({ ...env, ANVIL_WEBHOOK_SECRET: 'pack-test-webhook-secret-0123456789', ...extra });
  const started: ChildProcess[] = [];
  /**
   * `anvil serve` from the installed package, in `dir` (its anvil-forge.yaml, one project).
   * Resolves once it listens and `GET /readyz` says its first sync has ended: the forge listens
   * first and syncs in the background, so until then it serves nothing. A failed first sync is
   * a failure here (the forge would be ready, serving its empty store).
   */
  const startForge = async (dir: string, forgeEnvironment: NodeJS.ProcessEnv) => {
    const child = spawn(anvilBin(), ['serve'], { cwd: dir, env: forgeEnvironment, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // The forge logs JSON lines (pino) to stdout; the last piece may be a line still arriving.
    const logged = (msg: string) => stdout.split('\n').slice(0, -1).some((line) => line.includes(`"msg":${JSON.stringify(msg)}`));
    const listening = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the forge did not start:\n${stderr}\n${stdout}`)), 60_000);
      const check = () => {
        const found = /listening on (http:\/\/[^\s)]+)/.exec(stderr);
        if (found) {
          clearTimeout(timer);
          resolve(found[1]!);
        }
      };
      child.stderr.on('data', check);
      child.on('exit', (code) => reject(new Error(`the forge exited (${code}):\n${stderr}\n${stdout}`)));
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (logged('sync failed')) throw new Error(`the forge's first sync failed:\n${stdout}`);
      const ready = await fetch(`${listening}/readyz`);
      if (ready.status === 200) break;
      expect(ready.status, 'GET /readyz before the first sync').to.equal(503);
      if (Date.now() > deadline) throw new Error(`the forge was not ready within a minute:\n${stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (logged('sync failed')) throw new Error(`the forge's first sync failed:\n${stdout}`);
    const url = listening;
    return { process: child, url };
  };
  const stopForge = async (child: ChildProcess) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };

  before(async function () {
    root = await mkdtemp(path.join(os.tmpdir(), 'anvil-pack-'));
    // git as on a new machine: no user config decides the branch or signs tags.
    const gitConfig = path.join(root, 'gitconfig');
    await writeFile(gitConfig, '[user]\n\tname = Pack Test\n\temail = pack@example.com\n[tag]\n\tgpgSign = false\n[commit]\n\tgpgSign = false\n');
    env = userEnv({ GIT_CONFIG_GLOBAL: gitConfig, GIT_CONFIG_NOSYSTEM: '1' });
    await buildPackages();
    tarballs = await packPackages(path.join(root, 'packs'));
    await offerBuiltSqlite(root);
  });

  after(async function () {
    for (const child of started) child.kill('SIGTERM');
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

  it('anvil canary and anvil alias from the installed package edit anvil.yaml; an address through the alias renders the release', async function () {
    const config = path.join(repo, 'anvil.yaml');
    const original = await readFile(config, 'utf8');
    const readConfig = async () => parseYaml(await readFile(config, 'utf8')) as { aliases?: unknown; rollouts?: unknown };

    // A canary, not committed: the rollout in anvil.yaml, listed, then ended.
    const canary = await anvilOk(repo, ['canary', 'set', 'hello', '--version', '1.0.0', '--percent', '10']);
    expect(canary.stdout).to.include('set rollout of hello on production: 1.0.0 to 10% of keys').and.include('git add anvil.yaml && git commit');
    expect((await readConfig()).rollouts).to.deep.equal({ hello: { production: { version: '1.0.0', percent: 10 } } });
    // Only the lines of the rollout are new: the comments and layout init wrote stay as they were.
    expect(await readFile(config, 'utf8')).to.satisfy((text: string) => text.startsWith(original));
    const rollouts = await anvilOk(repo, ['canary', 'list', '--json']);
    expect(JSON.parse(rollouts.stdout)).to.deep.equal({ rollouts: [{ set: 'hello', channel: 'production', version: '1.0.0', percent: 10 }] });
    const badPercent = await run(anvilBin(), ['canary', 'set', 'hello', '--version', '1.0.0', '--percent', '12.5'], { cwd: repo, env });
    expect(badPercent.code).to.equal(1);
    expect(badPercent.stderr).to.include('canary.bad-percent').and.not.include('    at ');
    const ended = await anvilOk(repo, ['canary', 'rm', 'hello']);
    expect(ended.stdout).to.include('removed rollout of hello on production (1.0.0 at 10%)');
    expect((await readConfig()).rollouts).to.deep.equal({});
    await writeFile(config, original);

    // An alias, committed: anvil.yaml alone, with a message saying what changed.
    const alias = await anvilOk(repo, ['alias', 'set', 'hello', 'stable', '1.0.0', '--commit']);
    expect(alias.stdout).to.include('set hello@stable → 1.0.0 in anvil.yaml').and.match(/committed anvil\.yaml as [0-9a-f]{7}/);
    expect((await readConfig()).aliases).to.deep.equal({ hello: { stable: '1.0.0' } });
    expect((await runOk('git', ['log', '-1', '--format=%s', '--', 'anvil.yaml'], { cwd: repo, env })).stdout.trim()).to.equal('anvil alias: hello@stable = 1.0.0');
    expect((await runOk('git', ['status', '--porcelain', '--', 'anvil.yaml'], { cwd: repo, env })).stdout).to.equal('');
    const aliases = await anvilOk(repo, ['alias', 'list', '--json']);
    expect(JSON.parse(aliases.stdout)).to.deep.equal({ aliases: [{ set: 'hello', alias: 'stable', version: '1.0.0', released: true }] });
    const unreleased = await run(anvilBin(), ['alias', 'set', 'hello', 'stable', '9.9.9'], { cwd: repo, env });
    expect(unreleased.code).to.equal(1);
    expect(unreleased.stderr).to.include('release.unknown').and.include('releases of hello: 1.0.0').and.not.include('    at ');

    // The address through the alias renders the release it names, not the working tree's edit.
    const greeting = path.join(repo, 'prompts/hello/greeting.md');
    const released = await readFile(greeting, 'utf8');
    try {
      await writeFile(greeting, released.replace('friendly greeting', 'unreleased greeting'));
      expect((await anvilOk(repo, ['render', 'hello/greeting', '--var', 'name=Lin'])).stdout).to.include('unreleased greeting');
      const throughAlias = await anvilOk(repo, ['render', '@my-prompts/hello@stable/greeting', '--var', 'name=Lin']);
      expect(throughAlias.stdout).to.include('friendly greeting for Lin').and.not.include('unreleased');
    } finally {
      await writeFile(greeting, released);
    }

    const removed = await anvilOk(repo, ['alias', 'rm', 'hello', 'stable', '--commit']);
    expect(removed.stdout).to.include('removed hello@stable (was 1.0.0) from anvil.yaml');
    expect((await readConfig()).aliases).to.deep.equal({});
    expect((await anvilOk(repo, ['alias', 'list'])).stdout.trim()).to.equal('no aliases in anvil.yaml');
    const gone = await run(anvilBin(), ['render', '@my-prompts/hello@stable/greeting'], { cwd: repo, env });
    expect(gone.code).to.equal(1);
    expect(gone.stderr).to.include('alias.unknown');
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
    forge = await startForge(forgeDir, forgeEnv());
    const url = forge.url;

    const health = await fetch(`${url}/healthz`);
    expect(health.status).to.equal(200);
    expect(await health.json()).to.deep.include({ ok: true });
    // The dashboard and its stylesheet (package.json `files`: assets) work from the bundled dist/.
    const dashboard = await fetch(`${url}/ui/`);
    expect(dashboard.status).to.equal(200);
    expect(await dashboard.text()).to.include('action="/ui/sign-in"');
    expect((await fetch(`${url}/ui/assets/dashboard.css`)).status).to.equal(200);

    const created = await run(anvilBin(), ['token', 'create', '--project', 'my-prompts', '--label', 'pack test app'], { cwd: forgeDir, env: forgeEnv() });
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

    await stopForge(forge!.process);
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

  it('anvil analytics from the installed package: the calls the installed client reported, raw and folded, as the forge counted them; the forge\'s MCP session and its stream', async function () {
    // The forge again, on the store it left: the app's token and the release are still there
    // (on another port: the app is pointed at it).
    forge = await startForge(forgeDir, forgeEnv());
    await writeFile(path.join(app, 'report.js'), [
      "import { createClientFromConfig } from '@anvil/client';",
      // Four reports sent raw, the other six folded into aggregates (as past the allowance of a busy app).
      "const anvil = await createClientFromConfig('anvil-live.json', { forge: process.env.FORGE_URL, readyTimeoutMs: 0, pollMs: 0, metrics: { rawPerFlush: 4 } });",
      'const errors = [];',
      "anvil.on('error', (err) => errors.push(String(err)));",
      'await anvil.sync();',
      'for (let i = 0; i < 10; i++) {',
      '  const key = `user-${i}`;',
      "  anvil.prompt('greeting', { name: 'Ada' }, { key });",
      "  anvil.reportMetrics('greeting', { key, success: i < 7, latency_ms: 20 + i });",
      '}',
      "const version = anvil.track('greeting').version;",
      'await anvil.close();',
      'console.log(JSON.stringify({ version, stats: anvil.metricsStats(), errors }));',
      '',
    ].join('\n'));
    const reported = await node(app, ['report.js'], { ANVIL_TOKEN: token, FORGE_URL: forge.url });
    expect(reported.code, reported.stderr).to.equal(0);
    const { version, stats, errors } = JSON.parse(reported.stdout) as { version: string; stats: Record<string, number>; errors: string[] };
    expect(errors).to.deep.equal([]);
    // close() sent the queue: every report reached the forge, none dropped.
    expect(stats).to.include({ queued: 0, sent: 10, folded: 6, dropped: 0, failedBatches: 0 });

    const analytics = await anvilOk(forgeDir, ['analytics', 'hello', '--json']);
    const report = JSON.parse(analytics.stdout) as {
      project: string; set: string;
      versions: { version: string; events: number; successes: number; successRate: number; channels: string[]; latencyMs: Record<string, number | null> }[];
    };
    expect(report).to.include({ project: 'my-prompts', set: 'hello' });
    expect(report.versions).to.have.length(1);
    expect(report.versions[0]).to.deep.include({ version, events: 10, successes: 7, successRate: 0.7, channels: ['development'] });
    expect(report.versions[0]!.latencyMs).to.include({ mean: 24.5, max: 29 });
    const table = await anvilOk(forgeDir, ['analytics', 'hello']);
    expect(table.stdout).to.include('my-prompts/hello').and.match(new RegExp(`^${version.replace(/[.+]/g, '\\$&')}\\s+10\\s+70\\.0%`, 'm'));

    // The same forge serves the channel over MCP with a session, and opens the session's stream
    // (where list_changed would come): the MCP SDK, a dependency of the installed package, loaded on use.
    const mcpUrl = `${forge.url}/api/v1/projects/my-prompts/mcp?channel=development`;
    const initialized = await fetch(mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'pack-test', version: '1' } } }),
    });
    expect(initialized.status).to.equal(200);
    const session = initialized.headers.get('mcp-session-id');
    expect(session).to.be.a('string').and.not.equal('');
    expect(((await initialized.json()) as { result?: { capabilities?: Record<string, unknown> } }).result?.capabilities).to.have.property('prompts');
    const abort = new AbortController();
    const stream = await fetch(mcpUrl, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'mcp-session-id': session!, 'mcp-protocol-version': '2025-06-18' }, signal: abort.signal });
    expect(stream.status).to.equal(200);
    expect(stream.headers.get('content-type')).to.match(/^text\/event-stream/);
    abort.abort();
  });

  it('anvil peers from the installed package: a forge with knownForges browses the running forge and connects its project', async function () {
    // On the peer (the forge above), its operator makes a read-only token for the browsing forge.
    const made = await anvilOk(forgeDir, ['token', 'create', '--project', 'my-prompts', '--label', 'browsing forge', '--scope', 'read'], forgeEnv());
    const readToken = made.stdout.trim();
    expect(readToken).to.match(/^anvil_[A-Za-z0-9_-]{43}$/);
    const browsingDir = path.join(root, 'browsing-forge');
    await mkdir(browsingDir, { recursive: true });
    await writeFile(path.join(browsingDir, 'anvil-forge.yaml'), [
      'name: browsing-forge',
      'dataDir: ./data',
      'port: 0',
      'projects:',
      '  - name: our-prompts',
      `    remote: ${JSON.stringify(repo)}`,
      'knownForges:',
      '  - name: partner',
      `    url: ${forge!.url}`,
      '    token: { env: PARTNER_FORGE_TOKEN }',
      '',
    ].join('\n'));
    const peerEnv = { PARTNER_FORGE_TOKEN: readToken };
    const browsing = await startForge(browsingDir, forgeEnv(peerEnv));
    try {
      const projects = await anvilOk(browsingDir, ['peers', 'browse', 'partner', '--json'], peerEnv);
      expect(projects.stderr, 'knownForges reads without a warning').to.equal('');
      expect(JSON.parse(projects.stdout)).to.deep.include({ forge: 'pack-forge', projects: [{ name: 'my-prompts', releasedSets: 1 }] });
      const sets = JSON.parse((await anvilOk(browsingDir, ['peers', 'browse', 'partner', 'my-prompts', '--json'], peerEnv)).stdout) as {
        forge: string; sets: { name: string; prompts: number | null; latest: { version: string } | null }[];
      };
      expect(sets.forge).to.equal('partner');
      expect(sets.sets.map((set) => ({ name: set.name, latest: set.latest?.version }))).to.deep.equal([{ name: 'hello', latest: '1.0.0' }]);
      const table = await anvilOk(browsingDir, ['peers', 'browse', 'partner', 'my-prompts'], peerEnv);
      expect(table.stdout).to.match(/^hello\s+\d+\s+1\.0\.0\s/m);

      const before = await anvilOk(browsingDir, ['peers', 'list'], peerEnv);
      expect(before.stdout).to.match(new RegExp(`^partner\\s+${forge!.url.replace(/[.]/g, '\\.')}\\s+\\$PARTNER_FORGE_TOKEN`, 'm'));
      expect(before.stderr).to.include('no connected project');
      const connected = await anvilOk(browsingDir, ['peers', 'connect', 'partner', 'my-prompts'], peerEnv);
      expect(connected.stdout).to.include('connected partner / my-prompts');
      const listed = JSON.parse((await anvilOk(browsingDir, ['peers', 'list', '--json'], peerEnv)).stdout) as {
        forges: { name: string; url: string }[]; connections: { source: string; known: boolean }[];
      };
      expect(listed.forges).to.deep.equal([{ name: 'partner', url: forge!.url, tokenEnv: 'PARTNER_FORGE_TOKEN' }]);
      expect(listed.connections.map((c) => ({ source: c.source, known: c.known }))).to.deep.equal([{ source: 'partner / my-prompts', known: true }]);
    } finally {
      await stopForge(browsing.process);
    }
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
