/**
 * Forge peering (issue 17). `access_tokens.scope`: `full` (every token from before, and the
 * default: all a project token may do) or `read` (a peer forge's token: list, pull, render;
 * never register, acknowledge, stream, publish or report usage). `peer_connections`: the remote
 * projects this forge shows read-only, by the peer's configured name — only the fact that they
 * are connected, never their content, which is fetched from the peer on every view.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('access_tokens').addColumn('scope', 'text', (c) => c.notNull().defaultTo('full')).execute();
  await db.schema.createTable('peer_connections')
    .addColumn('forge', 'text', (c) => c.notNull())
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('connected_at', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('peer_connections_pk', ['forge', 'project'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('peer_connections').execute();
  await db.schema.alterTable('access_tokens').dropColumn('scope').execute();
}
