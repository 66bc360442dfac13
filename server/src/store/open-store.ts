/**
 * The forge's store: SQLite through better-sqlite3 at `<dataDir>/forge.db` (DESIGN.md §10),
 * behind Kysely so that the same queries can run on PostgreSQL. Opening migrates; a store that
 * a newer forge has migrated is refused rather than misread.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Migration, type MigrationProvider } from 'kysely';
import { AnvilError } from '@anvil/content-schema';
import type { Database } from './database.ts';
import * as initial from './migrations/001-initial.ts';
import * as branchHeads from './migrations/002-branch-heads.ts';
import * as githubPosts from './migrations/003-github-posts.ts';
import * as releaseDecisions from './migrations/004-release-decisions.ts';
import * as receiverTokens from './migrations/005-receiver-tokens.ts';
import * as trustedTrees from './migrations/006-trusted-trees.ts';
import * as dashboard from './migrations/007-dashboard.ts';
import * as setStates from './migrations/008-set-states.ts';

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
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

export interface OpenStoreOptions {
  /** A file path, or ':memory:' for tests that need no restart. */
  file: string;
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (options.file !== ':memory:') mkdirSync(path.dirname(options.file), { recursive: true });
  let sqlite: SqliteDatabase.Database;
  try {
    sqlite = new SqliteDatabase(options.file);
  } catch (err) {
    throw new AnvilError('store.open', `cannot open the store at ${options.file}: ${(err as Error).message}`, {
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
    await migrate(db, options.file);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return db;
}

async function migrate(db: Kysely<Database>, file: string): Promise<void> {
  const migrator = new Migrator({ db, provider });
  // Kysely lists only the migrations it knows; ask its table for the ones it does not.
  const known = new Set(Object.keys(MIGRATIONS));
  const recorded = await db.selectFrom('kysely_migration' as never).select('name' as never).execute().catch(() => [] as { name: string }[]) as { name: string }[];
  const unknown = recorded.map((r) => r.name).filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new AnvilError('store.newer-than-code', `the store at ${file} was migrated by a newer forge (migrations ${unknown.join(', ')} are unknown to this one)`, {
      hint: 'run the newer forge version, or restore a backup of the store made with this version',
    });
  }
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new AnvilError('store.migration-failed', `migration ${failed} failed on ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/** Now, as the store writes time: ISO-8601 UTC text, so that it sorts and compares as text. */
export function storeTime(ms: number = Date.now()): string {
  return new Date(ms).toISOString();
}
