/**
 * The streams of streaming receivers (issue 16), on this replica: a receiver with no inbound
 * port holds `GET …/stream` open (http/stream-routes.ts), and the forge writes on it the signed
 * envelopes it would have pushed — the same body, the same Standard Webhooks signature over
 * "id.timestamp.body" — as server-sent events (content-schema stream-event.ts).
 *
 * - On connect: the channel's current envelope, unless the receiver says (`Last-Event-ID`) that
 *   it holds exactly that one; then every envelope the channel publishes, as it is announced on
 *   the store's events (publish/announce-envelope.ts), from this replica or another one.
 * - Who gets an announced envelope is who the push queue would push it to (delivery-queue.ts
 *   enqueueDeliveries): the receiver registered on the channel, accepting, not gone or revoked,
 *   its range allowing the version, and — read again before each send, as the push worker does
 *   (issue 18) — the token its stream was opened with still in force.
 * - The token of every open stream is checked every second too, so revoking it (through the API,
 *   the dashboard or `anvil token revoke` on the forge host) ends its streams at once.
 * - A keep-alive comment every 15 s, so that proxies keep the connection and the receiver knows
 *   it is alive; a receiver that does not read (its buffer past MAX_BUFFERED) is cut off.
 * - What was sent is written on the receiver's row (`stream_sent_*`, last delivery `sent`); the
 *   receiver's answer comes back as an ack (stream-acks.ts), recorded and audited like a push's.
 * - Events between replicas are at most once: when they may have been missed, every stream is
 *   sent its channel's current envelope if that is not the last one it was sent.
 *
 * Keeping the streams open (limits, keep-alive, token checks, cut-off, the announcements' lane) is
 * sse-registry.ts, shared with the MCP hosts' streams; this file is what is written on them.
 */
import type { ServerResponse } from 'node:http';
import { encodeStreamEnvelope, signWebhook } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import { announcedBody, type EnvelopeAnnouncement } from '../publish/announce-envelope.ts';
import { channelEnvelope } from '../publish/channel-state.ts';
import { storeTime } from '../store/open-store.ts';
import { rangeAllows } from './delivery-queue.ts';
import { createSseRegistry, type Admission, type SseStream } from './sse-registry.ts';

export { STREAM_DEFAULTS, type Admission } from './sse-registry.ts';

/** A stream whose receiver does not read this much of what was written is cut off. */
const MAX_BUFFERED = 64 * 1024 * 1024;
/** Signed frames are kept this long per envelope (the receivers' window is ±5 min), for many streams. */
const FRAME_REUSE_MS = 60_000;
const FRAME_CACHE = 16;
const BODY_CACHE = 16;
const CHUNK = 500;

export interface StreamRequest {
  project: string;
  channel: string;
  instanceId: string;
  /** The access token (id) the stream was opened with: revoking it ends the stream. */
  tokenId: string;
  /** The envelope the receiver holds (`Last-Event-ID`), if it said. */
  lastEventId: string | undefined;
  res: ServerResponse;
}

export interface StreamHub {
  /** Whether one more stream of this token and project fits the limits. */
  admit(project: string, tokenId: string): Admission;
  /** Serves the stream until it ends (the receiver leaves, the token is revoked, the forge stops). */
  open(request: StreamRequest): Promise<void>;
  /** Open streams on this replica. */
  count(): number;
}

interface OpenStream extends SseStream {
  instanceId: string;
  tokenId: string;
  /** The connect-time envelope has been written: announcements go out at once. */
  ready: boolean;
  /** Announcements that came before that, sent right after it. */
  queued: EnvelopeAnnouncement[];
  /** The envelope last written on this stream. */
  lastSent: string | undefined;
}

const hubs = new WeakMap<ForgeContext, StreamHub>();

/** The replica's hub for `ctx`, made (and subscribed to the store's events) on first use. */
export function streamHubOf(ctx: ForgeContext): StreamHub {
  let hub = hubs.get(ctx);
  if (!hub) {
    hub = createStreamHub(ctx);
    hubs.set(ctx, hub);
  }
  return hub;
}

