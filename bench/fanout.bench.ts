/**
 * Fan-out (DESIGN.md §11 "fan-out"): publishing to 1,000 receivers on loopback within 1.5× of a
 * bare HTTP POST loop with the same concurrency and payload; and to 100 receivers.
 *
 * The receivers are real LIVE receivers (@anvil/client, `listen`), 250 per child process, each
 * applying every push for real (checks, disk cache writes with fsync, swap). Both candidates push
 * the same kind of envelope (one small set, a new version each run, so that every push is a real
 * apply) to the same receivers, with the same keep-alive `node:http` client and concurrency:
 * - baseline: a bare POST loop — body serialised once, every request's headers (bearer token and
 *   Standard Webhooks signature) made before the clock starts, nothing written anywhere;
 * - forge: what a publish costs the forge — the envelope row, enqueueDeliveries (one row per
 *   receiver), then the push worker draining the queue: leased claims, a signature per push,
 *   every answer recorded (delivery, receiver, audit row), all in a SQLite store on disk.
 * Runs are interleaved, their order rotated each round; medians and the median of per-round ratios.
 */
import { randomBytes } from 'node:crypto';
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENVELOPE_FORMAT, canonicalJson, generateSigningKey, signEnvelope, signIntegrity, signWebhook, type Envelope, type SigningKey } from '@anvil/content-schema';
import { hashToken, tokenPrefix } from '../server/src/access/access-tokens.ts';
import { enqueueDeliveries } from '../server/src/deliver/delivery-queue.ts';
import { startPushWorker, type PushWorker } from '../server/src/deliver/push-worker.ts';
import type { ForgeContext } from '../server/src/forge/forge-context.ts';
import { createLogger } from '../server/src/forge/logger.ts';
import { createForgeMetrics } from '../server/src/forge/metrics.ts';
import { secretBox } from '../server/src/forge/secret-box.ts';
import { openStore, storeTime, type Store } from '../server/src/store/open-store.ts';
import { createStoreEvents } from '../server/src/store/store-events.ts';
import { bigPrompts, sealed } from './client.bench.ts';
import { machine, median } from './lib/measure.ts';
import { measureRuns } from './lib/runs.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const PROCESSES = 4;
const PER_PROCESS = 250;
const CONCURRENCY = 32;
export const TOKEN = `anvil_${randomBytes(32).toString('base64url')}`;
export const TOKEN_ID = 'tok_bench';

export interface Pool {
  urls: string[];
  children: ChildProcess[];
}

