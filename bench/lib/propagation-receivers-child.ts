/**
 * One of the propagation benchmark's receiver processes: `count` real LIVE receivers
 * (`createClient`, production channel, accepting, each with its own disk cache), registered with
 * the real forge. Each serves pushes with `client.receiver()` on its own loopback server — what
 * `listen()` does, plus a note of when each push arrived — and reports every apply on IPC as it
 * happens: the `update` event, emitted once the new state is served and durable. Times are
 * `Date.now()`, taken in the request and `update` listeners: one wall clock shared with the
 * parent and the forge.
 * argv: <count> <first index> <forge url> <token> <cache root>.
 * Sends `{type: 'ready', versions}` once every receiver is listening and ready, then
 * `{type: 'applied', receiver, versions, arrived, at}` per apply.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createClient, type AnvilClient } from '@anvil/client';

const [countArg, firstArg, forge, token, root] = process.argv.slice(2);
const count = Number(countArg);
const first = Number(firstArg);

const clients: AnvilClient[] = [];
const servers: Server[] = [];
for (let i = first; i < first + count; i++) {
  const instanceId = `receiver-${i}`;
  let handle: ReturnType<AnvilClient['receiver']> | undefined;
  let arrived = 0;
  const server = createServer((req, res) => {
    arrived = Date.now();
    if (handle) handle(req, res);
    else res.writeHead(503, { 'retry-after': '1' }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const client = await createClient({
    forge: forge!, project: 'bench', token: token!, channel: 'production', mode: 'accepting', cacheDir: path.join(root!, instanceId),
    instanceId, pushUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, readyTimeoutMs: 30_000, pollMs: 0, heartbeatMs: 3_600_000,
  });
  handle = client.receiver();
  client.on('update', (detail) => {
    const at = Date.now();
    process.send?.({ type: 'applied', receiver: i, versions: (detail as { versions: Record<string, string> }).versions, arrived, at });
  });
  client.on('error', (err) => process.stderr.write(`${instanceId}: ${(err as Error).message}\n`));
  clients.push(client);
}
await Promise.all(clients.map((c) => c.ready));
process.send?.({ type: 'ready', versions: clients.map((c) => c.status().sets['core']?.version ?? null) });
process.on('disconnect', () => {
  for (const s of servers) s.closeAllConnections();
  void Promise.all(clients.map((c) => c.close())).finally(() => process.exit(0));
});
