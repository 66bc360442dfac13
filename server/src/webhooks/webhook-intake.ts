/**
 * What both webhook endpoints share (DESIGN §8): reading the raw body (the signature covers
 * its exact bytes, so no JSON parser may see it first), the answers, deduplication by delivery
 * id in the store, the audit rows and the metric, and handing events on in the background once
 * the sender has its answer (GitHub gives up after 10 s).
 *
 * A source (github-webhooks.ts, git-webhook.ts) supplies two steps: `precheck` looks at the
 * headers before any body is read, `receive` parses, finds the project, verifies the signature
 * and maps the payload. Both throw AnvilErrors; their codes decide the status (http-errors.ts).
 *
 * A refused request is counted (`anvil_webhooks_total`, `anvil_webhook_rejections_total`) and
 * logged at most once per source, project and reason per interval — never written to the audit
 * log, which keeps only what an authenticated party did: anyone can post here (issue 14).
 */
import express, { type Request, type RequestHandler, type Response } from 'express';
import { AnvilError, isAnvilError } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import { rateLimitedLog } from '../forge/rate-limited-log.ts';
import { appendAudit, appendAuditGrouped } from '../store/audit-log.ts';
import { storeTime } from '../store/open-store.ts';
import { sendError, statusOfCode } from '../http/http-errors.ts';
import type { ForgeEvent, ForgeEventHandler } from './forge-event.ts';
import { rejectionReason } from './webhook-rejection.ts';

export type WebhookSource = 'github' | 'git';

/** An Express handler for one webhook route, which also knows about the work it started. */
export interface WebhookHandler extends RequestHandler {
  /** Resolves once every event accepted so far has been handed to `onEvent` and has settled. */
  drain(): Promise<void>;
}

export interface WebhookHandlerOptions {
  /** Largest body accepted (bytes, or a string such as `'25mb'`). */
  limit?: string | number;
  /** At most one refusal line per source, project and reason this often (default 60 s). */
  logIntervalMs?: number;
}

export interface Precheck {
  /** The source's event name, for the metric and the audit (`push`, `pull_request`…). */
  event: string;
  deliveryId: string;
}

export type Received =
  | { kind: 'ignored'; project: string; reason: string }
  | { kind: 'events'; project: string; events: ForgeEvent[]; actor: string };

export interface WebhookSourceAdapter {
  source: WebhookSource;
  defaultLimit: string | number;
  precheck(req: Request): Precheck;
  /**
   * Parses, finds the project, verifies and maps. A signature failure is `signatureRejected()`
   * (webhook-rejection.ts): one answer whether or not the project exists; `details` say, for
   * the log, which project it was (`project`) or what the body claimed (`claimed`).
   */
  receive(req: Request, body: Buffer, pre: Precheck): Promise<Received>;
}

const DELIVERY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** A delivery id header, checked: present, short, and harmless in logs and SQL. */
export function requireDeliveryId(req: Request, header: string): string {
  const value = req.get(header);
  if (value === undefined || value === '') throw new AnvilError('webhook.headers', `the ${header} header is missing`, { hint: 'every delivery needs an id, so that a redelivery is processed once' });
  if (!DELIVERY_ID.test(value)) throw new AnvilError('webhook.headers', `the ${header} header is not a delivery id (letters, digits, . _ : -; at most 128)`);
  return value;
}

/** The body must be JSON; GitHub can be set to send form-encoded bodies, which are refused. */
export function requireJsonContent(req: Request): void {
  const type = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type)) return;
  throw new AnvilError('webhook.payload.content-type', `the body must be application/json${type ? `, not ${type}` : ''}`, {
    hint: 'on GitHub, set the webhook\'s content type to application/json',
  });
}

