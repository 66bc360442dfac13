/**
 * LIVE client benchmarks (DESIGN.md §11 "render" through the real client, and "apply"):
 * - `anvil.prompt()` on the reference prompt, from a client started on its disk cache, against
 *   plain Handlebars compiled once (promise: within 1.2×);
 * - applying a 10 MB bundle — the receiver's own path: envelope checks (JSON, schema of all but
 *   the prompt entries, integrity, signature), the plan, the swap, then the durable writes
 *   (bundle file, state file, fsyncs) — against `JSON.parse` + SHA-256 of the same bytes
 *   (promise: within 1.5×), timed when serving and when durable, with the longest pause a
 *   concurrent render loop sees during the apply;
 * - memory: RSS growth for 10,000 prompts against the bundle's JSON size (a child process).
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import {
  BUNDLE_FORMAT,
  ENVELOPE_FORMAT,
  RECEIVER_STATE_FORMAT,
  bundleIntegrity,
  canonicalJson,
  generateSigningKey,
  signIntegrity,
  type Bundle,
  type Envelope,
  type ReceiverState,
  type SigningKey,
} from '@anvil/content-schema';
import { createClient, createStoreSnapshot, PromptEnvironment, PromptStore, parsePromptSource } from '@anvil/client';
import { applyEnvelope, stageEnvelope } from '../client/src/apply/apply-envelope.ts';
import { openDiskCache } from '../client/src/cache/disk-cache.ts';
import { checkEnvelopeYielding } from '../client/src/receive/check-push.ts';
import { machine, measure, median, ratioOfMedians } from './lib/measure.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const sharedBench = process.env['ANVIL_SHARED_BENCH'] ?? path.resolve(here, '../../shared/bench');

export function sealed(set: string, version: string, prompts: Bundle['prompts']): Bundle {
  const unsealed: Omit<Bundle, 'integrity'> = {
    format: BUNDLE_FORMAT, project: 'bench', repository: '@bench', set, version, stage: 'release', mode: 'locked',
    source: { commit: 'a'.repeat(40), tag: `${set}@${version}`, tree: 'b'.repeat(40), committedAt: '2026-01-01T00:00:00.000Z' },
    dependencies: {}, prompts, partials: {},
  };
  return { ...unsealed, integrity: bundleIntegrity(unsealed) } as Bundle;
}

/** About `targetBytes` of prompts: realistic bodies with variables, sections and loops. */
export function bigPrompts(targetBytes: number, salt = ''): Bundle['prompts'] {
  const prompts: Bundle['prompts'] = {};
  const metadata = {
    config: {}, metadata: {}, ext: {},
    input: { schema: { type: 'object', properties: { name: { type: 'string' }, items: { type: 'array', items: { type: 'string' } } }, required: ['name'] } },
  } as Bundle['prompts'][string]['metadata'];
  const filler = 'Answer briefly, cite your sources, and keep a friendly, professional tone throughout. ';
  let size = 0;
  for (let i = 0; size < targetBytes; i++) {
    const template = `Prompt ${i}${salt}: hello {{name}}.\n{{#if items}}Items:\n{{#each items}}- {{this}}\n{{/each}}{{/if}}\n${filler.repeat(8)}`;
    prompts[`group${Math.floor(i / 100)}.prompt${i}`] = { template, metadata, variants: {} };
    size += template.length + 260;
  }
  return prompts;
}

function state(key: SigningKey, instanceId: string): ReceiverState {
  return {
    format: RECEIVER_STATE_FORMAT, forge: 'http://127.0.0.1:9', project: 'bench', channel: 'production', mode: 'accepting',
    forgeKeys: { [key.keyId]: key.publicKey }, sets: {}, bundles: {}, seenWebhookIds: [], instanceId,
  };
}

function envelopeOf(key: SigningKey, bundles: Bundle[]): Envelope {
  return {
    format: ENVELOPE_FORMAT, id: `env-${bundles[0]!.version}`, forge: 'bench', project: 'bench', channel: 'production',
    bundles, rollouts: {}, signatures: bundles.map((b) => signIntegrity(key, b.integrity)),
  };
}

