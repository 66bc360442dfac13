/**
 * The forge's store (DESIGN.md §10): SQLite through better-sqlite3 at `<dataDir>/forge.db`, the
 * embedded default, or PostgreSQL (`database` / `DATABASE_URL`) when several forge replicas share
 * the work (issue 16). Both behind Kysely, with the same queries and migrations (dialect.ts holds
 * the few places where they differ). Opening migrates; a store that a newer forge has migrated is
 * refused rather than misread.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration, type MigrationProvider } from 'kysely';
import { AnvilError } from '@anvil/content-schema';
import type { Database } from './database.ts';
import { redactDatabaseUrl } from './store-location.ts';
import * as initial from './migrations/001-initial.ts';
import * as branchHeads from './migrations/002-branch-heads.ts';
import * as githubPosts from './migrations/003-github-posts.ts';
import * as releaseDecisions from './migrations/004-release-decisions.ts';
import * as receiverTokens from './migrations/005-receiver-tokens.ts';
import * as trustedTrees from './migrations/006-trusted-trees.ts';
import * as dashboard from './migrations/007-dashboard.ts';
import * as setStates from './migrations/008-set-states.ts';
import * as streamingReceivers from './migrations/009-streaming-receivers.ts';
import * as promptMetrics from './migrations/010-prompt-metrics.ts';
import * as aliases from './migrations/011-aliases.ts';
import * as replicas from './migrations/012-replicas.ts';
import * as tokenScopes from './migrations/013-token-scopes.ts';

export type Store = Kysely<Database>;

/** Every migration the code knows, in order. Names sort in the order they apply. */
export const MIGRATIONS: Record<string, Migration> = {
  '001-initial': initial,
  '002-branch-heads': branchHeads,
  '003-github-posts': githubPosts,
  '004-release-decisions': releaseDecisions,
  '005-receiver-tokens': receiverTokens,
  '006-trusted-trees': trustedTrees,
  '007-dashboard': dashboard,
  '008-set-states': setStates,
  '009-streaming-receivers': streamingReceivers,
  '010-prompt-metrics': promptMetrics,
  '011-aliases': aliases,
  '012-replicas': replicas,
  '013-token-scopes': tokenScopes,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/** Where a store is: a SQLite file (':memory:' for tests that need no restart), or a PostgreSQL URL. */
export type StoreLocation = { file: string } | { postgres: string };

export type OpenStoreOptions = StoreLocation & {
  /** PostgreSQL: connections in the pool (default 10). */
  poolSize?: number | undefined;
  /**
   * PostgreSQL: an error on an idle pooled connection (the server restarted, the network
   * dropped). The pool discards that connection and the next query opens another, so this only
   * reports; without a listener such an error would end the process.
   */
  onError?: ((err: Error) => void) | undefined;
};

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  return 'postgres' in options ? openPostgres(options.postgres, options) : openSqlite(options.file);
}

async function openSqlite(file: string): Promise<Store> {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  let sqlite: SqliteDatabase.Database;
  try {
    sqlite = new SqliteDatabase(file);
  } catch (err) {
    throw new AnvilError('store.open', `cannot open the store at ${file}: ${(err as Error).message}`, {
      hint: 'check that the data dir exists and is writable', cause: err,
    });
  }
  // WAL: readers (the pull API) never wait for the writer (the push worker); NORMAL sync is
  // durable across process crashes, which is the failure the queue must survive.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    await migrate(db, file);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return db;
}

async function openPostgres(url: string, options: OpenStoreOptions): Promise<Store> {
  // Loaded only here: a forge on SQLite, and every authoring command, never load the driver.
  const { Pool, TypeOverrides, types } = await import('pg');
  const where = redactDatabaseUrl(url);
  // Counts and numbered keys are int8, which pg hands over as text by default (a 64-bit
  // integer does not fit a JavaScript number); the store's never leave the safe range, and
  // SQLite gives numbers, so both dialects answer the same.
  const parsers = new TypeOverrides();
  parsers.setTypeParser(types.builtins.INT8, (text: string) => Number(text));
  const pool = new Pool({ connectionString: url, max: options.poolSize ?? 10, types: parsers, application_name: 'anvil-forge' });
  pool.on('error', (err) => options.onError?.(err));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    let schema: string | null | undefined;
    try {
      // Connect now: a wrong URL or a server that is down stops the start, not the first webhook.
      schema = (await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db)).rows[0]?.schema;
    } catch (err) {
      throw new AnvilError('store.open', `cannot connect to the PostgreSQL store at ${where}: ${(err as Error).message}`, {
        hint: 'check the database URL (`database` in anvil-forge.yaml, or DATABASE_URL), that the server answers, and that the user may connect', cause: err,
      });
    }
    if (!schema) {
      throw new AnvilError('store.no-schema', `the PostgreSQL store at ${where} has no schema to create tables in (the search_path names none that exists)`, {
        hint: 'create the schema, or set the search_path of the URL (`?options=-c%20search_path%3D<schema>`)',
      });
    }
    await migrate(db, where, schema);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return db;
}

/**
 * `schema`: PostgreSQL's current schema, where Kysely keeps its own tables too. Kysely looks for
 * them in every schema unless told which one, and would take another forge's for its own.
 */
async function migrate(db: Kysely<Database>, where: string, schema?: string): Promise<void> {
  const migrator = new Migrator({ db, provider, ...(schema !== undefined ? { migrationTableSchema: schema } : {}) });
  // Kysely lists only the migrations it knows; ask its table for the ones it does not.
  const known = new Set(Object.keys(MIGRATIONS));
  const scoped = schema !== undefined ? db.withSchema(schema) : db;
  const recorded = await scoped.selectFrom('kysely_migration' as never).select('name' as never).execute().catch(() => [] as { name: string }[]) as { name: string }[];
  const unknown = recorded.map((r) => r.name).filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new AnvilError('store.newer-than-code', `the store at ${where} was migrated by a newer forge (migrations ${unknown.join(', ')} are unknown to this one)`, {
      hint: 'run the newer forge version, or restore a backup of the store made with this version',
    });
  }
  // On PostgreSQL, Kysely holds an advisory lock while it migrates: replicas that start at once
  // apply each migration once, and the later ones wait for it.
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new AnvilError('store.migration-failed', `migration ${failed} failed on ${where}: ${(error as Error).message}`, { cause: error });
  }
}

/** Now, as the store writes time: ISO-8601 UTC text, so that it sorts and compares as text. */
export function storeTime(ms: number = Date.now()): string {
  return new Date(ms).toISOString();
}
