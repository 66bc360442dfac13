/**
 * What the forge has to tell GitHub (check runs, commit statuses, the review comment), kept in
 * the store until GitHub took it: a post that fails (rate limit past its retries, GitHub down)
 * is tried again later, also by a restarted forge, and never holds up a publish decision. One
 * row per thing GitHub shows (`key`: the check of a commit, the comment of a pull request); a
 * newer post for the same key replaces one not yet sent, and keeps `result` (the check run's or
 * comment's id) so that it edits what GitHub already has instead of adding another.
 *
 * Also: where the forge's review history of a branch starts (`branch_heads.baseline_commit`).
 */
import type { Kysely } from 'kysely';
import { dialectDdl } from '../dialect.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  const ddl = dialectDdl(db);
  await db.schema.createTable('github_posts')
    .addColumn('id', ddl.keyType, ddl.autoIncrementKey)
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('result', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('github_posts_key', ['project', 'key'])
    .execute();
  await db.schema.createIndex('github_posts_due').on('github_posts').columns(['state', 'next_attempt_at']).execute();
  // The branch's commit when the forge first saw it: what came before is the project's state
  // as the forge adopted it, not a change it can hold to review (review-state.ts).
  await db.schema.alterTable('branch_heads').addColumn('baseline_commit', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('branch_heads').dropColumn('baseline_commit').execute();
  await db.schema.dropTable('github_posts').execute();
}
