/**
 * The app's ranges → `anvil.lock.json`, and the checks on each released bundle fetched for it.
 * Releases come through a `ReleaseSource` (the forge's versions endpoints, or the cache), so the
 * resolution itself does no I/O of its own.
 */
import semver from 'semver';
import {
  AnvilError,
  LOCK_FORMAT,
  isAliasName,
  formatIssue,
  validateBundle,
  validateLockFile,
  verifyBundleIntegrity,
  verifyBundleSignatures,
  type Bundle,
  type EnvelopeSignature,
  type LockFile,
  type ResolvedLiveConfig,
} from '@anvil/content-schema';
import { channelAccepts } from '../receive/channel-policy.ts';
import type { ReleaseList, ReleasedBundle } from '../sync/forge-api.ts';

export const LOCK_FILE = 'anvil.lock.json';

/** A released bundle that passed every check, with the signatures that verified. */
export interface VerifiedRelease {
  bundle: Bundle;
  signatures: EnvelopeSignature[];
  /** The channels the forge allows the release on, when it said (a cached release does not). */
  channels?: string[];
}

export interface ReleaseSource {
  versions(set: string): Promise<ReleaseList>;
  /** The release `set@version`; `integrity`, when known, is what it must have. */
  release(set: string, version: string, integrity?: string): Promise<VerifiedRelease>;
}

/** Where a release is fetched from: a lock file's `resolved`. */
export function releaseUrl(forge: string, project: string, set: string, version: string): string {
  return `${forge.replace(/\/+$/, '')}/api/v1/projects/${encodeURIComponent(project)}/sets/${encodeURIComponent(set)}/versions/${encodeURIComponent(version)}`;
}

/**
 * Checks a fetched release: a valid bundle of the expected project, set and version, whose
 * content matches its integrity (and the integrity the forge listed or the lock holds), signed
 * by a pinned forge key. Keeps only the signatures that verify.
 */
export function checkRelease(
  answer: ReleasedBundle,
  expected: { project: string; set: string; version: string; integrity?: string | undefined },
  forgeKeys: Readonly<Record<string, string>>,
): VerifiedRelease {
  const name = `${expected.set}@${expected.version}`;
  const checked = validateBundle(answer.bundle);
  if (!checked.ok) {
    const [first] = checked.errors;
    throw new AnvilError('install.bundle-invalid', `the forge's ${name} is not a valid bundle: ${first ? formatIssue(first) : 'invalid'}`);
  }
  const bundle = checked.value;
  if (bundle.set !== expected.set || bundle.version !== expected.version || bundle.project !== expected.project) {
    throw new AnvilError('install.bundle-mismatch', `asked the forge for ${expected.project}/${name}, it answered ${bundle.project}/${bundle.set}@${bundle.version}`);
  }
  // A lock pins releases, which never change; a head build is replaced by the next push, so a
  // lock on one could not be installed again. The forge serves releases only on this route.
  if (bundle.stage !== 'release') {
    throw new AnvilError('install.not-a-release', `the forge's ${name} is a ${bundle.stage} build, not a release`, {
      hint: 'lock released versions (tags <set>@<version>); head builds reach receivers through their channel',
    });
  }
  if (!verifyBundleIntegrity(bundle)) {
    throw new AnvilError('install.integrity', `the forge's ${name} does not match its integrity ${bundle.integrity}: its content was changed`);
  }
  if (expected.integrity !== undefined && bundle.integrity !== expected.integrity) {
    throw new AnvilError('install.integrity', `the forge's ${name} has integrity ${bundle.integrity}, expected ${expected.integrity}`, {
      hint: 'releases are immutable: the forge, or something between, serves a different bundle under this version',
      details: { set: expected.set, version: expected.version, expected: expected.integrity, actual: bundle.integrity },
    });
  }
  const signatures = answer.signatures.filter(
    (s): s is EnvelopeSignature => verifyBundleSignatures([bundle], [s as EnvelopeSignature], forgeKeys).ok,
  );
  if (signatures.length === 0) {
    const why = verifyBundleSignatures([bundle], answer.signatures as EnvelopeSignature[], forgeKeys);
    throw new AnvilError('install.signature', `the forge's ${name} is not signed by a pinned forge key${why.ok ? '' : `: ${why.reason}`}`, {
      hint: 'if the forge rotated its keys, check the new key out of band and run `anvil-live connect --yes` again',
    });
  }
  return { bundle, signatures, ...(answer.channels ? { channels: answer.channels } : {}) };
}

/**
 * The forge's own decision (issue 18): a release it allows only on some channels — or refused,
 * and then not listed at all — is not installed for another channel, whatever the bundle says.
 */
