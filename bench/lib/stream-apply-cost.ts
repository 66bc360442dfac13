/**
 * Where a streaming client's CPU goes per applied envelope: N real LIVE clients
 * (`createClient`, `transport: 'stream'`, each with its own disk cache under /tmp) in this
 * process, a minimal forge stand-in in a child process (so that its CPU is not counted), and K
 * envelopes (new versions of a ~12 KB bundle) sent one after another to every stream. For each
 * round we take this process's `process.cpuUsage()` (user + sys) from just before the envelope is
 * sent until every client's `update` event (applied and durable), and until the forge has every
 * client's ack; the median over the rounds, per client, is the figure. The CPU of an idle period
 * (nothing sent) is measured first, per client per second, since the ack wait includes it.
 *
 * The stand-in answers what a streaming client asks, as the forge does (server deliver/stream-hub.ts,
 * content-schema stream-event.ts): `/.well-known/anvil.json`, the channel's envelope (ETag pull),
 * receivers register/heartbeat/leave, `GET …/stream` as server-sent events (the current envelope
 * unless `Last-Event-ID` names it, then each one published), `POST …/receivers/ack`.
 *
 * Usage: node --conditions=anvil-source --import tsx bench/lib/stream-apply-cost.ts
 *   [--n=200] [--k=10] [--jitter=<ms>] (default: the client's) [--profile=<file.cpuprofile>]
 * With --profile, the rounds (not the start-up) are profiled and the top self-time items printed.
 */
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { Session } from 'node:inspector';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import {
  ENVELOPE_FORMAT,
  canonicalJson,
  encodeStreamEnvelope,
  generateSigningKey,
  signEnvelope,
  signWebhook,
} from '@anvil/content-schema';
import { createClient, type AnvilClient } from '@anvil/client';
import { makeBundle } from '../../client/test/support/fake-forge.ts';

const PROJECT = 'bench';
const TOKEN = 'anvil_streamapplycost';
const EXEC_ARGV = ['--conditions=anvil-source', '--import', 'tsx'];

type ToForge = { type: 'publish'; version: string; expect: number };
type FromForge = { type: 'listening'; url: string } | { type: 'published'; envelope: string } | { type: 'acked'; envelope: string; count: number; connections: number };

/** ~12 KB of prompts: 30 templates of ~350 characters, different in every version. */
function bundleOf(version: string) {
  const prompts: Record<string, string> = {};
  for (let i = 0; i < 30; i++) {
    prompts[`prompt.p${i}`] = `Version ${version}, prompt ${i}. Hello {{name}}, ` + 'you are a careful assistant; answer the question in plain words. '.repeat(5);
  }
  return makeBundle('core', version, prompts, { project: PROJECT });
}

// ——— the forge stand-in (child process) ———

