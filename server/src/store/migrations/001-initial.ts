/**
 * The first schema (DESIGN.md §10). Column types are ones both SQLite and PostgreSQL accept;
 * the numbered keys and the append-only triggers are written per dialect (../dialect.ts).
 */
import type { Kysely } from 'kysely';
import { dialectDdl } from '../dialect.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  const ddl = dialectDdl(db);
  await db.schema.createTable('projects')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('remote', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema.createTable('access_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull().unique())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_used_at', 'text')
    .addColumn('revoked_at', 'text')
    .execute();

  await db.schema.createTable('receivers')
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('ranges', 'text', (c) => c.notNull())
    .addColumn('versions', 'text', (c) => c.notNull())
    .addColumn('push_token', 'text', (c) => c.notNull())
    .addColumn('registered_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .addColumn('gone_at', 'text')
    .addColumn('last_delivery_at', 'text')
    .addColumn('last_delivery_state', 'text')
    .addColumn('last_delivery_status', 'integer')
    .addColumn('last_delivery_code', 'text')
    .addColumn('last_delivery_reason', 'text')
    .addPrimaryKeyConstraint('receivers_pk', ['project', 'instance_id'])
    .execute();

  await db.schema.createTable('bundles')
    .addColumn('integrity', 'text', (c) => c.primaryKey())
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('set_name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('tree', 'text')
    .addColumn('commit', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('bundles_by_version').on('bundles').columns(['project', 'set_name', 'version']).execute();

  await db.schema.createTable('channel_heads')
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('set_name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('integrity', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('channel_heads_pk', ['project', 'channel', 'set_name'])
    .execute();

  await db.schema.createTable('publications')
    .addColumn('id', ddl.keyType, ddl.autoIncrementKey)
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('set_name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('integrity', 'text', (c) => c.notNull())
    .addColumn('channels', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema.createTable('envelopes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema.createTable('deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('envelope_id', 'text', (c) => c.notNull())
    .addColumn('set_name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'text')
    .addColumn('last_status', 'integer')
    .addColumn('last_code', 'text')
    .addColumn('last_reason', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('deliveries_due').on('deliveries').columns(['state', 'next_attempt_at']).execute();
  await db.schema.createIndex('deliveries_by_receiver').on('deliveries').columns(['project', 'instance_id', 'state']).execute();
  // Enqueueing supersedes the pending deliveries of the same set (deliver/delivery-queue.ts).
  await db.schema.createIndex('deliveries_by_set').on('deliveries').columns(['project', 'set_name', 'state']).execute();

  await db.schema.createTable('webhook_deliveries')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('delivery_id', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('webhook_deliveries_pk', ['source', 'delivery_id'])
    .execute();

  await db.schema.createTable('seen_tags')
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('tag', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('seen_tags_pk', ['project', 'tag'])
    .execute();

  await db.schema.createTable('reviews')
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('pull_number', 'integer', (c) => c.notNull())
    .addColumn('head_sha', 'text', (c) => c.notNull())
    .addColumn('base_ref', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('merged_commit', 'text')
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('reviews_pk', ['project', 'pull_number'])
    .execute();

  await db.schema.createTable('audit_log')
    .addColumn('seq', ddl.keyType, ddl.autoIncrementKey)
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('project', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  // Append-only, enforced by the database too; the hash chain catches what goes around it.
  await ddl.appendOnly('audit_log');
}

export async function down(): Promise<void> {
  throw new Error('the initial migration is not reversible');
}
