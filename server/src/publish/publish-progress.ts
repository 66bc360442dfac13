/**
 * Where the pushes of a publish stand (`anvil publish`'s progress, `GET …/deliveries`, and the
 * dashboard's live table): the deliveries of its envelopes made since it started. An envelope id
 * is derived from its content, so an earlier publish of the same state shares it; `since` keeps
 * those out. Read from the store, not from the push worker's memory: another replica may be the
 * one pushing.
 *
 * Streaming receivers (issue 16) have no delivery rows: the envelope goes out on their stream
 * and their answer comes back as an ack, both recorded on the receiver's row. They are listed
 * beside the pushes — `pending` until the ack, then the ack's verdict — with an empty `url`.
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

/**
 * `release`: the set and version published, for the streaming receivers' rows (an envelope is a
 * channel's whole state, not one release); without it they take the pushes' of the same envelope.
 */
export async function publishProgress(
  db: Store, project: string, envelopes: readonly string[], since: string, release?: { set: string; version: string },
): Promise<DeliveryProgress[]> {
  if (envelopes.length === 0) return [];
  const asked = envelopes.slice(0, MAX_ENVELOPES);
  const rows = await db.selectFrom('deliveries')
    .select(['instance_id', 'url', 'set_name', 'version', 'state', 'attempts', 'last_status', 'last_code', 'last_reason', 'updated_at', 'envelope_id'])
    .where('project', '=', project).where('envelope_id', 'in', asked).where('created_at', '>=', since)
    .orderBy('instance_id').execute();
  const pushed: DeliveryProgress[] = rows.map((r) => ({
    instanceId: r.instance_id, url: r.url, set: r.set_name, version: r.version, envelope: r.envelope_id, state: r.state, attempts: r.attempts,
    status: r.last_status, code: r.last_code, reason: r.last_reason, updatedAt: r.updated_at,
  }));
  const streams = await db.selectFrom('receivers')
    .select(['instance_id', 'stream_sent_envelope', 'stream_sent_at', 'stream_acked_envelope', 'stream_acked_at', 'last_delivery_state', 'last_delivery_status', 'last_delivery_code', 'last_delivery_reason'])
    .where('project', '=', project).where('transport', '=', 'stream').where('stream_sent_envelope', 'in', asked).where('stream_sent_at', '>=', since)
    .orderBy('instance_id').execute();
  if (streams.length === 0) return pushed;
  const releaseOf = (envelope: string) => release ?? pushed.find((p) => p.envelope === envelope) ?? { set: '', version: '' };
  const streamed = streams.map((r): DeliveryProgress => {
    const envelope = r.stream_sent_envelope!;
    const { set, version } = releaseOf(envelope);
    const acked = r.stream_acked_envelope === envelope && r.stream_acked_at !== null && r.stream_acked_at >= r.stream_sent_at!;
    const state = acked && isDeliveryState(r.last_delivery_state) ? r.last_delivery_state : 'pending';
    return {
      instanceId: r.instance_id, url: '', set, version, envelope, state, attempts: 1,
      status: acked ? r.last_delivery_status : null, code: acked ? r.last_delivery_code : 'stream.sent', reason: acked ? r.last_delivery_reason : null,
      updatedAt: (acked ? r.stream_acked_at : r.stream_sent_at)!,
    };
  });
  return [...pushed, ...streamed].sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
}

const DELIVERY_STATES: ReadonlySet<string> = new Set<DeliveryState>(['pending', 'delivered', 'frozen', 'stale', 'failed', 'gone', 'superseded']);

function isDeliveryState(state: string | null): state is DeliveryState {
  return state !== null && DELIVERY_STATES.has(state);
}

/** How many deliveries ended in each state: the result line under the table. */
export function progressTally(rows: readonly DeliveryProgress[]): Record<string, number> {
  const tally: Record<string, number> = {};
  for (const r of rows) tally[r.state] = (tally[r.state] ?? 0) + 1;
  return tally;
}