export async function startReceivers(key: SigningKey, root: string): Promise<Pool> {
  const children: ChildProcess[] = [];
  const lists = await Promise.all(Array.from({ length: PROCESSES }, (_, p) => new Promise<string[]>((resolve, reject) => {
    const child = fork(path.join(here, 'lib/fanout-receivers-child.ts'), [String(PER_PROCESS), String(p * PER_PROCESS), key.publicKey, TOKEN, root], {
      execArgv: ['--conditions=anvil-source', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    child.once('message', (m) => resolve((m as { urls: string[] }).urls));
    child.once('exit', (code) => reject(new Error(`a receiver process exited (${code})`)));
  })));
  // Interleaved, so that any prefix (the 100-receiver case) spreads over every process.
  const urls: string[] = [];
  for (let i = 0; i < PER_PROCESS; i++) for (const list of lists) urls.push(list[i]!);
  return { urls, children };
}

let versionCount = 0;
/** A new version every run: each push is a real apply for every receiver. */
export function nextEnvelope(key: SigningKey, salt: string): { envelope: Envelope; body: Buffer } {
  const version = `1.0.${++versionCount}`;
  const bundle = sealed('onboarding', version, bigPrompts(8 * 1024, salt));
  const envelope: Envelope = signEnvelope([key], {
    format: ENVELOPE_FORMAT, id: `env-${version}`, forge: 'bench', project: 'bench', channel: 'production',
    bundles: [bundle], rollouts: {},
  });
  return { envelope, body: Buffer.from(canonicalJson(envelope)) };
}

export interface Forge {
  ctx: ForgeContext;
  worker: PushWorker;
  close(): Promise<void>;
}

export async function startForge(key: SigningKey, dir: string, urls: string[]): Promise<Forge> {
  const location = { file: path.join(dir, 'forge.db') };
  const db = await openStore(location);
  const secrets = secretBox(randomBytes(32));
  const ctx: ForgeContext = {
    name: 'bench', publicUrl: 'http://127.0.0.1:1', dataDir: dir, projects: new Map(), db, events: await createStoreEvents(db, location),
    keys: { active: key, signers: [key], published: () => [{ keyId: key.keyId, publicKey: key.publicKey, status: 'active' }] },
    secrets, logger: createLogger({ level: 'silent' }), metrics: createForgeMetrics(),
    // The receivers are on loopback: allowed explicitly, as `anvil dev` does. Each push still
    // goes through the target check (an address literal: no lookup).
    pushTargets: { allowPrivateNetworks: true },
  };
  await seedReceivers(db, (plain) => secrets.seal(plain), urls);
  const worker = startPushWorker(ctx, { concurrency: CONCURRENCY, pollMs: 5_000 });
  return { ctx, worker, close: async () => { await worker.stop(); await ctx.events.close(); await db.destroy(); } };
}

/**
 * The receivers' token, as `anvil token create` stores it (the receivers were started with it
 * before the store existed), and each receiver linked to it as registration links them: so
 * every push pays the worker's check that the token is still valid (issue 18).
 */
export async function seedReceivers(db: Store, seal: (plain: string) => string, urls: readonly string[]): Promise<void> {
  const at = storeTime();
  await db.insertInto('access_tokens').values({
    id: TOKEN_ID, project: 'bench', prefix: tokenPrefix(TOKEN), hash: hashToken(TOKEN), label: 'bench receivers', created_at: at, last_used_at: null, revoked_at: null,
  }).execute();
  await db.insertInto('receivers').values(urls.map((url, i) => ({
    project: 'bench', instance_id: `receiver-${i}`, url, channel: 'production', mode: 'accepting' as const, ranges: '{}', versions: '{}',
    push_token: seal(TOKEN), token_id: TOKEN_ID, revoked_at: null, registered_at: at, last_seen_at: at, gone_at: null,
    last_delivery_at: null, last_delivery_state: null, last_delivery_status: null, last_delivery_code: null, last_delivery_reason: null,
  }))).execute();
}

/** The baseline: the same body to every receiver, `CONCURRENCY` at a time, headers made beforehand. */
async function postLoop(agent: http.Agent, urls: string[], body: Buffer, headers: Record<string, string>[]): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < urls.length) {
      const i = next++;
      const answer = await post(agent, urls[i]!, body, headers[i]!);
      if (answer.status !== 200 || !answer.text.includes('"applied"')) throw new Error(`baseline push to ${urls[i]} answered ${answer.status} ${answer.text}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
}

function post(agent: http.Agent, url: string, body: Buffer, headers: Record<string, string>, retried = false): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A kept-alive socket the receiver closed while idle: send again once, as the worker does.
      if (!retried && req.reusedSocket && err.code === 'ECONNRESET') resolve(post(agent, url, body, headers, true));
      else reject(err);
    });
    req.end(body);
  });
}

async function fanOut(key: SigningKey, pool: Pool, dir: string, n: number, rounds: number): Promise<string[]> {
  const urls = pool.urls.slice(0, n);
  const forge = await startForge(key, path.join(dir, `forge-${n}`), urls);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const enqueueMs: number[] = [];
  // CPU time of this process (the pushing side) per run: what the forge itself costs, apart
  // from the receivers' work and the machine's other load.
  const cpuMs = { baseline: [] as number[], forge: [] as number[] };
  const cpuSince = (start: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000;
  };
  let bytes = 0;
  try {
    const baseline = async (): Promise<number> => {
      const { body, envelope } = nextEnvelope(key, `b${versionCount}`);
      bytes = body.length;
      const timestamp = Math.floor(Date.now() / 1000);
      const headers = urls.map((_, i) => {
        const id = `${envelope.id}-${i}`;
        return {
          'content-type': 'application/json', 'content-length': String(body.length), authorization: `Bearer ${TOKEN}`,
          'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(key, { id, timestamp, body }),
        };
      });
      const cpu = process.cpuUsage();
      const t = performance.now();
      await postLoop(agent, urls, body, headers);
      const ms = performance.now() - t;
      cpuMs.baseline.push(cpuSince(cpu));
      return ms;
    };
    const viaForge = async (): Promise<number> => {
      const { body, envelope } = nextEnvelope(key, `f${versionCount}`);
      const version = envelope.bundles[0]!.version;
      const cpu = process.cpuUsage();
      const t = performance.now();
      await forge.ctx.db.insertInto('envelopes').values({ id: envelope.id, project: 'bench', channel: 'production', body: body.toString('utf8'), created_at: storeTime() }).execute();
      const queued = await enqueueDeliveries(forge.ctx, { project: 'bench', channel: 'production', envelopeId: envelope.id, set: 'onboarding', version });
      enqueueMs.push(performance.now() - t);
      forge.worker.wake();
      await forge.worker.drain();
      const ms = performance.now() - t;
      cpuMs.forge.push(cpuSince(cpu));
      const applied = await forge.ctx.db.selectFrom('deliveries').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('envelope_id', '=', envelope.id).where('state', '=', 'delivered').where('last_code', '=', 'applied').executeTakeFirstOrThrow();
      if (queued !== n || Number(applied.n) !== n) throw new Error(`forge fan-out: ${queued} queued, ${applied.n} of ${n} applied`);
      return ms;
    };
    // One untimed run each: connections opened, code warm, caches created.
    await baseline();
    await viaForge();
    enqueueMs.length = 0;
    cpuMs.baseline.length = 0;
    cpuMs.forge.length = 0;
    const results = await measureRuns([
      { name: 'baseline', run: baseline },
      { name: 'forge', run: viaForge },
    ], { rounds, onRound: (r) => process.stderr.write(`fan-out ${n}: round ${r}/${rounds}\n`) });
    const [base, viaF] = results as [typeof results[0], typeof results[0]];
    const ratios = viaF.samples.map((s, i) => s / base.samples[i]!);
    const ratio = median(ratios);
    const ms = (us: number) => (us / 1000).toFixed(0);
    const perPush = (us: number) => (us / n).toFixed(0);
    return [
      `### ${n.toLocaleString('en')} receivers (${rounds} rounds, concurrency ${CONCURRENCY}, envelope ${(bytes / 1024).toFixed(1)} KB)`,
      '',
      '| path | median ms per fan-out | µs per push | pushes/s |',
      '|---|---|---|---|',
      `| bare POST loop (node:http keep-alive, headers signed beforehand) — baseline | ${ms(base.medianUs)} | ${perPush(base.medianUs)} | ${Math.round(n / (base.medianUs / 1e6))} |`,
      `| forge: envelope row + enqueueDeliveries + push worker draining the queue | ${ms(viaF.medianUs)} | ${perPush(viaF.medianUs)} | ${Math.round(n / (viaF.medianUs / 1e6))} |`,
      '',
      `- forge / baseline: **${ratio.toFixed(2)}×** (median of per-round ratios; rounds ${ratios.map((r) => r.toFixed(2)).join(', ')}) — promise ≤ 1.5× ${ratio <= 1.5 ? 'met' : '**NOT met**'}`,
      `- of the forge's time, the envelope row + enqueue (${n.toLocaleString('en')} rows, one transaction): median ${median(enqueueMs).toFixed(1)} ms`,
      `- CPU time of the pushing process per fan-out (median): baseline ${median(cpuMs.baseline).toFixed(0)} ms (${(median(cpuMs.baseline) * 1000 / n).toFixed(0)} µs per push), forge ${median(cpuMs.forge).toFixed(0)} ms (${(median(cpuMs.forge) * 1000 / n).toFixed(0)} µs per push: signing, store writes, audit, HTTP)`,
    ];
  } finally {
    agent.destroy();
    await forge.close();
  }
}

export async function fanoutBenchmark(): Promise<string> {
  const key = generateSigningKey();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'anvil-bench-fanout-'));
  const started = performance.now();
  const pool = await startReceivers(key, path.join(dir, 'receivers'));
  const startMs = performance.now() - started;
  try {
    const lines = [
      `## Fan-out — DESIGN.md §11 "fan-out" (issue 5)`, '',
      `Machine: ${machine()}; load average ${os.loadavg()[0]!.toFixed(1)} when the receivers had started (a shared machine: other work runs beside it).`, '',
      `Receivers: ${pool.urls.length} real @anvil/client receivers (\`createClient\` + \`listen\`, own disk cache each) in ${PROCESSES} child processes, started in ${(startMs / 1000).toFixed(1)} s.`, '',
    ];
    lines.push(...(await fanOut(key, pool, dir, 100, 15)), '');
    lines.push(...(await fanOut(key, pool, dir, 1000, 9)));
    return lines.join('\n');
  } finally {
    for (const child of pool.children) {
      child.removeAllListeners('exit');
      child.kill();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
