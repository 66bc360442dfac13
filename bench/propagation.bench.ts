/**
 * Propagation (DESIGN.md §11 "propagation"): release tag webhook → every one of 100 accepting
 * receivers applied, p99 under a second on one machine.
 *
 * Everything is real and on loopback: a git repository with a locked set (gitdir), the forge
 * started as `anvil serve` starts it (startForge: SQLite store, keys, push worker, HTTP) in a
 * child process, and 100 LIVE receivers (@anvil/client `createClient`, production channel,
 * accepting, registered with the forge with a project token, their pushes served by
 * `client.receiver()`) in 4 other processes, so that forge and receivers use both cores as they
 * would in reality. Each round commits a change to the set, tags it `core@1.0.N` (annotated,
 * formatReleaseMessage) and posts the signed git webhook that the post-receive hook would send,
 * in two scenarios (see Scenario). For each receiver we take the time from just before that POST
 * to its `update` event (the new version served and durable, as the push is answered 200). The
 * clock is Date.now() in every process: ms resolution, one wall clock for all of them. The forge's
 * `sync` log lines and the receivers' push arrival times say where the time went.
 *
 * Streaming (issue 16, DESIGN.md §11 "streaming"): in the same run, beside the pushed receivers,
 * 1,000 LIVE clients with `transport: 'stream'` (no listener, no inbound port: each holds one
 * outbound stream to the forge) in 4 more processes take every release too; for each we take the
 * time from just before the webhook POST to its `update` event, as for the pushed ones, and check
 * that the forge recorded every streaming receiver's acknowledgement.
 *
 * Knobs for finding out where the time goes (the figures of record use none):
 * ANVIL_BENCH_RECEIVER_DIR=/dev/shm puts the receivers' caches on tmpfs (fsync costs nothing);
 * ANVIL_BENCH_PUSH_CONCURRENCY sets the push worker's concurrency (default 32);
 * ANVIL_BENCH_STREAMS and ANVIL_BENCH_STREAM_PROCESSES set the streaming clients (default 1,000 in 4);
 * ANVIL_BENCH_ROUNDS the rounds per scenario after the warm-up (default 9); ANVIL_BENCH_PROFILE_DIR
 * writes a CPU profile of each streaming process there; ANVIL_BENCH_ACK_JITTER_MS sets the
 * streaming clients' `stream.ackJitterMs`.
 */
import { randomUUID } from 'node:crypto';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatReleaseMessage } from '../server/src/release/release-record.ts';
import { signGitWebhook } from '../server/src/webhooks/git-webhook.ts';
import { cleanupGitdirs, gitdir, type FileMap } from '../server/test/support/gitdir.ts';
import { machine, median, percentile } from './lib/measure.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const PROCESSES = 4;
const PER_PROCESS = 25;
const RECEIVERS = PROCESSES * PER_PROCESS;
const STREAM_PROCESSES = Number(process.env['ANVIL_BENCH_STREAM_PROCESSES'] ?? 4);
const STREAMS = Number(process.env['ANVIL_BENCH_STREAMS'] ?? 1_000);
const WARMUP_ROUNDS = 1;
const ROUNDS = Number(process.env['ANVIL_BENCH_ROUNDS'] ?? 9);
const PROMPTS = 20;
const SECRET = `bench-webhook-secret-${randomUUID()}`;
const EXEC_ARGV = ['--conditions=anvil-source', '--import', 'tsx'];

/** A small locked set as a team would have it: prompts with input schemas and a shared partial. */
function repositoryFiles(): FileMap {
  const files: FileMap = {
    'anvil.yaml': 'name: "@bench"\n',
    'prompts/core/set.yaml': 'mode: locked\n',
    'prompts/core/_signature.md': '— The Bench team',
    'prompts/core/tone.md': toneOf(0),
  };
  for (let i = 0; i < PROMPTS; i++) {
    files[`prompts/core/topic${String(i).padStart(2, '0')}.md`] = [
      '---', `description: answers about topic ${i}`, 'input:', '  schema:', '    name: string', '    question: string', '---',
      `Hello {{name}}. You asked about topic ${i}: {{question}}`,
      'Answer briefly, cite your sources, and keep a friendly, professional tone throughout. '.repeat(6),
      '{{> signature}}', '',
    ].join('\n');
  }
  return files;
}