export function checkForgeChannels(set: string, version: string, channels: readonly string[] | undefined, channel: string): void {
  if (channels === undefined || channels.includes(channel)) return;
  throw new AnvilError('install.channel', `the forge does not allow ${set}@${version} on ${channel} (allowed: ${channels.join(', ') || 'no channel'})`, {
    hint: 'choose a range whose releases the forge published to this channel, or another channel',
  });
}

/**
 * The channel's policy (DESIGN §6; receive/channel-policy.ts, the same rule a receiver applies
 * to what is pushed): only stable releases of `locked` sets reach production, however fetched.
 */
export function checkChannel(bundle: Bundle, channel: string): void {
  const verdict = channelAccepts(channel, bundle, 'set');
  if (!verdict.ok) throw new AnvilError('install.channel', `channel ${channel} refuses ${verdict.reason}`, { hint: verdict.hint });
}

export interface Resolution {
  lock: LockFile;
  /** Every locked release, by set. */
  releases: Map<string, VerifiedRelease>;
}

/**
 * Resolves each set of the config to its highest release inside its range, then follows the
 * bundles' dependencies (exact versions). A lock holds one version per set: when a dependency
 * needs another version of a set the app names, that version is taken if the app's range allows
 * it; any other disagreement is an error.
 */
export async function resolveLock(config: ResolvedLiveConfig, source: ReleaseSource): Promise<Resolution> {
  const names = Object.keys(config.sets).sort();
  if (names.length === 0) {
    throw new AnvilError('install.no-sets', 'the config names no prompt sets', { hint: 'add sets with ranges to "sets" in anvil-live.json, e.g. {"onboarding": "^1.2.0"}' });
  }
  const lists = new Map<string, ReleaseList>();
  const listOf = async (set: string): Promise<ReleaseList> => {
    let list = lists.get(set);
    if (!list) {
      list = await source.versions(set).catch((err: unknown) => {
        if ((err as AnvilError).code === 'forge.not-found') {
          throw new AnvilError('install.unknown-set', `the forge has no release of "${set}" in project ${config.project}`, { hint: 'check the set name in anvil-live.json', cause: err });
        }
        throw err;
      });
      lists.set(set, list);
    }
    return list;
  };
  const fetched = new Map<string, Promise<VerifiedRelease>>();
  const release = (set: string, version: string, integrity?: string): Promise<VerifiedRelease> => {
    const key = `${set}@${version}`;
    let pending = fetched.get(key);
    if (!pending) {
      pending = source.release(set, version, integrity);
      fetched.set(key, pending);
    }
    return pending;
  };

  const pins = new Map<string, string>();
  for (;;) {
    const chosen = new Map<string, VerifiedRelease>();
    for (const set of names) {
      const range = config.sets[set] as string;
      const list = await listOf(set);
      // Only releases the forge allows on this channel are candidates.
      const allowed = list.versions.filter((v) => v.channels === undefined || v.channels.includes(config.channel));
      // An alias (`stable`, issue 17) is what the forge says it names now; a lock then pins it.
      const aliased = isAlias(range) ? aliasVersion(set, range, list) : undefined;
      const version = pins.get(set) ?? aliased ?? semver.maxSatisfying(allowed.map((v) => v.version), range);
      const outside = version === null ? semver.maxSatisfying(list.versions.map((v) => v.version), range) : null;
      if (outside !== null) checkForgeChannels(set, outside, list.versions.find((v) => v.version === outside)?.channels, config.channel);
      if (version === null) {
        const known = list.versions.map((v) => v.version).sort(semver.compareBuild).slice(-10).join(', ');
        throw new AnvilError('install.no-match', `no release of ${set} satisfies ${range}${known ? ` (latest releases: ${known})` : ''}`, {
          hint: `change the range of ${set} in anvil-live.json`,
        });
      }
      const found = await release(set, version, list.versions.find((v) => v.version === version)?.integrity);
      checkChannel(found.bundle, config.channel);
      checkForgeChannels(set, version, found.channels ?? list.versions.find((v) => v.version === version)?.channels, config.channel);
      chosen.set(set, found);
    }

    const conflict = await followDependencies(chosen, release);
    if (!conflict) return { lock: lockOf(config, chosen), releases: chosen };
    const range = config.sets[conflict.set];
    if (range !== undefined && !isAlias(range) && !pins.has(conflict.set) && semver.satisfies(conflict.version, range)) {
      pins.set(conflict.set, conflict.version);
      continue;
    }
    throw new AnvilError(
      'install.conflict',
      `${conflict.by} needs ${conflict.set}@${conflict.version}, but ${conflict.set} is locked at ${conflict.locked}${range === undefined ? '' : ` (range ${range})`}; a lock holds one version per set`,
      { hint: `choose ranges that agree on one version of ${conflict.set}` },
    );
  }
}

