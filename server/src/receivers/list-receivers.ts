/**
 * Receivers as people and tools see them (`anvil receivers`, `GET …/receivers`): channel, mode,
 * transport (pushed, or streaming: issue 16), versions, when each was last seen, and how the last
 * delivery to it went, from the columns the push worker (or, for a stream, the stream hub and the
 * receiver's acknowledgements) fills. A receiver that missed its heartbeats for a while is `stale`; one that left (or
 * answered 410) is `gone`; one whose access token was revoked is `revoked` (issue 18: it gets no
 * pushes until it registers with a valid token). The query is thin; the view and the table are pure.
 */
import type { Receiver } from '../store/database.ts';
import { describeRangeStatus, hasUnsatisfiedRange, rangeSatisfaction, type RangeStatus } from './range-satisfaction.ts';
import type { Store } from '../store/open-store.ts';

/** Heartbeats come every 30 s by default: four missed ones make a receiver stale. */
export const DEFAULT_STALE_AFTER_MS = 2 * 60_000;

export type ReceiverStatus = 'active' | 'stale' | 'gone' | 'revoked';

export interface LastDelivery {
  at: string;
  /** The delivery state it ended in (delivered, frozen, stale, failed, gone) or `pending` (retrying). */
  state: string | null;
  status: number | null;
  code: string | null;
  reason: string | null;
}

/** What went out on a streaming receiver's stream, and what it acknowledged. */
export interface StreamDelivery {
  /** The envelope last sent on the stream, and when. */
  sentEnvelope: string | null;
  sentAt: string | null;
  /** The envelope it last acknowledged, and when; its answer is `lastDelivery`. */
  ackedEnvelope: string | null;
  ackedAt: string | null;
}

export interface ReceiverView {
  project: string;
  instanceId: string;
  /** The push URL; empty for a streaming receiver. */
  url: string;
  /** `push`: the forge POSTs to `url`; `stream`: the receiver holds an outbound stream (issue 16). */
  transport: 'push' | 'stream';
  channel: string;
  mode: 'accepting' | 'frozen';
  status: ReceiverStatus;
  ranges: Record<string, string>;
  versions: Record<string, string>;
  registeredAt: string;
  lastSeenAt: string;
  goneAt: string | null;
  /** The access token (id) it registered with, when known; never the token. */
  tokenId: string | null;
  /** When that token was revoked, ending its pushes. */
  revokedAt: string | null;
  lastDelivery: LastDelivery | null;
  /** Streaming receivers only. */
  stream?: StreamDelivery;
  /**
   * Per set with a declared range: the range, the version served, and whether it satisfies the
   * range (issue 17; range-satisfaction.ts). Always set by `receiverView`.
   */
  rangeStatus?: Record<string, RangeStatus>;
}

export interface ListReceiversOptions {
  project?: string | undefined;
  /** Leave out receivers that are gone. */
  activeOnly?: boolean | undefined;
  staleAfterMs?: number | undefined;
  now?: number | undefined;
  channel?: string | undefined;
  /** One page of the listing, in its order (the dashboard's receivers page). */
  limit?: number | undefined;
  offset?: number | undefined;
}

export async function listReceivers(db: Store, options: ListReceiversOptions = {}): Promise<ReceiverView[]> {
  let q = db.selectFrom('receivers').selectAll().orderBy('project').orderBy('channel').orderBy('instance_id');
  if (options.project !== undefined) q = q.where('project', '=', options.project);
  if (options.activeOnly) q = q.where('gone_at', 'is', null);
  if (options.channel !== undefined) q = q.where('channel', '=', options.channel);
  if (options.limit !== undefined) q = q.limit(options.limit).offset(options.offset ?? 0);
  const now = options.now ?? Date.now();
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  return (await q.execute()).map((row) => receiverView(row, now, staleAfterMs));
}

/** How many receivers `listReceivers` would list with these options (without a page). */
export async function countReceivers(db: Store, options: Pick<ListReceiversOptions, 'project' | 'activeOnly' | 'channel'> = {}): Promise<number> {
  let q = db.selectFrom('receivers').select((eb) => eb.fn.countAll<number>().as('n'));
  if (options.project !== undefined) q = q.where('project', '=', options.project);
  if (options.activeOnly) q = q.where('gone_at', 'is', null);
  if (options.channel !== undefined) q = q.where('channel', '=', options.channel);
  return Number((await q.executeTakeFirst())?.n ?? 0);
}

