/**
 * `anvil-live.json`, the app's Anvil config (format in content-schema/src/schemas/live-config.ts):
 * read → validate → resolve paths and the token. `anvil-live connect` writes it; the other
 * commands and `createClientFromConfig()` read it.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  AnvilError,
  LIVE_CONFIG_FILE,
  formatIssue,
  validateLiveConfig,
  type ResolvedLiveConfig,
} from '@anvil/content-schema';
import { errorCode, writeFileAtomic } from '../cache/atomic-file.ts';
import { createClient, type AnvilClient, type ClientOptions } from '../client.ts';

export interface LoadedLiveConfig {
  /** Absolute path of the config file. */
  file: string;
  config: ResolvedLiveConfig;
  /** `cacheDir`, resolved against the config file's folder. */
  cacheDir: string;
}

/** The config file `--config` names, or `anvil-live.json` in `cwd`. */
export function liveConfigPath(cwd: string, file?: string): string {
  return path.resolve(cwd, file ?? LIVE_CONFIG_FILE);
}

/** Reads and validates the config; every problem is an AnvilError naming the file. */
export async function loadLiveConfig(file: string): Promise<LoadedLiveConfig> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') {
      throw new AnvilError('config.missing', `${absolute} does not exist`, { hint: 'run `anvil-live connect` to create it, or pass --config <file>' });
    }
    throw new AnvilError('config.unreadable', `cannot read ${absolute}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new AnvilError('config.json', `not JSON: ${(err as Error).message}`, { file: absolute });
  }
  const checked = validateLiveConfig(parsed);
  if (!checked.ok) {
    const [first] = checked.errors;
    const more = checked.errors.length > 1 ? ` (and ${checked.errors.length - 1} more)` : '';
    throw new AnvilError('config.invalid', `${first ? formatIssue(first) : 'invalid'}${more}`, {
      file: absolute,
      hint: 'fix the file, or run `anvil-live connect --yes` to write it again',
      details: { errors: checked.errors },
    });
  }
  return { file: absolute, config: checked.value, cacheDir: path.resolve(path.dirname(absolute), checked.value.cacheDir) };
}

/** Writes the config (validated first), pretty-printed, atomically. */
export async function writeLiveConfig(file: string, config: ResolvedLiveConfig): Promise<void> {
  const checked = validateLiveConfig(config);
  if (!checked.ok) {
    const [first] = checked.errors;
    throw new AnvilError('config.invalid', `refusing to write an invalid config: ${first ? formatIssue(first) : 'invalid'}`, { details: { errors: checked.errors } });
  }
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, Buffer.from(`${JSON.stringify(config, null, 2)}\n`, 'utf8'));
}

/**
 * The access token: `override` (`--token`), else the environment variable the config names.
 * It is a secret, so the config never holds it.
 */
export function tokenFor(config: ResolvedLiveConfig, env: Readonly<Record<string, string | undefined>>, override?: string): string {
  const token = override ?? env[config.token.env];
  if (token === undefined || token === '') {
    throw new AnvilError('config.no-token', `no access token: the environment variable ${config.token.env} is not set`, {
      hint: `export ${config.token.env}=<project access token> (from \`npx anvil token create --project ${config.project}\`), or pass --token`,
    });
  }
  return token;
}

/** `createClient()` options from a loaded config; `overrides` win. */
export function clientOptionsFromConfig(
  loaded: LoadedLiveConfig,
  overrides: Partial<ClientOptions> = {},
  env: Readonly<Record<string, string | undefined>> = process.env,
): ClientOptions {
  const { config } = loaded;
  // An empty `sets` means "every set", as an absent `sets` option does, not "no set".
  const sets = Object.keys(config.sets).length > 0 ? { sets: { ...config.sets } } : {};
  return {
    forge: config.forge,
    project: config.project,
    channel: config.channel,
    mode: config.mode,
    ...(config.transport !== undefined ? { transport: config.transport } : {}),
    cacheDir: loaded.cacheDir,
    publicKey: { ...config.forgeKeys },
    ...sets,
    ...overrides,
    token: tokenFor(config, env, overrides.token),
  };
}

/**
 * Starts a LIVE client from `anvil-live.json` (default: in the current folder): the forge,
 * project, channel, mode, transport, cache folder, sets and pinned keys come from the file, the token from
 * the environment variable it names. `overrides` take precedence (e.g. `{pollMs: 0}`).
 */
export async function createClientFromConfig(file: string = LIVE_CONFIG_FILE, overrides: Partial<ClientOptions> = {}): Promise<AnvilClient> {
  return createClient(clientOptionsFromConfig(await loadLiveConfig(file), overrides));
}
