/**
 * Scale-out (issue 16): forge replicas on one PostgreSQL store.
 *
 * 1. Fan-out to 1,000 real LIVE receivers (the fan-out bench's receiver processes, 4 × 250, every
 *    push a real apply: a new version each run) drained by ONE and by TWO replicas, each replica a
 *    Node process of its own (lib/replica-worker-child.ts: the PostgreSQL store, the push worker
 *    with its default concurrency, the shared signing and sealing keys), started once and kept for
 *    every round. The bench writes the envelope row and enqueueDeliveries, wakes the replicas of
 *    the round (as a publish wakes its own worker) and waits until each has drained: nothing due,
 *    nothing in flight, every answer recorded. Beside them, as a reference in the same rounds, the
 *    fan-out bench's forge: SQLite, the worker in this process. Every round checks that each
 *    receiver got the version exactly once: one delivery row per receiver, `delivered` with the
 *    receiver's answer `applied`, one attempt, as many push attempts made by the replicas together
 *    as receivers, one `delivery.delivered` audit row per delivery, and each receiver's row
 *    recording the version it answered with.
 * 2. Webhooks absorbed: ONE and TWO full forge replicas (lib/replica-forge-child.ts: `startForge`
 *    as `anvil serve` runs it, HTTP on loopback) on one PostgreSQL store, a git project whose
 *    remote is a bare repository. A load generator here (node:http keep-alive, CONCURRENCY lanes,
 *    round-robin over the replicas of the run) posts WEBHOOKS validly signed `POST /webhooks/git`
 *    deliveries with unique ids, and after every DUP_EVERY-th one the exact same request to the
 *    other replica, at once (the two race). Measured: 2xx answers per second, latency p50/p99;
 *    checked: each unique delivery answered 202 once and recorded once (webhook_deliveries, one
 *    `webhook.received` audit row), every duplicate answered `200 {duplicate: true}`, nothing else,
 *    both replicas still healthy after; reported: the syncs the webhooks caused (they coalesce).
 *
 * Runs interleaved, order rotated each round (lib/runs.ts); medians and the median of per-round
 * ratios. Knobs: ANVIL_BENCH_ROUNDS (fan-out rounds, default 3), ANVIL_BENCH_WEBHOOK_ROUNDS
 * (default 2), ANVIL_BENCH_WEBHOOKS (per run, default 600); for finding out where the time goes,
 * ANVIL_BENCH_PARTS=fanout or webhooks runs one part, ANVIL_BENCH_PROFILE_DIR writes a CPU profile
 * of each forge replica of the webhooks part there.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { fork, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSigningKey, type SigningKey } from '@anvil/content-schema';
import { enqueueDeliveries } from '../server/src/deliver/delivery-queue.ts';
import { loadSecretBox, secretBox } from '../server/src/forge/secret-box.ts';
import { loadKeyring } from '../server/src/forge/signing-keys.ts';
import { openStore, storeTime, type Store } from '../server/src/store/open-store.ts';
import { signGitWebhook } from '../server/src/webhooks/git-webhook.ts';
import { createTestSchema, type TestSchema } from '../server/test/support/test-postgres.ts';
import { cleanupGitdirs, gitdir } from '../server/test/support/gitdir.ts';
import { nextEnvelope, seedReceivers, startForge as startSqliteForge, startReceivers, type Pool } from './fanout.bench.ts';
import { machine, median, percentile } from './lib/measure.ts';
import { measureRuns } from './lib/runs.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const EXEC_ARGV = ['--conditions=anvil-source', '--import', 'tsx'];
/** Where the forge replicas write a CPU profile each (webhooks part), when set. */
const PROFILE_DIR = process.env['ANVIL_BENCH_PROFILE_DIR'];
/** Which parts run: `fanout`, `webhooks` (default both). */
const PARTS = (process.env['ANVIL_BENCH_PARTS'] ?? 'fanout,webhooks').split(',');
const RECEIVERS = 1_000;
const ROUNDS = Number(process.env['ANVIL_BENCH_ROUNDS'] ?? 3);
const WEBHOOK_ROUNDS = Number(process.env['ANVIL_BENCH_WEBHOOK_ROUNDS'] ?? 2);
// 600 rather than thousands: on the shared 2-core machine the forge absorbs ~30–50 a second, and
// the whole benchmark is to stay near 5 minutes there. Enough for a steady state at 32 in flight.
const WEBHOOKS = Number(process.env['ANVIL_BENCH_WEBHOOKS'] ?? 600);
/** After every DUP_EVERY-th delivery, the same request again to the other replica. */
const DUP_EVERY = 10;
const CONCURRENCY = 32;
const SECRET = `bench-webhook-secret-${randomUUID()}`;

