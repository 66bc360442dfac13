/**
 * Replicas of one forge on a shared PostgreSQL (issue 16) must hold the same signing keys and
 * the same sealing key (docs/forge.md). A replica started with keys of its own — a new data
 * directory, where the first start makes new keys — would sign envelopes that receivers which
 * pinned the other replicas' key refuse, and could not open the push tokens they sealed. So each
 * running replica records the key ids it publishes and a probe sealed with its secret box, and a
 * replica whose keys share nothing with a running one's, or that cannot open its probe, refuses
 * to start, naming the other replica and the file to copy.
 *
 * The rows are refreshed while a replica runs and removed when it stops; a replica not seen for
 * REPLICA_STALE_MS (killed, its host gone) no longer counts.
 */
import os from 'node:os';
import path from 'node:path';
import { AnvilError } from '@anvil/content-schema';
import { storeTime } from '../store/open-store.ts';
import type { ForgeContext } from './forge-context.ts';

export const REPLICA_HEARTBEAT_MS = 30_000;
export const REPLICA_STALE_MS = 4 * REPLICA_HEARTBEAT_MS;
/** What each replica seals: another replica opens it only with the same sealing key. */
const SECRETS_PROBE = 'anvil-replica-probe/1';

/** How this replica is named among the others: its host and data directory. */
export function replicaName(dataDir: string, host = os.hostname()): string {
  return `${host}:${path.resolve(dataDir)}`;
}

export interface ReplicaRecord {
  replica: string;
  activeKey: string;
  keyIds: string[];
  secretsProbe: string;
  seenAt: number;
}

export interface ReplicaConflict {
  code: 'forge.key-mismatch' | 'forge.secrets-mismatch';
  other: ReplicaRecord;
}

/**
 * Why `mine` cannot run beside the replicas in `others`, or undefined. Pure. Keys conflict when
 * they share no key id: during a rotation (the new key file on one replica, not yet on another)
 * the two still share the old key, which every receiver trusts, so that is allowed.
 */
export function replicaConflict(
  mine: Pick<ReplicaRecord, 'replica' | 'keyIds'>, others: readonly ReplicaRecord[], opensProbe: (sealed: string) => boolean, now: number,
): ReplicaConflict | undefined {
  for (const other of others) {
    if (other.replica === mine.replica || now - other.seenAt > REPLICA_STALE_MS) continue;
    if (!other.keyIds.some((id) => mine.keyIds.includes(id))) return { code: 'forge.key-mismatch', other };
    if (!opensProbe(other.secretsProbe)) return { code: 'forge.secrets-mismatch', other };
  }
  return undefined;
}

export interface JoinedReplica {
  name: string;
  /** Stops the heartbeat and removes this replica's row (a clean stop is not a stale replica). */
  leave(): Promise<void>;
}

/** Checks this replica against the running ones, records it, and keeps its row fresh. Throws a `forge.*-mismatch` AnvilError. */
export async function joinReplicas(ctx: ForgeContext, name = replicaName(ctx.dataDir)): Promise<JoinedReplica> {
  const keyIds = ctx.keys.published().map((k) => k.keyId);
  const mine = { replica: name, activeKey: ctx.keys.active.keyId, keyIds };
  const opensProbe = (sealed: string) => {
    try {
      return ctx.secrets.open(sealed) === SECRETS_PROBE;
    } catch {
      return false;
    }
  };
  const check = async () => {
    const conflict = replicaConflict(mine, await readReplicas(ctx), opensProbe, Date.now());
    if (conflict) throw conflictError(conflict, ctx.dataDir);
  };
  await check();
  const at = storeTime();
  const row = { active_key: mine.activeKey, key_ids: JSON.stringify(keyIds), secrets_probe: ctx.secrets.seal(SECRETS_PROBE), started_at: at, seen_at: at };
  await ctx.db.insertInto('forge_replicas').values({ replica: name, ...row })
    .onConflict((oc) => oc.column('replica').doUpdateSet(row)).execute();
  // Two replicas started at the same moment both found the other absent: look once more.
  try {
    await check();
  } catch (err) {
    await ctx.db.deleteFrom('forge_replicas').where('replica', '=', name).execute();
    throw err;
  }
  const heartbeat = setInterval(() => {
    ctx.db.updateTable('forge_replicas').set({ seen_at: storeTime() }).where('replica', '=', name).execute()
      .catch((err: unknown) => ctx.logger.warn({ err }, 'could not record that this replica is running'));
  }, REPLICA_HEARTBEAT_MS);
  heartbeat.unref();
  return {
    name,
    async leave() {
      clearInterval(heartbeat);
      await ctx.db.deleteFrom('forge_replicas').where('replica', '=', name).execute().catch(() => undefined);
    },
  };
}

async function readReplicas(ctx: ForgeContext): Promise<ReplicaRecord[]> {
  const rows = await ctx.db.selectFrom('forge_replicas').selectAll().execute();
  return rows.map((r) => ({
    replica: r.replica, activeKey: r.active_key, keyIds: JSON.parse(r.key_ids) as string[], secretsProbe: r.secrets_probe, seenAt: Date.parse(r.seen_at),
  }));
}

function conflictError(conflict: ReplicaConflict, dataDir: string): AnvilError {
  const { other } = conflict;
  const seen = `seen ${Math.max(0, Math.round((Date.now() - other.seenAt) / 1000))} s ago`;
  const copy = (file: string) => `stop this forge, copy ${file} from ${other.replica.replace(/^[^:]*:/, '')} on ${other.replica.split(':')[0]} into ${path.join(path.resolve(dataDir), file)}, and start it again: every replica needs the same file (docs/forge.md, "One forge, or several on PostgreSQL")`;
  if (conflict.code === 'forge.key-mismatch') {
    return new AnvilError(conflict.code, `another replica of this forge (${other.replica}, ${seen}) signs with key ${other.activeKey}, which this one does not have: receivers that trust one replica would refuse what the other sends`, {
      hint: copy('keys/signing.json'),
      details: { replica: other.replica, keyIds: other.keyIds },
    });
  }
  return new AnvilError(conflict.code, `another replica of this forge (${other.replica}, ${seen}) seals receivers' tokens with another key than this one: pushes sealed by one could not be sent by the other`, {
    hint: copy('keys/seal.key'),
    details: { replica: other.replica },
  });
}
