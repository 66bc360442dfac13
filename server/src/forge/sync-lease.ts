/**
 * One replica at a time syncs a project (issue 16). Each replica has its own mirror and would
 * build and decide the same releases; the store is shared, so two syncs at once could both find
 * a release new. A lease row, not a lock held on a connection: a replica waiting for a project
 * holds no connection from the pool, and a replica that dies mid-sync lets go when the lease
 * runs out. The holder renews it while it works. On SQLite (one forge) it is always free.
 * An owner's own calls are not kept apart (taking it again renews it): a replica's syncs of one
 * project already take turns in its lanes (start-forge.ts).
 */
import { storeTime } from '../store/open-store.ts';
import type { Store } from '../store/open-store.ts';

export const SYNC_LEASE_MS = 60_000;

export interface SyncLeaseOptions {
  leaseMs?: number;
  /** Between tries while another replica holds it (with jitter). */
  retryMs?: number;
}

/** Runs `work` holding the project's sync lease, waiting for another replica's to end first. */
export async function withSyncLease<T>(db: Store, project: string, owner: string, work: () => Promise<T>, options: SyncLeaseOptions = {}): Promise<T> {
  const leaseMs = options.leaseMs ?? SYNC_LEASE_MS;
  const retryMs = options.retryMs ?? 250;
  while (!(await takeSyncLease(db, project, owner, leaseMs))) {
    await new Promise((resolve) => setTimeout(resolve, retryMs / 2 + Math.random() * retryMs));
  }
  const renew = setInterval(() => {
    db.updateTable('sync_leases').set({ expires_at: storeTime(Date.now() + leaseMs) })
      .where('project', '=', project).where('owner', '=', owner).execute().catch(() => undefined);
  }, Math.max(10, Math.floor(leaseMs / 3)));
  renew.unref();
  try {
    return await work();
  } finally {
    clearInterval(renew);
    await db.deleteFrom('sync_leases').where('project', '=', project).where('owner', '=', owner).execute().catch(() => undefined);
  }
}

/** Takes (or renews) the lease when it is free, expired or already `owner`'s; true when taken. */
export async function takeSyncLease(db: Store, project: string, owner: string, leaseMs = SYNC_LEASE_MS, now = Date.now()): Promise<boolean> {
  const until = storeTime(now + leaseMs);
  const row = await db.insertInto('sync_leases').values({ project, owner, expires_at: until })
    .onConflict((oc) => oc.column('project').doUpdateSet({ owner, expires_at: until })
      .where((eb) => eb.or([eb('sync_leases.expires_at', '<', storeTime(now)), eb('sync_leases.owner', '=', owner)])))
    .returning('owner').executeTakeFirst();
  return row?.owner === owner;
}
