/**
 * The open server-sent-event streams of one kind, on this replica, and all that keeping them
 * open takes — whatever they carry. Two hubs use it, each with its own registry (their limits
 * are counted apart): the streaming receivers' envelope streams (stream-hub.ts, issue 16) and the
 * MCP hosts' session streams (mcp-stream-hub.ts, issue 17).
 *
 * - The streams, by channel, counted per access token and per project against the `streams:`
 *   limits of anvil-forge.yaml (`admit`).
 * - A keep-alive comment on every stream every keepAliveMs, so that proxies keep the connection;
 *   a client that leaves more than `maxBuffered` unread is cut off rather than held in memory.
 * - The tokens of the open streams checked every revocationCheckMs, so that revoking one ends
 *   its streams at once. Both timers run only while a stream is open.
 * - The store's envelope announcements (ENVELOPE_EVENTS, from any replica), subscribed to before
 *   any stream is served and handled one after the other in a lane, so that each stream gets
 *   what follows from them in their order.
 */
import type { ServerResponse } from 'node:http';
import type { ForgeContext, StreamSettings } from '../forge/forge-context.ts';
import type { Logger } from '../forge/logger.ts';
import { ENVELOPE_EVENTS, readAnnouncement, type EnvelopeAnnouncement } from '../publish/announce-envelope.ts';
import { tokensInForce } from './delivery-queue.ts';

type Settings = { [K in keyof StreamSettings]-?: number };

export const STREAM_DEFAULTS: Settings = { maxPerToken: 5_000, maxPerProject: 20_000, keepAliveMs: 15_000, revocationCheckMs: 1_000 };

export type Admission = { ok: true } | { ok: false; reason: string };

/** What the registry needs of a stream; each hub's record adds what it writes by. */
export interface SseStream {
  readonly project: string;
  readonly channel: string;
  /** The access token (id) it was opened with; null for the forge's admin token, which no revocation ends. */
  readonly tokenId: string | null;
  readonly res: ServerResponse;
  /** Set when the stream leaves the registry: nothing more is written on it. */
  closed: boolean;
}

export interface SseRegistryOptions<S extends SseStream> {
  log: Logger;
  /** The streams, as refusals and logs name them ("streams", "MCP streams"). */
  noun: string;
  /** A client that leaves more than this unread (bytes) is cut off. */
  maxBuffered: number;
  /** Why a stream whose client does not read was ended, as logged. */
  notReading: string;
  /** The debug line of a stream the forge ended, and the fields of the stream it names. */
  ended: string;
  endedFields: (stream: S) => Record<string, unknown>;
  /** Logged (warn) when work in the lane fails. */
  laneFailed: string;
  /** Logged (error) when the announcements cannot be subscribed to. */
  deaf: string;
  /** An envelope was announced (run in the lane). */
  announced: (announcement: EnvelopeAnnouncement) => Promise<void>;
  /** Announcements may have been missed (run in the lane): catch up from the store. */
  missed: () => Promise<void>;
  /** Told the number of open streams whenever it changes (a metrics gauge). */
  counted?: ((open: number) => void) | undefined;
}

export interface SseRegistry<S extends SseStream> {
  /** Settles once announcements are heard (or could not be subscribed to, which is logged). */
  readonly subscribed: Promise<void>;
  /** Whether one more stream of this token and project fits the limits. */
  admit(project: string, tokenId: string | null): Admission;
  /** Registers `stream` until its response closes, and opens the event stream with a `greeting` comment. */
  attach(stream: S, greeting: string): void;
  /** Ends the stream from the forge's side; `why` is logged. */
  end(stream: S, why: string): void;
  /** Writes on the stream, unless it is closed or its client does not read (then it is ended); whether it wrote. */
  write(stream: S, text: string): boolean;
  /** Of `candidates`, those still open whose token is in force; the others are ended. */
  inForce(candidates: readonly S[]): Promise<S[]>;
  /** Runs `work` after what the lane holds; settles when it is done (a failure is logged, never thrown). */
  inLane(work: () => Promise<void>): Promise<void>;
  /** The open streams of a channel, now. */
  onChannel(project: string, channel: string): S[];
  /** The open streams, grouped by channel, now. */
  channels(): ReadonlySet<S>[];
  /** Every open stream. */
  all(): ReadonlySet<S>;
  count(): number;
}

const channelKey = (project: string, channel: string) => `${project}\u0000${channel}`;
// The admin token has no id; its streams are counted together, under a key no id can be.
const tokenKey = (tokenId: string | null) => tokenId ?? '\u0000admin';

function bump(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}

