/**
 * The durable push queue (DESIGN.md §10): one `deliveries` row per receiver and envelope, with
 * attempts, the next attempt time and a lease. Everything a push worker decides is written here,
 * so a restarted forge, or another replica on the same store, carries on where one stopped.
 *
 * A delivery's id is the push's `webhook-id`, the same on every retry (DESIGN §8): a receiver that
 * applied a push whose answer was lost (a forge killed mid fan-out) answers the retry 200 no-op.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Updateable } from 'kysely';
import semver from 'semver';
import type { ForgeContext } from '../forge/forge-context.ts';
import { canonicalJson } from '@anvil/content-schema';
import type { Delivery, DeliveryState, DeliveryUpdate, ReceiverTable } from '../store/database.ts';
import { endReceiversOfToken, revokedReason, TOKEN_REVOKED } from '../receivers/end-revoked-receivers.ts';
import { jsonMap } from '../receivers/list-receivers.ts';
import { appendAuditEntries } from '../store/audit-log.ts';
import { storeDialect } from '../store/dialect.ts';
import { storeTime } from '../store/open-store.ts';
import type { PushOutcome } from './push-outcome.ts';

type QueueContext = Pick<ForgeContext, 'db'>;
type ReceiverUpdate = Updateable<ReceiverTable>;

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
 * Queues one delivery of the envelope to each pushed receiver of the project that takes it now: same
 * channel, accepting, not gone, its token not revoked, range allowing the version. Older pending deliveries of the same
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
      .leftJoin('access_tokens', 'access_tokens.id', 'receivers.token_id')
      .select(['receivers.instance_id', 'receivers.url', 'receivers.ranges'])
      .where('receivers.project', '=', request.project)
      .where('receivers.channel', '=', request.channel)
      .where('receivers.mode', '=', 'accepting')
      .where('receivers.gone_at', 'is', null)
      .where('receivers.revoked_at', 'is', null)
      // A streaming receiver has no URL: its stream carries the envelope (deliver/stream-hub.ts).
      .where('receivers.transport', '=', 'push')
      // Not one whose token is revoked but that was not marked (it registered as the token was
      // being revoked): the worker would refuse it anyway (issue 18).
      .where('access_tokens.revoked_at', 'is', null)
      .execute();
    const eligible = receivers.filter((r) => rangeAllows(jsonMap(r.ranges), request.set, request.version));
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
 * One statement, so that two workers (or replicas) never take the same row. SQLite runs it alone.
 * On PostgreSQL the subquery locks the rows it picks and skips rows another claim has locked
 * (`FOR UPDATE SKIP LOCKED`): concurrent claims take different rows instead of waiting on each
 * other; and the lease conditions repeated outside the subquery are checked again on the row as
 * it is when updated, so a row leased meanwhile is left alone (a compare-and-set on the lease).
 */
