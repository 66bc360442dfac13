/**
 * Set content the forge trusts (issue 18, review/trust-rules.ts): per project and set, the tree
 * ids of the set's folder that the branch as first seen, an accepted release, or a reviewed merge
 * on trusted content produced. A release is published only when its set's tree is one of them.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('trusted_trees')
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('set_name', 'text', (c) => c.notNull())
    .addColumn('tree', 'text', (c) => c.notNull())
    // `baseline`, `release` or `reviewed-merge`, and the commit that made it so: for people reading the store.
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('commit', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('trusted_trees_pk', ['project', 'set_name', 'tree'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('trusted_trees').execute();
}
