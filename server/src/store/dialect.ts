/**
 * Where the store's SQL differs between SQLite and PostgreSQL (DESIGN.md §10, issue 16). Queries
 * are written once with Kysely; the few places that cannot be — DDL in migrations, row locks in
 * the delivery queue's claim, the audit chain's lock — ask here which database they talk to, so
 * that every branch on the dialect is found from this file.
 */
import { PostgresAdapter, sql, type ColumnDefinitionBuilder, type Kysely } from 'kysely';

export type StoreDialect = 'sqlite' | 'postgres';

/** Anything that runs queries: the store, a transaction, a migration's `Kysely<unknown>`. */
export type QueryRunner = Pick<Kysely<unknown>, 'getExecutor'>;

export function storeDialect(db: QueryRunner): StoreDialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/**
 * The DDL the migrations write differently per dialect. On SQLite each one is exactly what the
 * migrations wrote before PostgreSQL was supported: stores in the field must keep the schema they
 * have, and a store migrated today must get the same.
 */
export interface DialectDdl {
  /** The type of a key the database numbers (`integer` on SQLite is 64-bit; PostgreSQL needs `bigint`). */
  keyType: 'integer' | 'bigint';
  /** Such a key: AUTOINCREMENT on SQLite (numbers never reused), an identity column on PostgreSQL. */
  autoIncrementKey(column: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /** An 8-byte float: SQLite's `real` is one; PostgreSQL's `real` is 4 bytes. */
  doubleType: 'real' | 'double precision';
  /** Makes the database itself refuse updates and deletes of the table's rows. */
  appendOnly(table: string): Promise<void>;
}

export function dialectDdl(db: Kysely<unknown>): DialectDdl {
  if (storeDialect(db) === 'sqlite') {
    return {
      keyType: 'integer',
      autoIncrementKey: (c) => c.primaryKey().autoIncrement(),
      doubleType: 'real',
      async appendOnly(table) {
        for (const op of ['update', 'delete'] as const) {
          await sql.raw(`CREATE TRIGGER ${table}_no_${op} BEFORE ${op.toUpperCase()} ON ${table} BEGIN SELECT RAISE(ABORT, 'the ${table.replaceAll('_', ' ')} is append-only'); END`).execute(db);
        }
      },
    };
  }
  return {
    keyType: 'bigint',
    autoIncrementKey: (c) => c.primaryKey().generatedByDefaultAsIdentity(),
    doubleType: 'double precision',
    async appendOnly(table) {
      // One function per table, in the store's schema, so that a schema holds all of its forge.
      await sql.raw(`CREATE FUNCTION ${table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the ${table.replaceAll('_', ' ')} is append-only'; END $$`).execute(db);
      for (const op of ['update', 'delete'] as const) {
        await sql.raw(`CREATE TRIGGER ${table}_no_${op} BEFORE ${op.toUpperCase()} ON ${table} FOR EACH ROW EXECUTE FUNCTION ${table}_append_only()`).execute(db);
      }
      // PostgreSQL can also empty a table without deleting a row; SQLite has no TRUNCATE.
      await sql.raw(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ${table}_append_only()`).execute(db);
    },
  };
}
