/**
 * Aliases (issue 17): anvil.yaml's `aliases` as the forge accepted them from the default branch
 * (forge/sync-aliases.ts), one row per set and alias, with the commit they were taken from, so
 * that `…/sets/:set/versions/stable` and installs resolve an alias without reading git.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('aliases')
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('set_name', 'text', (c) => c.notNull())
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('commit', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('aliases_pk', ['project', 'set_name', 'alias'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('aliases').execute();
}
