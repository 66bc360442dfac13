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
 *
 * Keeping the streams open (limits, keep-alive, token checks, cut-off, the announcements' lane) is
 * sse-registry.ts, shared with the receivers' streams; this file is what the hosts are told.
 */
import type { ServerResponse } from 'node:http';
import type { JSONRPCNotification } from '@modelcontextprotocol/sdk/types.js';
import type { ForgeContext } from '../forge/forge-context.ts';
import { readServedState } from './mcp-served-state.ts';
import { createSseRegistry, type Admission, type SseStream } from './sse-registry.ts';

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

interface OpenStream extends SseStream {
  /** The served state the host was last told of. */
  told: string;
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
  const streams = createSseRegistry<OpenStream>(ctx, {
    log,
    noun: 'MCP streams',
    maxBuffered: MAX_BUFFERED,
    notReading: 'the host does not read its stream',
    ended: 'MCP stream ended by the forge',
    endedFields: (s) => ({ project: s.project, channel: s.channel }),
    laneFailed: 'MCP streams could not be told of a change',
    deaf: 'the MCP streams cannot hear of publishes; a host is told of a change only when its stream reconnects',
    announced: (announcement) => notify(announcement.project, announcement.channel),
    missed: notifyAll,
  });

  /** Tells the channel's streams (or `only` of them) if it serves something else than they were told. */
  async function notify(project: string, channel: string, only?: readonly OpenStream[]): Promise<void> {
    const open = (only ?? streams.onChannel(project, channel)).filter((s) => !s.closed);
    if (open.length === 0) return;
    const state = await readServedState(ctx, project, channel);
    const stale = open.filter((s) => s.told !== state);
    if (stale.length === 0) return;
    const event = listChangedEvent(state);
    let told = 0;
    for (const s of await streams.inForce(stale)) {
      if (!streams.write(s, event)) continue;
      s.told = state;
      told += 1;
    }
    log.info({ project, channel, state, streams: told, open: open.length }, 'MCP hosts told that the prompts changed');
  }

  async function notifyAll(): Promise<void> {
    for (const set of streams.channels()) {
      const first = [...set][0];
      if (first) await notify(first.project, first.channel).catch((err: unknown) => log.warn({ err }, 'MCP streams could not catch up'));
    }
  }

  return {
    admit: (project, tokenId) => streams.admit(project, tokenId),

    async open(request) {
      const stream: OpenStream = { project: request.project, channel: request.channel, tokenId: request.tokenId, res: request.res, told: request.told, closed: false };
      streams.attach(stream, ': anvil mcp\n\n');
      await streams.subscribed;
      // What changed since the host was last told: in the lane, so that it is ordered with the
      // announcements heard from now on.
      await streams.inLane(() => notify(request.project, request.channel, [stream]));
    },

    count: () => streams.count(),
  };
}