/** One row as shown: never the sealed push token. */
export function receiverView(row: Receiver, now: number, staleAfterMs: number = DEFAULT_STALE_AFTER_MS): ReceiverView {
  const status: ReceiverStatus = row.revoked_at !== null ? 'revoked'
    : row.gone_at !== null ? 'gone'
      : Date.parse(row.last_seen_at) + staleAfterMs < now ? 'stale' : 'active';
  const ranges = jsonMap(row.ranges);
  const versions = jsonMap(row.versions);
  return {
    project: row.project,
    instanceId: row.instance_id,
    url: row.url,
    transport: row.transport === 'stream' ? 'stream' : 'push',
    channel: row.channel,
    mode: row.mode,
    status,
    ranges,
    versions,
    registeredAt: row.registered_at,
    lastSeenAt: row.last_seen_at,
    goneAt: row.gone_at,
    tokenId: row.token_id,
    revokedAt: row.revoked_at,
    lastDelivery: row.last_delivery_at === null ? null : {
      at: row.last_delivery_at,
      state: row.last_delivery_state,
      status: row.last_delivery_status,
      code: row.last_delivery_code,
      reason: row.last_delivery_reason,
    },
    ...(row.transport === 'stream' ? {
      stream: { sentEnvelope: row.stream_sent_envelope, sentAt: row.stream_sent_at, ackedEnvelope: row.stream_acked_envelope, ackedAt: row.stream_acked_at },
    } : {}),
    rangeStatus: rangeSatisfaction(ranges, versions),
  };
}

/** A receiver's JSON map column (versions, ranges) as text → text; anything else reads as empty. */
export function jsonMap(text: string): Record<string, string> {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}

/** `12s ago`, `5m ago`, `3h ago`, `2d ago`. */
export function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3_600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3_600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/**
 * The last delivery in a few words: `delivered 200`, `failed 422 envelope.integrity: …`; for a
 * stream, `sent` until the receiver acknowledges, then its answer like a push's.
 */
export function describeDelivery(last: LastDelivery | null, now: number): string {
  if (!last) return '—';
  const parts = [last.state === 'pending' ? 'retrying' : last.state ?? '?'];
  if (last.status !== null) parts.push(String(last.status));
  let text = parts.join(' ');
  if (last.state !== 'delivered' && last.state !== 'sent' && (last.code || last.reason)) {
    const why = [last.code, last.reason].filter(Boolean).join(': ');
    text += ` ${why.length > 80 ? `${why.slice(0, 79)}…` : why}`;
  }
  return `${text} (${ago(last.at, now)})`;
}

export interface TableStyle {
  /** Wraps text in an SGR colour (a no-op when not on a TTY). */
  colour?: (code: number, text: string) => string;
  /**
   * The RANGES column (issue 17): `always`, or `auto` (the default): only when a receiver serves
   * a version outside its declared range, so that it cannot go unseen.
   */
  ranges?: 'always' | 'auto';
}

/** A fixed-width table, one receiver a line; colour marks stale, gone, revoked and failed ones. */
export function formatReceiverTable(views: readonly ReceiverView[], now: number, style: TableStyle = {}): string {
  const paint = style.colour ?? ((_code: number, text: string) => text);
  const manyProjects = new Set(views.map((v) => v.project)).size > 1;
  const statusOf = (v: ReceiverView) => v.rangeStatus ?? rangeSatisfaction(v.ranges, v.versions);
  const showRanges = style.ranges === 'always' || views.some((v) => hasUnsatisfiedRange(statusOf(v)));
  const header = [...(manyProjects ? ['PROJECT'] : []), 'INSTANCE', 'CHANNEL', 'MODE', 'TRANSPORT', 'STATUS', 'VERSIONS', 'LAST SEEN', 'LAST DELIVERY', ...(showRanges ? ['RANGES'] : [])];
  const rows = views.map((v) => [
    ...(manyProjects ? [v.project] : []),
    v.instanceId,
    v.channel,
    v.mode,
    v.transport,
    v.status,
    Object.entries(v.versions).map(([set, version]) => `${set}@${version}`).join(', ') || '—',
    ago(v.lastSeenAt, now),
    describeDelivery(v.lastDelivery, now),
    ...(showRanges ? [Object.entries(statusOf(v)).map(([set, st]) => describeRangeStatus(set, st)).join(', ') || '—'] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const out = [paint(1, line(header))];
  rows.forEach((cells, i) => {
    const view = views[i]!;
    const text = line(cells);
    if (view.status === 'gone' || view.status === 'revoked') out.push(paint(2, text));
    else if (view.status === 'stale') out.push(paint(33, text));
    else if (view.lastDelivery?.state === 'failed' || hasUnsatisfiedRange(statusOf(view))) out.push(paint(31, text));
    else out.push(text);
  });
  return out.join('\n');
}
