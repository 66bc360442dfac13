/**
 * Prompts over MCP (issue 17), under `/api/v1/projects/:project`, after the token gate and
 * `express.json()`:
 *
 *   POST   /mcp?channel=<c>   MCP Streamable HTTP: initialize, prompts/list, prompts/get       token
 *   GET    /mcp?channel=<c>   the session's stream: notifications/prompts/list_changed          token + session
 *   DELETE /mcp?channel=<c>   405: a session ends with its token (nothing is kept to delete)
 *
 * What a channel serves now — each set's current bundle, as in its envelope — listed and rendered
 * exactly as `anvil-live mcp` does over a receiver's cache (@anvil/client/mcp): the same names
 * (`set/id`, `set/id:variant`), arguments, renderer and `_meta`. Any token that may pull the
 * channel's envelope may read it here (the gate in front of every project route).
 *
 * Sessions, on any replica (the forge may run as several behind a load balancer with no sticky
 * routing): `initialize` is answered with an `Mcp-Session-Id` that holds the session itself —
 * token, project, channel, what the channel served then — sealed with the key every replica
 * shares (mcp-session-id.ts). So any replica answers a POST of the session, each from the
 * channel's state at that moment with a fresh SDK server (the SDK's own sessions live in one
 * process's memory); and the replica that takes the host's GET holds its stream, told of every
 * publish through the store's events (deliver/mcp-stream-hub.ts). A session id that is not this
 * forge's, or was opened with another token, project or channel, is 404 — the MCP answer after
 * which a host initializes again. A POST with no session id is answered as before sessions, so a
 * host that ignores the header keeps working (it only gets no notifications).
 *
 * A rollout is not applied: a forge is not an instance with a place in one, so every caller gets
 * the channel's head.
 */
import { Router, type Request, type Response } from 'express';
import { CHANNELS, type Bundle, type Envelope } from '@anvil/content-schema';
import { createStoreSnapshot } from '@anvil/client';
import { createMcpPromptServer, type McpPromptSet, type McpPromptSource, type McpSdk } from '@anvil/client/mcp';
import { mcpStreamHubOf } from '../deliver/mcp-stream-hub.ts';
import { readServedHeads, servedState } from '../deliver/mcp-served-state.ts';
import type { ForgeContext } from '../forge/forge-context.ts';
import { channelEnvelope } from '../publish/channel-state.ts';
import { sendError } from './http-errors.ts';
import { checkMcpSession, mintMcpSessionId, type McpSession } from './mcp-session-id.ts';
import { callerOf } from './require-token.ts';

const VERSION = '1';
/** `Last-Event-ID` longer than this is ignored (a served state is 36 characters). */
const MAX_EVENT_ID = 256;

/**
 * The SDK is loaded on the first MCP request, not with the forge: importing it takes about a
 * second on a small machine (measured: ~1 s for the SDK against ~0.5 s for Express, Xeon, 2 cores),
 * which every `anvil serve` and `anvil dev` start would pay for an endpoint most never use.
 */
let sdkLoading: Promise<{ sdk: McpSdk; Transport: typeof import('@modelcontextprotocol/sdk/server/streamableHttp.js').StreamableHTTPServerTransport }> | undefined;
function loadSdk() {
  return (sdkLoading ??= Promise.all([
    import('@modelcontextprotocol/sdk/server/index.js'),
    import('@modelcontextprotocol/sdk/types.js'),
    import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
  ]).then(([server, types, http]) => ({ sdk: { server, types }, Transport: http.StreamableHTTPServerTransport })));
}

