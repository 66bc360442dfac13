/**
 * One of the fan-out benchmark's receiver processes: `count` real LIVE receivers
 * (`createClient` + `listen`, each with its own disk cache, pinned to the bench forge's key),
 * on loopback. Their pulls and registrations go to a stub forge in this process that answers
 * 304 / 200, so that the only traffic that matters is the pushes being measured.
 * argv: <count> <first index> <public key> <token> <cache root>. Sends `{urls}` on IPC when ready.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createClient, type AnvilClient } from '@anvil/client';

const [countArg, firstArg, publicKey, token, root] = process.argv.slice(2);
const count = Number(countArg);
const first = Number(firstArg);

const stub = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.url?.includes('/envelope')) {
      res.writeHead(304);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
});
await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
const forge = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;

const clients: AnvilClient[] = [];
const urls: string[] = [];
for (let i = first; i < first + count; i++) {
  const client = await createClient({
    forge, project: 'bench', token: token!, channel: 'production', cacheDir: path.join(root!, `receiver-${i}`),
    instanceId: `receiver-${i}`, publicKey: publicKey!, readyTimeoutMs: 0, pollMs: 0, heartbeatMs: 3_600_000,
  });
  client.on('error', (err) => process.stderr.write(`receiver-${i}: ${(err as Error).message}\n`));
  clients.push(client);
  urls.push((await client.listen()).url);
}
process.send?.({ urls });
process.on('disconnect', () => process.exit(0));
