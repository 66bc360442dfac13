/**
 * LIVE client benchmarks (DESIGN.md §11 "render" through the real client, and "apply"):
 * - `anvil.prompt()` on the reference prompt, from a client started on its disk cache, against
 *   plain Handlebars compiled once (promise: within 1.2×);
 * - applying a 10 MB bundle — the receiver's own path: envelope checks (a walk locating the
 *   bundles and prompt entries, the rest parsed, schema of all but the prompt entries, integrity,
 *   signature), the plan, the swap, then the durable writes
 *   (bundle file, state file, fsyncs) — against `JSON.parse` + SHA-256 of the same bytes
 *   (promise: within 1.5×), timed when serving and when durable, with the longest pause a
 *   concurrent render loop sees during the apply (a child process, lib/client-apply-child.ts);
 * - memory: V8 heap, external and RSS growth for 10,000 prompts loaded from the disk cache, against the
 *   bundle's JSON size (a child process).
 */
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
  signEnvelope, signIntegrity,
  type Bundle,
  type Envelope,
  type ReceiverState,
  type SigningKey,
} from '@anvil/content-schema';
import { createClient, PromptEnvironment, parsePromptSource } from '@anvil/client';
import { openDiskCache } from '../client/src/cache/disk-cache.ts';
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

export function receiverState(key: SigningKey, instanceId: string): ReceiverState {
  return {
    format: RECEIVER_STATE_FORMAT, forge: 'http://127.0.0.1:9', project: 'bench', channel: 'production', mode: 'accepting',
    forgeKeys: { [key.keyId]: key.publicKey }, sets: {}, bundles: {}, seenWebhookIds: [], instanceId,
  };
}

export function envelopeOf(key: SigningKey, bundles: Bundle[]): Envelope {
  return signEnvelope([key], {
    format: ENVELOPE_FORMAT, id: `env-${bundles[0]!.version}`, forge: 'bench', project: 'bench', channel: 'production',
    bundles, rollouts: {},
  });
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
    ...receiverState(key, 'bench-prompt'),
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

/** The apply rounds run in a child process (bench/lib/client-apply-child.ts), with --expose-gc. */
export function applyBenchmark(dir: string, rounds = 9): string[] {
  const out = execFileSync(process.execPath, ['--expose-gc', '--conditions=anvil-source', '--import', 'tsx', path.join(here, 'lib/client-apply-child.ts'), dir, String(rounds)], { cwd: path.resolve(here, '..'), encoding: 'utf8', maxBuffer: 1 << 20 });
  const m = JSON.parse(out.trim().split('\n').at(-1)!) as { bytes: number; floor: number[]; serving: number[]; durable: number[]; pauses: number[]; kept: number[] };
  const ratio = (times: number[]) => median(m.floor.map((f, i) => times[i]! / f));
  const verdict = (r: number) => `**${r.toFixed(2)}×** (median of per-round ratios; promise ≤ 1.5×) — ${r <= 1.5 ? 'met' : 'NOT met'}`;
  const range = (times: number[]) => `${Math.min(...times).toFixed(1)}–${Math.max(...times).toFixed(1)}`;
  return [
    `### Apply a ${(m.bytes / 1024 / 1024).toFixed(1)} MB bundle (${rounds} rounds; bodies built before timing, baseline and apply in alternating order)`,
    '',
    '| path | median ms | range |',
    '|---|---|---|',
    `| JSON.parse + SHA-256 of the bytes — baseline | ${median(m.floor).toFixed(1)} | ${range(m.floor)} |`,
    `| receiver apply, verified and serving: one walk locating bundles and prompt entries, outline parsed, schema (prompt entries: parsed and checked on first use), integrity, signature, plan, swap | ${median(m.serving).toFixed(1)} | ${range(m.serving)} |`,
    `| receiver apply, durable (a push is answered 200 here): the above + bundle file (staged while verifying) and state.json fsynced and renamed | ${median(m.durable).toFixed(1)} | ${range(m.durable)} |`,
    `| for the record: baseline + keeping the whole parse (the two young-generation collections that move it to the old generation), what a receiver that parses every prompt up front pays at least | ${median(m.kept).toFixed(1)} | ${range(m.kept)} |`,
    '',
    `- verified and serving / baseline: ${verdict(ratio(m.serving))}`,
    `- durable / baseline: ${verdict(ratio(m.durable))}`,
    `- longest pause of a concurrent render loop during the apply: median ${median(m.pauses).toFixed(1)} ms, worst ${Math.max(...m.pauses).toFixed(1)} ms`,
  ];
}

/** Memory of a child process before and after loading 10,000 prompts from its cache (and after rendering each once). */
function memoryBenchmark(dir: string): string[] {
  const prompts: Bundle['prompts'] = {};
  const all = bigPrompts(100 * 1024 * 1024);
  let i = 0;
  for (const [id, p] of Object.entries(all)) {
    if (i++ >= 10_000) break;
    prompts[id] = p;
  }
  const bundle = sealed('big', '1.0.0', prompts);
  writeFileSync(path.join(dir, 'bundle.json'), canonicalJson(bundle));
  const out = execFileSync(process.execPath, ['--expose-gc', '--conditions=anvil-source', '--import', 'tsx', path.join(here, 'lib/client-memory-child.ts'), path.join(dir, 'bundle.json'), path.join(dir, 'memory-cache')], { cwd: path.resolve(here, '..'), encoding: 'utf8' });
  const m = JSON.parse(out.trim().split('\n').at(-1)!) as {
    before: number; loaded: number; rendered: number; heapBefore: number; heapLoaded: number; heapRendered: number;
    externalBefore: number; externalLoaded: number; prompts: number; bytes: number; firstRenders: number;
  };
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  const growth = (n: number) => `${mb(n)} MB (**${(n / m.bytes).toFixed(1)}×** the JSON size)`;
  return [
    `### Memory: ${m.prompts.toLocaleString('en')} prompts, bundle JSON ${mb(m.bytes)} MB`,
    '',
    `- after loading from the disk cache (verified and swapped in; prompt entries located, none parsed, checked or compiled yet): V8 heap +${growth(m.heapLoaded - m.heapBefore)}, outside the heap (the bundle's bytes) +${growth(m.externalLoaded - m.externalBefore)}, RSS +${growth(m.loaded - m.before)}`,
    `- after rendering every prompt once (all parsed, checked and compiled): V8 heap +${growth(m.heapRendered - m.heapBefore)}, RSS +${growth(m.rendered - m.before)}`,
    `- those first renders (each prompt's entry parsed, checked and compiled on its first call): ${m.firstRenders.toFixed(0)} ms for ${m.prompts.toLocaleString('en')}, ${(m.firstRenders * 1000 / m.prompts).toFixed(0)} µs each; later calls render from the compiled prompt`,
  ];
}

export async function clientBenchmark(): Promise<string> {
  const key = generateSigningKey();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'anvil-bench-client-'));
  try {
    const lines = [`## LIVE client — DESIGN.md §11 "render" and "apply" (issue 4)`, '', `Machine: ${machine()}`, ''];
    lines.push(...(await promptBenchmark(key, path.join(dir, 'prompt'))), '');
    lines.push(...applyBenchmark(dir), '');
    lines.push(...memoryBenchmark(dir));
    return lines.join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