export function mcpRoutes(ctx: ForgeContext): Router {
  const router = Router({ mergeParams: true });

  /** The URL's channel, or undefined once the refusal is sent. */
  const channelOf = (req: Request, res: Response): string | undefined => {
    const channel = typeof req.query['channel'] === 'string' ? req.query['channel'] : '';
    if ((CHANNELS as readonly string[]).includes(channel)) return channel;
    sendError(res, 400, 'request.channel', `channel must be one of ${CHANNELS.join(', ')}`, 'add ?channel=production (or staging, development) to the MCP server URL');
    return undefined;
  };
  const holderOf = (req: Request, res: Response, channel: string) => {
    const caller = callerOf(res);
    return { tokenId: caller.kind === 'project' ? caller.tokenId : null, project: String(req.params['project']), channel };
  };
  /** The session `Mcp-Session-Id` names, or undefined once the refusal is sent. */
  const sessionOf = (res: Response, id: string, holder: ReturnType<typeof holderOf>): McpSession | undefined => {
    const check = checkMcpSession(ctx.secrets, id, holder);
    if (check.ok) return check.session;
    sendError(res, 404, check.code, check.reason, check.hint);
    return undefined;
  };

  router.post('/mcp', async (req: Request, res: Response) => {
    const channel = channelOf(req, res);
    if (!channel) return;
    const holder = holderOf(req, res, channel);
    const { sdk, Transport } = await loadSdk();
    const initializing = (Array.isArray(req.body) ? req.body as unknown[] : [req.body]).some((m) => sdk.types.isInitializeRequest(m));
    // initialize starts a new session whatever it carries; anything else is held to its session.
    const presented = sessionHeader(req);
    if (!initializing && presented !== undefined && !sessionOf(res, presented, holder)) return;

    const { served, source } = await channelSource(ctx, holder.project, channel);
    const mcp = await createMcpPromptServer(source, {
      name: `${ctx.name} (${holder.project}/${channel})`,
      version: VERSION,
      sdk,
      instructions: `Prompts of the Anvil project ${holder.project} as published on ${channel}, named set/id.`,
    });
    // A fresh transport per request. For initialize it has a session id to answer with; for the
    // rest it is stateless, the session having been checked above.
    const transport = initializing
      ? new Transport({ enableJsonResponse: true, sessionIdGenerator: () => mintMcpSessionId(ctx.secrets, { ...holder, served, openedAt: Date.now() }) })
      : new Transport({ enableJsonResponse: true });
    res.on('close', () => void mcp.close().catch(() => undefined));
    await mcp.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });

  router.get('/mcp', async (req: Request, res: Response) => {
    const channel = channelOf(req, res);
    if (!channel) return;
    if (!String(req.headers.accept ?? '').includes('text/event-stream')) {
      return sendError(res, 406, 'mcp.accept', 'the MCP stream is server-sent events', 'send `Accept: text/event-stream`');
    }
    const presented = sessionHeader(req);
    if (presented === undefined) {
      return sendError(res, 400, 'mcp.session-missing', 'the MCP stream belongs to a session: send the Mcp-Session-Id header the forge answered initialize with',
        'POST initialize first; its answer carries the Mcp-Session-Id header');
    }
    const holder = holderOf(req, res, channel);
    const session = sessionOf(res, presented, holder);
    if (!session) return;
    const { sdk } = await loadSdk();
    const version = req.headers['mcp-protocol-version'];
    if (typeof version === 'string' && !sdk.types.SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      return sendError(res, 400, 'mcp.protocol-version', `MCP protocol version ${version.slice(0, 40)} is not supported here`, `use one of ${sdk.types.SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`);
    }
    const hub = mcpStreamHubOf(ctx);
    const admitted = hub.admit(holder.project, holder.tokenId);
    if (!admitted.ok) {
      res.setHeader('retry-after', '30');
      return sendError(res, 429, 'mcp.too-many-streams', admitted.reason, 'another replica may take it; otherwise raise `streams` limits in anvil-forge.yaml, or use more tokens');
    }
    const lastEventId = req.headers['last-event-id'];
    const told = typeof lastEventId === 'string' && lastEventId !== '' && lastEventId.length <= MAX_EVENT_ID ? lastEventId : session.served;
    // A stream lives as long as the host holds it: no socket timeout (keep-alives flow the other way).
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    await hub.open({ project: holder.project, channel, tokenId: holder.tokenId, told, res });
  });

  router.delete('/mcp', (_req: Request, res: Response) => {
    res.setHeader('allow', 'GET, POST');
    sendError(res, 405, 'mcp.method', 'MCP sessions on this forge are not deleted: the forge keeps nothing per session, and a session ends when its token is revoked',
      'close the GET stream to stop notifications; the MCP transport allows a server to answer DELETE with 405');
  });
  return router;
}

/** The `Mcp-Session-Id` header, if the request has one. */
function sessionHeader(req: Request): string | undefined {
  const id = req.headers['mcp-session-id'];
  return typeof id === 'string' && id !== '' ? id : undefined;
}

interface ChannelSource {
  /** What the channel serves (mcp-served-state.ts): the id of its heads. */
  served: string;
  source: McpPromptSource;
}

/** Parsed and indexed once per served state: the same heads give the same prompts. */
const sources = new WeakMap<ForgeContext, Map<string, ChannelSource>>();

/** The channel's current heads as a prompt source; none when nothing is published there yet. */
async function channelSource(ctx: ForgeContext, project: string, channel: string): Promise<ChannelSource> {
  const heads = await readServedHeads(ctx, project, channel);
  const served = servedState(heads);
  if (heads.length === 0) return { served, source: EMPTY };
  const slot = `${project}\u0000${channel}`;
  const cache = sources.get(ctx) ?? new Map<string, ChannelSource>();
  sources.set(ctx, cache);
  const known = cache.get(slot);
  if (known?.served === served) return known;

  // The heads name which bundles are served; the envelope carries them with their dependencies
  // (and rollouts, not served here).
  const envelope = await channelEnvelope(ctx, project, channel);
  const bundles = envelope ? (JSON.parse(envelope.body) as Envelope).bundles : [];
  const byIntegrity = new Map(bundles.map((b) => [b.integrity, b]));
  const sets: Record<string, { bundle: Bundle }> = {};
  for (const head of heads) {
    const bundle = byIntegrity.get(head.integrity);
    if (bundle) sets[head.set_name] = { bundle };
  }
  const snapshot = createStoreSnapshot({ sets, bundles });
  const listed: McpPromptSet[] = Object.keys(sets).sort().map((set) => ({ set, prompts: sets[set]!.bundle.prompts }));
  const source: McpPromptSource = {
    sets: () => listed,
    messages: (id, vars, options) => snapshot.messages(id, vars, options),
    track: (id, options) => snapshot.track(id, options),
  };
  const made = { served, source };
  // A publish between reading the heads and composing the envelope: answer this request with
  // what the envelope has, but do not keep it under heads it does not match.
  if (Object.keys(sets).length === heads.length) {
    if (cache.size > 256) cache.clear();
    cache.set(slot, made);
  }
  return made;
}

const EMPTY: McpPromptSource = {
  sets: () => [],
  messages: () => [],
  track: (id) => {
    throw new Error(`unreachable: no prompt "${id}" is listed`);
  },
};