export async function claimDue(ctx: QueueContext, owner: string, limit: number, leaseMs: number, now: number = Date.now()): Promise<Delivery[]> {
  if (limit <= 0) return [];
  const at = storeTime(now);
  const leaseFree = sql<boolean>`(lease_until IS NULL OR lease_until <= ${at})`;
  const due = ctx.db.selectFrom('deliveries').select('id')
    .where('state', '=', 'pending').where('next_attempt_at', '<=', at).where(leaseFree)
    .orderBy('next_attempt_at').limit(limit);
  return ctx.db.updateTable('deliveries')
    .set({ lease_owner: owner, lease_until: storeTime(now + leaseMs), attempts: sql<number>`attempts + 1`, updated_at: at })
    // On PostgreSQL as an array, computed once: `id IN (subquery)` may be planned as a join
    // that runs the subquery again per row, each run picking (and locking) up to `limit` more.
    .where((eb) => storeDialect(ctx.db) === 'postgres' ? sql<boolean>`id = any(array(${due.forUpdate().skipLocked()}))` : eb('id', 'in', due))
    // Written so that no index can serve it: with a plain `state = 'pending'` here, SQLite
    // walks every pending row through deliveries_due instead of looking the ids up (2 ms per
    // claim with 1,000 pending, the largest cost of a fan-out).
    .where(sql<boolean>`coalesce(state, '') = 'pending'`)
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
 * Writes what came of pushes claimed by `owner`, in one transaction: each delivery's state and
 * last answer; each receiver's `last_delivery_*` columns and, on delivery, the versions it now
 * serves; on 410, the receiver's deregistration and the end of its other pending deliveries; an
 * audit row per final outcome. A result whose lease was lost (it ran out and another worker took
 * the row, or the row was superseded) changes nothing: that worker's answer is the one kept.
 * Returns the results that were recorded.
 *
 * Rows that get the same values are written by one statement (a fan-out's answers are mostly
 * alike), which is what keeps recording 1,000 answers cheap; times are the batch's last answer.
 */
export async function recordOutcomes(ctx: QueueContext, owner: string, results: readonly DeliveryResult[]): Promise<DeliveryResult[]> {
  if (results.length === 0) return [];
  const now = Math.max(...results.map((r) => r.at));
  const at = storeTime(now);
  return ctx.db.transaction().execute(async (trx) => {
    // Deliveries first: the first statement is a write, so SQLite takes the write lock at once
    // and nothing read below (versions, the audit chain's last hash) can change under us.
    const recordedIds = new Set<string>();
    for (const group of groupBy(results, (r) => deliveryUpdate(r.outcome, at))) {
      for (const ids of chunks(group.items.map((r) => r.delivery.id), UPDATE_CHUNK)) {
        const rows = await trx.updateTable('deliveries').set(group.value)
          .where('id', 'in', ids).where('state', '=', 'pending').where('lease_owner', '=', owner)
          .returning('id').execute();
        for (const row of rows) recordedIds.add(row.id);
      }
    }
    const recorded = results.filter((r) => recordedIds.has(r.delivery.id));
    if (recorded.length === 0) return [];

    // Per receiver, in answer order: the last answer names the last delivery; versions add up.
    const byReceiver = new Map<string, { project: string; instanceId: string; results: DeliveryResult[] }>();
    for (const r of recorded) {
      const k = `${r.delivery.project}\0${r.delivery.instance_id}`;
      const entry = byReceiver.get(k) ?? { project: r.delivery.project, instanceId: r.delivery.instance_id, results: [] };
      entry.results.push(r);
      byReceiver.set(k, entry);
    }
    const needVersions = [...byReceiver.values()].filter((e) => e.results.some((r) => isDelivered(r.outcome) && !r.outcome.versions));
    const known = new Map<string, Record<string, string>>();
    for (const [project, entries] of groupBy(needVersions, (e) => e.project).map((g) => [g.value, g.items] as const)) {
      for (const ids of chunks(entries.map((e) => e.instanceId), UPDATE_CHUNK)) {
        const rows = await trx.selectFrom('receivers').select(['instance_id', 'versions']).where('project', '=', project).where('instance_id', 'in', ids).execute();
        for (const row of rows) known.set(`${project}\0${row.instance_id}`, jsonMap(row.versions));
      }
    }
    const receiverUpdates: { project: string; instanceId: string; update: Record<string, unknown> }[] = [];
    const gone: { project: string; instanceId: string }[] = [];
    for (const [k, entry] of byReceiver) {
      let versions: Record<string, string> | undefined;
      for (const r of entry.results) {
        if (!isDelivered(r.outcome)) continue;
        // The receiver's own account when it gives one; else what was just delivered to it.
        versions = r.outcome.versions ?? { ...(versions ?? known.get(k) ?? {}), [r.delivery.set_name]: r.delivery.version };
      }
      const last = entry.results.at(-1)!.outcome;
      const deregister = entry.results.some((r) => r.outcome.kind === 'final' && r.outcome.deregister);
      if (deregister) gone.push(entry);
      receiverUpdates.push({
        project: entry.project, instanceId: entry.instanceId,
        update: {
          last_delivery_at: at, last_delivery_state: stateOf(last), last_delivery_status: last.status,
          last_delivery_code: last.code, last_delivery_reason: last.reason,
          ...(versions !== undefined ? { versions: JSON.stringify(versions) } : {}),
          ...(deregister ? { gone_at: at } : {}),
        },
      });
    }
    for (const group of groupBy(receiverUpdates, (u) => ({ project: u.project, ...u.update }))) {
      const { project, ...update } = group.value;
      for (const ids of chunks(group.items.map((u) => u.instanceId), UPDATE_CHUNK)) {
        await trx.updateTable('receivers').set(update as ReceiverUpdate).where('project', '=', project as string).where('instance_id', 'in', ids).execute();
      }
    }
    for (const receiver of gone) {
      await trx.updateTable('deliveries').set({ state: 'superseded', updated_at: at, last_reason: 'the receiver is gone (410)' })
        .where('project', '=', receiver.project).where('instance_id', '=', receiver.instanceId).where('state', '=', 'pending')
        .execute();
    }

    await appendAuditEntries(trx, recorded.flatMap(({ delivery: d, outcome }) => outcome.kind === 'retry' ? [] : [{
      project: d.project, kind: `delivery.${outcome.state}`, subject: d.instance_id,
      detail: {
        delivery: d.id, set: d.set_name, version: d.version, envelope: d.envelope_id, attempts: d.attempts,
        status: outcome.status, code: outcome.code, reason: outcome.reason, ...(outcome.alert ? { alert: true } : {}),
      },
    }]), now);
    return recorded;
  });
}

function deliveryUpdate(outcome: PushOutcome, at: string): DeliveryUpdate {
  return {
    state: stateOf(outcome), lease_owner: null, lease_until: null, updated_at: at,
    last_status: outcome.status, last_code: outcome.code, last_reason: outcome.reason,
    ...(outcome.kind === 'retry' ? { next_attempt_at: storeTime(outcome.nextAttemptAt) } : {}),
  };
}

function stateOf(outcome: PushOutcome): DeliveryState {
  return outcome.kind === 'retry' ? 'pending' : outcome.state;
}

function isDelivered(outcome: PushOutcome): outcome is Extract<PushOutcome, { kind: 'final' }> {
  return outcome.kind === 'final' && outcome.state === 'delivered';
}

/** Items grouped by a value (compared as canonical JSON), in first-seen order. */
function groupBy<T, V>(items: readonly T[], valueOf: (item: T) => V): { value: V; items: T[] }[] {
  const groups = new Map<string, { value: V; items: T[] }>();
  for (const item of items) {
    const value = valueOf(item);
    const k = canonicalJson(value);
    const group = groups.get(k);
    if (group) group.items.push(item);
    else groups.set(k, { value, items: [item] });
  }
  return [...groups.values()];
}

/** A push the worker did not send because the receiver's token is revoked (push-worker.ts). */
export interface RevokedPush {
  delivery: Delivery;
  /** The token the receiver registered with, when the forge knows which. */
  tokenId: string | null;
  prefix: string | null;
}

/**
 * Cancels deliveries the worker `owner` refused to push because the receiver's token is revoked
 * (issue 18), and ends the pushes of every receiver of those tokens that the revocation itself
 * did not reach (one that registered as it happened, or from before tokens were linked): the
 * same end as `anvil token revoke` gives, audited as `receiver.revoked` per receiver.
 * Returns how many of the given deliveries were cancelled here.
 */
export async function cancelRevokedPushes(ctx: QueueContext, owner: string, pushes: readonly RevokedPush[], now: number = Date.now()): Promise<number> {
  if (pushes.length === 0) return 0;
  const at = storeTime(now);
  return ctx.db.transaction().execute(async (trx) => {
    let cancelled = 0;
    for (const group of groupBy(pushes, (p) => p.prefix)) {
      for (const ids of chunks(group.items.map((p) => p.delivery.id), UPDATE_CHUNK)) {
        const changed = await trx.updateTable('deliveries')
          .set({ state: 'superseded', lease_owner: null, lease_until: null, updated_at: at, last_code: TOKEN_REVOKED, last_reason: revokedReason(group.value) })
          .where('id', 'in', ids).where('state', '=', 'pending').where('lease_owner', '=', owner)
          .executeTakeFirst();
        cancelled += Number(changed.numUpdatedRows);
      }
    }
    const entries = [];
    const tokens = groupBy(pushes.filter((p) => p.tokenId !== null), (p) => ({ project: p.delivery.project, tokenId: p.tokenId!, prefix: p.prefix }));
    for (const { value } of tokens) {
      const ended = await endReceiversOfToken(trx, { project: value.project, tokenId: value.tokenId, prefix: value.prefix, at });
      for (const instanceId of ended.receivers) {
        entries.push({ project: value.project, kind: 'receiver.revoked', subject: instanceId, detail: { token: value.tokenId, foundBy: 'push-worker', cancelledDeliveries: ended.deliveries } });
      }
    }
    await appendAuditEntries(trx, entries, now);
    return cancelled;
  });
}

export interface TokenState {
  project: string;
  prefix: string;
  revoked: boolean;
}

/** The state of each token (by id) now; a token the store does not hold is absent. */
export async function tokensInForce(ctx: QueueContext, ids: readonly string[]): Promise<Map<string, TokenState>> {
  const found = new Map<string, TokenState>();
  for (const chunk of chunks([...ids], UPDATE_CHUNK)) {
    const rows = await ctx.db.selectFrom('access_tokens').select(['id', 'project', 'prefix', 'revoked_at']).where('id', 'in', chunk).execute();
    for (const r of rows) found.set(r.id, { project: r.project, prefix: r.prefix, revoked: r.revoked_at !== null });
  }
  return found;
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

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