function toneOf(n: number): string {
  return `---\ndescription: house tone\n---\nBe kind and brief (revision ${n}).`;
}

interface LogLine {
  msg: string;
  time: number;
  ms?: number;
  version?: string;
  channel?: string;
  /** `streamed`: ms until the streams were recorded too (`ms`: until they were written). */
  recordedMs?: number;
}

interface ForgeProcess {
  child: ChildProcess;
  url: string;
  token: string;
  logs: LogLine[];
  call<T>(cmd: string, arg?: unknown): Promise<T>;
}

async function startForgeProcess(repoDir: string, dataDir: string): Promise<ForgeProcess> {
  const child = fork(path.join(here, 'lib/propagation-forge-child.ts'), [repoDir, dataDir, SECRET], { execArgv: EXEC_ARGV, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const logs: LogLine[] = [];
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  const ready = new Promise<{ url: string; token: string }>((resolve, reject) => {
    child.on('message', (m: { type?: string; id?: number; result?: unknown; error?: string } & LogLine & { url: string; token: string }) => {
      if (m.type === 'ready') resolve(m);
      else if (m.type === 'log') logs.push(m);
      else if (m.id !== undefined) {
        const w = waiting.get(m.id);
        waiting.delete(m.id);
        if (m.error !== undefined) w?.reject(new Error(m.error));
        else w?.resolve(m.result);
      }
    });
    child.once('exit', (code) => {
      const err = new Error(`the forge process exited (${code})`);
      reject(err);
      for (const w of waiting.values()) w.reject(err);
      waiting.clear();
    });
  });
  const { url, token } = await ready;
  return {
    child, url, token, logs,
    call: <T>(cmd: string, arg?: unknown) => new Promise<T>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, cmd, arg });
    }),
  };
}

interface Applied {
  /** Date.now() when the push arrived at the receiver, and when the receiver had applied it. */
  arrived: number;
  at: number;
}

interface Receivers {
  children: ChildProcess[];
  /** Version → receiver index → its apply. */
  applied: Map<string, Map<number, Applied>>;
  /** Resolves when every receiver has applied `version`. */
  allApplied(version: string, timeoutMs: number): Promise<Map<number, Applied>>;
}

