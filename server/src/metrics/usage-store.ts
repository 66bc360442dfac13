/**
 * Usage analytics in the store (issue 17; tables of migration 010, usage-tables.ts): a batch is
 * added to the per-minute aggregates in one upsert per chunk of keys — on SQLite and PostgreSQL
 * alike, `INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n`, atomic per row, so replicas
 * that take batches at once add up — and its raw events are kept for a bounded window. Calls a
 * client folded (the batch's `aggregates`) go into the per-minute rows only: the raw window
 * holds the events that were sent raw.
 */
import { sql, type RawBuilder } from 'kysely';
import { LATENCY_BUCKETS, type MetricsBatch } from '@anvil/content-schema';
import type { Store } from '../store/open-store.ts';
import './usage-tables.ts';
import { aggregateBatch, eventTime, minuteOf, type AggregateRow } from './aggregate-events.ts';
import { emptyTotals, type UsageTotals } from './usage-summary.ts';

/** Raw events are kept this long by default (the aggregates are kept for good). */
export const DEFAULT_RAW_RETENTION_MS = 24 * 60 * 60_000;

const KEY_COLUMNS = ['project', 'channel', 'set_name', 'version', 'prompt', 'variant', 'minute'] as const;
const HISTOGRAM = Array.from({ length: LATENCY_BUCKETS }, (_, i) => `h${i}`);
const SUMMED = ['events', 'successes', 'latency_sum_ms', ...HISTOGRAM];
/** Rows per statement: 51 values each stays well under SQLite's 32,766 parameters. */
const AGGREGATE_CHUNK = 200;
const RAW_CHUNK = 1_000;

type Executor = Pick<Store, 'insertInto' | 'selectFrom' | 'deleteFrom'>;

export interface RecordOptions {
  /** Keep the raw events (default true; the window is pruned separately). */
  keepRaw?: boolean;
  now?: number;
}

/** Adds a validated batch to the store: its events and folded aggregates to the per-minute rows, and its raw events unless told not to. */
export async function recordUsageBatch(db: Store, project: string, batch: MetricsBatch, options: RecordOptions = {}): Promise<AggregateRow[]> {
  const now = options.now ?? Date.now();
  const rows = aggregateBatch(project, batch, now);
  if (rows.length === 0) return rows;
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += AGGREGATE_CHUNK) await upsertAggregates(trx, rows.slice(i, i + AGGREGATE_CHUNK));
    if (options.keepRaw === false) return;
    for (let i = 0; i < batch.events.length; i += RAW_CHUNK) {
      await trx.insertInto('prompt_metric_events').values(batch.events.slice(i, i + RAW_CHUNK).map((e) => ({
        project, channel: batch.channel, set_name: e.set, version: e.version, integrity: e.integrity, prompt: e.prompt,
        variant: e.variant, rollout: e.rollout ? 1 : 0, success: e.success ? 1 : 0, latency_ms: e.latencyMs,
        error: e.error ?? null, instance_id: batch.instanceId ?? null, at: eventTime(e.at, now), received_at: now,
      }))).execute();
    }
  });
  return rows;
}

async function upsertAggregates(db: Executor, rows: readonly AggregateRow[]): Promise<void> {
  const values = rows.map((r) => {
    const record: Record<string, string | number> = {
      project: r.project, channel: r.channel, set_name: r.set, version: r.version, prompt: r.prompt, variant: r.variant, minute: r.minute,
      events: r.events, successes: r.successes, latency_sum_ms: r.latencySumMs, latency_max_ms: r.latencyMaxMs,
    };
    HISTOGRAM.forEach((column, i) => (record[column] = r.histogram[i] ?? 0));
    return record;
  });
  const updates: Record<string, RawBuilder<unknown>> = Object.fromEntries(SUMMED.map((c) => [c, sql.raw(`prompt_metrics.${c} + excluded.${c}`)]));
  updates['latency_max_ms'] = sql.raw('CASE WHEN excluded.latency_max_ms > prompt_metrics.latency_max_ms THEN excluded.latency_max_ms ELSE prompt_metrics.latency_max_ms END');
  // The histogram columns are named by number, which Kysely's table type cannot list one by one.
  await db.insertInto('prompt_metrics').values(values as never)
    .onConflict((oc) => oc.columns([...KEY_COLUMNS]).doUpdateSet(updates as never))
    .execute();
}

/** Deletes raw events received before `now - retentionMs`; returns how many. */
export async function pruneRawEvents(db: Store, retentionMs: number = DEFAULT_RAW_RETENTION_MS, now: number = Date.now()): Promise<number> {
  const result = await db.deleteFrom('prompt_metric_events').where('received_at', '<', now - retentionMs).executeTakeFirst();
  return Number(result.numDeletedRows);
}

export interface UsageQuery {
  project: string;
  set: string;
  channel?: string | undefined;
  /** Minutes from this instant on (ms since the epoch). */
  since?: number | undefined;
  /** Only these versions. */
  versions?: readonly string[] | undefined;
}

export interface VersionTotals {
  version: string;
  channel: string;
  totals: UsageTotals;
}

/** The aggregates of a set, summed per version and channel. */
export async function queryUsage(db: Store, query: UsageQuery): Promise<VersionTotals[]> {
  const sums = [...SUMMED.map((c) => sql<number>`sum(${sql.ref(c)})`.as(c)), sql<number>`max(latency_max_ms)`.as('latency_max_ms')];
  let q = db.selectFrom('prompt_metrics')
    .select(['version', 'channel'])
    .select(sums as never[])
    .where('project', '=', query.project).where('set_name', '=', query.set);
  if (query.channel !== undefined) q = q.where('channel', '=', query.channel);
  if (query.since !== undefined) q = q.where('minute', '>=', minuteOf(query.since));
  if (query.versions !== undefined) q = q.where('version', 'in', query.versions.length > 0 ? [...query.versions] : ['']);
  const rows = await q.groupBy(['version', 'channel']).orderBy('version').orderBy('channel').execute() as unknown as Record<string, string | number | null>[];
  return rows.map((row) => {
    const totals = emptyTotals();
    // PostgreSQL sums integers as numeric, which its driver hands over as text.
    const n = (c: string) => Number(row[c] ?? 0);
    totals.events = n('events');
    totals.successes = n('successes');
    totals.latencySumMs = n('latency_sum_ms');
    totals.latencyMaxMs = n('latency_max_ms');
    totals.histogram = HISTOGRAM.map(n);
    return { version: String(row['version']), channel: String(row['channel']), totals };
  });
}

/** How many raw events the store holds (for tests and `anvil analytics`). */
export async function countRawEvents(db: Store, project?: string): Promise<number> {
  let q = db.selectFrom('prompt_metric_events').select((eb) => eb.fn.countAll<number>().as('n'));
  if (project !== undefined) q = q.where('project', '=', project);
  return Number((await q.executeTakeFirst())?.n ?? 0);
}
