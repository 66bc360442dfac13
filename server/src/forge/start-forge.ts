/**
 * A running forge: store, keys, the push worker, the HTTP app and the sync loop, started from a
 * resolved configuration (`anvil serve`, `anvil dev`, `npm start`, tests). On start it migrates
 * the store, picks up deliveries a previous run left (leases expire, nothing is lost), and syncs
 * every project once, so that whatever happened while it was down is published.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startPushWorker, type PushWorker, type PushWorkerOptions } from '../deliver/push-worker.ts';
import { createForgeApp } from '../http/forge-app.ts';
import { openStore, storeTime } from '../store/open-store.ts';
import type { ForgeEvent } from '../webhooks/forge-event.ts';
import type { ResolvedForgeConfig } from './forge-config.ts';
import type { ForgeContext } from './forge-context.ts';
import { createLogger, type Logger } from './logger.ts';
import { createForgeMetrics } from './metrics.ts';
import { loadSecretBox } from './secret-box.ts';
import { loadKeyring } from './signing-keys.ts';
import { syncProject, type SyncReport } from './sync-project.ts';
import { SyncQueue } from './sync-queue.ts';

export interface StartForgeOptions {
  logger?: Logger;
  worker?: PushWorkerOptions;
  /** Sync every project right after start (default true). */
  syncOnStart?: boolean;
  /** Also sync every project this often, in case a webhook was lost (default 0: never). */
  pollSeconds?: number;
  /** Called after each sync, with its report (progress output of `anvil dev`). */
  onSync?: (report: SyncReport) => void;
}

export interface RunningForge {
  url: string;
  ctx: ForgeContext;
  worker: PushWorker;
  /** Syncs a project now (coalesced with one already running); resolves with its report. */
  sync(project: string): Promise<SyncReport>;
  /**
   * Resolves when no sync is running and no delivery is pending (retries included), or when
   * `timeoutMs` has passed — a receiver that is down keeps its delivery pending for a day.
   */
  settle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startForge(config: ResolvedForgeConfig, options: StartForgeOptions = {}): Promise<RunningForge> {
  mkdirSync(config.dataDir, { recursive: true });
  const logger = options.logger ?? createLogger();
  const db = await openStore({ file: path.join(config.dataDir, 'forge.db') });
  const ctx: ForgeContext = {
    name: config.name,
    publicUrl: config.publicUrl ?? '',
    dataDir: config.dataDir,
    projects: new Map(config.projects.map((p) => [p.name, p])),
    db,
    keys: await loadKeyring(config.dataDir),
    secrets: loadSecretBox(config.dataDir),
    adminToken: config.adminToken,
    logger,
    metrics: createForgeMetrics({ defaults: true }),
  };
  for (const p of config.projects) {
    await db.insertInto('projects').values({ name: p.name, remote: p.remote, provider: p.provider, created_at: storeTime() })
      .onConflict((oc) => oc.column('name').doUpdateSet({ remote: p.remote, provider: p.provider })).execute();
  }

  const worker = startPushWorker(ctx, options.worker ?? {});
  const queue = new SyncQueue<SyncReport>(async (name) => {
    const project = ctx.projects.get(name)!;
    const started = performance.now();
    const report = await syncProject(ctx, project, { defaultBranch: config.defaultBranches[name], onPublish: () => worker.wake() });
    worker.wake();
    logger.info({ project: name, commit: report.commit, decisions: report.decisions.length, refused: report.refusedTags.length, ms: Math.round(performance.now() - started) }, 'sync');
    options.onSync?.(report);
    return report;
  });
  const sync = (name: string) => queue.request(name);
  const syncInBackground = (name: string, why: string) => {
    sync(name).catch((err: unknown) => logger.error({ err, project: name, why }, 'sync failed'));
  };

  // One webhook often carries several events (a branch and its tags); they are handed over one
  // after the other without yielding to I/O, so a sync requested on the next turn of the event
  // loop covers them all, instead of one sync plus a second that finds nothing new.
  const requested = new Set<string>();
  const onEvent = async (event: ForgeEvent): Promise<void> => {
    if (event.kind !== 'push' && event.kind !== 'tag') return; // pull requests and reviews: issue 6
    if (requested.has(event.project)) return;
    requested.add(event.project);
    setImmediate(() => {
      requested.delete(event.project);
      syncInBackground(event.project, `${event.kind} ${event.deliveryId}`);
    });
  };

  const app = createForgeApp(ctx, { onEvent, wake: () => worker.wake() });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  const { port } = server.address() as AddressInfo;
  const url = config.publicUrl ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  ctx.publicUrl = url;

  if (options.syncOnStart ?? true) for (const name of ctx.projects.keys()) syncInBackground(name, 'start');
  const poll = options.pollSeconds ? setInterval(() => { for (const name of ctx.projects.keys()) syncInBackground(name, 'poll'); }, options.pollSeconds * 1000) : undefined;
  poll?.unref();

  let closed = false;
  return {
    url, ctx, worker, sync,
    async settle(timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      await queue.idle();
      for (;;) {
        await worker.drain();
        const pending = await db.selectFrom('deliveries').select('id').where('state', '=', 'pending').limit(1).executeTakeFirst();
        if (!pending || Date.now() > end) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (poll) clearInterval(poll);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await queue.idle().catch(() => undefined);
      await worker.stop();
      await db.destroy();
    },
  };
}