/** A child process answering `{id, cmd}` with `{id, result}` (or `{id, error}`). */
interface Child {
  child: ChildProcess;
  ready: Record<string, unknown>;
  call<T>(cmd: string): Promise<T>;
}

async function startChild(file: string, args: string[], execArgv: string[] = EXEC_ARGV): Promise<Child> {
  const child = fork(path.join(here, file), args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.on('message', (m: { type?: string; id?: number; result?: unknown; error?: string }) => {
      if (m.type === 'ready') resolve(m as Record<string, unknown>);
      else if (m.id !== undefined) {
        const w = waiting.get(m.id);
        waiting.delete(m.id);
        if (m.error !== undefined) w?.reject(new Error(m.error));
        else w?.resolve(m.result);
      }
    });
    child.once('exit', (code, signal) => {
      const err = new Error(`${file} exited (${code ?? signal})`);
      reject(err);
      for (const w of waiting.values()) w.reject(err);
      waiting.clear();
    });
  });
  return {
    child, ready,
    call: <T>(cmd: string) => new Promise<T>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, cmd });
    }),
  };
}

function stopChildren(children: Child[]): void {
  for (const c of children) {
    c.child.removeAllListeners('exit');
    if (c.child.connected) c.child.disconnect();
    else c.child.kill();
  }
}

const cpuMsOf = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const fmt = (n: number, digits = 0) => n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });

// ---------------------------------------------------------------------------------------------
// 1. Fan-out to 1,000 receivers, one and two replicas
// ---------------------------------------------------------------------------------------------


