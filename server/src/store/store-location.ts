/**
 * Which store a forge opens (DESIGN.md §10, issue 16): PostgreSQL when the configuration names a
 * database (`DATABASE_URL`, else `database` in anvil-forge.yaml), else SQLite at
 * `<dataDir>/forge.db`. Pure: the caller reads the file and the environment.
 */
import path from 'node:path';
import type { StoreLocation } from './open-store.ts';

export const DATABASE_URL_ENV = 'DATABASE_URL';

/** A `postgres://` or `postgresql://` URL, the forms libpq and the pg driver accept. */
export function isPostgresUrl(text: string): boolean {
  return URL.canParse(text) && ['postgres:', 'postgresql:'].includes(new URL(text).protocol);
}

/** The URL without its password, for messages and logs. */
export function redactDatabaseUrl(url: string): string {
  if (!URL.canParse(url)) return '(a database URL that does not parse)';
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}

export function storeLocation(dataDir: string, database: string | undefined): StoreLocation {
  return database !== undefined ? { postgres: database } : { file: path.join(dataDir, 'forge.db') };
}

/** Where the store is, for people: the file, or the PostgreSQL URL without its password. */
export function describeStoreLocation(location: StoreLocation): string {
  return 'postgres' in location ? redactDatabaseUrl(location.postgres) : location.file;
}
