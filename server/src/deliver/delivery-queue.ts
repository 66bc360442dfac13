/**
 * The durable push queue (DESIGN.md §10): one `deliveries` row per receiver and envelope, with
 * attempts, the next attempt time and a lease. Everything a push worker decides is written here,
 * so a restarted forge, or another replica on the same store, carries on where one stopped.
 *
 * A delivery's id is the push's `webhook-id`, the same on every retry (DESIGN §8): a receiver that
 * applied a push whose answer was lost (a forge killed mid fan-out) answers the retry 200 no-op.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import semver from 'semver';
import type { ForgeContext } from '../forge/forge-context.ts';
import type { Delivery, DeliveryUpdate } from '../store/database.ts';
import { storeTime } from '../store/open-store.ts';
import type { PushOutcome } from './push-outcome.ts';

type QueueContext = Pick<ForgeContext, 'db'>;

/** DESIGN §8: faults are retried "up to a day". */
export const DELIVERY_TTL_MS = 24 * 60 * 60 * 1000;

// SQLite allows 32,766 bound values per statement; 18 columns × 500 rows stays well inside.
const INSERT_CHUNK = 500;
const UPDATE_CHUNK = 500;

export interface EnqueueRequest {
  project: string;
  channel: string;
  envelopeId: string;
  /** The set the envelope publishes (its dependencies travel with it). */
  set: string;
  version: string;
  now?: number | undefined;
  ttlMs?: number | undefined;
}

/**
 * The forge's side of a receiver's range (absent: any version). The same rule as the receiver's
 * own check (client/src/receive/check-push.ts), prereleases included, so that the forge never
 * pushes what the receiver would refuse as out of range, nor holds back what it would take.
 */
export function rangeAllows(ranges: Readonly<Record<string, string>>, set: string, version: string): boolean {
  const range = Object.hasOwn(ranges, set) ? ranges[set] : undefined;
  return range === undefined || semver.satisfies(version, range, { includePrerelease: true });
}

/**
 * Queues one delivery of the envelope to each receiver of the project that takes it now: same
 * channel, accepting, not gone, range allowing the version. Older pending deliveries of the same
 * set to the same receiver are superseded (a receiver only needs the latest); one already being
 * pushed is left to finish. A receiver that has a newer version of the set still pending gets
 * nothing (it would answer 409 stale). All in one transaction; returns the number queued.
 */
export async function enqueueDeliveries(ctx: QueueContext, request: EnqueueRequest): Promise<number> {
  const now = request.now ?? Date.now();
  const at = storeTime(now);
  const expires = storeTime(now + (request.ttlMs ?? DELIVERY_TTL_MS));
  return ctx.db.transaction().execute(async (trx) => {
    const receivers = await trx.selectFrom('receivers')
      .select(['instance_id', 'url', 'ranges'])
      .where('project', '=', request.project)
      .where('channel', '=', request.channel)
      .where('mode', '=', 'accepting')
      .where('gone_at', 'is', null)
      .execute();
    const eligible = receivers.filter((r) => rangeAllows(parseRanges(r.ranges), request.set, request.version));
    if (eligible.length === 0) return 0;

    const pending = await trx.selectFrom('deliveries')
      .select(['id', 'instance_id', 'version', 'lease_until'])
      .where('project', '=', request.project)
      .where('set_name', '=', request.set)
      .where('state', '=', 'pending')
      .execute();
    const pendingBy = new Map<string, typeof pending>();
    for (const p of pending) pendingBy.set(p.instance_id, [...(pendingBy.get(p.instance_id) ?? []), p]);

    const superseded: string[] = [];
    const rows = [];
    for (const receiver of eligible) {
      const theirs = pendingBy.get(receiver.instance_id) ?? [];
      if (theirs.some((p) => newer(p.version, request.version))) continue;
      for (const p of theirs) if (p.lease_until === null || p.lease_until <= at) superseded.push(p.id);
      rows.push({
        id: newDeliveryId(), project: request.project, instance_id: receiver.instance_id, envelope_id: request.envelopeId,
        set_name: request.set, version: request.version, url: receiver.url, state: 'pending' as const, attempts: 0,
        next_attempt_at: at, lease_owner: null, lease_until: null, last_status: null, last_code: null, last_reason: null,
        created_at: at, updated_at: at, expires_at: expires,
      });
    }
    for (const ids of chunks(superseded, UPDATE_CHUNK)) {
      await trx.updateTable('deliveries').set({ state: 'superseded', updated_at: at, last_reason: `superseded by ${request.set}@${request.version}` })
        .where('id', 'in', ids).where('state', '=', 'pending').execute();
    }
    for (const chunk of chunks(rows, INSERT_CHUNK)) await trx.insertInto('deliveries').values(chunk).execute();
    return rows.length;
  });
}

/**
 * Takes up to `limit` due deliveries for `owner`, leased for `leaseMs`, and counts the attempt.
 * One statement, so that two workers (or replicas) never take the same row: SQLite runs it
 * alone; on PostgreSQL the conditions repeated outside the subquery are re-checked on the locked
 * row, so a row another transaction just leased is skipped rather than taken twice.
 */