/** Parses the body as a JSON object; anything else is `webhook.payload` (400). */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new AnvilError('webhook.payload', `the body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AnvilError('webhook.payload', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

/**
 * Events of one project are handed on one at a time, in the order their deliveries were
 * accepted, across both sources: a tag's event never overtakes the push that brought its
 * commit, and two fetches of one mirror never race. Keyed by context so that several forges in
 * one process (tests) do not wait for each other.
 */
const projectQueues = new WeakMap<ForgeContext, Map<string, Promise<void>>>();

function enqueue(ctx: ForgeContext, project: string, work: () => Promise<void>): Promise<void> {
  let queues = projectQueues.get(ctx);
  if (!queues) projectQueues.set(ctx, (queues = new Map()));
  const next = (queues.get(project) ?? Promise.resolve()).then(work);
  queues.set(project, next);
  void next.then(() => {
    if (queues.get(project) === next) queues.delete(project);
  });
  return next;
}

export function createWebhookHandler(
  ctx: ForgeContext,
  onEvent: ForgeEventHandler,
  adapter: WebhookSourceAdapter,
  options: WebhookHandlerOptions = {},
): WebhookHandler {
  const { source } = adapter;
  const parseRaw = express.raw({ type: () => true, limit: options.limit ?? adapter.defaultLimit });
  const pending = new Set<Promise<void>>();
  // What anyone can cause at will (a refusal, a replay) is logged rate-limited.
  const limitedLog = rateLimitedLog(ctx.logger, options.logIntervalMs === undefined ? {} : { intervalMs: options.logIntervalMs });

  const readBody = (req: Request, res: Response) => new Promise<Buffer>((resolve, reject) => {
    parseRaw(req, res, (err?: unknown) => {
      if (err !== undefined && err !== null) return reject(bodyError(err));
      if (Buffer.isBuffer(req.body) && req.body.length > 0) return resolve(req.body);
      // A body parser that ran before this route already consumed and replaced the bytes the
      // signature covers: a mounting mistake in the forge, not the sender's.
      if ((req as { _body?: boolean })._body === true) return reject(new Error(`${req.path} is mounted after a body parser; mount the webhook routes before express.json()`));
      reject(new AnvilError('webhook.payload', 'the body is empty'));
    });
  });

  const handleEvents = async (deliveryId: string, event: string, events: ForgeEvent[]) => {
    for (const forgeEvent of events) {
      try {
        await onEvent(forgeEvent);
      } catch (err) {
        ctx.metrics.webhooks.inc({ source, event, outcome: 'failed' });
        ctx.logger.error({ err, source, event, delivery: deliveryId, project: forgeEvent.project, kind: forgeEvent.kind }, 'handling a webhook event failed');
        await appendAudit(ctx.db, {
          project: forgeEvent.project, kind: 'webhook.failed', subject: event, actor: 'forge',
          detail: { source, delivery: deliveryId, kind: forgeEvent.kind, reason: (err as Error)?.message ?? String(err) },
        }).catch((auditErr: unknown) => ctx.logger.error({ err: auditErr }, 'could not audit a failed webhook event'));
      }
    }
  };

  const handler = async (req: Request, res: Response): Promise<void> => {
    let event = 'unknown';
    let deliveryId: string | undefined;
    try {
      const pre = adapter.precheck(req);
      event = pre.event;
      deliveryId = pre.deliveryId;
      const body = await readBody(req, res);
      const received = await adapter.receive(req, body, pre);
      const { project } = received;

      if (received.kind === 'ignored') {
        ctx.metrics.webhooks.inc({ source, event, outcome: 'ignored' });
        ctx.logger.debug({ source, event, delivery: deliveryId, project, reason: received.reason }, 'webhook ignored');
        res.status(200).json({ ok: true, ignored: received.reason });
        return;
      }

      // The insert is the lock: of two identical deliveries racing, exactly one inserts.
      const inserted = await ctx.db.insertInto('webhook_deliveries')
        .values({ source, delivery_id: deliveryId, event, received_at: storeTime() })
        .onConflict((oc) => oc.columns(['source', 'delivery_id']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) {
        ctx.metrics.webhooks.inc({ source, event, outcome: 'duplicate' });
        // Rate-limited too: whoever captured one signed delivery can send it again at will.
        limitedLog.log('info', `${source} ${project} duplicate`, { source, event, delivery: deliveryId, project }, 'webhook already received');
        res.status(200).json({ ok: true, duplicate: true, delivery: deliveryId });
        return;
      }
      try {
        // With the other webhooks arriving now, in one append (the chain's lock, once).
        await appendAuditGrouped(ctx.db, {
          project, kind: 'webhook.received', subject: event, actor: received.actor,
          detail: { source, delivery: deliveryId, events: received.events.map(({ project: _p, deliveryId: _d, ...rest }) => rest) },
        });
      } catch (err) {
        // Not recorded, so not taken: let the sender's retry find it new.
        await ctx.db.deleteFrom('webhook_deliveries').where('source', '=', source).where('delivery_id', '=', deliveryId).execute().catch(() => undefined);
        throw err;
      }
      ctx.metrics.webhooks.inc({ source, event, outcome: 'accepted' });
      ctx.logger.info({ source, event, delivery: deliveryId, project, events: received.events.length }, 'webhook accepted');
      res.status(202).json({ ok: true, delivery: deliveryId, events: received.events.length });

      const id = deliveryId;
      // After this tick, so that the answer is on its way before any handler code runs.
      const work = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => enqueue(ctx, project, () => handleEvents(id, event, received.events)));
      pending.add(work);
      void work.finally(() => pending.delete(work));
    } catch (err) {
      answerFailure(req, res, err, event, deliveryId);
    }
  };

  const answerFailure = (req: Request, res: Response, err: unknown, event: string, deliveryId: string | undefined): void => {
    if (!isAnvilError(err)) {
      ctx.metrics.webhooks.inc({ source, event, outcome: 'error' });
      ctx.logger.error({ err, source, event, delivery: deliveryId }, 'unexpected error while receiving a webhook');
      if (!res.headersSent) sendError(res, 500, 'internal', 'an unexpected error happened while receiving the webhook; it is logged');
      return;
    }
    const status = statusOfCode(err.code);
    const reason = rejectionReason(err.code);
    ctx.metrics.webhooks.inc({ source, event, outcome: status === 401 ? 'rejected' : 'invalid' });
    ctx.metrics.webhookRejections.inc({ source, reason });
    // Only a project the forge has goes into the limiter's key: what a sender claims is
    // unbounded, and would let it grow the key set (and write a line per name).
    const named = err.details?.['project'];
    const project = typeof named === 'string' && ctx.projects.has(named) ? named : undefined;
    const claimed = err.details?.['claimed'];
    limitedLog.log('warn', `${source} ${project ?? '(no project)'} ${reason}`, {
      source, event, reason, code: err.code, message: err.message, ip: req.ip,
      ...(project !== undefined ? { project } : {}),
      ...(typeof claimed === 'string' ? { claimed } : {}),
      ...(deliveryId !== undefined ? { delivery: deliveryId } : {}),
    }, 'webhook refused');
    if (!res.headersSent) sendError(res, status, err.code, err.message, err.hint);
  };

  const requestHandler: RequestHandler = (req, res) => {
    void handler(req, res);
  };
  return Object.assign(requestHandler, {
    async drain() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  });
}

/** body-parser's errors as the codes http-errors.ts knows. */
function bodyError(err: unknown): unknown {
  const e = err as { type?: string; status?: number; message?: string };
  if (e.type === 'entity.too.large') return new AnvilError('request.too-large', `the body is larger than this endpoint accepts: ${e.message ?? ''}`, { cause: err });
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return new AnvilError('request.invalid', e.message ?? 'the body could not be read', { cause: err });
  return err;
}
