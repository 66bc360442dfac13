import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AnvilError, validateBundle, verifyBundleIntegrity, type ResolvedLiveConfig } from '@anvil/content-schema';
import { errorCode } from '../../cache/atomic-file.ts';
import { openDiskCache, type DiskCache } from '../../cache/disk-cache.ts';
import { compareContracts, type CompatFinding, type ServedBundle } from '../../compat/compare-contracts.ts';
import { readTypesManifest } from '../../compat/types-manifest.ts';
import { liveConfigPath, loadLiveConfig, tokenFor, type LoadedLiveConfig } from '../../config/live-config.ts';
import { checkEnvelope } from '../../receive/check-push.ts';
import { forgeApi, type ForgeApi } from '../../sync/forge-api.ts';
import { colour, EXIT_OK, EXIT_USER_ERROR, type LiveCliIO } from '../cli-io.ts';
import { CONFIG_HELP, CONFIG_OPTION, type LiveCommand } from '../command.ts';
import { cachedFirst } from '../materialise.ts';
import { readLock } from '../read-lock.ts';
import { LOCK_FILE, checkRelease, lockOutOfDate, type ReleaseSource } from '../resolve-lock.ts';

const USAGE = 'anvil-live check [--types <file>] [--channel <channel>] [--verbose] [--token <token>] [--config <file>] [--json]';

/** Where `anvil types --out` writes in every example of the docs, beside the config. */
export const DEFAULT_TYPES_FILE = 'src/anvil-prompts.d.ts';

