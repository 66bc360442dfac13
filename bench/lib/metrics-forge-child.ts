/**
 * The metrics benchmark's stand-in forge, in its own process as a forge is (in the app's
 * process its parsing would be counted against the app's renders): takes every
 * `POST …/metrics` batch (202) and counts batches, raw events and calls (raw and folded);
 * anything else 404. Sends `{url}` on IPC when listening; answers `'stats'` with `{batches, events, calls}`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

let batches = 0;
let events = 0;
let calls = 0;
const forge = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.url?.endsWith('/metrics')) {
      batches++;
      const batch = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { events: unknown[]; aggregates?: { events: number }[] };
      events += batch.events.length;
      calls += batch.events.length + (batch.aggregates ?? []).reduce((n, a) => n + a.events, 0);
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"ok":true}');
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"ok":false,"code":"not-found","reason":"bench"}');
    }
  });
});
forge.listen(0, '127.0.0.1', () => process.send?.({ url: `http://127.0.0.1:${(forge.address() as AddressInfo).port}` }));
process.on('message', (m) => {
  if (m === 'stats') process.send?.({ batches, events, calls });
});
process.on('disconnect', () => process.exit(0));