async function startReceivers(forge: ForgeProcess, root: string): Promise<Receivers> {
  const applied = new Map<string, Map<number, Applied>>();
  let onApply = () => undefined as void;
  const children: ChildProcess[] = [];
  await Promise.all(Array.from({ length: PROCESSES }, (_, p) => new Promise<void>((resolve, reject) => {
    const child = fork(path.join(here, 'lib/propagation-receivers-child.ts'), [String(PER_PROCESS), String(p * PER_PROCESS), forge.url, forge.token, root], {
      execArgv: EXEC_ARGV, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    child.on('message', (m: { type: 'applied'; receiver: number; versions: Record<string, string>; arrived: number; at: number } | { type: 'ready'; versions: (string | null)[] }) => {
      if (m.type === 'ready') {
        if (m.versions.some((v) => v !== '1.0.0')) reject(new Error(`receivers started on ${m.versions.join(', ')}, not core 1.0.0`));
        else resolve();
        return;
      }
      const version = m.versions['core'];
      if (version === undefined) return;
      let byReceiver = applied.get(version);
      if (!byReceiver) applied.set(version, (byReceiver = new Map()));
      if (!byReceiver.has(m.receiver)) byReceiver.set(m.receiver, { arrived: m.arrived, at: m.at });
      onApply();
    });
    child.once('exit', (code) => reject(new Error(`a receiver process exited (${code})`)));
  })));
  return {
    children, applied,
    allApplied(version, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${applied.get(version)?.size ?? 0} of ${RECEIVERS} receivers applied ${version} within ${timeoutMs} ms`)), timeoutMs);
        onApply = () => {
          const got = applied.get(version);
          if (got && got.size === RECEIVERS) {
            clearTimeout(timer);
            resolve(got);
          }
        };
        onApply();
      });
    },
  };
}

interface Streamers {
  children: ChildProcess[];
  /** CPU used so far by the streaming processes together (ms, user + system). */
  cpuMs(): Promise<number>;
  /** Resolves with each streaming client's event arrival and apply (Date.now()) once all of them applied `version`. */
  allApplied(version: string, timeoutMs: number): Promise<Applied[]>;
}

/** The streaming clients (issue 16): STREAMS of them over STREAM_PROCESSES processes. */
async function startStreamers(forge: ForgeProcess, root: string): Promise<Streamers> {
  const applied = new Map<string, Map<number, Applied>>();
  let onApply = () => undefined as void;
  const children: ChildProcess[] = [];
  const cpuWaiters = new Map<ChildProcess, (ms: number) => void>();
  const per = Math.ceil(STREAMS / STREAM_PROCESSES);
  await Promise.all(Array.from({ length: STREAM_PROCESSES }, (_, p) => new Promise<void>((resolve, reject) => {
    const count = Math.max(0, Math.min(per, STREAMS - p * per));
    const child = fork(path.join(here, 'lib/propagation-streams-child.ts'), [String(count), String(p * per), forge.url, forge.token, root], {
      execArgv: EXEC_ARGV, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    child.on('message', (m: { type: 'applied'; receiver: number; versions: Record<string, string>; arrived: number; at: number } | { type: 'ready'; versions: (string | null)[] } | { type: 'cpu'; user: number; system: number }) => {
      if (m.type === 'cpu') {
        cpuWaiters.get(child)?.((m.user + m.system) / 1000);
        return;
      }
      if (m.type === 'ready') {
        if (m.versions.some((v) => v !== '1.0.0')) reject(new Error(`streaming clients started on ${[...new Set(m.versions)].join(', ')}, not core 1.0.0`));
        else resolve();
        return;
      }
      const version = m.versions['core'];
      if (version === undefined) return;
      let byClient = applied.get(version);
      if (!byClient) applied.set(version, (byClient = new Map()));
      if (!byClient.has(m.receiver)) byClient.set(m.receiver, { arrived: m.arrived, at: m.at });
      onApply();
    });
    child.once('exit', (code) => reject(new Error(`a streaming process exited (${code})`)));
  })));
  return {
    children,
    async cpuMs() {
      const each = await Promise.all(children.map((child) => new Promise<number>((resolve) => {
        cpuWaiters.set(child, resolve);
        child.send('cpu');
      })));
      return each.reduce((a, b) => a + b, 0);
    },
    allApplied(version, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${applied.get(version)?.size ?? 0} of ${STREAMS} streaming clients applied ${version} within ${timeoutMs} ms`)), timeoutMs);
        onApply = () => {
          const got = applied.get(version);
          if (got && got.size === STREAMS) {
            clearTimeout(timer);
            resolve([...got.values()]);
          }
        };
        onApply();
      });
    },
  };
}

/**
 * How the release reaches the forge:
 * - `tag`: `git push` of the commit first (its webhook handled, untimed), then
 *   `anvil release core --push`, which pushes the tag alone: the timed webhook carries the tag;
 * - `branch+tag`: `git push --follow-tags`: one webhook carries the branch and the tag.
 */
type Scenario = 'tag' | 'branch+tag';
const SCENARIOS: Scenario[] = ['tag', 'branch+tag'];

