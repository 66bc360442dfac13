/**
 * How the forge's operator commands (`anvil token`, `anvil receivers`, `anvil audit`) find the
 * store: `--data-dir <dir>`, else `ANVIL_DATA_DIR`, else the `dataDir` of `--config <file>`
 * (default ./anvil-forge.yaml). They open `<dataDir>/forge.db` directly, beside a running forge
 * or without one (SQLite in WAL mode lets both in) — or the PostgreSQL store that DATABASE_URL,
 * else the config's `database`, names (the data dir still holds the keys).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { AnvilError, FORGE_CONFIG_FILE, validateForgeConfig } from '@anvil/content-schema';
import { formatProblem } from '../lint/problem.ts';
import { readYamlConfig } from '../load/read-yaml-config.ts';
import { openStore, type Store } from '../store/open-store.ts';
import { DATABASE_URL_ENV, storeLocation } from '../store/store-location.ts';

export const FORGE_STORE_OPTIONS = {
  'data-dir': { type: 'string' },
  config: { type: 'string' },
} as const;

export const FORGE_STORE_HELP = [
  '  --data-dir <dir>   the forge\'s data dir (default: $ANVIL_DATA_DIR, else the dataDir of the config)',
  '  --config <file>    the forge config to read dataDir from (default: ./anvil-forge.yaml)',
].join('\n');

export interface ForgeStoreLocation {
  dataDir: string;
  /** Where the data dir came from, for messages. */
  from: string;
  /** The projects the config names, when a config was read. */
  projects?: string[] | undefined;
  /** The PostgreSQL store's URL (DATABASE_URL, else the config's `database`); absent: `<dataDir>/forge.db`. */
  database?: string | undefined;
}

export interface OpenedForgeStore extends ForgeStoreLocation {
  db: Store;
  /** Projects the forge knows: from the config, else the store's projects table (may be empty). */
  knownProjects: string[];
  close(): Promise<void>;
}

/** Works out the data dir, without touching the store. */
export function locateForgeStore(values: Record<string, unknown>, cwd: string, env: NodeJS.ProcessEnv = process.env): ForgeStoreLocation {
  const database = env[DATABASE_URL_ENV] || undefined;
  const withDatabase = database !== undefined ? { database } : {};
  const flag = values['data-dir'];
  if (typeof flag === 'string' && flag !== '') return { dataDir: path.resolve(cwd, flag), from: '--data-dir', ...withDatabase };
  const fromEnv = env['ANVIL_DATA_DIR'];
  if (fromEnv) return { dataDir: path.resolve(cwd, fromEnv), from: 'ANVIL_DATA_DIR', ...withDatabase };

  const explicit = typeof values['config'] === 'string' ? values['config'] : undefined;
  const file = path.resolve(cwd, explicit ?? FORGE_CONFIG_FILE);
  if (explicit === undefined && !existsSync(file)) {
    throw new AnvilError('forge.no-data-dir', `no forge data dir given, and there is no ${FORGE_CONFIG_FILE} in ${cwd}`, {
      hint: 'pass --data-dir <dir>, set ANVIL_DATA_DIR, or pass --config <anvil-forge.yaml>',
    });
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AnvilError('forge-config.missing', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'pass --config <file> or --data-dir <dir>' });
  }
  // Only the data dir matters here: secrets the forge needs to run (webhooks, admin) are not
  // required to read its store, so the file is validated but the environment is not consulted.
  const read = readYamlConfig(file, text, validateForgeConfig);
  if (!read.value) {
    const errors = read.problems.filter((p) => p.severity === 'error');
    throw new AnvilError('forge-config.invalid', `${file} is not a valid forge config: ${errors.map(formatProblem).join('; ')}`, { hint: 'fix it, or pass --data-dir <dir>' });
  }
  const configured = database ?? read.value.database;
  return {
    dataDir: path.resolve(path.dirname(file), read.value.dataDir ?? './anvil-data'),
    from: path.relative(cwd, file) || file,
    projects: read.value.projects.map((p) => p.name),
    ...(configured !== undefined ? { database: configured } : {}),
  };
}

/** Opens the forge's store; the data dir must exist (it is the forge's, not made here). */
export async function openForgeStore(values: Record<string, unknown>, cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<OpenedForgeStore> {
  const location = locateForgeStore(values, cwd, env);
  let isDir = false;
  try {
    isDir = statSync(location.dataDir).isDirectory();
  } catch { /* missing: reported below */ }
  if (!isDir) {
    throw new AnvilError('forge.data-dir-missing', `the forge data dir ${location.dataDir} (from ${location.from}) does not exist`, {
      hint: 'check the path, or start the forge once (`npx anvil serve`) to create it',
    });
  }
  const db = await openStore(storeLocation(location.dataDir, location.database));
  let knownProjects = location.projects;
  if (knownProjects === undefined) {
    knownProjects = (await db.selectFrom('projects').select('name').orderBy('name').execute()).map((r) => r.name);
  }
  return { ...location, db, knownProjects, close: () => db.destroy() };
}
