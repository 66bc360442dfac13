/**
 * Streaming receivers (issue 16): a receiver that holds an outbound stream to the forge instead
 * of taking pushes on a port. `transport` is `push` (every row from before) or `stream`; a
 * streaming receiver's `url` is empty, and the push queue passes it over. What went out on its
 * stream and what it answered are kept beside the push columns: the envelope last sent and when,
 * and the envelope it last acknowledged and when (the answer itself goes into `last_delivery_*`,
 * as a push's does). Plain text columns with a constant default: the same on SQLite and PostgreSQL.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('receivers').addColumn('transport', 'text', (c) => c.notNull().defaultTo('push')).execute();
  await db.schema.alterTable('receivers').addColumn('stream_sent_envelope', 'text').execute();
  await db.schema.alterTable('receivers').addColumn('stream_sent_at', 'text').execute();
  await db.schema.alterTable('receivers').addColumn('stream_acked_envelope', 'text').execute();
  await db.schema.alterTable('receivers').addColumn('stream_acked_at', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of ['stream_acked_at', 'stream_acked_envelope', 'stream_sent_at', 'stream_sent_envelope', 'transport']) {
    await db.schema.alterTable('receivers').dropColumn(column).execute();
  }
}