export async function claimDue(ctx: QueueContext, owner: string, limit: number, leaseMs: number, now: number = Date.now()): Promise<Delivery[]> {
  if (limit <= 0) return [];
  const at = storeTime(now);
  const leaseFree = sql<boolean>`(lease_until IS NULL OR lease_until <= ${at})`;
  return ctx.db.updateTable('deliveries')
    .set({ lease_owner: owner, lease_until: storeTime(now + leaseMs), attempts: sql<number>`attempts + 1`, updated_at: at })
    .where('id', 'in', (eb) => eb.selectFrom('deliveries').select('id')
      .where('state', '=', 'pending').where('next_attempt_at', '<=', at).where(leaseFree)
      .orderBy('next_attempt_at').limit(limit))
    .where('state', '=', 'pending')
    .where(leaseFree)
    .returningAll()
    .execute();
}

export interface DeliveryResult {
  /** The row as claimed (attempts already counted). */
  delivery: Delivery;
  outcome: PushOutcome;
  /** When the answer came (epoch ms). */
  at: number;
}

/**
 * Writes what came of pushes claimed by `owner`: the delivery's state, attempt time and last
 * answer; the receiver's `last_delivery_*` columns; on delivery, the versions it now serves;
 * on 410, the receiver's deregistration and the end of its other pending deliveries. One
 * transaction for the batch. A result whose lease was lost (expired and taken by another worker,
 * or superseded) changes nothing: the other worker's answer is the one kept. Returns the
 * results that were recorded.
 */
export async function recordOutcomes(ctx: QueueContext, owner: string, results: readonly DeliveryResult[]): Promise<DeliveryResult[]> {
  if (results.length === 0) return [];
  return ctx.db.transaction().execute(async (trx) => {
    const recorded: DeliveryResult[] = [];
    for (const result of results) {
      const { delivery: d, outcome } = result;
      const at = storeTime(result.at);
      const state = outcome.kind === 'retry' ? 'pending' : outcome.state;
      const update: DeliveryUpdate = {
        state, lease_owner: null, lease_until: null, updated_at: at,
        last_status: outcome.status, last_code: outcome.code, last_reason: outcome.reason,
        ...(outcome.kind === 'retry' ? { next_attempt_at: storeTime(outcome.nextAttemptAt) } : {}),
      };
      const changed = await trx.updateTable('deliveries').set(update)
        .where('id', '=', d.id).where('state', '=', 'pending').where('lease_owner', '=', owner)
        .executeTakeFirst();
      if (Number(changed.numUpdatedRows) === 0) continue;
      recorded.push(result);

      let versions: string | undefined;
      if (outcome.kind === 'final' && outcome.state === 'delivered') {
        const receiver = await trx.selectFrom('receivers').select('versions')
          .where('project', '=', d.project).where('instance_id', '=', d.instance_id).executeTakeFirst();
        // The receiver's own account when it gives one; else what was just delivered to it.
        versions = JSON.stringify(outcome.versions ?? { ...parseRanges(receiver?.versions ?? '{}'), [d.set_name]: d.version });
      }
      await trx.updateTable('receivers')
        .set({
          last_delivery_at: at, last_delivery_state: state, last_delivery_status: outcome.status,
          last_delivery_code: outcome.code, last_delivery_reason: outcome.reason,
          ...(versions !== undefined ? { versions } : {}),
          ...(outcome.kind === 'final' && outcome.deregister ? { gone_at: at } : {}),
        })
        .where('project', '=', d.project).where('instance_id', '=', d.instance_id)
        .execute();
      if (outcome.kind === 'final' && outcome.deregister) {
        await trx.updateTable('deliveries').set({ state: 'superseded', updated_at: at, last_reason: 'the receiver is gone (410)' })
          .where('project', '=', d.project).where('instance_id', '=', d.instance_id).where('state', '=', 'pending')
          .execute();
      }
    }
    return recorded;
  });
}

/** One result; see recordOutcomes. Returns whether it was recorded. */
export async function recordOutcome(ctx: QueueContext, owner: string, result: DeliveryResult): Promise<boolean> {
  return (await recordOutcomes(ctx, owner, [result])).length === 1;
}

/** Deliveries still to be pushed (due now or later), for the queue-depth gauge. */
export async function queueDepth(ctx: QueueContext): Promise<number> {
  const row = await ctx.db.selectFrom('deliveries').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', 'pending').executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The earliest time a pending delivery becomes due, if any (epoch ms). */
export async function nextDueAt(ctx: QueueContext): Promise<number | undefined> {
  const row = await ctx.db.selectFrom('deliveries').select((eb) => eb.fn.min('next_attempt_at').as('at')).where('state', '=', 'pending').executeTakeFirst();
  return row?.at ? Date.parse(row.at) : undefined;
}

function newDeliveryId(): string {
  // A valid Standard Webhooks id: printable ASCII, no spaces.
  return `dlv_${randomUUID().replace(/-/g, '')}`;
}

function newer(a: string, b: string): boolean {
  return semver.valid(a) !== null && semver.valid(b) !== null && semver.gt(a, b);
}

/** A receiver's `ranges`/`versions` column; a damaged one reads as empty rather than failing a publish. */
function parseRanges(text: string): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
