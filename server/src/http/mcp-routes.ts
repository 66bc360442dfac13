/**
 * Prompts over MCP (issue 17), under `/api/v1/projects/:project`, after the token gate and
 * `express.json()`:
 *
 *   POST /mcp?channel=<c>   MCP Streamable HTTP: initialize, prompts/list, prompts/get    token
 *
 * What a channel serves now — each set's current bundle, as in its envelope — listed and rendered
 * exactly as `anvil-live mcp` does over a receiver's cache (@anvil/client/mcp): the same names
 * (`set/id`, `set/id:variant`), arguments, renderer and `_meta`. Any token that may pull the
 * channel's envelope may read it here (the gate in front of every project route).
 *
 * Stateless (the SDK transport without session ids): each request is answered from the channel's
 * envelope at that moment, so a new version is served as soon as it is published, by whichever
 * replica takes the request, with no session to keep or lose. The price: no server-to-client
 * stream, so no `list_changed` notification (GET answers 405, as the MCP transport allows);
 * a host lists again when it wants the current prompts. A rollout is not applied: a forge is not
 * an instance with a place in one, so every caller gets the channel's head.
 */
import { Router, type Request, type Response } from 'express';
import { CHANNELS, type Bundle, type Envelope } from '@anvil/content-schema';
import { createStoreSnapshot } from '@anvil/client';
import { createMcpPromptServer, type McpPromptSet, type McpPromptSource, type McpSdk } from '@anvil/client/mcp';
import type { ForgeContext } from '../forge/forge-context.ts';
import { channelEnvelope } from '../publish/channel-state.ts';
import { sendError } from './http-errors.ts';

const VERSION = '1';

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

  router.post('/mcp', async (req: Request, res: Response) => {
    const project = String(req.params['project']);
    const channel = typeof req.query['channel'] === 'string' ? req.query['channel'] : '';
    if (!(CHANNELS as readonly string[]).includes(channel)) {
      return sendError(res, 400, 'request.channel', `channel must be one of ${CHANNELS.join(', ')}`, 'add ?channel=production (or staging, development) to the MCP server URL');
    }
    const [source, { sdk, Transport }] = await Promise.all([channelSource(ctx, project, channel), loadSdk()]);
    const mcp = await createMcpPromptServer(source, {
      name: `${ctx.name} (${project}/${channel})`,
      version: VERSION,
      sdk,
      instructions: `Prompts of the Anvil project ${project} as published on ${channel}, named set/id.`,
    });
    const transport = new Transport({ enableJsonResponse: true }) // no sessionIdGenerator: stateless;
    res.on('close', () => void mcp.close().catch(() => undefined));
    await mcp.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });

  const noStream = (_req: Request, res: Response) => {
    res.setHeader('allow', 'POST');
    sendError(res, 405, 'mcp.method', 'this MCP endpoint is stateless: POST requests only (no session, no server-sent stream)', 'list prompts again to see a new version');
  };
  router.get('/mcp', noStream);
  router.delete('/mcp', noStream);
  return router;
}

interface ChannelSource {
  envelope: string;
  source: McpPromptSource;
}

/** Parsed and indexed once per envelope: the same channel state gives the same envelope id. */
const sources = new WeakMap<ForgeContext, Map<string, ChannelSource>>();

/** The channel's current heads as a prompt source; none when nothing is published there yet. */
async function channelSource(ctx: ForgeContext, project: string, channel: string): Promise<McpPromptSource> {
  const envelope = await channelEnvelope(ctx, project, channel);
  if (!envelope) return EMPTY;
  const slot = `${project}\u0000${channel}`;
  const cache = sources.get(ctx) ?? new Map<string, ChannelSource>();
  sources.set(ctx, cache);
  const known = cache.get(slot);
  if (known?.envelope === envelope.id) return known.source;

  // The heads name which bundles are served; the envelope also carries rollouts and dependencies.
  const heads = await ctx.db.selectFrom('channel_heads').select(['set_name', 'integrity'])
    .where('project', '=', project).where('channel', '=', channel).execute();
  const bundles = (JSON.parse(envelope.body) as Envelope).bundles;
  const byIntegrity = new Map(bundles.map((b) => [b.integrity, b]));
  const served: Record<string, { bundle: Bundle }> = {};
  for (const head of heads) {
    const bundle = byIntegrity.get(head.integrity);
    if (bundle) served[head.set_name] = { bundle };
  }
  const snapshot = createStoreSnapshot({ sets: served, bundles });
  const sets: McpPromptSet[] = Object.keys(served).sort().map((set) => ({ set, prompts: served[set]!.bundle.prompts }));
  const source: McpPromptSource = {
    sets: () => sets,
    messages: (id, vars, options) => snapshot.messages(id, vars, options),
    track: (id, options) => snapshot.track(id, options),
  };
  if (cache.size > 256) cache.clear();
  cache.set(slot, { envelope: envelope.id, source });
  return source;
}

const EMPTY: McpPromptSource = {
  sets: () => [],
  messages: () => [],
  track: (id) => {
    throw new Error(`unreachable: no prompt "${id}" is listed`);
  },
};
