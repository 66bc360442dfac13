// The store's PostgreSQL tests (issue 16) need a server: by default 127.0.0.1:5432, user postgres
// without a password, database `test` (server/test/support/test-postgres.ts), or the one named by
// $ANVIL_TEST_POSTGRES_URL. `npm test` runs this first, so that the README's one test command
// works on a fresh Debian machine, as `.ci/run` does it:
// - a server that answers: nothing to do (one connection, well under a second);
// - none, as root with apt-get, for user postgres on a loopback port: installs Debian's
//   `postgresql` package when it is missing, creates a cluster on that port when there is none,
//   lets user postgres in over loopback TCP without a password (pg_hba.conf), starts the
//   cluster, and creates the database.
// It never stops or restarts a running server (a reload, to read pg_hba.conf, at most). When it
// cannot help it says why and carries on: the PostgreSQL tests then fail, with the same message,
// rather than skip.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';
const url = process.env.ANVIL_TEST_POSTGRES_URL || DEFAULT_URL;
const HBA_MARK = '# anvil tests (scripts/ensure-postgres.mjs): user postgres over loopback TCP, no password';

/** Connects and runs `select 1`; returns undefined, or the error (with pg's `code`). */
async function probe(target) {
  const client = new pg.Client({ connectionString: target, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return err;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function run(command, args) {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Debian's clusters: `pg_lsclusters` lines of version, name, port, status. */
function clusters() {
  return run('pg_lsclusters', ['--no-header']).trim().split('\n').filter(Boolean)
    .map((line) => { const [version, name, port, status] = line.trim().split(/\s+/); return { version, name, port: Number(port), status }; });
}

async function ensure() {
  let problem = await probe(url);
  if (!problem) return;
  const target = new URL(url);
  const port = Number(target.port || 5432);
  const database = decodeURIComponent(target.pathname.slice(1)) || 'postgres';
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname) && target.username === 'postgres' && target.password === '';
  if (!local) throw new Error(`${url} does not answer (${problem.message}); only a server for user postgres on a loopback port is set up here`);
  const canSetUp = process.platform === 'linux' && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
  if (!canSetUp) throw new Error(`no PostgreSQL answers at ${url} (${problem.message}), and only root on Debian can set one up here: start one, or set ANVIL_TEST_POSTGRES_URL`);

  if (!existsSync('/usr/bin/pg_lsclusters') || !existsSync('/usr/lib/postgresql') || readdirSync('/usr/lib/postgresql').length === 0) {
    console.log('installing Debian\'s postgresql for the store\'s PostgreSQL tests (apt-get install postgresql)');
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', 'postgresql']);
  }
  let cluster = clusters().find((c) => c.port === port);
  if (!cluster) {
    // The package makes one on 5432 unless /etc/postgresql-common/createcluster.conf says not to.
    const version = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))[0];
    const name = clusters().some((c) => c.version === version && c.name === 'main') ? `anvil-${port}` : 'main';
    run('pg_createcluster', ['--port', String(port), version, name]);
    cluster = clusters().find((c) => c.port === port);
    if (!cluster) throw new Error(`pg_createcluster made no cluster on port ${port} (${JSON.stringify(clusters())})`);
  }

  // Trust for user postgres on loopback TCP, before every other rule (the first match decides).
  const hba = `/etc/postgresql/${cluster.version}/${cluster.name}/pg_hba.conf`;
  const rules = readFileSync(hba, 'utf8');
  if (!rules.includes(HBA_MARK)) {
    writeFileSync(hba, `${HBA_MARK}\nhost all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust\n\n${rules}`);
  }
  // --skip-systemctl-redirect: CI machines run no systemd; pg_ctlcluster then does it itself.
  run('pg_ctlcluster', ['--skip-systemctl-redirect', cluster.version, cluster.name, cluster.status === 'online' ? 'reload' : 'start']);

  const admin = new URL(url);
  admin.pathname = '/postgres';
  for (let waited = 0; (problem = await probe(admin.toString())); waited += 250) {
    if (waited > 30_000) throw new Error(`PostgreSQL ${cluster.version}/${cluster.name} does not answer at ${admin} after 30 s: ${problem.message}`);
    await sleep(250);
  }
  if (await probe(url)) {
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
    } finally {
      await client.end();
    }
  }
  problem = await probe(url);
  if (problem) throw problem;
  console.log(`PostgreSQL ${cluster.version}/${cluster.name} answers at ${url}`);
}

try {
  await ensure();
} catch (err) {
  console.log(`PostgreSQL for the tests: ${err.message}; the PostgreSQL tests will fail`);
}