export const checkCommand: LiveCommand = {
  name: 'check',
  usage: USAGE,
  help: [
    'Options:',
    `  --types <file>       the declarations \`anvil types\` wrote (default: the config's "types", else ${DEFAULT_TYPES_FILE} beside it)`,
    '  --channel <channel>  compare with the forge\'s current envelope for this channel (verified as the',
    '                       receiver verifies a push) instead of anvil.lock.json',
    '  --verbose            also list what the served versions have that the types do not (harmless)',
    '  --token <token>      the access token, when something must be fetched (default: $ANVIL_TOKEN)',
    '  --json               print {ok, types, from, source, bundles, breaks, notes} as JSON',
    CONFIG_HELP,
    '',
    'Compares the prompts the app was compiled against (the manifest at the end of the file',
    '`anvil types` writes) with the bundles it would be served: the versions anvil.lock.json names',
    '(taken from the cache, else fetched and verified), or with --channel what the forge serves',
    'on that channel now, rollouts included. Every break is listed at once: a set, prompt or',
    'variant that is not served, a variable the served version requires that the types leave',
    'optional or do not have, a variable the served version no longer declares, and a type it no',
    'longer accepts all of (string vs number, a narrowed enum). New prompts and optional variables',
    'are fine. Sets of the types that the config does not name and nothing serves are not checked.',
    '',
    'Exit codes: 0 compatible, 1 a break (or a user error: no types, no lock, a forge refusal), 2 a bug.',
  ].join('\n'),
  options: {
    ...CONFIG_OPTION,
    types: { type: 'string' },
    channel: { type: 'string' },
    verbose: { type: 'boolean' },
    token: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new AnvilError('cli.bad-arguments', `unexpected argument "${positionals[0]}"`, { hint: `usage: ${USAGE}` });
    const loaded = await loadLiveConfig(liveConfigPath(io.cwd, values['config'] as string | undefined));
    const { config } = loaded;
    const typesOption = values['types'] as string | undefined;
    // --types, else the config's `types`, else the docs' default; the config's path is relative to it.
    const typesFile = typesOption !== undefined ? path.resolve(io.cwd, typesOption) : path.resolve(path.dirname(loaded.file), loaded.config.types ?? DEFAULT_TYPES_FILE);
    const shownTypes = path.relative(io.cwd, typesFile) || typesFile;
    const manifest = readTypesManifest(await readTypes(typesFile, shownTypes, typesOption === undefined), shownTypes);

    const token = () => tokenFor(config, io.env, values['token'] as string | undefined);
    const channel = values['channel'] as string | undefined;
    const served = channel === undefined ? await fromLock(loaded, token) : await fromChannel(config, channel, token);
    const sets = Object.keys(config.sets);
    const report = compareContracts(manifest, served.bundles, { sets: sets.length > 0 ? sets : undefined });
    const verbose = values['verbose'] === true;
    const against = channel === undefined ? path.relative(io.cwd, served.where) || served.where : `channel ${channel} of ${config.forge}`;

    if (values['json']) {
      io.out(JSON.stringify({
        ok: report.ok,
        types: typesFile,
        from: manifest.from,
        source: channel === undefined ? { lockfile: served.where } : { channel, forge: config.forge },
        bundles: served.bundles.map((b) => ({ set: b.set, version: b.version, role: b.role })),
        prompts: report.checked.prompts,
        breaks: report.breaks,
        ...(verbose ? { notes: report.notes } : {}),
        ...(served.warning ? { warning: served.warning } : {}),
      }, null, 2));
      return report.ok ? EXIT_OK : EXIT_USER_ERROR;
    }

    if (served.warning) io.err(colour(io, 33, `warning: ${served.warning}`));
    const listing = (f: CompatFinding) => `${shownTypes}: ${f.prompt ?? `${f.set}/*`}${f.variable ? ` ${f.variable}` : ''}${f.variant ? ` (variant ${f.variant})` : ''}  ${f.code}  ${f.message}`;
    for (const f of report.breaks) io.out(colour(io, 31, listing(f)));
    if (verbose) for (const f of report.notes) io.out(colour(io, 2, listing(f)));
    const bundles = served.bundles.map((b) => `${b.set}@${b.version}${b.role === 'rollout' ? ' (rollout)' : ''}`).join(', ') || 'nothing';
    if (report.ok) {
      io.out(`${colour(io, 32, 'compatible')}: ${report.checked.prompts} prompt contract${report.checked.prompts === 1 ? '' : 's'} of ${shownTypes} (${manifest.from}) hold against ${against}: ${bundles}`);
      return EXIT_OK;
    }
    const n = report.breaks.length;
    io.out(colour(io, 31, `${n} break${n === 1 ? '' : 's'}: ${shownTypes} (${manifest.from}) does not match ${against}: ${bundles}`));
    io.err('fix the app or its ranges, or run `npx anvil types` again at the version it will be served, and rebuild');
    return EXIT_USER_ERROR;
  },
};

async function readTypes(file: string, shown: string, defaulted: boolean): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw new AnvilError('check.types-unreadable', `cannot read ${shown}: ${(err as Error).message}`, { cause: err });
    throw new AnvilError('check.no-types', `${shown} does not exist`, {
      hint: defaulted ? 'pass --types <file>: the declarations `anvil types --out <file>` wrote for this app' : 'run `npx anvil types --out <file>` in the prompt repository (or with --repo)',
    });
  }
}

interface Served {
  bundles: ServedBundle[];
  /** The lock file, or the channel's envelope URL. */
  where: string;
  warning?: string;
}

/** The lock's releases, from the cache when it has them (verified), else from the forge (verified). */
async function fromLock(loaded: LoadedLiveConfig, token: () => string): Promise<Served> {
  const { config } = loaded;
  const lockFile = path.join(path.dirname(loaded.file), LOCK_FILE);
  const lock = await readLock(lockFile, 'run `anvil-live install` and commit anvil.lock.json, or check a channel with --channel <channel>');
  const cache = openDiskCache(loaded.cacheDir);
  const cached = await cache.load();
  const source = cachedFirst(cached, config, lockedFiles(cache, forgeReleases(config, token)));
  const bundles: ServedBundle[] = [];
  for (const [set, locked] of Object.entries(lock.sets)) {
    const { bundle } = await source.release(set, locked.version, locked.integrity);
    bundles.push({ set, version: bundle.version, role: 'current', prompts: bundle.prompts });
  }
  const stale = lockOutOfDate(lock, config);
  return { bundles, where: lockFile, ...(stale ? { warning: `${LOCK_FILE} is out of date (${stale}); checked the versions it names` } : {}) };
}

/**
 * A locked bundle still in the cache's folder when no state names it any more (the app has moved
 * on since the install: a push, a pull). Its signatures went with that state, but the check only
 * reads it, and bytes that hash to the integrity the app's own lock names are the bundle the
 * lock means; anything else is fetched from `fallback` and verified there.
 */
function lockedFiles(cache: DiskCache, fallback: ReleaseSource): ReleaseSource {
  return {
    versions: (set) => fallback.versions(set),
    async release(set, version, integrity) {
      if (integrity !== undefined) {
        const text = await readFile(cache.bundlePath(integrity), 'utf8').catch(() => undefined);
        const checked = text === undefined ? undefined : validateBundle(parseJson(text));
        if (checked?.ok && checked.value.integrity === integrity && checked.value.set === set && checked.value.version === version && verifyBundleIntegrity(checked.value)) {
          return { bundle: checked.value, signatures: [] };
        }
      }
      return fallback.release(set, version, integrity);
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Released bundles from the forge, checked against the pinned keys (the lock names releases only). */
function forgeReleases(config: ResolvedLiveConfig, token: () => string): ReleaseSource {
  let api: ForgeApi | undefined;
  const forge = () => (api ??= forgeApi({ forge: config.forge, project: config.project, token: token() }));
  return {
    versions: (set) => forge().versions(set),
    async release(set, version, integrity) {
      const answer = await forge().version(set, version);
      return checkRelease(answer, { project: config.project, set, version, integrity }, config.forgeKeys);
    },
  };
}

/** The channel's current envelope, checked as a receiver of this config checks a push. */
async function fromChannel(config: ResolvedLiveConfig, channel: string, token: () => string): Promise<Served> {
  const api = forgeApi({ forge: config.forge, project: config.project, token: token() });
  const answer = await api.envelope(channel);
  if (answer.status !== 200) throw new AnvilError('check.no-envelope', `the forge answered ${answer.status} for channel ${channel}'s envelope`);
  const sets = Object.keys(config.sets);
  const checked = checkEnvelope(answer.body, {
    project: config.project,
    channel,
    forgeKeys: config.forgeKeys,
    // Nothing held yet: every version is a move forward, and only the ranges can refuse one.
    versions: {},
    rollouts: {},
    ranges: config.sets,
    sets: sets.length > 0 ? sets : undefined,
  });
  if (!checked.ok) {
    throw new AnvilError('check.envelope-refused', `this app would refuse the forge's envelope for ${channel}: ${checked.rejection.reason} (${checked.rejection.code})`, {
      hint: checked.rejection.code === 'push.out-of-range' ? 'the forge serves a version outside the config\'s range: the app would keep what it has' : 'check the config\'s forge keys, project and channel (`anvil-live connect`)',
    });
  }
  const { envelope } = checked;
  const bundles = envelope.bundles.map((b): ServedBundle => ({
    set: b.set,
    version: b.version,
    role: envelope.rollouts[b.set]?.version === b.version ? 'rollout' : 'current',
    prompts: b.prompts,
  }));
  return { bundles, where: `${config.forge.replace(/\/+$/, '')}/api/v1/projects/${encodeURIComponent(config.project)}/envelope?channel=${encodeURIComponent(channel)}` };
}

