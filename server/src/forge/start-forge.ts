/**
 * A running forge: store, keys, the push worker, the HTTP app and the sync loop, started from a
 * resolved configuration (`anvil serve`, `anvil dev`, `npm start`, tests). On start it migrates
 * the store, picks up deliveries a previous run left (leases expire, nothing is lost), and syncs
 * every project once, so that whatever happened while it was down is published.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { startPushWorker, type PushWorker, type PushWorkerOptions } from '../deliver/push-worker.ts';
import { startGitHubPoster, type GitHubPosterOptions } from '../github/github-outbox.ts';
import { createForgeApp } from '../http/forge-app.ts';
import { checkPullRequest, type PullRequestRef } from '../review/check-pull-request.ts';
import { getPull, repoRef } from '../github/github-api.ts';
import { clientFor, recordClosedPull, reviewsEnabled } from '../review/review-state.ts';
import { openStore, storeTime } from '../store/open-store.ts';
import { createStoreEvents } from '../store/store-events.ts';
import { describeStoreLocation, storeLocation } from '../store/store-location.ts';
import type { ForgeEvent, PullRequestEvent, PullRequestReviewEvent } from '../webhooks/forge-event.ts';
import type { ResolvedForgeConfig } from './forge-config.ts';
import type { ForgeContext, PushTargets } from './forge-context.ts';
import { createLogger, type Logger } from './logger.ts';
import { createForgeMetrics } from './metrics.ts';
import { loadSecretBox } from './secret-box.ts';
import { loadKeyring } from './signing-keys.ts';
import { joinReplicas } from './replicas.ts';
import { withSyncLease } from './sync-lease.ts';
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
  /** How the forge talks to GitHub; tests turn the one-second spacing of writes off. */
  github?: { spaceWrites?: boolean; rateLimitRetries?: number; retryBaseMs?: number; poster?: Omit<GitHubPosterOptions, 'clientOf'> };
  /** A failed sync (git or GitHub unreachable) is tried again after this long, doubling up to 10 minutes (default 5 s). */
  syncRetryMs?: number;
}

