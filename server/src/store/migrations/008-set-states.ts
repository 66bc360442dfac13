/**
 * Each set as the forge last processed the default branch (issue 15, forge/sync-project.ts): its
 * mode and folder, and where review stands, so that the dashboard reads one row per set instead
 * of parsing the set's newest bundle. `unreviewed` is a JSON array of commit ids, oldest first.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('set_states')
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('set_name', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('dir', 'text', (c) => c.notNull())
    .addColumn('branch', 'text', (c) => c.notNull())
    .addColumn('commit', 'text', (c) => c.notNull())
    // `not-needed`, `reviewed`, `pending` or `no-reviews` (database.ts SetReviewState).
    .addColumn('review', 'text', (c) => c.notNull())
    .addColumn('unreviewed', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('set_states_pk', ['project', 'set_name'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('set_states').execute();
}
