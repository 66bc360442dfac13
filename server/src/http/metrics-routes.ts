/**
 * `POST /api/v1/projects/:project/metrics` (issue 17): usage metrics from LIVE receivers, with
 * the receiver's project token. Mounted before the API's JSON parser: a batch has its own size
 * limit (gzip taken), larger than a registration's. A batch carries raw events and, from a
 * client that reports faster than it sends raw, aggregates it folded; the rate limit weighs a
 * batch by the calls it counts, raw and folded.
 *
 *   202  {ok, accepted}         added to the aggregates (raw events also to the raw window); accepted: calls
 *   400  metrics.invalid        the batch does not validate: every problem, with its location
 *   413  request.too-large      too many events or aggregates, more calls than the burst allows, or too many bytes
 *   429  metrics.rate-limited   the project sends more calls than it may; retry-after says when
 *
 * After a batch is stored: raw events older than the window are pruned (at most once a minute)
 * and the canary guards of the sets and channels it touched are judged (at most every 10 s each).
 */
import express, { Router, type Request, type Response } from 'express';
import { callsInBatch, METRICS_BATCH_LIMITS, validateMetricsBatch } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import { evaluateRolloutGuards } from '../metrics/rollout-guard.ts';
import { usageSetting } from '../metrics/usage-settings.ts';
import { pruneRawEvents, recordUsageBatch } from '../metrics/usage-store.ts';
import { sendError } from './http-errors.ts';
import { callerOf, requireToken } from './require-token.ts';

/** 1,000 events and 1,000 aggregates of a few hundred bytes each, with room. */
export const METRICS_BODY_LIMIT = '1mb';
const MAX_ISSUES_ANSWERED = 20;

export function metricsRoutes(ctx: ForgeContext, wake: () => void = () => undefined): Router {
  const router = Router({ mergeParams: true });
  const buckets = new Map<string, { tokens: number; at: number }>();
  const guardJudged = new Map<string, number>();
  let prunedAt = 0;

  /** A token bucket per project, in events: true when `n` more may be taken now. */
  function take(project: string, n: number, now: number): boolean {
    const rate = usageSetting(ctx.usage, 'eventsPerSecond');
    const burst = usageSetting(ctx.usage, 'eventsBurst');
    const bucket = buckets.get(project) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    buckets.set(project, bucket);
    if (bucket.tokens < n) return false;
    bucket.tokens -= n;
    return true;
  }

  router.post('/metrics', requireToken(ctx, { admin: 'never' }), express.json({ limit: METRICS_BODY_LIMIT }), async (req: Request, res: Response) => {
    const body = req.body as unknown;
    if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
      return sendError(res, 400, 'metrics.invalid', 'expected a JSON object as the body: {channel, events: [...]}', 'send `content-type: application/json`');
    }
    const { events, aggregates } = body as { events?: unknown; aggregates?: unknown };
    if (Array.isArray(events) && events.length > METRICS_BATCH_LIMITS.events) {
      return sendError(res, 413, 'request.too-large', `a batch holds at most ${METRICS_BATCH_LIMITS.events} events; this one has ${events.length}`, 'send the events in several batches');
    }
    if (Array.isArray(aggregates) && aggregates.length > METRICS_BATCH_LIMITS.aggregates) {
      return sendError(res, 413, 'request.too-large', `a batch holds at most ${METRICS_BATCH_LIMITS.aggregates} aggregates; this one has ${aggregates.length}`, 'send the aggregates in several batches');
    }
    const checked = validateMetricsBatch(body);
    if (!checked.ok) {
      const shown = checked.errors.slice(0, MAX_ISSUES_ANSWERED);
      const first = shown[0];
      res.status(400).json({
        ok: false, code: 'metrics.invalid',
        reason: `the metrics batch is not valid${first ? `: ${first.path || '/'} ${first.message}` : ''}${checked.errors.length > 1 ? ` (and ${checked.errors.length - 1} more)` : ''}`,
        issues: shown,
      });
      return;
    }
    const { project } = callerOf(res);
    const batch = checked.value;
    const now = Date.now();
    // Folded calls weigh as much as raw ones: folding saves the client's and the forge's work, not the project's allowance.
    const calls = callsInBatch(batch);
    const burst = usageSetting(ctx.usage, 'eventsBurst');
    if (calls > burst) {
      return sendError(res, 413, 'request.too-large', `this batch counts ${calls} calls (raw and folded); the forge takes at most ${burst} at once`, 'the client drops what it cannot send; raise `usage.eventsBurst` on the forge if this is expected');
    }
    if (!take(project, calls, now)) {
      const wait = Math.max(1, Math.ceil(calls / usageSetting(ctx.usage, 'eventsPerSecond')));
      res.setHeader('retry-after', String(wait));
      return sendError(res, 429, 'metrics.rate-limited', `${project} sends more usage events than the forge takes (${usageSetting(ctx.usage, 'eventsPerSecond')}/s)`, 'the client drops what it cannot send; raise `usage.eventsPerSecond` on the forge if this is expected');
    }
    const retention = usageSetting(ctx.usage, 'rawRetentionMs');
    await recordUsageBatch(ctx.db, project, batch, { keepRaw: retention > 0, now });
    if (batch.dropped) ctx.logger.debug({ project, instanceId: batch.instanceId, dropped: batch.dropped }, 'a receiver dropped usage events');
    res.status(202).json({ ok: true, accepted: calls });

    // Upkeep after the answer: the receiver's batch is stored whatever happens here.
    try {
      if (now - prunedAt >= usageSetting(ctx.usage, 'pruneEveryMs')) {
        prunedAt = now;
        await pruneRawEvents(ctx.db, retention, now);
      }
      const every = usageSetting(ctx.usage, 'guardEveryMs');
      const pairs = [...new Set([...batch.events, ...batch.aggregates ?? []].map((e) => e.set))].map((set) => ({ set, channel: batch.channel }))
        .filter(({ set, channel }) => {
          const key = `${project}\u0000${set}\u0000${channel}`;
          if (now - (guardJudged.get(key) ?? -Infinity) < every) return false;
          guardJudged.set(key, now);
          return true;
        });
      if (guardJudged.size > 10_000) guardJudged.clear();
      if (pairs.length > 0) await evaluateRolloutGuards(ctx, project, pairs, wake, now);
    } catch (err) {
      ctx.logger.warn({ err, project }, 'usage upkeep (pruning, canary guard) failed; it runs again with the next batch');
    }
  });

  return router;
}