function createStreamHub(ctx: ForgeContext): StreamHub {
  const log = ctx.logger.child({ component: 'stream-hub' });
  const frames = new Map<string, { frame: string; signedAt: number }>();
  const bodies = new Map<string, Promise<string | undefined>>();
  const streams = createSseRegistry<OpenStream>(ctx, {
    log,
    noun: 'streams',
    maxBuffered: MAX_BUFFERED,
    notReading: 'the receiver does not read its stream',
    ended: 'stream ended by the forge',
    endedFields: (s) => ({ project: s.project, instanceId: s.instanceId }),
    laneFailed: 'an envelope could not be sent on the streams',
    deaf: 'the stream hub cannot hear announced envelopes; streams get them only when they connect',
    announced: fanOut,
    missed: catchUpAll,
    counted: (open) => ctx.metrics.streamsOpen.set(open),
  });

  /** The envelope as an event, signed once and shared by every stream for a while. */
  function frameOf(id: string, body: string): string {
    const now = Date.now();
    const cached = frames.get(id);
    if (cached && now - cached.signedAt < FRAME_REUSE_MS) return cached.frame;
    const timestamp = Math.floor(now / 1000);
    // The id a push of it would carry is per delivery; on streams it is per envelope: a
    // receiver that applied it answers a repeat 200 `duplicate`, as it would a retried push.
    const webhookId = `stm-${id}`;
    const signature = ctx.keys.signers.map((key) => signWebhook(key, { id: webhookId, timestamp, body: Buffer.from(body, 'utf8') })).join(' ');
    const frame = encodeStreamEnvelope({ id, headers: { 'webhook-id': webhookId, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature }, body });
    frames.delete(id);
    frames.set(id, { frame, signedAt: now });
    if (frames.size > FRAME_CACHE) frames.delete(frames.keys().next().value!);
    return frame;
  }

  function envelopeBody(id: string): Promise<string | undefined> {
    // Announced by this replica: the body is at hand (another replica's is read from the store).
    const announced = announcedBody(ctx, id);
    if (announced !== undefined) return Promise.resolve(announced);
    let cached = bodies.get(id);
    if (!cached) {
      cached = ctx.db.selectFrom('envelopes').select('body').where('id', '=', id).executeTakeFirst().then((row) => row?.body);
      bodies.set(id, cached);
      cached.then((b) => b ?? bodies.delete(id), () => bodies.delete(id));
      if (bodies.size > BODY_CACHE) bodies.delete(bodies.keys().next().value!);
    }
    return cached;
  }

  /** Writes the envelope on these streams and records it on their receivers. */
  async function send(targets: readonly OpenStream[], id: string, body: string, written?: () => void): Promise<void> {
    if (targets.length === 0) return;
    const frame = frameOf(id, body);
    const sent = new Map<string, string[]>();
    for (const s of targets) {
      if (!streams.write(s, frame)) continue;
      s.lastSent = id;
      sent.set(s.project, [...(sent.get(s.project) ?? []), s.instanceId]);
    }
    written?.();
    await recordSent(sent, id);
  }

  async function recordSent(sent: ReadonlyMap<string, readonly string[]>, envelope: string): Promise<void> {
    const at = storeTime();
    for (const [project, ids] of sent) {
      for (let i = 0; i < ids.length; i += CHUNK) {
        const chunk = ids.slice(i, i + CHUNK);
        await ctx.db.updateTable('receivers').set({ stream_sent_envelope: envelope, stream_sent_at: at })
          .where('project', '=', project).where('instance_id', 'in', chunk).execute();
        // Shown as the last delivery until the receiver answers (unless its answer came first).
        await ctx.db.updateTable('receivers')
          .set({ last_delivery_at: at, last_delivery_state: 'sent', last_delivery_status: null, last_delivery_code: 'stream.sent', last_delivery_reason: null })
          .where('project', '=', project).where('instance_id', 'in', chunk)
          .where((eb) => eb.or([eb('stream_acked_envelope', 'is', null), eb('stream_acked_envelope', '!=', envelope)]))
          .execute();
      }
    }
  }

  /**
   * Of these streams, the ones the push queue would deliver `announcement` to (see the top of
   * the file); streams whose token or receiver is no longer in force are ended.
   */
  async function takers(candidates: readonly OpenStream[], announcement: EnvelopeAnnouncement): Promise<OpenStream[]> {
    const rows = new Map<string, { mode: string; ranges: string; gone_at: string | null; revoked_at: string | null; transport: string; channel: string }>();
    const ids = [...new Set(candidates.map((s) => s.instanceId))];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const found = await ctx.db.selectFrom('receivers').select(['instance_id', 'mode', 'ranges', 'gone_at', 'revoked_at', 'transport', 'channel'])
        .where('project', '=', announcement.project).where('instance_id', 'in', ids.slice(i, i + CHUNK)).execute();
      for (const r of found) rows.set(r.instance_id, r);
    }
    const ranges = new Map<string, Record<string, string>>();
    const taking: OpenStream[] = [];
    for (const s of await streams.inForce(candidates)) {
      const row = rows.get(s.instanceId);
      if (!row || row.gone_at !== null || row.revoked_at !== null || row.transport !== 'stream' || row.channel !== s.channel) {
        streams.end(s, 'the receiver is no longer registered to stream on this channel');
        continue;
      }
      if (row.mode !== 'accepting') continue;
      let parsed = ranges.get(row.ranges);
      if (!parsed) ranges.set(row.ranges, (parsed = parseMap(row.ranges)));
      if (rangeAllows(parsed, announcement.set, announcement.version)) taking.push(s);
    }
    return taking;
  }

  async function fanOut(announcement: EnvelopeAnnouncement): Promise<void> {
    const open = streams.onChannel(announcement.project, announcement.channel);
    if (open.length === 0) return;
    for (const s of open) if (!s.ready) s.queued.push(announcement);
    const ready = open.filter((s) => s.ready);
    if (ready.length === 0) return;
    const started = performance.now();
    const body = await envelopeBody(announcement.envelope);
    if (body === undefined) {
      log.warn({ ...announcement }, 'an announced envelope is not in the store');
      return;
    }
    const taking = await takers(ready, announcement);
    let writtenMs = 0;
    await send(taking, announcement.envelope, body, () => (writtenMs = performance.now() - started));
    // ms: from the announcement to the last stream written; recorded: and on the receivers' rows.
    log.info({ ...announcement, streams: taking.length, open: open.length, ms: Math.round(writtenMs), recordedMs: Math.round(performance.now() - started) }, 'streamed');
  }

  /** The channel's current envelope to `targets`, each unless it holds (or was last sent) that one. */
  async function sendCurrent(project: string, channel: string, targets: readonly OpenStream[], holds: (s: OpenStream) => string | undefined): Promise<void> {
    const envelope = await channelEnvelope(ctx, project, channel);
    if (!envelope) return;
    await send(targets.filter((s) => !s.closed && holds(s) !== envelope.id), envelope.id, envelope.body);
  }

  async function catchUpAll(): Promise<void> {
    const channels = streams.channels().map((set) => [...set].filter((s) => s.ready));
    for (const targets of channels) {
      const first = targets[0];
      if (first) await sendCurrent(first.project, first.channel, targets, (s) => s.lastSent).catch((err: unknown) => log.warn({ err }, 'streams could not catch up'));
    }
  }

  return {
    admit: (project, tokenId) => streams.admit(project, tokenId),

    async open(request) {
      const stream: OpenStream = {
        project: request.project, channel: request.channel, instanceId: request.instanceId, tokenId: request.tokenId, res: request.res,
        ready: false, queued: [], lastSent: undefined, closed: false,
      };
      streams.attach(stream, ': anvil stream\n\n');
      try {
        await streams.subscribed;
        await ctx.db.updateTable('receivers').set({ last_seen_at: storeTime() })
          .where('project', '=', request.project).where('instance_id', '=', request.instanceId).execute();
        await sendCurrent(request.project, request.channel, [stream], () => request.lastEventId);
        // What was announced meanwhile, in order; the receiver judges whether it is new.
        while (stream.queued.length > 0 && !stream.closed) {
          const next = stream.queued.shift()!;
          const body = await envelopeBody(next.envelope);
          if (body !== undefined) await send(await takers([stream], next), next.envelope, body);
        }
      } catch (err) {
        log.warn({ err, project: request.project, instanceId: request.instanceId }, 'a stream could not be started');
        streams.end(stream, 'failed to start');
        return;
      }
      stream.ready = true;
    },

    count: () => streams.count(),
  };
}

function parseMap(text: string): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}