async function runForge(): Promise<void> {
  const key = generateSigningKey();
  let current: { id: string; body: string; etag: string; frame: string } | undefined;
  const streams = new Set<ServerResponse>();
  const acks = new Map<string, { count: number; expect: number }>();

  const publish = (version: string): string => {
    const envelope = signEnvelope([key], { format: ENVELOPE_FORMAT, id: `env-${randomUUID()}`, forge: 'stand-in', project: PROJECT, channel: 'production', bundles: [bundleOf(version)], rollouts: {} });
    const body = canonicalJson(envelope);
    const webhookId = `msg_${randomUUID()}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = signWebhook(key, { id: webhookId, timestamp, body: Buffer.from(body) });
    // One signed frame for every stream, as the forge reuses it (stream-hub.ts).
    const frame = encodeStreamEnvelope({ id: envelope.id, headers: { 'webhook-id': webhookId, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature }, body });
    current = { id: envelope.id, body, etag: `"${envelope.id}"`, frame };
    return envelope.id;
  };
  publish('0.0.1');

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://forge');
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (url.pathname === '/.well-known/anvil.json') return json(200, { name: 'stand-in', apiVersion: '1', keys: [{ keyId: key.keyId, publicKey: key.publicKey, status: 'active' }] });
      const prefix = `/api/v1/projects/${PROJECT}`;
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(401, { ok: false, code: 'token', reason: 'bad token' });
      const rest = url.pathname.slice(prefix.length);
      if (rest === '/envelope') {
        if (req.headers['if-none-match'] === current!.etag) {
          res.writeHead(304, { etag: current!.etag });
          return res.end();
        }
        res.writeHead(200, { 'content-type': 'application/json', etag: current!.etag });
        return res.end(current!.body);
      }
      if (rest === '/receivers') return json(200, { ok: true });
      if (rest === '/receivers/ack') {
        const ack = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { envelope: string };
        const tally = acks.get(ack.envelope);
        if (tally && ++tally.count === tally.expect) send({ type: 'acked', envelope: ack.envelope, count: tally.count, connections });
        return json(200, { ok: true });
      }
      if (rest === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.flushHeaders();
        if (req.headers['last-event-id'] !== current!.id) res.write(current!.frame);
        streams.add(res);
        res.on('close', () => streams.delete(res));
        return;
      }
      return json(404, { ok: false, code: 'not-found', reason: rest });
    });
  });
  // Connections opened since the last publish: whether the clients' requests reuse theirs.
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const send = (m: FromForge) => process.send!(m);
  send({ type: 'listening', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  process.on('message', (m: ToForge) => {
    if (m.type !== 'publish') return;
    const id = publish(m.version);
    acks.set(id, { count: 0, expect: m.expect });
    connections = 0;
    for (const res of streams) res.write(current!.frame);
    send({ type: 'published', envelope: id });
  });
  process.on('disconnect', () => process.exit(0));
}

// ——— the measuring process ———

/**
 * CPU time (µs) of this process's threads by kind — the main thread, libuv's I/O threads (file
 * system work: open, write, fsync, rename, stat), V8's helper threads (GC) — from
 * /proc/self/task (Linux; clock ticks, so only totals over many rounds mean anything).
 */
function threadCpu(): Map<string, number> {
  const byKind = new Map<string, number>();
  if (!existsSync('/proc/self/task')) return byKind;
  const tick = 10_000; // µs per clock tick (USER_HZ 100)
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const kind = tid === String(process.pid) ? 'main' : comm.startsWith('libuv-worker') ? 'libuv I/O threads' : comm.startsWith('V8') ? 'V8 helpers (GC)' : comm;
      byKind.set(kind, (byKind.get(kind) ?? 0) + (Number(fields[11]) + Number(fields[12])) * tick);
    } catch { /* the thread ended */ }
  }
  return byKind;
}

function option(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
const sysNow = () => process.cpuUsage().system;

async function measure(): Promise<void> {
  const n = Number(option('n') ?? 200);
  const k = Number(option('k') ?? 10);
  const jitter = option('jitter');
  const profileFile = option('profile');
  // Rounds run first and not counted: the JIT and the caches warm up (the first rounds cost more).
  const warmup = Number(option('warmup') ?? 3);

  const forge = fork(fileURLToPath(import.meta.url), ['forge'], { execArgv: EXEC_ARGV, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters = new Set<(m: FromForge) => boolean>();
  forge.on('message', (m: FromForge) => {
    for (const w of waiters) if (w(m)) waiters.delete(w);
  });
  const nextMessage = <T extends FromForge>(match: (m: FromForge) => m is T): Promise<T> =>
    new Promise((resolve) => waiters.add((m) => (match(m) ? (resolve(m), true) : false)));
  const { url } = await nextMessage((m): m is Extract<FromForge, { type: 'listening' }> => m.type === 'listening');

  const root = mkdtempSync(path.join(os.tmpdir(), 'anvil-stream-cost-'));
  const clients: AnvilClient[] = [];
  let errors = 0;
  let onUpdate: (version: string) => void = () => undefined;
  for (let i = 0; i < n; i += 25) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(25, n - i) }, async (_, j) => {
      const client = await createClient({
        forge: url, project: PROJECT, token: TOKEN, channel: 'production', mode: 'accepting', cacheDir: path.join(root, `c${i + j}`),
        instanceId: `cost-${i + j}`, transport: 'stream', readyTimeoutMs: 60_000, pollMs: 0, heartbeatMs: 3_600_000,
        ...(jitter !== undefined ? { stream: { ackJitterMs: Number(jitter) } } : {}),
      });
      client.on('update', (detail) => onUpdate((detail as { versions: Record<string, string> }).versions['core'] ?? ''));
      client.on('error', (err) => {
        if (errors++ < 5) process.stderr.write(`client error: ${(err as Error).message}\n`);
      });
      await client.ready;
      return client;
    }))));
  }
  const connected = () => clients.filter((c) => { const t = c.status().transport; return t.kind === 'stream' && t.state === 'connected'; }).length;
  while (connected() < n) await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve) => setTimeout(resolve, 1_000));

  // Idle: nothing sent; what the clients cost just by being there.
  const idleMs = 5_000;
  const idle0 = cpuNow();
  await new Promise((resolve) => setTimeout(resolve, idleMs));
  const idleUsPerClientSecond = (cpuNow() - idle0) / n / (idleMs / 1_000);

  const round = async (version: string) => {
    let updates = 0;
    const allApplied = new Promise<void>((resolve) => {
      onUpdate = (v) => {
        if (v === version && ++updates === n) resolve();
      };
    });
    const allAcked = nextMessage((m): m is Extract<FromForge, { type: 'acked' }> => m.type === 'acked');
    const t0 = performance.now();
    const c0 = cpuNow();
    const s0 = sysNow();
    forge.send({ type: 'publish', version, expect: n } satisfies ToForge);
    await allApplied;
    const applied = { us: (cpuNow() - c0) / n, ms: performance.now() - t0 };
    const { connections } = await allAcked;
    return { applied, acked: { us: (cpuNow() - c0) / n, sys: (sysNow() - s0) / n, ms: performance.now() - t0 }, connections };
  };
  for (let r = 1; r <= warmup; r++) await round(`0.9.${r}`);

  const threads0 = threadCpu();
  const profiler = profileFile ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await new Promise((resolve) => profiler.post('Profiler.setSamplingInterval', { interval: 200 }, () => profiler.post('Profiler.enable', () => profiler.post('Profiler.start', resolve))));
  }

  const applied: number[] = [];
  const acked: number[] = [];
  const ackedSys: number[] = [];
  const appliedMs: number[] = [];
  const ackedMs: number[] = [];
  const connections: number[] = [];
  for (let r = 1; r <= k; r++) {
    const result = await round(`1.0.${r}`);
    applied.push(result.applied.us);
    appliedMs.push(result.applied.ms);
    acked.push(result.acked.us);
    ackedSys.push(result.acked.sys);
    ackedMs.push(result.acked.ms);
    connections.push(result.connections);
  }

  const threads1 = threadCpu();
  if (profiler) {
    const profile = await new Promise<Profile>((resolve) => profiler.post('Profiler.stop', (_err, result) => resolve(result.profile as unknown as Profile)));
    writeFileSync(profileFile!, JSON.stringify(profile));
    printProfile(profile);
  }

  const us = (x: number) => `${Math.round(x)} µs`;
  console.log(JSON.stringify({ n, k, ackJitterMs: jitter ?? 'default', errors }));
  console.log(`idle:                 ${us(idleUsPerClientSecond)} per client per second`);
  console.log(`to applied:           ${us(median(applied))} per client per apply (median; rounds ${applied.map((x) => Math.round(x)).join(' ')}); ${Math.round(median(appliedMs))} ms wall`);
  console.log(`to acked:             ${us(median(acked))} per client per apply (median; rounds ${acked.map((x) => Math.round(x)).join(' ')}); ${Math.round(median(ackedMs))} ms wall`);
  console.log(`  of which system:    ${us(median(ackedSys))} per client per apply`);
  console.log(`connections opened to the forge per round: ${connections.join(' ')}`);
  const perThread = [...threads1].map(([kind, us]) => `${kind} ${Math.round((us - (threads0.get(kind) ?? 0)) / n / k)} µs`).join(', ');
  console.log(`by thread, per client per apply (all rounds, idle included): ${perThread}`);
  console.log(`to acked, less idle:  ${us(median(acked.map((x, i) => x - idleUsPerClientSecond * (ackedMs[i]! / 1_000))))} per client per apply`);

  forge.disconnect();
  await Promise.all(clients.map((c) => c.close()));
  rmSync(root, { recursive: true, force: true });
  process.exit(0);
}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** Self time by function and by file, the top items. */
function printProfile(profile: Profile): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node] as const));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const file = url.replace(/^file:\/\/.*?\/(work\/main\/)?/, '').replace(/^.*node_modules\//, 'node_modules/') || '(native)';
    byFunction.set(`${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`, (byFunction.get(`${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const top = (m: Map<string, number>, count: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, count)
    .map(([name, us]) => `  ${(100 * us / total).toFixed(1).padStart(5)}%  ${name}`).join('\n');
  console.log(`profile: ${Math.round(total / 1000)} ms sampled\nby function (self):\n${top(byFunction, 30)}\nby file (self):\n${top(byFile, 20)}`);
}

if (process.argv[2] === 'forge') await runForge();
else await measure();