/** A set's "range" that names an alias of the set instead (`"onboarding": "stable"`); never a range. */
export function isAlias(range: string): boolean {
  return isAliasName(range);
}

function aliasVersion(set: string, alias: string, list: ReleaseList): string {
  const version = list.aliases?.[alias];
  if (version === undefined) {
    const known = Object.keys(list.aliases ?? {});
    throw new AnvilError('install.unknown-alias', `the forge has no alias ${set}@${alias}${known.length > 0 ? ` (aliases of ${set}: ${known.join(', ')})` : ''}`, {
      hint: `aliases are set in the prompt repository's anvil.yaml (npx anvil alias set ${set} ${alias} <version>), and taken from its default branch; or give ${set} a range in anvil-live.json`,
    });
  }
  return version;
}

interface Conflict {
  set: string;
  version: string;
  locked: string;
  by: string;
}

/** Adds every dependency of `chosen` (transitively); reports the first version disagreement. */
async function followDependencies(
  chosen: Map<string, VerifiedRelease>,
  release: (set: string, version: string) => Promise<VerifiedRelease>,
): Promise<Conflict | undefined> {
  const queue = [...chosen.values()];
  for (let next = queue.shift(); next; next = queue.shift()) {
    const { bundle } = next;
    for (const [set, version] of Object.entries(bundle.dependencies).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const have = chosen.get(set);
      if (have) {
        if (have.bundle.version !== version) return { set, version, locked: have.bundle.version, by: `${bundle.set}@${bundle.version}` };
        continue;
      }
      const found = await release(set, version);
      chosen.set(set, found);
      queue.push(found);
    }
  }
  return undefined;
}

/** The lock file for these releases: keys in a fixed order, sets and dependencies sorted. */
export function lockOf(config: Pick<ResolvedLiveConfig, 'forge' | 'project' | 'channel'>, releases: ReadonlyMap<string, VerifiedRelease>): LockFile {
  const sets: LockFile['sets'] = {};
  for (const set of [...releases.keys()].sort()) {
    const { bundle } = releases.get(set) as VerifiedRelease;
    sets[set] = {
      version: bundle.version,
      integrity: bundle.integrity,
      resolved: releaseUrl(config.forge, config.project, set, bundle.version),
      dependencies: Object.fromEntries(Object.entries(bundle.dependencies).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    };
  }
  const lock: LockFile = { format: LOCK_FORMAT, project: config.project, forge: config.forge, channel: config.channel, sets };
  const checked = validateLockFile(lock);
  if (!checked.ok) {
    const [first] = checked.errors;
    throw new AnvilError('install.invalid-lock', `the resolved lock file does not validate: ${first ? formatIssue(first) : 'invalid'}`, { details: { errors: checked.errors } });
  }
  return lock;
}

/** The lock file's text: two-space JSON and a final newline, the same bytes for the same lock. */
export function lockText(lock: LockFile): string {
  return `${JSON.stringify(lock, null, 2)}\n`;
}

/**
 * Why `lock` does not install what `config` asks for, or undefined when it does: same forge,
 * project and channel, every set of the config locked inside its range, and nothing locked
 * that neither the config nor a locked dependency needs.
 */
export function lockOutOfDate(lock: LockFile, config: ResolvedLiveConfig): string | undefined {
  const trim = (url: string) => url.replace(/\/+$/, '');
  if (trim(lock.forge) !== trim(config.forge)) return `it was installed from ${lock.forge}, the config names ${config.forge}`;
  if (lock.project !== config.project) return `it is for project ${lock.project}, the config names ${config.project}`;
  if (lock.channel !== config.channel) return `it was resolved for channel ${lock.channel}, the config names ${config.channel}`;
  const needed = new Set<string>();
  const queue: string[] = [];
  for (const [set, range] of Object.entries(config.sets)) {
    const locked = lock.sets[set];
    if (!locked) return `${set} is not locked`;
    // An alias is resolved when installing, and the lock pins what it named then: a frozen install
    // installs that, without asking the forge where the alias points now.
    if (!isAlias(range) && !semver.satisfies(locked.version, range)) return `${set} is locked at ${locked.version}, outside the config's range ${range}`;
    queue.push(set);
  }
  for (let set = queue.pop(); set !== undefined; set = queue.pop()) {
    if (needed.has(set)) continue;
    needed.add(set);
    queue.push(...Object.keys(lock.sets[set]?.dependencies ?? {}));
  }
  const extra = Object.keys(lock.sets).filter((set) => !needed.has(set)).sort();
  if (extra.length > 0) return `it locks ${extra.join(', ')}, which the config no longer uses`;
  return undefined;
}
