import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AnvilError, type LockFile, type ResolvedLiveConfig } from '@anvil/content-schema';
import { writeFileAtomic } from '../../cache/atomic-file.ts';
import { openDiskCache } from '../../cache/disk-cache.ts';
import { liveConfigPath, loadLiveConfig, tokenFor } from '../../config/live-config.ts';
import { forgeApi, type ForgeApi } from '../../sync/forge-api.ts';
import { colour, EXIT_OK, type LiveCliIO } from '../cli-io.ts';
import { CONFIG_HELP, CONFIG_OPTION, type LiveCommand } from '../command.ts';
import { cachedFirst, materialise } from '../materialise.ts';
import { readLock } from '../read-lock.ts';
import { LOCK_FILE, checkChannel, checkRelease, lockOutOfDate, lockText, resolveLock, type ReleaseSource, type VerifiedRelease } from '../resolve-lock.ts';

const USAGE = 'anvil-live install [--frozen-lockfile] [--token <token>] [--config <file>] [--json]';

export const installCommand: LiveCommand = {
  name: 'install',
  usage: USAGE,
  help: [
    'Options:',
    '  --frozen-lockfile  install exactly anvil.lock.json; fail if it is missing or out of date',
    '                     (other forge, project or channel, a set missing or outside its range,',
    '                     a set locked that is no longer used) or if the forge serves a bundle',
    '                     whose integrity differs from the lock. Never writes the lock (CI, deploys)',
    '  --token <token>    the access token (default: the variable the config names, $ANVIL_TOKEN)',
    '  --json             print {ok, lockfile, lockChanged, frozen, cacheDir, sets} as JSON',
    CONFIG_HELP,
    '',
    'Without --frozen-lockfile, each set of the config is resolved to its highest release inside',
    'its range (GET …/sets/:set/versions), its dependencies are followed at their exact versions,',
    'and anvil.lock.json (beside the config) is written. Every bundle is checked (schema, integrity,',
    'signature by a pinned key), written to the cache, and the cache\'s state then serves exactly',
    'the lock: an app started on it is ready without the forge. Bundles already in the cache are',
    'not fetched again.',
  ].join('\n'),
  options: { ...CONFIG_OPTION, 'frozen-lockfile': { type: 'boolean' }, token: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new AnvilError('cli.bad-arguments', `unexpected argument "${positionals[0]}"`, { hint: `usage: ${USAGE}` });
    const loaded = await loadLiveConfig(liveConfigPath(io.cwd, values['config'] as string | undefined));
    const { config } = loaded;
    const lockFile = path.join(path.dirname(loaded.file), LOCK_FILE);
    const frozen = values['frozen-lockfile'] === true;
    const json = values['json'] === true;

    const cache = openDiskCache(loaded.cacheDir);
    const cached = await cache.load();
    let fetched = 0;
    const fromForge = forgeSource(config, () => tokenFor(config, io.env, values['token'] as string | undefined), (set, version) => {
      fetched++;
      if (io.tty && !json) io.err(`  fetching ${set}@${version}`);
    });
    const source = cachedFirst(cached, config, fromForge);

    let lock: LockFile;
    let releases: Map<string, VerifiedRelease>;
    let lockChanged = false;
    if (frozen) {
      lock = await readLock(lockFile);
      const stale = lockOutOfDate(lock, config);
      if (stale) throw new AnvilError('lock.out-of-date', `${LOCK_FILE} is out of date: ${stale}`, { hint: 'run `anvil-live install` and commit the new lock file' });
      releases = await lockedReleases(lock, config, source);
    } else {
      ({ lock, releases } = await resolveLock(config, source));
      const text = lockText(lock);
      const before = await readFile(lockFile, 'utf8').catch(() => undefined);
      if (before !== text) {
        await writeFileAtomic(lockFile, Buffer.from(text, 'utf8'));
        lockChanged = true;
      }
    }

    const { written } = await materialise(cache, cached?.state, config, lock, releases);

    if (json) {
      io.out(JSON.stringify({
        ok: true, lockfile: lockFile, lockChanged, frozen, cacheDir: loaded.cacheDir,
        fetched, fromCache: source.fromCache, written,
        sets: Object.fromEntries(Object.entries(lock.sets).map(([set, l]) => [set, { version: l.version, integrity: l.integrity, dependency: !(set in config.sets) }])),
      }, null, 2));
      return EXIT_OK;
    }
    for (const [set, l] of Object.entries(lock.sets)) {
      const range = config.sets[set];
      io.out(`  ${set.padEnd(20)} ${l.version.padEnd(12)} ${range === undefined ? colour(io, 2, '(dependency)') : colour(io, 2, range)}`);
    }
    const shownLock = path.relative(io.cwd, lockFile) || lockFile;
    io.out(frozen ? `${shownLock} is up to date` : lockChanged ? `wrote ${shownLock}` : `${shownLock} unchanged`);
    io.out(`${colour(io, 32, 'installed')} ${Object.keys(lock.sets).length} set(s) into ${path.relative(io.cwd, loaded.cacheDir) || loaded.cacheDir} (${fetched} fetched, ${source.fromCache} from the cache)`);
    return EXIT_OK;
  },
};

/** Releases from the forge's versions endpoints, checked against the pinned keys. */
function forgeSource(config: ResolvedLiveConfig, token: () => string, onFetch: (set: string, version: string) => void): ReleaseSource {
  let api: ForgeApi | undefined;
  // The token is needed only when something must be fetched: a warm cache installs without it.
  const forge = () => (api ??= forgeApi({ forge: config.forge, project: config.project, token: token() }));
  return {
    versions: (set) => forge().versions(set),
    async release(set, version, integrity) {
      onFetch(set, version);
      const answer = await forge().version(set, version).catch((err: unknown) => {
        if ((err as AnvilError).code === 'forge.not-found') {
          throw new AnvilError('install.unknown-version', `the forge has no release ${set}@${version} in project ${config.project}`, { cause: err });
        }
        throw err;
      });
      return checkRelease(answer, { project: config.project, set, version, integrity }, config.forgeKeys);
    },
  };
}

/** Exactly the lock's releases; a bundle whose integrity differs from the lock's is refused. */
async function lockedReleases(lock: LockFile, config: ResolvedLiveConfig, source: ReleaseSource): Promise<Map<string, VerifiedRelease>> {
  const releases = new Map<string, VerifiedRelease>();
  for (const [set, locked] of Object.entries(lock.sets)) {
    const found = await source.release(set, locked.version, locked.integrity).catch((err: unknown) => {
      if ((err as AnvilError).code !== 'install.integrity') throw err;
      throw new AnvilError('lock.integrity-mismatch', `${set}@${locked.version} from the forge is not the bundle ${LOCK_FILE} names: ${(err as Error).message}`, {
        hint: 'releases are immutable, so this is not an update: find out why before running `anvil-live install`', cause: err,
      });
    });
    if (set in config.sets) checkChannel(found.bundle, config.channel);
    releases.set(set, found);
  }
  return releases;
}