async function promptBenchmark(key: SigningKey, dir: string): Promise<string[]> {
  const source = readFileSync(path.join(sharedBench, 'reference-prompt.md'), 'utf8');
  const input = JSON.parse(readFileSync(path.join(sharedBench, 'reference-input.json'), 'utf8')) as Record<string, unknown>;
  const compiled = new PromptEnvironment().compile(source);
  const bundle = sealed('reference', '1.0.0', { 'reference.prompt': { template: compiled.template, metadata: compiled.metadata, variants: {} } });

  // The client starts from its disk cache, exactly as an app restarts.
  const cache = openDiskCache(dir);
  await cache.writeBundle(canonicalJson(bundle), bundle.integrity);
  await cache.commit({
    ...state(key, 'bench-prompt'),
    sets: { reference: { version: '1.0.0', integrity: bundle.integrity } },
    bundles: { [bundle.integrity]: { set: 'reference', version: '1.0.0', signatures: [signIntegrity(key, bundle.integrity)] } },
  });
  const anvil = await createClient({ forge: 'http://127.0.0.1:9', project: 'bench', token: 'x', channel: 'production', cacheDir: dir, pollMs: 0, heartbeatMs: 3_600_000 });
  anvil.on('error', () => undefined); // the forge is deliberately absent
  const plain = Handlebars.create().compile(parsePromptSource(source).template, { noEscape: true });
  if (anvil.prompt('reference.prompt', input) !== plain(input)) throw new Error('anvil.prompt differs from plain Handlebars');

  const results = await measure([
    { name: 'plain Handlebars (compiled once, noEscape)', fn: () => plain(input) },
    { name: 'anvil.prompt("reference.prompt", vars)', fn: () => anvil.prompt('reference.prompt', input) },
    { name: 'anvil.prompt("reference/reference.prompt", vars)', fn: () => anvil.prompt('reference/reference.prompt', input) },
  ]);
  await anvil.close();
  const [hbs, short, qualified] = results as [typeof results[0], typeof results[0], typeof results[0]];
  const ratio = ratioOfMedians(short, hbs);
  return [
    `### anvil.prompt() (reference prompt, ${hbs.samples.length} rounds)`,
    '',
    '| path | median µs/call |',
    '|---|---|',
    ...results.map((r) => `| ${r.name} | ${r.medianUs.toFixed(3)} |`),
    '',
    `- anvil.prompt / plain Handlebars: **${ratio.toFixed(2)}×** (promise ≤ 1.2×) — ${ratio <= 1.2 ? 'met' : 'NOT met'}; qualified id ${ratioOfMedians(qualified, hbs).toFixed(2)}×`,
  ];
}

