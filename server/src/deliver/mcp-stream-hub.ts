/**
 * The server-to-client streams of MCP sessions (issue 17), on this replica: a host that opened a
 * session on the forge's MCP endpoint holds `GET …/mcp` open (http/mcp-routes.ts), and the forge
 * writes `notifications/prompts/list_changed` on it when the channel's prompts change — as
 * `anvil-live mcp` sends it on every apply. The host then lists again.
 *
 * - Which replica holds a stream does not matter: a publish on any replica is announced on the
 *   store's events (publish/announce-envelope.ts; LISTEN/NOTIFY between replicas), as for the
 *   receivers' streams (stream-hub.ts), and this hub reads the channel's served state from the
 *   store (mcp-served-state.ts).
 * - Each stream knows what its host was last told of — the served state when the session was
 *   opened, or the `Last-Event-ID` it reconnects with (each notification's event id is the state
 *   it announces) — and is notified only when the channel now serves something else. So a
 *   publish between the host's initialize and its GET is not missed, and a stream that
 *   reconnects is told only if it missed a change.
 * - Announcements are handled one after the other; a replica that may have missed some
 *   (`onMissed`) compares every stream's channel with what it was last told.
 * - The token of every stream is checked every second (and before each notification): a revoked
 *   one ends its streams, as the receivers' streams do. A keep-alive comment every 15 s; a host
 *   that does not read (1 MiB unread) is cut off.
 * - Limits: `streams:` in anvil-forge.yaml, `maxPerToken` and `maxPerProject`, counted apart from
 *   the receivers' streams.
 */
import type { ServerResponse } from 'node:http';
import type { JSONRPCNotification } from '@modelcontextprotocol/sdk/types.js';
import type { ForgeContext } from '../forge/forge-context.ts';
import { ENVELOPE_EVENTS, readAnnouncement } from '../publish/announce-envelope.ts';
import { tokensInForce } from './delivery-queue.ts';
import { readServedState } from './mcp-served-state.ts';
import { STREAM_DEFAULTS, type Admission } from './stream-hub.ts';

/** A host that leaves this much unread on its stream is cut off (a notification is ~80 bytes). */
const MAX_BUFFERED = 1024 * 1024;

const LIST_CHANGED: JSONRPCNotification = { jsonrpc: '2.0', method: 'notifications/prompts/list_changed' };

export interface McpStreamRequest {
  project: string;
  channel: string;
  /** The access token (id) of the session; null for the admin token. Revoking it ends the stream. */
  tokenId: string | null;
  /** The served state the host was last told of (its `Last-Event-ID`, or the session's). */
  told: string;
  res: ServerResponse;
}

export interface McpStreamHub {
  /** Whether one more stream of this token and project fits the limits. */
  admit(project: string, tokenId: string | null): Admission;
  /** Serves the stream until it ends (the host leaves, the token is revoked, the forge stops). */
  open(request: McpStreamRequest): Promise<void>;
  /** Open streams on this replica. */
  count(): number;
}

interface OpenStream {
  project: string;
  channel: string;
  tokenId: string | null;
  res: ServerResponse;
  told: string;
  closed: boolean;
}

const hubs = new WeakMap<ForgeContext, McpStreamHub>();

/** The replica's hub for `ctx`, made (and subscribed to the store's events) on its first stream. */
export function mcpStreamHubOf(ctx: ForgeContext): McpStreamHub {
  let hub = hubs.get(ctx);
  if (!hub) {
    hub = createMcpStreamHub(ctx);
    hubs.set(ctx, hub);
  }
  return hub;
}

/** The SSE event of a notification that the channel now serves `state`. */
export function listChangedEvent(state: string): string {
  return `event: message\nid: ${state}\ndata: ${JSON.stringify(LIST_CHANGED)}\n\n`;
}

