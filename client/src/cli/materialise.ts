/**
 * Locked releases → the receiver's cache: every bundle written (bundles first, DESIGN §10),
 * then one state naming them, so that an app started on this cache serves exactly the lock
 * without asking the forge anything.
 */
import { randomUUID } from 'node:crypto';
import {
  RECEIVER_STATE_FORMAT,
  canonicalJson,
  type LockFile,
  type ReceiverState,
  type ResolvedLiveConfig,
} from '@anvil/content-schema';
import type { DiskCache, LoadedCache } from '../cache/disk-cache.ts';
import type { ReleaseSource, VerifiedRelease } from './resolve-lock.ts';
import { checkRelease } from './resolve-lock.ts';

/**
 * A release source that takes bundles already in the cache (verified again, against the
 * config's keys) before asking `fallback`, so that a warm cache installs offline.
 */
export function cachedFirst(cached: LoadedCache | undefined, config: ResolvedLiveConfig, fallback: ReleaseSource): ReleaseSource & { fromCache: number } {
  const byVersion = new Map<string, string>();
  for (const [integrity, kept] of Object.entries(cached?.state.bundles ?? {})) byVersion.set(`${kept.set}@${kept.version}`, integrity);
  const source = {
    fromCache: 0,
    versions: (set: string) => fallback.versions(set),
    async release(set: string, version: string, integrity?: string): Promise<VerifiedRelease> {
      const have = integrity ?? byVersion.get(`${set}@${version}`);
      const bundle = have === undefined ? undefined : cached?.bundles.get(have);
      const kept = have === undefined ? undefined : cached?.state.bundles[have];
      if (bundle && kept && bundle.set === set && bundle.version === version) {
        try {
          const found = checkRelease({ bundle, signatures: kept.signatures }, { project: config.project, set, version, integrity }, config.forgeKeys);
          source.fromCache++;
          return found;
        } catch {
          // Not trusted under the config's keys (they changed): fetch it again.
        }
      }
      return fallback.release(set, version, integrity);
    },
  };
  return source;
}

export interface Materialised {
  state: ReceiverState;
  written: number;
}

/**
 * Writes the lock's bundles and commits a state serving the config's sets at their locked
 * versions. An existing state keeps its instance id, mode and seen webhook ids; its ETag is
 * dropped, since the state no longer is what that envelope produced.
 */
export async function materialise(
  cache: DiskCache,
  existing: ReceiverState | undefined,
  config: ResolvedLiveConfig,
  lock: LockFile,
  releases: ReadonlyMap<string, VerifiedRelease>,
): Promise<Materialised> {
  let written = 0;
  const bundles: ReceiverState['bundles'] = {};
  for (const set of Object.keys(lock.sets)) {
    const found = releases.get(set) as VerifiedRelease;
    const outcome = await cache.writeBundle(canonicalJson(found.bundle), found.bundle.integrity);
    if (outcome !== 'kept') written++;
    bundles[found.bundle.integrity] = { set, version: found.bundle.version, signatures: found.signatures };
  }
  const sets: ReceiverState['sets'] = {};
  for (const set of Object.keys(config.sets).sort()) {
    const locked = lock.sets[set];
    if (locked) sets[set] = { version: locked.version, integrity: locked.integrity };
  }
  // Another project's receiver is another receiver: it gets its own id.
  const kept = existing?.project === config.project ? existing : undefined;
  const state: ReceiverState = {
    format: RECEIVER_STATE_FORMAT,
    forge: config.forge,
    project: config.project,
    channel: config.channel,
    mode: kept?.mode ?? config.mode,
    forgeKeys: { ...config.forgeKeys },
    sets,
    bundles,
    seenWebhookIds: kept?.seenWebhookIds ?? [],
    instanceId: kept?.instanceId ?? `anvil-${randomUUID()}`,
  };
  await cache.commit(state);
  return { state, written };
}