/** A hub's registry, subscribed to the envelope announcements at once. */
export function createSseRegistry<S extends SseStream>(ctx: ForgeContext, options: SseRegistryOptions<S>): SseRegistry<S> {
  const { log, noun } = options;
  const settings = (): Settings => ({
    maxPerToken: ctx.streams?.maxPerToken ?? STREAM_DEFAULTS.maxPerToken,
    maxPerProject: ctx.streams?.maxPerProject ?? STREAM_DEFAULTS.maxPerProject,
    keepAliveMs: ctx.streams?.keepAliveMs ?? STREAM_DEFAULTS.keepAliveMs,
    revocationCheckMs: ctx.streams?.revocationCheckMs ?? STREAM_DEFAULTS.revocationCheckMs,
  });
  const streams = new Set<S>();
  const byChannel = new Map<string, Set<S>>();
  const perToken = new Map<string, number>();
  const perProject = new Map<string, number>();
  let keepAlive: NodeJS.Timeout | undefined;
  let revocation: NodeJS.Timeout | undefined;
  let lane: Promise<void> = Promise.resolve();

  function inLane(work: () => Promise<void>): Promise<void> {
    const done = lane.then(work).catch((err: unknown) => log.warn({ err }, options.laneFailed));
    lane = done;
    return done;
  }

  // Subscribed before any stream is served: what is announced after a stream read its channel's
  // state reaches it (a hub has each stream wait for this before reading).
  const subscribed = ctx.events.subscribe(ENVELOPE_EVENTS, (payload) => {
    const announcement = readAnnouncement(payload);
    if (announcement) void inLane(() => options.announced(announcement));
  }, { onMissed: () => void inLane(options.missed) }).then(() => undefined, (err: unknown) => {
    log.error({ err }, options.deaf);
  });

  function add(stream: S): void {
    streams.add(stream);
    const key = channelKey(stream.project, stream.channel);
    const set = byChannel.get(key) ?? new Set();
    set.add(stream);
    byChannel.set(key, set);
    bump(perToken, tokenKey(stream.tokenId), 1);
    bump(perProject, stream.project, 1);
    options.counted?.(streams.size);
    armTimers();
  }

  function remove(stream: S): void {
    if (!streams.delete(stream)) return;
    stream.closed = true;
    const key = channelKey(stream.project, stream.channel);
    byChannel.get(key)?.delete(stream);
    if (byChannel.get(key)?.size === 0) byChannel.delete(key);
    bump(perToken, tokenKey(stream.tokenId), -1);
    bump(perProject, stream.project, -1);
    options.counted?.(streams.size);
    if (streams.size === 0) {
      clearInterval(keepAlive);
      clearInterval(revocation);
      keepAlive = revocation = undefined;
    }
  }

  function end(stream: S, why: string): void {
    if (stream.closed) return;
    log.debug({ ...options.endedFields(stream), why }, options.ended);
    remove(stream);
    stream.res.end();
  }

  function armTimers(): void {
    const { keepAliveMs, revocationCheckMs } = settings();
    keepAlive ??= setInterval(() => {
      for (const s of streams) write(s, ': keep-alive\n\n');
    }, keepAliveMs);
    keepAlive.unref();
    revocation ??= setInterval(() => void inForce([...streams]).catch((err: unknown) => log.warn({ err }, `the tokens of open ${noun} could not be checked`)), revocationCheckMs);
    revocation.unref();
  }

  function write(stream: S, text: string): boolean {
    if (stream.closed || stream.res.destroyed) return false;
    if (stream.res.writableLength > options.maxBuffered) {
      end(stream, options.notReading);
      return false;
    }
    stream.res.write(text);
    return true;
  }

  async function inForce(candidates: readonly S[]): Promise<S[]> {
    const ids = [...new Set(candidates.flatMap((s) => (s.tokenId === null ? [] : [s.tokenId])))];
    const tokens = ids.length > 0 ? await tokensInForce(ctx, ids) : new Map<string, never>();
    // Judged on the streams asked about: one opened during the read is not in `tokens`.
    return candidates.filter((s) => {
      if (s.tokenId === null) return !s.closed;
      const token = tokens.get(s.tokenId);
      if (!token || token.revoked || token.project !== s.project) {
        end(s, 'token revoked');
        return false;
      }
      return !s.closed;
    });
  }

  return {
    subscribed,

    admit(project, tokenId) {
      const { maxPerToken, maxPerProject } = settings();
      if ((perToken.get(tokenKey(tokenId)) ?? 0) >= maxPerToken) return { ok: false, reason: `this access token holds ${maxPerToken} ${noun} on this forge already` };
      if ((perProject.get(project) ?? 0) >= maxPerProject) return { ok: false, reason: `project ${project} has ${maxPerProject} ${noun} on this forge already` };
      return { ok: true };
    },

    attach(stream, greeting) {
      add(stream);
      stream.res.on('close', () => remove(stream));
      stream.res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // nginx and others buffer responses unless told not to: events must go out as written.
        'x-accel-buffering': 'no',
      });
      stream.res.flushHeaders();
      write(stream, greeting);
    },

    end,
    write,
    inForce,
    inLane,
    onChannel: (project, channel) => [...(byChannel.get(channelKey(project, channel)) ?? [])],
    channels: () => [...byChannel.values()],
    all: () => streams,
    count: () => streams.size,
  };
}