async function maxAuditSeq(db: Store): Promise<number> {
  const row = await db.selectFrom('audit_log').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/** Each receiver got `version` exactly once; throws with what was found otherwise. */
async function checkExactlyOnce(db: Store, envelopeId: string, version: string, auditAfter: number, attempts: number, n: number): Promise<void> {
  const rows = await db.selectFrom('deliveries').select(['id', 'instance_id', 'state', 'last_code', 'attempts']).where('envelope_id', '=', envelopeId).execute();
  const bad = rows.filter((r) => r.state !== 'delivered' || r.last_code !== 'applied' || r.attempts !== 1);
  const receivers = new Set(rows.map((r) => r.instance_id));
  const audit = await db.selectFrom('audit_log').select('detail').where('seq', '>', auditAfter).where('kind', '=', 'delivery.delivered').execute();
  const audited = audit.map((a) => JSON.parse(a.detail) as { delivery: string; envelope: string }).filter((d) => d.envelope === envelopeId);
  const auditedIds = new Set(audited.map((d) => d.delivery));
  const serving = await db.selectFrom('receivers').select(['versions', 'last_delivery_code']).where('project', '=', 'bench').execute();
  const onVersion = serving.filter((r) => (JSON.parse(r.versions) as Record<string, string>)['onboarding'] === version && r.last_delivery_code === 'applied').length;
  const problems = [
    rows.length !== n && `${rows.length} delivery rows, not ${n}`,
    receivers.size !== n && `${receivers.size} distinct receivers`,
    bad.length > 0 && `${bad.length} rows not delivered/applied in one attempt (e.g. ${JSON.stringify(bad[0])})`,
    attempts !== n && `${attempts} push attempts made by the replicas, not ${n}`,
    (audited.length !== n || auditedIds.size !== n) && `${audited.length} delivery.delivered audit rows (${auditedIds.size} distinct)`,
    onVersion !== n && `${onVersion} receivers recorded as serving ${version}`,
  ].filter(Boolean);
  if (problems.length > 0) throw new Error(`fan-out of ${version}: ${problems.join('; ')}`);
}

interface FanOutRound {
  enqueueMs: number;
  /** Push attempts per replica, in this round. */
  shares: number[];
  /** CPU of the replicas together, ms. */
  cpuMs: number;
}

async function fanOutPart(lines: string[]): Promise<void> {
  const key: SigningKey = generateSigningKey();
  const sealKey = randomBytes(32);
  const seal = secretBox(sealKey);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'anvil-bench-scale-out-'));
  const schema = await createTestSchema('anvil_bench');
  const children: Child[] = [];
  let pool: Pool | undefined;
  let db: Store | undefined;
  let sqlite: Awaited<ReturnType<typeof startSqliteForge>> | undefined;
  try {
    db = await openStore({ postgres: schema.url });
    const started = performance.now();
    pool = await startReceivers(key, path.join(dir, 'receivers'));
    const startMs = performance.now() - started;
    const urls = pool.urls.slice(0, RECEIVERS);
    await seedReceivers(db, (plain) => seal.seal(plain), urls);
    const [a, b] = await Promise.all(['replica-a', 'replica-b'].map((owner) => startChild('lib/replica-worker-child.ts', [schema.url, JSON.stringify(key), sealKey.toString('base64'), owner])));
    children.push(a!, b!);
    sqlite = await startSqliteForge(key, path.join(dir, 'sqlite'), urls);
    const store = db;

    const rounds: Record<string, FanOutRound[]> = { one: [], two: [], sqlite: [] };
    const onPostgres = (replicas: Child[], name: string) => async (): Promise<number> => {
      const { envelope, body } = nextEnvelope(key, `pg${name}`);
      const version = envelope.bundles[0]!.version;
      const auditAfter = await maxAuditSeq(store);
      const cpuBefore = await Promise.all([a!, b!].map((r) => r.call<NodeJS.CpuUsage>('cpu')));
      const t = performance.now();
      await store.insertInto('envelopes').values({ id: envelope.id, project: 'bench', channel: 'production', body: body.toString('utf8'), created_at: storeTime() }).execute();
      const queued = await enqueueDeliveries({ db: store }, { project: 'bench', channel: 'production', envelopeId: envelope.id, set: 'onboarding', version });
      const enqueueMs = performance.now() - t;
      // The woken replicas claim on their own from here; each answers when it has drained.
      const drained = await Promise.all(replicas.map((r) => r.call<Record<string, number>>('drain')));
      const ms = performance.now() - t;
      const cpuAfter = await Promise.all([a!, b!].map((r) => r.call<NodeJS.CpuUsage>('cpu')));
      const shares = drained.map((d) => Object.values(d).reduce((x, y) => x + y, 0));
      if (queued !== RECEIVERS) throw new Error(`${queued} deliveries queued, not ${RECEIVERS}`);
      await checkExactlyOnce(store, envelope.id, version, auditAfter, shares.reduce((x, y) => x + y, 0), RECEIVERS);
      rounds[name]!.push({ enqueueMs, shares, cpuMs: cpuAfter.reduce((s, c, i) => s + cpuMsOf(c) - cpuMsOf(cpuBefore[i]!), 0) });
      return ms;
    };
    const oneReplica = onPostgres([a!], 'one');
    const twoReplicas = onPostgres([a!, b!], 'two');
    const onSqlite = async (): Promise<number> => {
      const { envelope, body } = nextEnvelope(key, 'sqlite');
      const version = envelope.bundles[0]!.version;
      const cpu = process.cpuUsage();
      const t = performance.now();
      await sqlite!.ctx.db.insertInto('envelopes').values({ id: envelope.id, project: 'bench', channel: 'production', body: body.toString('utf8'), created_at: storeTime() }).execute();
      await enqueueDeliveries(sqlite!.ctx, { project: 'bench', channel: 'production', envelopeId: envelope.id, set: 'onboarding', version });
      const enqueueMs = performance.now() - t;
      sqlite!.worker.wake();
      await sqlite!.worker.drain();
      const ms = performance.now() - t;
      const applied = await sqlite!.ctx.db.selectFrom('deliveries').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('envelope_id', '=', envelope.id).where('state', '=', 'delivered').where('last_code', '=', 'applied').where('attempts', '=', 1).executeTakeFirstOrThrow();
      if (Number(applied.n) !== RECEIVERS) throw new Error(`SQLite fan-out: ${applied.n} of ${RECEIVERS} applied in one attempt`);
      rounds['sqlite']!.push({ enqueueMs, shares: [RECEIVERS], cpuMs: cpuMsOf(process.cpuUsage(cpu)) });
      return ms;
    };

    // One untimed run of each: connections opened, code warm, caches created.
    await oneReplica();
    await twoReplicas();
    await onSqlite();
    for (const r of Object.values(rounds)) r.length = 0;
    const load = [os.loadavg()[0]!];
    const results = await measureRuns([
      { name: 'one', run: oneReplica },
      { name: 'two', run: twoReplicas },
      { name: 'sqlite', run: onSqlite },
    ], { rounds: ROUNDS, onRound: (r) => { load.push(os.loadavg()[0]!); process.stderr.write(`scale-out fan-out: round ${r}/${ROUNDS}\n`); } });
    const [one, two, lite] = results as [typeof results[0], typeof results[0], typeof results[0]];
    const ratios = two.samples.map((s, i) => s / one.samples[i]!);
    const liteRatios = one.samples.map((s, i) => s / lite.samples[i]!);
    const row = (label: string, r: typeof one, name: string) => {
      const samples = r.samples.map((us) => us / 1000);
      const info = rounds[name]!;
      return `| ${label} | ${fmt(median(samples))} | ${fmt(percentile(samples, 90))} | ${fmt(RECEIVERS / (median(samples) / 1000))} | ${fmt(median(info.map((x) => x.enqueueMs)), 1)} | ${fmt(median(info.map((x) => x.cpuMs)) * 1000 / RECEIVERS)} |`;
    };
    const shares = rounds['two']!.map((x) => x.shares.join(' / '));
    lines.push(
      `### Fan-out to ${fmt(RECEIVERS)} LIVE receivers (${ROUNDS} rounds after one untimed run each; push concurrency 32 per replica)`, '',
      `Receivers: ${urls.length} real @anvil/client receivers in 4 processes (started in ${(startMs / 1000).toFixed(1)} s); load average (1 min) ${load.map((l) => l.toFixed(1)).join(' → ')} over the rounds.`, '',
      '| drained by | median ms (enqueue → every delivery recorded) | p90 ms | pushes/s | envelope row + enqueue, ms | CPU per push, replicas (or the SQLite forge) together, µs |',
      '|---|---|---|---|---|---|',
      row('ONE replica (PostgreSQL, own process)', one, 'one'),
      row('TWO replicas (PostgreSQL, a process each)', two, 'two'),
      row('reference: SQLite, the worker in the bench process (the fan-out bench\'s forge)', lite, 'sqlite'),
      '',
      `- two / one replicas: **${median(ratios).toFixed(2)}×** (median of per-round ratios; rounds ${ratios.map((r) => r.toFixed(2)).join(', ')})`,
      `- one replica on PostgreSQL / SQLite in one process: ${median(liteRatios).toFixed(2)}× (rounds ${liteRatios.map((r) => r.toFixed(2)).join(', ')})`,
      `- pushes made by replica A / B in the two-replica rounds: ${shares.join('; ')}`,
      `- checked in every round (warm-up included): ${fmt(RECEIVERS)} delivery rows, each \`delivered\` with the receiver's answer \`applied\` in one attempt, ${fmt(RECEIVERS)} push attempts by the replicas together (none pushed twice), ${fmt(RECEIVERS)} distinct \`delivery.delivered\` audit rows, every receiver's row serving the new version — all rounds passed`,
    );
  } finally {
    stopChildren(children);
    await sqlite?.close().catch(() => undefined);
    for (const child of pool?.children ?? []) {
      child.removeAllListeners('exit');
      child.kill();
    }
    await db?.destroy();
    await schema.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Webhooks absorbed, one and two full replicas
// ---------------------------------------------------------------------------------------------

interface Job {
  url: string;
  id: string;
  body: Buffer;
  headers: Record<string, string>;
  duplicate: boolean;
}

interface Answer {
  job: Job;
  status: number;
  duplicate: boolean;
  ms: number;
}

function post(agent: http.Agent, job: Job, retried = false): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(job.url, { method: 'POST', agent, headers: job.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A kept-alive socket the server closed while idle: send again once.
      if (!retried && req.reusedSocket && err.code === 'ECONNRESET') resolve(post(agent, job, true));
      else reject(err);
    });
    req.end(job.body);
  });
}

