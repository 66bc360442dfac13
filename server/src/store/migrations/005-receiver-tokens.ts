/**
 * Which access token each receiver registered (and last heartbeated) with, and whether that
 * token has since been revoked (issue 18): revoking a token ends its receivers' pushes at once.
 *
 * Rows from before this migration have no link. It cannot be filled in here: the token is
 * sealed in `push_token` under the forge's key, which a migration does not hold. The next
 * heartbeat links a receiver (every 30 s by default), and until then the push worker links it
 * from the opened token before it pushes (deliver/push-worker.ts).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('receivers').addColumn('token_id', 'text').execute();
  await db.schema.alterTable('receivers').addColumn('revoked_at', 'text').execute();
  // Revoking a token finds its receivers by this.
  await db.schema.createIndex('receivers_by_token').on('receivers').columns(['token_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('receivers_by_token').execute();
  await db.schema.alterTable('receivers').dropColumn('revoked_at').execute();
  await db.schema.alterTable('receivers').dropColumn('token_id').execute();
}