interface Round {
  scenario: Scenario;
  version: string;
  /** All in ms from just before the webhook POST. */
  answered: number;
  syncStarted: number;
  syncMs: number;
  syncEnded: number;
  firstArrived: number;
  lastArrived: number;
  firstApplied: number;
  p50: number;
  p99: number;
  max: number;
  /** Median and longest time from a push's arrival to its apply, in the receiver. */
  applyMedian: number;
  applyMax: number;
  /** Syncs the one webhook caused, with their durations. */
  syncs: number[];
  retried: number;
  /** The streaming clients (issue 16), in ms from just before the webhook POST. */
  streams: {
    first: number; p50: number; p99: number; max: number;
    /** When the forge had written the envelope on every stream (its `streamed` log line), and when the events arrived (first–last). */
    written: number; firstArrived: number; lastArrived: number;
    /** Median and longest time from an event's arrival to its apply, in the client. */
    applyMedian: number; applyMax: number;
    /** When the forge had recorded every ack. */
    acked: number;
    /** CPU (ms) the streaming processes and the forge used during the round (webhook → every ack recorded). */
    cpu: { clients: number; forge: number };
  };
}

export async function propagationBenchmark(): Promise<string> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'anvil-bench-propagation-'));
  const repo = await gitdir({ files: repositoryFiles() });
  await repo.tag('core@1.0.0', { message: formatReleaseMessage({ set: 'core', version: '1.0.0', dependencies: {} }) });
  const load = os.loadavg().map((l) => l.toFixed(1)).join(', ');
  const forge = await startForgeProcess(repo.dir, path.join(root, 'forge'));
  let receivers: Receivers | undefined;
  let streamers: Streamers | undefined;
  const cleanups: (() => void)[] = [];

  const postWebhook = async (updates: { ref: string; before: string; after: string }[]): Promise<{ t0: number; answered: number }> => {
    const delivery = randomUUID();
    const body = JSON.stringify({ project: 'bench', delivery, updates });
    const headers = { 'content-type': 'application/json', 'x-anvil-delivery': delivery, 'x-anvil-signature-256': signGitWebhook(SECRET, body) };
    const t0 = Date.now();
    const res = await fetch(`${forge.url}/webhooks/git`, { method: 'POST', headers, body });
    const answered = Date.now() - t0;
    const answer = await res.text();
    if (res.status !== 202) throw new Error(`the webhook was answered ${res.status} ${answer}`);
    return { t0, answered };
  };

  try {
    const started = performance.now();
    // ANVIL_BENCH_RECEIVER_DIR puts the receivers' caches elsewhere (say /dev/shm, to see what
    // their fsyncs cost); by default they sit in the temp folder like the forge's data.
    const cacheParent = process.env['ANVIL_BENCH_RECEIVER_DIR'];
    const cacheRoot = cacheParent ? mkdtempSync(path.join(cacheParent, 'anvil-bench-receivers-')) : path.join(root, 'receivers');
    cleanups.push(() => rmSync(cacheRoot, { recursive: true, force: true }));
    receivers = await startReceivers(forge, cacheRoot);
    const startMs = performance.now() - started;
    // Registration follows a receiver's first pull; give the last ones a moment.
    for (let i = 0; (await forge.call<number>('receivers')) !== RECEIVERS; i++) {
      if (i > 100) throw new Error(`only ${await forge.call<number>('receivers')} of ${RECEIVERS} receivers registered with the forge`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const streamStarted = performance.now();
    streamers = await startStreamers(forge, path.join(cacheRoot, 'streams'));
    const streamStartMs = performance.now() - streamStarted;
    const streamCount = await forge.call<{ registered: number; open: number }>('streams');
    if (streamCount.registered !== STREAMS || streamCount.open !== STREAMS) throw new Error(`streaming clients: ${JSON.stringify(streamCount)}, expected ${STREAMS} registered and open`);
    // What the streaming processes cost doing nothing (each client polls its state.json every
    // 250 ms, to take a mode changed on disk): counted in every round's CPU too.
    const idleFrom = await streamers.cpuMs();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const idleMsPerSecond = (await streamers.cpuMs() - idleFrom) / 2;

    const rounds: Round[] = [];
    let n = 0;
    for (let r = 1; r <= WARMUP_ROUNDS + ROUNDS; r++) {
      // Both scenarios every round, their order swapped each round.
      for (const scenario of r % 2 ? SCENARIOS : [...SCENARIOS].reverse()) {
        const version = `1.0.${++n}`;
        const before = await repo.revParse('HEAD');
        const after = await repo.commit(`core: tone, revision ${n}`, { 'prompts/core/tone.md': toneOf(n) });
        const branchUpdate = { ref: 'refs/heads/main', before, after };
        if (scenario === 'tag') {
          await postWebhook([branchUpdate]);
          await forge.call('settle');
        }
        const tagObject = await repo.tag(`core@${version}`, { message: formatReleaseMessage({ set: 'core', version, dependencies: {} }) });
        const tagUpdate = { ref: `refs/tags/core@${version}`, before: '0'.repeat(40), after: tagObject };
        const logFrom = forge.logs.length;

        const cpuBefore = { clients: await streamers.cpuMs(), forge: cpuOf(await forge.call<{ user: number; system: number }>('cpu')) };
        const { t0, answered } = await postWebhook(scenario === 'tag' ? [tagUpdate] : [branchUpdate, tagUpdate]);
        const [pushed, streamedAt] = await Promise.all([receivers.allApplied(version, 60_000), streamers.allApplied(version, 60_000)]);
        const applied = [...pushed.values()];
        // Every streaming client's acknowledgement recorded by the forge (its receivers list).
        let ackedAt = Date.now();
        for (let i = 0; (await forge.call<number>('streamAcks', version)) !== STREAMS; i++) {
          if (i > 600) throw new Error(`the forge recorded ${await forge.call<number>('streamAcks', version)} of ${STREAMS} streaming acks of ${version}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
          ackedAt = Date.now();
        }
        const cpu = { clients: Math.round(await streamers.cpuMs() - cpuBefore.clients), forge: Math.round(cpuOf(await forge.call<{ user: number; system: number }>('cpu')) - cpuBefore.forge) };
        await forge.call('settle');
        const deliveries = await forge.call<{ total: number; byState: Record<string, number>; retried: number }>('deliveries', version);
        if (deliveries.total !== RECEIVERS || deliveries.byState['delivered/applied'] !== RECEIVERS) {
          throw new Error(`deliveries of ${version}: ${JSON.stringify(deliveries)}`);
        }

        const syncs = forge.logs.slice(logFrom).filter((l) => l.msg === 'sync');
        const first = syncs[0];
        if (!first || first.ms === undefined) throw new Error(`no sync logged for ${version}`);
        const times = applied.map((a) => a.at - t0);
        const arrivals = applied.map((a) => a.arrived - t0);
        const applies = applied.map((a) => a.at - a.arrived);
        const round: Round = {
          scenario, version, answered,
          syncStarted: first.time - first.ms - t0, syncMs: first.ms, syncEnded: first.time - t0,
          firstArrived: Math.min(...arrivals), lastArrived: Math.max(...arrivals),
          firstApplied: Math.min(...times), p50: percentile(times, 50), p99: percentile(times, 99), max: Math.max(...times),
          applyMedian: median(applies), applyMax: Math.max(...applies),
          syncs: syncs.map((s) => s.ms ?? NaN), retried: deliveries.retried,
          streams: (() => {
            const st = streamedAt.map((a) => a.at - t0);
            const arrivals = streamedAt.map((a) => a.arrived - t0);
            const streamed = forge.logs.slice(logFrom).find((l) => l.msg === 'streamed' && l.version === version && l.channel === 'production');
            return {
              first: Math.min(...st), p50: percentile(st, 50), p99: percentile(st, 99), max: Math.max(...st),
              written: streamed ? streamed.time - ((streamed.recordedMs ?? 0) - (streamed.ms ?? 0)) - t0 : NaN, firstArrived: Math.min(...arrivals), lastArrived: Math.max(...arrivals),
              applyMedian: median(streamedAt.map((a) => a.at - a.arrived)), applyMax: Math.max(...streamedAt.map((a) => a.at - a.arrived)),
              acked: ackedAt - t0, cpu,
            };
          })(),
        };
        process.stderr.write(`propagation ${scenario} ${version}${r <= WARMUP_ROUNDS ? ' (warm-up)' : ''}: p50 ${round.p50} ms, p99 ${round.p99} ms, max ${round.max} ms; sync ${round.syncMs} ms; ${STREAMS} streams p50 ${round.streams.p50} ms, p99 ${round.streams.p99} ms, max ${round.streams.max} ms; cpu clients ${cpu.clients} ms, forge ${cpu.forge} ms\n`);
        if (r > WARMUP_ROUNDS) rounds.push(round);
        // Let the machine settle between rounds (the forge is idle already).
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    const loadAfter = os.loadavg().map((l) => l.toFixed(1)).join(', ');
    return report(rounds, startMs, `${load} at start, ${loadAfter} at the end`, cacheParent ?? os.tmpdir()) + '\n\n' + streamReport(rounds, streamStartMs, idleMsPerSecond);
  } finally {
    const all = [...(streamers?.children ?? []), ...(receivers?.children ?? []), forge.child];
    for (const child of all) {
      child.removeAllListeners('exit');
      if (child.connected) child.disconnect();
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const child of all) if (child.exitCode === null) child.kill();
    await cleanupGitdirs();
    for (const cleanup of cleanups) cleanup();
    rmSync(root, { recursive: true, force: true });
  }
}

function report(all: Round[], startMs: number, load: string, cacheParent: string): string {
  const lines = [
    `## Propagation — DESIGN.md §11 "propagation" (issue 5)`, '',
    `Machine: ${machine()}; load average ${load}.`, '',
    `${RECEIVERS} receivers in ${PROCESSES} processes (started and registered in ${(startMs / 1000).toFixed(1)} s), the forge in its own process with the push worker's concurrency ${process.env['ANVIL_BENCH_PUSH_CONCURRENCY'] ?? '32 (its default)'}; receiver caches under ${cacheParent}; a locked set of ${PROMPTS + 3} files; ${WARMUP_ROUNDS} warm-up round, then ${ROUNDS}, each with both scenarios (order alternating). Times in ms from just before the webhook POST (Date.now() in every process).`,
  ];
  for (const scenario of SCENARIOS) {
    const rounds = all.filter((r) => r.scenario === scenario);
    const p50s = rounds.map((r) => r.p50);
    const p99s = rounds.map((r) => r.p99);
    const worst = Math.max(...p99s);
    const med = (f: (r: Round) => number) => Math.round(median(rounds.map(f)));
    lines.push('', `### ${scenario === 'tag' ? 'Tag webhook (`anvil release --push` after the commit was pushed)' : 'Branch + tag in one webhook (`git push --follow-tags`)'}`, '',
      '| version | webhook answered | sync started | sync took | sync ended | pushes arrived (first–last) | first applied | p50 | p99 | max | apply in receiver (median / max) | syncs (ms each) | retried |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...rounds.map((r) => `| ${r.version} | ${r.answered} | ${r.syncStarted} | ${r.syncMs} | ${r.syncEnded} | ${r.firstArrived}–${r.lastArrived} | ${r.firstApplied} | ${r.p50} | **${r.p99}** | ${r.max} | ${r.applyMedian.toFixed(0)} / ${r.applyMax} | ${r.syncs.length} (${r.syncs.join(' + ')}) | ${r.retried} |`),
      '',
      `- median of per-round p50: **${median(p50s).toFixed(0)} ms**; median of per-round p99: **${median(p99s).toFixed(0)} ms**; worst p99: **${worst} ms** — promise (p99 < 1 s) ${worst < 1000 ? 'met in every round' : median(p99s) < 1000 ? '**met in the median round, NOT in every round**' : '**NOT met**'}`,
      `- where the time goes (medians): webhook answered ${med((r) => r.answered)}; sync started ${med((r) => r.syncStarted)}, took ${med((r) => r.syncMs)} (fetch, tags, build, policy, publish); from the sync's end, first push arrived +${med((r) => r.firstArrived - r.syncEnded)}, last +${med((r) => r.lastArrived - r.syncEnded)}, last applied +${med((r) => r.max - r.syncEnded)}; a receiver's own apply (arrival → applied) ${med((r) => r.applyMedian)} median, ${med((r) => r.applyMax)} longest`,
    );
  }
  return lines.join('\n');
}

function cpuOf(usage: { user: number; system: number }): number {
  return (usage.user + usage.system) / 1000;
}

/** The streaming clients' figures (issue 16), from the same rounds as the pushed receivers'. */
function streamReport(all: Round[], startMs: number, idleMsPerSecond: number): string {
  const lines = [
    `### Streaming — DESIGN.md §11 "streaming" (issue 16)`, '',
    `${STREAMS} LIVE clients with \`transport: 'stream'\` (no listener, no inbound port; each one outbound stream to the forge) in ${STREAM_PROCESSES} processes (started, registered and connected in ${(startMs / 1000).toFixed(1)} s), in the same rounds as the ${RECEIVERS} pushed receivers above, taking the same releases at the same time. Times in ms from just before the webhook POST; "acks recorded" is when the forge's receivers list had every streaming client's acknowledgement (delivered).`,
  ];
  for (const scenario of SCENARIOS) {
    const rounds = all.filter((r) => r.scenario === scenario);
    const p99s = rounds.map((r) => r.streams.p99);
    const worst = Math.max(...p99s);
    lines.push('', `#### ${scenario === 'tag' ? 'Tag webhook' : 'Branch + tag in one webhook'}`, '',
      '| version | sync ended | on every stream | events arrived (first–last) | first applied | p50 | p99 | max | apply in client (median / max) | acks recorded | pushed p99 (same round) | CPU: streaming clients / forge (ms) |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...rounds.map((r) => `| ${r.version} | ${r.syncEnded} | ${r.streams.written} | ${r.streams.firstArrived}–${r.streams.lastArrived} | ${r.streams.first} | ${r.streams.p50} | **${r.streams.p99}** | ${r.streams.max} | ${r.streams.applyMedian.toFixed(0)} / ${r.streams.applyMax} | ${r.streams.acked} | ${r.p99} | ${r.streams.cpu.clients} / ${r.streams.cpu.forge} |`),
      '',
      `- median of per-round p50: **${median(rounds.map((r) => r.streams.p50)).toFixed(0)} ms**; median of per-round p99: **${median(p99s).toFixed(0)} ms**; worst p99: **${worst} ms** — promise (p99 < 1 s) ${worst < 1000 ? 'met in every round' : median(p99s) < 1000 ? '**met in the median round, NOT in every round**' : '**NOT met**'}`,
      `- from the sync's end (medians): on every stream +${Math.round(median(rounds.map((r) => r.streams.written - r.syncEnded)))}, events arrived +${Math.round(median(rounds.map((r) => r.streams.firstArrived - r.syncEnded)))}–${Math.round(median(rounds.map((r) => r.streams.lastArrived - r.syncEnded)))}, first streaming client applied +${Math.round(median(rounds.map((r) => r.streams.first - r.syncEnded)))}, p99 +${Math.round(median(rounds.map((r) => r.streams.p99 - r.syncEnded)))}, last +${Math.round(median(rounds.map((r) => r.streams.max - r.syncEnded)))}; every ack recorded +${Math.round(median(rounds.map((r) => r.streams.acked - r.syncEnded)))}`,
      `- CPU per round, from the webhook to the last ack recorded (medians): the ${STREAMS} streaming clients ${Math.round(median(rounds.map((r) => r.streams.cpu.clients)))} ms together (${(median(rounds.map((r) => r.streams.cpu.clients)) / STREAMS).toFixed(2)} ms per client: event read, push check, durable apply, ack — and their idle cost, ${Math.round(idleMsPerSecond)} ms a second for all of them), the forge ${Math.round(median(rounds.map((r) => r.streams.cpu.forge)))} ms (sync, push fan-out, the streams, the acks)`,
    );
  }
  return lines.join('\n');
}