export interface RunningForge {
  url: string;
  ctx: ForgeContext;
  worker: PushWorker;
  /** Syncs a project now (coalesced with one already running); resolves with its report. */
  sync(project: string): Promise<SyncReport>;
  /**
   * Resolves when every webhook received has been handled, no sync or pull request check is
   * running, no GitHub post is due, and no delivery is pending (retries included), or when
   * `timeoutMs` has passed — a receiver that is down keeps its delivery pending for a day.
   */
  settle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startForge(config: ResolvedForgeConfig, options: StartForgeOptions = {}): Promise<RunningForge> {
  mkdirSync(config.dataDir, { recursive: true });
  const logger = options.logger ?? createLogger();
  const location = storeLocation(config.dataDir, config.database);
  const db = await openStore({ ...location, onError: (err) => logger.warn({ err }, 'a pooled store connection failed; the next query opens another') });
  const events = await createStoreEvents(db, location, { onError: (err) => logger.warn({ err }, 'store events: a listener or the listening connection failed') })
    .catch(async (err: unknown) => { await db.destroy(); throw err; });
  logger.info({ store: describeStoreLocation(location) }, 'store opened');
  // Public addresses only unless the configuration says otherwise (issue 14). Until the server
  // listens (deliveries a previous run left are pushed at once), its configured address stands
  // in for the one it binds.
  const pushTargets: PushTargets = {
    allowPrivateNetworks: config.pushTargets?.allowPrivateNetworks ?? false,
    ...(config.port !== 0 && isIP(config.host) !== 0 ? { listening: { address: config.host, port: config.port } } : {}),
  };
  const ctx: ForgeContext = {
    name: config.name,
    publicUrl: config.publicUrl ?? '',
    dataDir: config.dataDir,
    projects: new Map(config.projects.map((p) => [p.name, p])),
    db,
    events,
    keys: await loadKeyring(config.dataDir),
    secrets: loadSecretBox(config.dataDir),
    adminToken: config.adminToken,
    logger,
    metrics: createForgeMetrics({ defaults: true }),
    pushTargets,
    ...(config.streams ? { streams: config.streams } : {}),
    ...(config.usage ? { usage: config.usage } : {}),
    ...(config.knownForges ? { knownForges: config.knownForges } : {}),
    unsynced: new Set(options.syncOnStart ?? true ? config.projects.map((p) => p.name) : []),
    github: {
      spaceWrites: options.github?.spaceWrites ?? true,
      ...(options.github?.rateLimitRetries !== undefined ? { rateLimitRetries: options.github.rateLimitRetries } : {}),
      ...(options.github?.retryBaseMs !== undefined ? { retryBaseMs: options.github.retryBaseMs } : {}),
    },
  };
  for (const p of config.projects) {
    await db.insertInto('projects').values({ name: p.name, remote: p.remote, provider: p.provider, created_at: storeTime() })
      .onConflict((oc) => oc.column('name').doUpdateSet({ remote: p.remote, provider: p.provider })).execute();
  }

  // Refused here, before anything is pushed, when another running replica has other keys.
  const replica = await joinReplicas(ctx).catch(async (err: unknown) => {
    await events.close();
    await db.destroy();
    throw err;
  });

  const worker = startPushWorker(ctx, options.worker ?? {});
  const poster = startGitHubPoster(ctx, { ...(options.github?.poster ?? {}), clientOf: (project) => clientFor(ctx, project) });
  // Syncs and pull request checks of a project take turns: both fetch into the same mirror.
  const lanes = new Map<string, Promise<unknown>>();
  const inLane = <T>(project: string, work: () => Promise<T>): Promise<T> => {
    const next = (lanes.get(project) ?? Promise.resolve()).catch(() => undefined).then(work);
    lanes.set(project, next);
    void next.finally(() => { if (lanes.get(project) === next) lanes.delete(project); }).catch(() => undefined);
    return next;
  };
  const queue = new SyncQueue<SyncReport>((name) => inLane(name, async () => {
    const project = ctx.projects.get(name)!;
    const started = performance.now();
    // Another replica syncing this project goes first (sync-lease.ts); this one then finds its work done.
    const report = await withSyncLease(db, name, replica.name, () => syncProject(ctx, project, {
      defaultBranch: config.defaultBranches[name], onPublish: () => worker.wake(), onGitHubPost: () => poster.wake(),
    }));
    worker.wake();
    logger.info({ project: name, commit: report.commit, decisions: report.decisions.length, refused: report.refusedTags.length, ms: Math.round(performance.now() - started) }, 'sync');
    options.onSync?.(report);
    return report;
  }));
  const sync = (name: string) => queue.request(name);
  // A sync that failed (the remote or GitHub unreachable) is tried again until one succeeds:
  // nothing else would bring the project up to date before the next webhook.
  const retries = new Map<string, { attempt: number; timer?: NodeJS.Timeout }>();
  let closed = false;
  const syncInBackground = (name: string, why: string) => {
    sync(name).then(() => {
      ctx.unsynced?.delete(name);
      clearTimeout(retries.get(name)?.timer);
      retries.delete(name);
    }, (err: unknown) => {
      // Ready all the same: the forge serves what its store holds, and keeps trying.
      ctx.unsynced?.delete(name);
      const retry = retries.get(name) ?? { attempt: 0 };
      retry.attempt += 1;
      retries.set(name, retry);
      const delay = Math.min(600_000, (options.syncRetryMs ?? 5_000) * 2 ** (retry.attempt - 1));
      logger.error({ err, project: name, why, attempt: retry.attempt, retryInMs: delay }, 'sync failed');
      if (closed || retry.timer) return;
      retry.timer = setTimeout(() => {
        delete retry.timer;
        syncInBackground(name, 'retry');
      }, delay);
      retry.timer.unref();
    });
  };

  // Pull request checks coalesce per pull request: a burst of pushes is checked at its last head.
  const latestPull = new Map<string, PullRequestRef>();
  const checks = new SyncQueue<void>((key) => {
    const [name] = key.split('#') as [string];
    return inLane(name, async () => {
      const pull = latestPull.get(key);
      const project = ctx.projects.get(name);
      if (!pull || !project) return;
      const outcome = await checkPullRequest(ctx, project, pull);
      if (!outcome.checked) logger.info({ project: name, pull: pull.number, reason: outcome.reason }, 'pull request not checked');
      poster.wake();
    });
  });
  const checkInBackground = (project: string, pull: PullRequestRef, why: string) => {
    const key = `${project}#${pull.number}`;
    latestPull.set(key, pull);
    checks.request(key).catch((err: unknown) => logger.error({ err, project, pull: pull.number, why }, 'pull request check failed'));
  };
  const onPullRequest = async (event: PullRequestEvent): Promise<void> => {
    const project = ctx.projects.get(event.project);
    if (!project || !reviewsEnabled(project)) return;
    if (event.action === 'closed') {
      // Merged or not, GitHub's own answer is what the store keeps; a merge then syncs the
      // branch (the push webhook does too, whichever comes first).
      await recordClosedPull(ctx, project, event.number);
      if (event.merged) syncInBackground(event.project, `pull request #${event.number} merged`);
      return;
    }
    if (event.draft && event.action !== 'ready_for_review') return;
    checkInBackground(event.project, { number: event.number, headSha: event.headSha, baseRef: event.baseRef, baseSha: event.baseSha, author: event.author }, `pull_request.${event.action}`);
  };
  const onReview = async (event: PullRequestReviewEvent): Promise<void> => {
    const project = ctx.projects.get(event.project);
    const client = project && clientFor(ctx, project);
    if (!project || !client) return;
    // The event says who reviewed what; GitHub is asked where the pull request stands now.
    const pull = await getPull(client, repoRef(project.githubRepository!), event.number);
    if (pull.state !== 'open') return;
    checkInBackground(event.project, { number: pull.number, headSha: pull.headSha, baseRef: pull.baseRef, baseSha: pull.baseSha, author: pull.author }, `pull_request_review.${event.action}`);
  };

  // One webhook often carries several events (a branch and its tags); they are handed over one
  // after the other without yielding to I/O, so a sync requested on the next turn of the event
  // loop covers them all, instead of one sync plus a second that finds nothing new.
  const requested = new Set<string>();
  const onEvent = async (event: ForgeEvent): Promise<void> => {
    if (event.kind === 'pull-request') return onPullRequest(event);
    if (event.kind === 'pull-request-review') return onReview(event);
    if (event.kind !== 'push' && event.kind !== 'tag') return;
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
  const { port, address } = server.address() as AddressInfo;
  pushTargets.listening = { address, port };
  const url = config.publicUrl ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  ctx.publicUrl = url;

  if (options.syncOnStart ?? true) for (const name of ctx.projects.keys()) syncInBackground(name, 'start');
  const poll = options.pollSeconds ? setInterval(() => { for (const name of ctx.projects.keys()) syncInBackground(name, 'poll'); }, options.pollSeconds * 1000) : undefined;
  poll?.unref();

  return {
    url, ctx, worker, sync,
    async settle(timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        await app.drainWebhooks();
        // A push's sync is requested on the next turn of the event loop (see onEvent).
        await new Promise((resolve) => setImmediate(resolve));
        await checks.idle();
        await queue.idle();
        await poster.drain();
        await worker.drain();
        if (lanes.size > 0) continue;
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
      for (const retry of retries.values()) clearTimeout(retry.timer);
      await checks.idle().catch(() => undefined);
      await queue.idle().catch(() => undefined);
      await poster.stop();
      await worker.stop();
      await replica.leave();
      await events.close();
      await db.destroy();
    },
  };
}
