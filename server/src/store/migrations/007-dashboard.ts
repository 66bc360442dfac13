/**
 * The dashboard's sign-in state (issue 15, dashboard/dashboard-session.ts): sessions, stored by
 * the hash of their id with an expiry, and role grants for project access tokens.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('dashboard_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('project', 'text')
    .addColumn('token_id', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  // Expired sessions are swept by expiry.
  await db.schema.createIndex('dashboard_sessions_expires').on('dashboard_sessions').column('expires_at').execute();
  await db.schema.createTable('dashboard_grants')
    .addColumn('token_id', 'text', (c) => c.notNull())
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('granted_at', 'text', (c) => c.notNull())
    .addColumn('granted_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('dashboard_grants_pk', ['token_id', 'project'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('dashboard_grants').execute();
  await db.schema.dropTable('dashboard_sessions').execute();
}
