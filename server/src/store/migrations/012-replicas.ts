/**
 * Several forge replicas on one store (issue 16). `forge_replicas`: each replica's signing keys
 * (the key ids it publishes) and a probe sealed with its secret box, refreshed while it runs, so
 * that a replica started with other keys or another sealing key than the running ones is
 * refused at start instead of sending envelopes half the receivers reject. `sync_leases`: which
 * replica syncs a project now, until when, so that two replicas never sync one project at once.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('forge_replicas')
    .addColumn('replica', 'text', (c) => c.primaryKey())
    .addColumn('active_key', 'text', (c) => c.notNull())
    // JSON array of the key ids it publishes (and so signs with or trusts).
    .addColumn('key_ids', 'text', (c) => c.notNull())
    .addColumn('secrets_probe', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('seen_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createTable('sync_leases')
    .addColumn('project', 'text', (c) => c.primaryKey())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sync_leases').execute();
  await db.schema.dropTable('forge_replicas').execute();
}
