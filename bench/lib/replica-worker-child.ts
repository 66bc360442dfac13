/**
 * One forge replica of the scale-out benchmark (issue 16), pushing only: a process of its own that
 * opens the PostgreSQL store it is given and runs the push worker as `anvil serve` does (default
 * concurrency and lease), with the signing key and sealing key every replica shares.
 *
 * Its poll is set to an hour, so that it pushes only when the bench wakes it: the bench decides
 * which replicas take part in a round (one, or two), and an idle replica's poll must not take
 * rows from the other. Once woken it claims on its own, as a replica does after a publish.
 *
 * argv: <PostgreSQL URL> <signing key JSON> <seal key, base64> <owner>. Sends `{type: 'ready'}`
 * when up, then answers `{id, cmd}` with `{id, result}`: `drain` wakes the worker and resolves
 * when nothing is due or in flight and every answer is recorded, with the push attempts this
 * replica made since the last `drain`, by outcome.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SigningKey } from '@anvil/content-schema';
import { startPushWorker } from '../../server/src/deliver/push-worker.ts';
import type { ForgeContext } from '../../server/src/forge/forge-context.ts';
import { createLogger } from '../../server/src/forge/logger.ts';
import { createForgeMetrics } from '../../server/src/forge/metrics.ts';
import { secretBox } from '../../server/src/forge/secret-box.ts';
import { openStore } from '../../server/src/store/open-store.ts';
import { createStoreEvents } from '../../server/src/store/store-events.ts';
import { serveChildCommands, type ChildCommands } from './child-commands.ts';

const [url, keyJson, sealKey, owner] = process.argv.slice(2);
if (url === undefined || keyJson === undefined || sealKey === undefined || owner === undefined) {
  throw new Error('usage: replica-worker-child.ts <postgres url> <signing key JSON> <seal key base64> <owner>');
}

const key = JSON.parse(keyJson) as SigningKey;
const location = { postgres: url };
const logger = createLogger({ level: 'warn', name: owner });
const db = await openStore({ ...location, onError: (err) => logger.warn({ err }, 'a pooled store connection failed') });
// A data dir of its own, as a replica on another machine has (the push worker keeps nothing there).
const dataDir = mkdtempSync(path.join(os.tmpdir(), `anvil-bench-${owner}-`));
const ctx: ForgeContext = {
  name: 'bench', publicUrl: 'http://127.0.0.1:1', dataDir, projects: new Map(), db, events: await createStoreEvents(db, location),
  keys: { active: key, signers: [key], published: () => [{ keyId: key.keyId, publicKey: key.publicKey, status: 'active' }] },
  secrets: secretBox(Buffer.from(sealKey, 'base64')), logger, metrics: createForgeMetrics(),
  // The receivers are on loopback: allowed explicitly, as `anvil dev` does.
  pushTargets: { allowPrivateNetworks: true },
};
const worker = startPushWorker(ctx, { owner, pollMs: 3_600_000 });

/** Push attempts by outcome so far (anvil_deliveries_total). */
async function attempts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await ctx.metrics.deliveries.get()).values) out[String(v.labels['outcome'])] = v.value;
  return out;
}
let last: Record<string, number> = {};

const commands: ChildCommands = {
  async drain() {
    worker.wake();
    await worker.drain();
    const now = await attempts();
    const since: Record<string, number> = {};
    for (const [outcome, n] of Object.entries(now)) if (n - (last[outcome] ?? 0) > 0) since[outcome] = n - (last[outcome] ?? 0);
    last = now;
    return since;
  },
  async cpu() {
    return process.cpuUsage();
  },
};

serveChildCommands(commands, {}, () => worker.stop().then(() => ctx.events.close()).then(() => db.destroy()).finally(() => rmSync(dataDir, { recursive: true, force: true })));