interface ForgeStats {
  syncs: number;
  syncMs: number;
  webhooks: Record<string, number>;
  cpu: NodeJS.CpuUsage;
  rssMb: number;
}

interface WebhookRun {
  answered: number;
  unique: number;
  ms: number;
  p50: number;
  p99: number;
  syncs: number[];
  syncMs: number[];
  accepted: number[];
  cpuMs: number;
  /** Share of samples in which a transaction held the audit chain's lock, and mean waiters for it. */
  lockHeld: number;
  lockWaiters: number;
}

async function webhookPart(lines: string[]): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'anvil-bench-scale-out-hooks-'));
  const schema = await createTestSchema('anvil_bench');
  const children: Child[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const repo = await gitdir({
      files: {
        'anvil.yaml': 'name: "@bench"\n',
        'prompts/core/set.yaml': 'mode: locked\n',
        'prompts/core/welcome.md': '---\ndescription: greets\ninput:\n  schema:\n    name: string\n---\nHello {{name}}.\n',
      },
    });
    const before = await repo.revParse('HEAD');
    const after = await repo.commit('core: welcome', { 'prompts/core/welcome.md': '---\ndescription: greets\ninput:\n  schema:\n    name: string\n---\nHello {{name}}, welcome.\n' });
    const remote = (await repo.bare()).dir;
    // The same keys on every replica, as docs/forge.md asks: made in the first data dir, copied.
    const dataDirs = ['replica-a', 'replica-b'].map((n) => path.join(dir, n));
    mkdirSync(dataDirs[0]!, { recursive: true });
    await loadKeyring(dataDirs[0]!);
    loadSecretBox(dataDirs[0]!);
    cpSync(path.join(dataDirs[0]!, 'keys'), path.join(dataDirs[1]!, 'keys'), { recursive: true });
    const [a, b] = await Promise.all(dataDirs.map((d, i) => startChild('lib/replica-forge-child.ts', [schema.url, remote, d, SECRET, `replica-${'ab'[i]}`],
      PROFILE_DIR ? [...EXEC_ARGV, '--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : EXEC_ARGV)));
    children.push(a!, b!);
    const replicas = [a!, b!];
    const urlOf = (c: Child) => String(c.ready['url']);
    // First syncs: each replica clones its mirror (not part of any run).
    await Promise.all(replicas.map((r) => r.call('sync')));

    let runCount = 0;
    const runs: Record<string, WebhookRun[]> = { one: [], two: [] };
    const load = async (name: string, targets: Child[], n: number): Promise<number> => {
      const prefix = `bench-${++runCount}-${randomBytes(3).toString('hex')}`;
      const urls = targets.map((t) => `${urlOf(t)}/webhooks/git`);
      const jobs: Job[] = [];
      for (let i = 0; i < n; i++) {
        const id = `${prefix}-${i}`;
        const body = Buffer.from(JSON.stringify({ project: 'bench', delivery: id, updates: [{ ref: 'refs/heads/main', before, after, forced: false }] }));
        // Signed before the clock starts: the hook's cost, not the forge's.
        const headers = { 'content-type': 'application/json', 'content-length': String(body.length), 'x-anvil-delivery': id, 'x-anvil-signature-256': signGitWebhook(SECRET, body) };
        jobs.push({ url: urls[i % urls.length]!, id, body, headers, duplicate: false });
        // The exact same request, at once, to the other replica: the two race for the id.
        if (i % DUP_EVERY === 0) jobs.push({ url: urls[(i + 1) % urls.length]!, id, body, headers, duplicate: true });
      }
      const statsBefore = await Promise.all(replicas.map((r) => r.call<ForgeStats>('stats')));
      const auditAfter = await maxAuditSeqOf(schema);
      const answers: Answer[] = [];
      const failures: string[] = [];
      // The audit chain's advisory lock (store/audit-log.ts: class 0x616e76, this schema), sampled
      // every 50 ms on the side: how often some append holds it, how many wait for it.
      const lockSamples: { held: number; waiting: number }[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const { rows } = await schema.query<{ held: string; waiting: string }>(
            `SELECT count(*) FILTER (WHERE granted) AS held, count(*) FILTER (WHERE NOT granted) AS waiting FROM pg_locks
             WHERE locktype = 'advisory' AND classid = ${0x616e76} AND objsubid = 2 AND objid::bigint = (hashtext($1)::bigint & 4294967295)`, [schema.schema]);
          lockSamples.push({ held: Number(rows[0]!.held), waiting: Number(rows[0]!.waiting) });
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      let next = 0;
      const t = performance.now();
      const lane = async () => {
        while (next < jobs.length) {
          const job = jobs[next++]!;
          const start = performance.now();
          try {
            const res = await post(agent, job);
            let duplicate = false;
            try {
              duplicate = (JSON.parse(res.text) as { duplicate?: boolean }).duplicate === true;
            } catch { /* not JSON: counted below by its status */ }
            answers.push({ job, status: res.status, duplicate, ms: performance.now() - start });
          } catch (err) {
            failures.push(`${job.id}: ${(err as Error).message}`);
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, lane));
      const ms = performance.now() - t;
      sampling = false;
      await sampler;
      const statsAfter = await Promise.all(replicas.map((r) => r.call<ForgeStats>('settle')));

      // Each unique delivery answered 202 once and recorded once; every duplicate recognised.
      const accepted = new Map<string, number>();
      let duplicates = 0;
      const odd: string[] = [...failures];
      for (const ans of answers) {
        if (ans.status === 202) accepted.set(ans.job.id, (accepted.get(ans.job.id) ?? 0) + 1);
        else if (ans.status === 200 && ans.duplicate) duplicates++;
        else odd.push(`${ans.job.id}: ${ans.status}`);
      }
      const dupsSent = jobs.filter((j) => j.duplicate).length;
      const stored = await schema.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema.schema}".webhook_deliveries WHERE source = 'git' AND starts_with(delivery_id, $1)`, [`${prefix}-`]);
      const audited = await schema.query<{ detail: string }>(`SELECT detail FROM "${schema.schema}".audit_log WHERE seq > $1 AND kind = 'webhook.received'`, [auditAfter]);
      const auditedIds = audited.rows.map((r) => (JSON.parse(r.detail) as { delivery: string }).delivery).filter((id) => id.startsWith(`${prefix}-`));
      const health = await Promise.all(replicas.map((r) => fetch(`${urlOf(r)}/healthz`).then((res) => res.status, () => 0)));
      const problems = [
        odd.length > 0 && `${odd.length} answers neither 202 nor 200 duplicate (e.g. ${odd.slice(0, 3).join(', ')})`,
        (accepted.size !== n || [...accepted.values()].some((c) => c !== 1)) && `${accepted.size} of ${n} deliveries answered 202 (some more than once: ${[...accepted.values()].some((c) => c !== 1)})`,
        duplicates !== dupsSent && `${duplicates} duplicates recognised of ${dupsSent} sent`,
        Number(stored.rows[0]!.n) !== n && `${stored.rows[0]!.n} webhook_deliveries rows, not ${n}`,
        (auditedIds.length !== n || new Set(auditedIds).size !== n) && `${auditedIds.length} webhook.received audit rows (${new Set(auditedIds).size} distinct), not ${n}`,
        health.some((s) => s !== 200) && `health after the run: ${health.join(', ')}`,
      ].filter(Boolean);
      if (problems.length > 0) throw new Error(`webhooks (${name}): ${problems.join('; ')}`);
      const latencies = answers.map((x) => x.ms);
      runs[name]?.push({
        answered: answers.length, unique: n, ms, p50: percentile(latencies, 50), p99: percentile(latencies, 99),
        syncs: statsAfter.map((s, i) => s.syncs - statsBefore[i]!.syncs),
        syncMs: statsAfter.map((s, i) => s.syncMs - statsBefore[i]!.syncMs),
        accepted: statsAfter.map((s, i) => (s.webhooks['accepted'] ?? 0) - (statsBefore[i]!.webhooks['accepted'] ?? 0)),
        cpuMs: statsAfter.reduce((sum, s, i) => sum + cpuMsOf(s.cpu) - cpuMsOf(statsBefore[i]!.cpu), 0),
        lockHeld: lockSamples.filter((x) => x.held > 0).length / Math.max(1, lockSamples.length),
        lockWaiters: lockSamples.reduce((sum, x) => sum + x.waiting, 0) / Math.max(1, lockSamples.length),
      });
      return ms;
    };

    // One smaller untimed run over both replicas: connections opened, code warm on each.
    await load('warm', replicas, 200);
    const loads = [os.loadavg()[0]!];
    const results = await measureRuns([
      { name: 'one', run: () => load('one', [a!], WEBHOOKS) },
      { name: 'two', run: () => load('two', replicas, WEBHOOKS) },
    ], { rounds: WEBHOOK_ROUNDS, onRound: (r) => { loads.push(os.loadavg()[0]!); process.stderr.write(`scale-out webhooks: round ${r}/${WEBHOOK_ROUNDS}\n`); } });
    const [one, two] = results as [typeof results[0], typeof results[0]];
    const ratios = one.samples.map((s, i) => two.samples[i]! / s);
    const final = await Promise.all(replicas.map((r) => r.call<ForgeStats>('stats')));
    // What one sync that finds nothing new costs a replica, alone: to tell the syncs' share of
    // the CPU above from the requests'.
    const syncCost: { ms: number; cpuMs: number }[] = [];
    for (let i = 0; i < 3; i++) syncCost.push(await a!.call<{ ms: number; cpuMs: number }>('sync'));
    const syncCpu = median(syncCost.map((c) => c.cpuMs));
    const row = (label: string, name: string) => {
      const rs = runs[name]!;
      const rate = rs.map((r) => r.answered / (r.ms / 1000));
      const uniqueRate = rs.map((r) => r.unique / (r.ms / 1000));
      const syncs = rs.map((r) => r.syncs.reduce((x, y) => x + y, 0));
      const syncMs = rs.map((r) => r.syncMs.reduce((x, y) => x + y, 0) / Math.max(1, r.syncs.reduce((x, y) => x + y, 0)));
      return `| ${label} | **${fmt(median(rate))}** (${rate.map((x) => fmt(x)).join(', ')}) | ${fmt(median(uniqueRate))} | ${fmt(median(rs.map((r) => r.p50)), 1)} | ${fmt(median(rs.map((r) => r.p99)), 1)} | ${fmt(median(rs.map((r) => r.cpuMs)) * 1000 / (WEBHOOKS + Math.ceil(WEBHOOKS / DUP_EVERY)))} | ${syncs.join(', ')} (median ${fmt(median(syncMs))} ms each) | ${rs.map((r) => r.accepted.join(' / ')).join('; ')} | ${fmt(median(rs.map((r) => r.lockHeld)) * 100)}% / ${fmt(median(rs.map((r) => r.lockWaiters)), 1)} |`;
    };
    lines.push(
      `### Webhooks absorbed (${WEBHOOK_ROUNDS} rounds after one smaller untimed run)`, '',
      `Per run: ${fmt(WEBHOOKS)} signed \`POST /webhooks/git\` deliveries with unique ids (a push of \`main\` each) + ${fmt(Math.ceil(WEBHOOKS / DUP_EVERY))} exact duplicates (every ${DUP_EVERY}th, sent at once to the other replica; with one replica, to the same one), ${CONCURRENCY} requests in flight, round-robin over the replicas of the run. Load average (1 min) ${loads.map((l) => l.toFixed(1)).join(' → ')} over the rounds.`, '',
      '| replicas | 2xx answered per s (median; runs) | unique deliveries accepted per s | latency p50 ms | p99 ms | forge CPU per request, replicas together, µs | syncs run per run (they coalesce) | accepted by replica A / B per run | audit chain lock: held / mean waiters (sampled every 50 ms) |',
      '|---|---|---|---|---|---|---|---|---|',
      row('ONE replica', 'one'),
      row('TWO replicas', 'two'),
      '',
      `- rate, two / one replicas: **${median(ratios.map((r) => 1 / r)).toFixed(2)}×** (median of per-round ratios of run time inverted; rounds ${ratios.map((r) => (1 / r).toFixed(2)).join(', ')})`,
      `- checked in every run (warm-up included): each unique delivery answered \`202\` exactly once and recorded once (\`webhook_deliveries\` rows and \`webhook.received\` audit rows = deliveries sent), every duplicate answered \`200 {duplicate: true}\` whichever replica it reached first, no other answer (no 5xx, no refused connection), both replicas answering \`/healthz\` 200 after — all runs passed`,
      `- one sync that finds nothing new, on an otherwise idle replica (3 in a row): median ${fmt(median(syncCost.map((c) => c.ms)))} ms wall, ${fmt(syncCpu)} ms of the replica's own CPU (the git processes it spawns not counted) — so of the CPU per request above, the syncs' share is about syncs × ${fmt(syncCpu)} ms / requests: ${(['one', 'two'] as const).map((name) => `${name} ${fmt(median(runs[name]!.map((r) => r.syncs.reduce((x, y) => x + y, 0) * syncCpu * 1000 / (WEBHOOKS + Math.ceil(WEBHOOKS / DUP_EVERY)))))} µs`).join(', ')}`,
      `- replicas at the end: memory ${final.map((s) => `${s.rssMb} MB`).join(' / ')} RSS; syncs run in all (warm-up and first clones included) ${final.map((s) => s.syncs).join(' / ')}`,
    );
  } finally {
    agent.destroy();
    stopChildren(children);
    await cleanupGitdirs();
    await schema.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function maxAuditSeqOf(schema: TestSchema): Promise<number> {
  const { rows } = await schema.query<{ seq: string | null }>(`SELECT max(seq) AS seq FROM "${schema.schema}".audit_log`);
  return Number(rows[0]?.seq ?? 0);
}

export async function scaleOutBenchmark(): Promise<string> {
  const started = performance.now();
  const lines = [
    `## Scale-out — issue 16 (forge replicas on PostgreSQL)`, '',
    `Machine: ${machine()}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} (1 / 5 / 15 min) at the start (a shared machine: other work runs beside it). PostgreSQL ${await postgresVersion()} on the same machine.`, '',
  ];
  if (PARTS.includes('fanout')) await fanOutPart(lines);
  lines.push('');
  if (PARTS.includes('webhooks')) await webhookPart(lines);
  lines.push('', `Whole benchmark: ${((performance.now() - started) / 1000).toFixed(0)} s; load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')}.`);
  return lines.join('\n');
}

async function postgresVersion(): Promise<string> {
  const schema = await createTestSchema('anvil_bench');
  try {
    const { rows } = await schema.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
    return rows[0]?.v ?? '?';
  } finally {
    await schema.drop();
  }
}
