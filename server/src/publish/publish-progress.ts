/**
 * Where the pushes of a publish stand (`anvil publish`'s progress, `GET …/deliveries`, and the
 * dashboard's live table): the deliveries of its envelopes made since it started. An envelope id
 * is derived from its content, so an earlier publish of the same state shares it; `since` keeps
 * those out. Read from the store, not from the push worker's memory: another replica may be the
 * one pushing.
 */
import type { DeliveryState } from '../store/database.ts';
import type { Store } from '../store/open-store.ts';

export interface DeliveryProgress {
  instanceId: string;
  url: string;
  set: string;
  version: string;
  envelope: string;
  state: DeliveryState;
  attempts: number;
  status: number | null;
  code: string | null;
  reason: string | null;
  updatedAt: string;
}

/** At most this many envelopes per question: one publish makes one per channel. */
export const MAX_ENVELOPES = 10;

/** A delivery that will not change any more (`pending` is still being tried). */
export function isSettled(state: string): boolean {
  return state !== 'pending';
}

export async function publishProgress(db: Store, project: string, envelopes: readonly string[], since: string): Promise<DeliveryProgress[]> {
  if (envelopes.length === 0) return [];
  const rows = await db.selectFrom('deliveries')
    .select(['instance_id', 'url', 'set_name', 'version', 'state', 'attempts', 'last_status', 'last_code', 'last_reason', 'updated_at', 'envelope_id'])
    .where('project', '=', project).where('envelope_id', 'in', envelopes.slice(0, MAX_ENVELOPES)).where('created_at', '>=', since)
    .orderBy('instance_id').execute();
  return rows.map((r) => ({
    instanceId: r.instance_id, url: r.url, set: r.set_name, version: r.version, envelope: r.envelope_id, state: r.state, attempts: r.attempts,
    status: r.last_status, code: r.last_code, reason: r.last_reason, updatedAt: r.updated_at,
  }));
}

/** How many deliveries ended in each state: the result line under the table. */
export function progressTally(rows: readonly DeliveryProgress[]): Record<string, number> {
  const tally: Record<string, number> = {};
  for (const r of rows) tally[r.state] = (tally[r.state] ?? 0) + 1;
  return tally;
}