export async function applyBenchmark(key: SigningKey, dir: string): Promise<string[]> {
  const rounds = 7;
  const body = (n: number) => Buffer.from(canonicalJson(envelopeOf(key, [sealed('big', `1.0.${n}`, bigPrompts(10 * 1024 * 1024, `#${n}`))])));
  const floor: number[] = [];
  const serving: number[] = [];
  const durable: number[] = [];
  const pauses: number[] = [];
  let bytes = 0;
  for (let round = 0; round < rounds; round++) {
    const bytesIn = body(round);
    bytes = bytesIn.length;
    let t = performance.now();
    JSON.parse(bytesIn.toString('utf8'));
    createHash('sha256').update(bytesIn).digest('base64');
    floor.push(performance.now() - t);

    // A receiver that has been running: its cache directory and a state are there already.
    const cache = openDiskCache(path.join(dir, `apply-${round}`));
    const current = state(key, `bench-${round}`);
    await cache.commit(current);

    // A render loop runs beside the apply; its longest gap is the pause an app would see.
    const small = { bundle: sealed('small', '1.0.0', { hello: { template: 'Hi {{name}}', metadata: { config: {}, metadata: {}, ext: {} }, variants: {} } }) };
    const store = new PromptStore(createStoreSnapshot({ sets: { small } }));
    let last = performance.now();
    let longest = 0;
    let running = true;
    const loop = () => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      store.render('hello', { name: 'x' });
      if (running) setImmediate(loop);
    };
    setImmediate(loop);

    // The receiver's own path (what a push or a pull runs once its sender is authenticated):
    // stage the bundle bytes to disk, check the envelope (yielding between parse and checks),
    // then apply it — swapped in once verified, resolved once the bundle file and state.json are
    // durable.
    let servedAt = 0;
    t = performance.now();
    const intake = stageEnvelope(cache, bytesIn);
    const checked = await checkEnvelopeYielding(bytesIn, { project: 'bench', channel: 'production', forgeKeys: current.forgeKeys, versions: {}, rollouts: {}, ranges: {} }, { spans: intake.spans });
    if (!checked.ok) throw new Error(checked.rejection.reason);
    await applyEnvelope({
      cache, current, known: new Map(), envelope: checked.envelope, bytes: checked.bundleBytes, staged: intake.staged,
      serve: (_state, bundles) => {
        const replaced = store.swap(createStoreSnapshot({ sets: { small, big: { bundle: [...bundles.values()][0]! } }, previous: store.current() }));
        servedAt = performance.now();
        return () => store.swap(replaced);
      },
    });
    durable.push(performance.now() - t);
    serving.push(servedAt - t);
    await intake.discard();
    running = false;
    pauses.push(longest);
    if (!store.render('group0.prompt0', { name: 'x' }).startsWith(`Prompt 0#${round}: hello x.`)) throw new Error('the applied bundle is not served');
    await new Promise((r) => setImmediate(r));
  }
  const ratio = (times: number[]) => median(floor.map((f, i) => times[i]! / f));
  const verdict = (r: number) => `**${r.toFixed(2)}×** (median of per-round ratios; promise ≤ 1.5×) — ${r <= 1.5 ? 'met' : 'NOT met'}`;
  return [
    `### Apply a ${(bytes / 1024 / 1024).toFixed(1)} MB bundle (${rounds} rounds)`,
    '',
    '| path | median ms |',
    '|---|---|',
    `| JSON.parse + SHA-256 of the bytes — baseline | ${median(floor).toFixed(1)} |`,
    `| receiver apply, verified and serving: JSON, schema (prompt entries: before first use), integrity, signature, plan, swap | ${median(serving).toFixed(1)} |`,
    `| receiver apply, durable (a push is answered 200 here): the above + bundle file (staged while verifying) and state.json fsynced and renamed | ${median(durable).toFixed(1)} |`,
    '',
    `- verified and serving / baseline: ${verdict(ratio(serving))}`,
    `- durable / baseline: ${verdict(ratio(durable))}`,
    `- longest pause of a concurrent render loop during the apply: median ${median(pauses).toFixed(1)} ms, worst ${Math.max(...pauses).toFixed(1)} ms`,
  ];
}

/** RSS of a child process before and after loading 10,000 prompts (and after rendering each once). */
function memoryBenchmark(key: SigningKey, dir: string): string[] {
  const prompts: Bundle['prompts'] = {};
  const all = bigPrompts(100 * 1024 * 1024);
  let i = 0;
  for (const [id, p] of Object.entries(all)) {
    if (i++ >= 10_000) break;
    prompts[id] = p;
  }
  const bundle = sealed('big', '1.0.0', prompts);
  writeFileSync(path.join(dir, 'bundle.json'), canonicalJson(bundle));
  void key;
  const out = execFileSync(process.execPath, ['--expose-gc', '--conditions=anvil-source', '--import', 'tsx', path.join(here, 'lib/client-memory-child.ts'), path.join(dir, 'bundle.json')], { cwd: path.resolve(here, '..'), encoding: 'utf8' });
  const m = JSON.parse(out.trim().split('\n').at(-1)!) as { before: number; loaded: number; rendered: number; prompts: number; bytes: number };
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  return [
    `### Memory: ${m.prompts.toLocaleString('en')} prompts, bundle JSON ${mb(m.bytes)} MB`,
    '',
    `- RSS growth after loading (parsed, indexed, nothing compiled yet): ${mb(m.loaded - m.before)} MB (**${((m.loaded - m.before) / m.bytes).toFixed(1)}×** the JSON size)`,
    `- after rendering every prompt once (all compiled): ${mb(m.rendered - m.before)} MB (**${((m.rendered - m.before) / m.bytes).toFixed(1)}×**)`,
  ];
}

export async function clientBenchmark(): Promise<string> {
  const key = generateSigningKey();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'anvil-bench-client-'));
  try {
    const lines = [`## LIVE client — DESIGN.md §11 "render" and "apply" (issue 4)`, '', `Machine: ${machine()}`, ''];
    lines.push(...(await promptBenchmark(key, path.join(dir, 'prompt'))), '');
    lines.push(...(await applyBenchmark(key, dir)), '');
    lines.push(...memoryBenchmark(key, dir));
    return lines.join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
