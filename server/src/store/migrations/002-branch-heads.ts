/**
 * What the forge last read from each project's default branch: the commit (so a sync sees what
 * changed) and anvil.yaml's rollouts at that commit (DESIGN §6: a rollout is a reviewed commit).
 */
import type { Kysely } from 'kysely';
import { dialectDdl } from '../dialect.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('branch_heads')
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('branch', 'text', (c) => c.notNull())
    .addColumn('commit', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('branch_heads_pk', ['project', 'branch'])
    .execute();
  await db.schema.createTable('rollouts')
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('set_name', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('percent', dialectDdl(db).doubleType, (c) => c.notNull())
    .addPrimaryKeyConstraint('rollouts_pk', ['project', 'set_name', 'channel'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('rollouts').execute();
  await db.schema.dropTable('branch_heads').execute();
}
