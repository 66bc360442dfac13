/**
 * PostgreSQL for tests (issue 16): the server at ANVIL_TEST_POSTGRES_URL, else the one this
 * project's machines run (127.0.0.1:5432, trust auth, user postgres, database `test`; `.ci/run`
 * starts one where none answers, scripts/ensure-postgres.sh). Each test gets a schema of its own,
 * dropped after, and reaches it through a URL whose search_path names it: the forge under test
 * opens it as an operator's URL, with nothing test-specific in the code.
 *
 * A server that does not answer fails the test with the reason; nothing here skips.
 *
 * `ANVIL_TEST_STORE=postgres` runs the suites built on createTestForge and startPublishedForge
 * on PostgreSQL instead of SQLite (server/test/store/postgres-suites.test.ts does, in CI).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_POSTGRES_URL = process.env['ANVIL_TEST_POSTGRES_URL'] || 'postgres://postgres@127.0.0.1:5432/test';

/** Which store the forge tests run on: `ANVIL_TEST_STORE=postgres`, else SQLite. */
export function testStoreKind(): 'sqlite' | 'postgres' {
  const kind = process.env['ANVIL_TEST_STORE'] ?? 'sqlite';
  if (kind !== 'sqlite' && kind !== 'postgres') throw new Error(`ANVIL_TEST_STORE=${kind}: use sqlite or postgres`);
  return kind;
}

export interface TestSchema {
  /** The schema's name. */
  schema: string;
  /** TEST_POSTGRES_URL with the schema as its search_path: what a forge under test is given. */
  url: string;
  /** Runs SQL on the server as the test's administrator (outside the schema unless qualified). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/** A new, empty schema on the test server. */
export async function createTestSchema(prefix = 'anvil_test'): Promise<TestSchema> {
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 5_000 });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`PostgreSQL does not answer at ${TEST_POSTGRES_URL} (${(err as Error).message}): start it with \`bash scripts/ensure-postgres.sh\`, or point ANVIL_TEST_POSTGRES_URL at one`, { cause: err });
  }
  // The client is only used between statements here; an error on it (the server restarting)
  // must fail the query that meets it, not the process.
  admin.on('error', () => undefined);
  // Named with its creation time, so that schemas left by a killed run are dropped by a later one.
  await dropStaleSchemas(admin, prefix);
  const schema = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE SCHEMA "${schema}"`);
  const url = new URL(TEST_POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  let dropped = false;
  return {
    schema,
    url: url.toString(),
    query: (text, values) => admin.query(text, values),
    async drop() {
      if (dropped) return;
      dropped = true;
      try {
        await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** No test run lasts this long: a schema older than that was left by a run that was killed. */
const STALE_MS = 6 * 60 * 60 * 1000;

async function dropStaleSchemas(admin: pg.Client, prefix: string): Promise<void> {
  const { rows } = await admin.query<{ name: string }>('SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1)', [`${prefix}_`]);
  for (const { name } of rows) {
    const made = parseInt(name.slice(prefix.length + 1).split('_')[0] ?? '', 36);
    if (Number.isFinite(made) && Date.now() - made > STALE_MS) await admin.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`).catch(() => undefined);
  }
}
