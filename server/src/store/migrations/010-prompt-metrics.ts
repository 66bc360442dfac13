/**
 * Usage analytics (issue 17): what LIVE receivers report about the calls they served.
 *
 * `prompt_metrics` holds one row per (project, channel, set, version, prompt, variant, minute),
 * added to as batches arrive (metrics/usage-store.ts): the count, successes, latency sum and
 * maximum, and a fixed log-scale latency histogram in columns `h0`…`h39`
 * (content-schema/src/latency-histogram.ts), so that minutes, prompts and replicas sum in SQL and
 * percentiles come from the summed buckets. Millions of events a day are a few thousand rows.
 *
 * `prompt_metric_events` keeps the raw events for a bounded window only (24 h by default),
 * pruned as batches arrive. Times there are milliseconds since the epoch (64-bit on PostgreSQL).
 *
 * `rollout_guards` is the optional `guard` of each accepted rollout (anvil.yaml), and
 * `rollout_pauses` a canary the guard paused: the envelope leaves that rollout out until a
 * commit changes it (`cleared_at`).
 */
import type { Kysely } from 'kysely';
import { dialectDdl } from '../dialect.ts';

/** Must match LATENCY_BUCKETS in content-schema/src/latency-histogram.ts (a test checks it). */
export const HISTOGRAM_COLUMNS = 40;

export async function up(db: Kysely<unknown>): Promise<void> {
  const ddl = dialectDdl(db);
  let metrics = db.schema.createTable('prompt_metrics')
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('set_name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('prompt', 'text', (c) => c.notNull())
    // '' for the base prompt: a key column cannot be null.
    .addColumn('variant', 'text', (c) => c.notNull())
    .addColumn('minute', 'integer', (c) => c.notNull())
    .addColumn('events', ddl.keyType, (c) => c.notNull())
    .addColumn('successes', ddl.keyType, (c) => c.notNull())
    .addColumn('latency_sum_ms', ddl.doubleType, (c) => c.notNull())
    .addColumn('latency_max_ms', ddl.doubleType, (c) => c.notNull());
  for (let i = 0; i < HISTOGRAM_COLUMNS; i++) metrics = metrics.addColumn(`h${i}`, ddl.keyType, (c) => c.notNull().defaultTo(0));
  await metrics.addPrimaryKeyConstraint('prompt_metrics_pk', ['project', 'channel', 'set_name', 'version', 'prompt', 'variant', 'minute']).execute();
  await db.schema.createIndex('prompt_metrics_by_set').on('prompt_metrics').columns(['project', 'set_name', 'minute']).execute();

  await db.schema.createTable('prompt_metric_events')
    .addColumn('id', ddl.keyType, (c) => ddl.autoIncrementKey(c))
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('set_name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('integrity', 'text', (c) => c.notNull())
    .addColumn('prompt', 'text', (c) => c.notNull())
    .addColumn('variant', 'text')
    .addColumn('rollout', 'integer', (c) => c.notNull())
    .addColumn('success', 'integer', (c) => c.notNull())
    .addColumn('latency_ms', ddl.doubleType, (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('instance_id', 'text')
    .addColumn('at', ddl.keyType, (c) => c.notNull())
    .addColumn('received_at', ddl.keyType, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('prompt_metric_events_by_received').on('prompt_metric_events').column('received_at').execute();

  await db.schema.createTable('rollout_guards')
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('set_name', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('margin', ddl.doubleType, (c) => c.notNull())
    .addColumn('min_samples', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('rollout_guards_pk', ['project', 'set_name', 'channel'])
    .execute();

  await db.schema.createTable('rollout_pauses')
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('set_name', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('percent', ddl.doubleType, (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    // JSON: the figures the guard judged.
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('paused_at', 'text', (c) => c.notNull())
    .addColumn('cleared_at', 'text')
    .addPrimaryKeyConstraint('rollout_pauses_pk', ['project', 'set_name', 'channel'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['rollout_pauses', 'rollout_guards', 'prompt_metric_events', 'prompt_metrics']) await db.schema.dropTable(table).execute();
}
