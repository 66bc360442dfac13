/**
 * Start-up benchmark (DESIGN.md §11 "start-up", issue 13): what a user waits for, from the
 * packed packages installed outside this repository and run with plain `node`, against
 * `node -e 0` in the same run (each a fresh process, interleaved, order rotated per round):
 * - `anvil --help` and `anvil-live --help` (promise: within 2×);
 * - `anvil lint` of the example repository (within 4×);
 * - an app's cold start from its disk cache to its first rendered prompt (within 3×): a
 *   `"type": "module"` app that imports @anvil/client, creates a client on a cache holding the
 *   example repository's sets, renders `welcome.message` and exits.
 * The CLI is installed with --ignore-scripts: none of these commands may need SQLite, so its
 * native build (a minute here) is left out of the set-up, and a command that loaded it would fail.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { canonicalJson, generateSigningKey, signIntegrity, type Bundle } from '@anvil/content-schema';
import { openDiskCache } from '../client/src/cache/disk-cache.ts';
import { buildPackages, installTarballs, packPackages, REPO_ROOT, runOk, userEnv } from '../test-support/packages.ts';
import { receiverState } from './client.bench.ts';
import { machine, median, ratioOfMedians, type CandidateResult } from './lib/measure.ts';
import { measureRuns } from './lib/runs.ts';

const ROUNDS = 21;
const TIME = '/usr/bin/time';

interface Timed {
  ms: number;
  /** Peak resident memory of the process, KiB (when /usr/bin/time is there to report it). */
  maxRssKiB: number | undefined;
}

/** Runs one fresh process to its end; the wall time from spawn to exit. */
function timeProcess(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Timed> {
  const withRss = existsSync(TIME);
  const [command, ...rest] = withRss ? [TIME, '-f', '%M', process.execPath, ...args] : [process.execPath, ...args];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command!, rest, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) return reject(new Error(`node ${args.join(' ')} exited ${code}\n${stdout}\n${stderr}`));
      const rss = withRss ? Number(stderr.trim().split('\n').at(-1)) : undefined;
      resolve({ ms, maxRssKiB: Number.isFinite(rss) ? rss : undefined });
    });
  });
}

