/**
 * One of the propagation benchmark's streaming processes (issue 16): `count` real LIVE clients
 * with `transport: 'stream'` (`createClient`, production channel, accepting, each with its own
 * disk cache and its own outbound stream to the forge, no listener: no inbound port), which
 * report every apply on IPC as it happens — the `update` event, emitted once the new state is
 * served and durable, as for the pushed receivers. Times are `Date.now()`: one wall clock shared
 * with the parent and the forge.
 * argv: <count> <first index> <forge url> <token> <cache root>.
 * Sends `{type: 'ready', versions}` once every client is ready and its stream connected, then
 * `{type: 'applied', receiver, versions, arrived, at}` per apply.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import { createClient, type AnvilClient } from '@anvil/client';

const [countArg, firstArg, forge, token, root] = process.argv.slice(2);
const count = Number(countArg);
const first = Number(firstArg);
/** Clients started at once: a fleet rolls out over a moment, not in one instant. */
const STARTING = 25;

const clients: AnvilClient[] = [];
let errors = 0;

/**
 * `fetch` as the clients use it, noting when each chunk of a stream arrives: the time an event
 * reached the client, before it was checked and applied (as the pushed receivers note a push's
 * arrival). The last chunk before an apply is the event's.
 */
function timedFetch(arrived: (at: number) => void): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    if (!res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) return res;
    const body = res.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        arrived(Date.now());
        controller.enqueue(chunk);
      },
    }));
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}
async function start(i: number): Promise<AnvilClient> {
  const instanceId = `stream-${i}`;
  let arrived = 0;
  const client = await createClient({
    fetch: timedFetch((at) => (arrived = at)),
    forge: forge!, project: 'bench', token: token!, channel: 'production', mode: 'accepting', cacheDir: path.join(root!, instanceId),
    instanceId, transport: 'stream', readyTimeoutMs: 60_000, pollMs: 0, heartbeatMs: 3_600_000,
    // ANVIL_BENCH_ACK_JITTER_MS: how the acks are spread (default: the client's, 1 s).
    ...(process.env['ANVIL_BENCH_ACK_JITTER_MS'] ? { stream: { ackJitterMs: Number(process.env['ANVIL_BENCH_ACK_JITTER_MS']) } } : {}),
  });
  client.on('update', (detail) => {
    process.send?.({ type: 'applied', receiver: i, versions: (detail as { versions: Record<string, string> }).versions, arrived, at: Date.now() });
  });
  client.on('error', (err) => {
    // Shown, but not one per client: a forge restart would print thousands.
    if (errors++ < 5) process.stderr.write(`${instanceId}: ${(err as Error).message}\n`);
  });
  await client.ready;
  return client;
}

for (let i = first; i < first + count; i += STARTING) {
  const batch = Array.from({ length: Math.min(STARTING, first + count - i) }, (_, k) => start(i + k));
  clients.push(...(await Promise.all(batch)));
}
const connected = () => clients.filter((c) => { const t = c.status().transport; return t.kind === 'stream' && t.state === 'connected'; }).length;
for (let waited = 0; connected() < clients.length; waited += 50) {
  if (waited > 60_000) throw new Error(`only ${connected()} of ${clients.length} streams connected`);
  await new Promise((resolve) => setTimeout(resolve, 50));
}
// ANVIL_BENCH_PROFILE_DIR: a CPU profile of the rounds (not the start-up), written on exit.
const profileDir = process.env['ANVIL_BENCH_PROFILE_DIR'];
const profiler = profileDir ? new Session() : undefined;
if (profiler) {
  profiler.connect();
  await new Promise((resolve) => profiler.post('Profiler.enable', () => profiler.post('Profiler.start', resolve)));
}
process.send?.({ type: 'ready', versions: clients.map((c) => c.status().sets['core']?.version ?? null) });
// The CPU this process used so far (µs), for where the time goes.
process.on('message', (m: unknown) => {
  if (m === 'cpu') process.send?.({ type: 'cpu', ...process.cpuUsage() });
});
// The run is over: the forge is going too, so the clients do not say goodbye (a thousand leaves).
process.on('disconnect', () => {
  if (!profiler) process.exit(0);
  profiler.post('Profiler.stop', (_err, result) => {
    writeFileSync(path.join(profileDir!, `streams-${first}.cpuprofile`), JSON.stringify(result.profile));
    process.exit(0);
  });
});