function createMcpStreamHub(ctx: ForgeContext): McpStreamHub {
  const log = ctx.logger.child({ component: 'mcp-stream-hub' });
  const limits = () => ({
    maxPerToken: ctx.streams?.maxPerToken ?? STREAM_DEFAULTS.maxPerToken,
    maxPerProject: ctx.streams?.maxPerProject ?? STREAM_DEFAULTS.maxPerProject,
    keepAliveMs: ctx.streams?.keepAliveMs ?? STREAM_DEFAULTS.keepAliveMs,
    revocationCheckMs: ctx.streams?.revocationCheckMs ?? STREAM_DEFAULTS.revocationCheckMs,
  });
  const streams = new Set<OpenStream>();
  const byChannel = new Map<string, Set<OpenStream>>();
  const perToken = new Map<string, number>();
  const perProject = new Map<string, number>();
  let keepAlive: NodeJS.Timeout | undefined;
  let revocation: NodeJS.Timeout | undefined;
  // One thing at a time, so that a stream's notifications go out in the order of the changes.
  let lane: Promise<unknown> = Promise.resolve();
  const inLane = (work: () => Promise<void>): Promise<void> => {
    const done = lane.then(work).catch((err: unknown) => log.warn({ err }, 'MCP streams could not be told of a change'));
    lane = done;
    return done;
  };

  const channelKey = (project: string, channel: string) => `${project}\u0000${channel}`;
  const tokenKey = (tokenId: string | null) => tokenId ?? '\u0000admin';
  const bump = (map: Map<string, number>, key: string, by: number) => {
    const n = (map.get(key) ?? 0) + by;
    if (n > 0) map.set(key, n);
    else map.delete(key);
  };

  // Subscribed before a stream compares its state: a change announced after that is heard.
  const subscribed = ctx.events.subscribe(ENVELOPE_EVENTS, (payload) => {
    const announcement = readAnnouncement(payload);
    if (announcement) void inLane(() => notify(announcement.project, announcement.channel));
  }, { onMissed: () => void inLane(notifyAll) }).catch((err: unknown) => {
    log.error({ err }, 'the MCP streams cannot hear of publishes; a host is told of a change only when its stream reconnects');
  });

  function add(stream: OpenStream): void {
    streams.add(stream);
    const key = channelKey(stream.project, stream.channel);
    const set = byChannel.get(key) ?? new Set();
    set.add(stream);
    byChannel.set(key, set);
    bump(perToken, tokenKey(stream.tokenId), 1);
    bump(perProject, stream.project, 1);
    armTimers();
  }

  function remove(stream: OpenStream): void {
    if (!streams.delete(stream)) return;
    stream.closed = true;
    const key = channelKey(stream.project, stream.channel);
    byChannel.get(key)?.delete(stream);
    if (byChannel.get(key)?.size === 0) byChannel.delete(key);
    bump(perToken, tokenKey(stream.tokenId), -1);
    bump(perProject, stream.project, -1);
    if (streams.size === 0) {
      clearInterval(keepAlive);
      clearInterval(revocation);
      keepAlive = revocation = undefined;
    }
  }

  function end(stream: OpenStream, why: string): void {
    if (stream.closed) return;
    log.debug({ project: stream.project, channel: stream.channel, why }, 'MCP stream ended by the forge');
    remove(stream);
    stream.res.end();
  }

  function armTimers(): void {
    const { keepAliveMs, revocationCheckMs } = limits();
    keepAlive ??= setInterval(() => {
      for (const s of streams) write(s, ': keep-alive\n\n');
    }, keepAliveMs);
    keepAlive.unref();
    revocation ??= setInterval(() => void inForce([...streams]).catch((err: unknown) => log.warn({ err }, 'the tokens of open MCP streams could not be checked')), revocationCheckMs);
    revocation.unref();
  }

  function write(stream: OpenStream, text: string): boolean {
    if (stream.closed || stream.res.destroyed) return false;
    if (stream.res.writableLength > MAX_BUFFERED) {
      end(stream, 'the host does not read its stream');
      return false;
    }
    stream.res.write(text);
    return true;
  }

  /** Of `candidates`, those whose token is still in force; the others are ended. */
  async function inForce(candidates: readonly OpenStream[]): Promise<OpenStream[]> {
    const ids = [...new Set(candidates.flatMap((s) => (s.tokenId === null ? [] : [s.tokenId])))];
    const tokens = ids.length > 0 ? await tokensInForce(ctx, ids) : new Map();
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

  /** Tells the channel's streams (or `only` of them) if it serves something else than they were told. */
  async function notify(project: string, channel: string, only?: readonly OpenStream[]): Promise<void> {
    const open = [...(only ?? byChannel.get(channelKey(project, channel)) ?? [])].filter((s) => !s.closed);
    if (open.length === 0) return;
    const state = await readServedState(ctx, project, channel);
    const stale = open.filter((s) => s.told !== state);
    if (stale.length === 0) return;
    const event = listChangedEvent(state);
    let told = 0;
    for (const s of await inForce(stale)) {
      if (!write(s, event)) continue;
      s.told = state;
      told += 1;
    }
    log.info({ project, channel, state, streams: told, open: open.length }, 'MCP hosts told that the prompts changed');
  }

  async function notifyAll(): Promise<void> {
    for (const set of [...byChannel.values()]) {
      const first = [...set][0];
      if (first) await notify(first.project, first.channel).catch((err: unknown) => log.warn({ err }, 'MCP streams could not catch up'));
    }
  }

  return {
    admit(project, tokenId) {
      const { maxPerToken, maxPerProject } = limits();
      if ((perToken.get(tokenKey(tokenId)) ?? 0) >= maxPerToken) return { ok: false, reason: `this access token holds ${maxPerToken} MCP streams on this forge already` };
      if ((perProject.get(project) ?? 0) >= maxPerProject) return { ok: false, reason: `project ${project} has ${maxPerProject} MCP streams on this forge already` };
      return { ok: true };
    },

    async open(request) {
      const { res } = request;
      const stream: OpenStream = { project: request.project, channel: request.channel, tokenId: request.tokenId, res, told: request.told, closed: false };
      add(stream);
      res.on('close', () => remove(stream));
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // nginx and others buffer responses unless told not to: a notification must go out as written.
        'x-accel-buffering': 'no',
      });
      res.flushHeaders();
      write(stream, ': anvil mcp\n\n');
      await subscribed;
      // What changed since the host was last told: in the lane, so that it is ordered with the
      // announcements heard from now on.
      await inLane(() => notify(request.project, request.channel, [stream]));
    },

    count: () => streams.size,
  };
}