export async function startupBenchmark(): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'anvil-bench-startup-'));
  try {
    console.error('startup: building and packing the packages…');
    await buildPackages();
    const tarballs = await packPackages(path.join(dir, 'packs'));
    const cli = path.join(dir, 'cli');
    const app = path.join(dir, 'app');
    await installTarballs(cli, [tarballs.server, tarballs.client, tarballs['content-schema']], { dev: true, ignoreScripts: true });
    await installTarballs(app, [tarballs.client, tarballs['content-schema']], { packageJson: { name: 'bench-app', version: '1.0.0', private: true, type: 'module' } });
    const env = userEnv({ GIT_CONFIG_GLOBAL: path.join(dir, 'gitconfig'), GIT_CONFIG_NOSYSTEM: '1' });
    writeFileSync(path.join(dir, 'gitconfig'), '[user]\n\tname = Bench\n\temail = bench@example.com\n');

    // The example repository, as its own git repository outside this one.
    const example = path.join(dir, 'example');
    cpSync(path.join(REPO_ROOT, 'examples/prompts'), example, { recursive: true });
    await runOk('git', ['init', '-q', '-b', 'main'], { cwd: example, env });
    await runOk('git', ['add', '-A'], { cwd: example, env });
    await runOk('git', ['commit', '-qm', 'example'], { cwd: example, env });
    const anvil = path.join(cli, 'node_modules/@anvil/server/bin/anvil.js');
    const anvilLive = path.join(cli, 'node_modules/@anvil/client/bin/anvil-live.js');

    // The app's cache: the example's sets as bundles, signed by a forge key the app pins.
    const bundlesDir = path.join(dir, 'bundles');
    // onboarding and support depend on core's releases.
    await runOk(process.execPath, [anvil, 'release', 'core'], { cwd: example, env });
    await runOk(process.execPath, [anvil, 'build', 'core', '--ref', '1.0.0', '--out', bundlesDir], { cwd: example, env });
    await runOk(process.execPath, [anvil, 'build', 'onboarding', 'support', '--out', bundlesDir], { cwd: example, env });
    const key = generateSigningKey();
    const cacheDir = path.join(app, '.anvil-cache');
    const cache = openDiskCache(cacheDir);
    const bundles = readdirSync(bundlesDir).map((file) => JSON.parse(readFileSync(path.join(bundlesDir, file), 'utf8')) as Bundle);
    const project = bundles[0]!.project;
    // core's release and head builds of the others: what a development receiver may serve.
    const state = { ...receiverState(key, 'bench-startup'), project, channel: 'development' as const };
    for (const bundle of bundles) {
      await cache.writeBundle(canonicalJson(bundle), bundle.integrity);
      state.sets[bundle.set] = { version: bundle.version, integrity: bundle.integrity };
      state.bundles[bundle.integrity] = { set: bundle.set, version: bundle.version, signatures: [signIntegrity(key, bundle.integrity)] };
    }
    await cache.commit(state);
    const check = openDiskCache(cacheDir);
    if ((await check.load())?.source !== 'current') throw new Error(`the app's cache does not verify: ${JSON.stringify(check.lastLoadProblems)}`);
    writeFileSync(path.join(app, 'app.js'), [
      "import { createClient } from '@anvil/client';",
      `const anvil = await createClient({ forge: 'http://127.0.0.1:9', project: ${JSON.stringify(project)}, token: 'unused', channel: 'development', cacheDir: '.anvil-cache', publicKey: ${JSON.stringify({ [key.keyId]: key.publicKey })}, pollMs: 0 });`,
      "const text = anvil.prompt('welcome.message', { name: 'Ada' });",
      "if (!text.includes('Ada')) throw new Error('not rendered');",
      'process.stdout.write(text);',
      // The first prompt is what is measured: an app would keep running; this one leaves.
      'process.exit(0);',
      '',
    ].join('\n'));

    const candidates: { name: string; args: string[]; cwd: string }[] = [
      { name: 'node -e 0', args: ['-e', '0'], cwd: dir },
      { name: 'anvil --help', args: [anvil, '--help'], cwd: dir },
      { name: 'anvil-live --help', args: [anvilLive, '--help'], cwd: dir },
      { name: 'anvil lint (example)', args: [anvil, 'lint'], cwd: example },
      { name: 'app: first prompt from the disk cache', args: ['app.js'], cwd: app },
    ];
    const rss = new Map<string, number[]>();
    console.error(`startup: ${ROUNDS} rounds of ${candidates.length} processes…`);
    const results = await measureRuns(candidates.map((c) => ({
      name: c.name,
      run: async () => {
        const timed = await timeProcess(c.args, c.cwd, env);
        if (timed.maxRssKiB !== undefined) rss.set(c.name, [...(rss.get(c.name) ?? []), timed.maxRssKiB]);
        return timed.ms;
      },
    })), { rounds: ROUNDS });
    return report(results, rss);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const PROMISES: Record<string, number> = {
  'anvil --help': 2,
  'anvil-live --help': 2,
  'anvil lint (example)': 4,
  'app: first prompt from the disk cache': 3,
};

function report(results: CandidateResult[], rss: Map<string, number[]>): string {
  const baseline = results[0]!;
  const ms = (r: CandidateResult) => (r.medianUs / 1000).toFixed(0);
  const lines = [
    '## Start-up — DESIGN.md §11 "start-up" (issue 13)',
    '',
    `Machine: ${machine()}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}. Packed packages installed in a temp folder, plain \`node\`; ${ROUNDS} rounds, each process fresh, interleaved; ratio = median of the per-round ratios to \`node -e 0\`.`,
    '',
    '| command | median ms | ratio to `node -e 0` | promise | peak RSS (MiB, median) |',
    '|---|---:|---:|---|---:|',
  ];
  for (const result of results) {
    const promise = PROMISES[result.name];
    const ratio = result === baseline ? 1 : ratioOfMedians(result, baseline);
    const memory = rss.get(result.name);
    lines.push(`| ${result.name} | ${ms(result)} | ${result === baseline ? '1.00×' : `**${ratio.toFixed(2)}×**`} | ${promise ? `≤ ${promise}× — ${ratio <= promise ? 'met' : 'NOT met'}` : 'baseline'} | ${memory ? (median(memory) / 1024).toFixed(0) : '—'} |`);
  }
  return lines.join('\n');
}
