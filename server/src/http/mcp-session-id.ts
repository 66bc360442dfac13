/**
 * Session ids of the forge's MCP endpoint (issue 17), self-contained so that any replica serves
 * any request of a session with no session table and no sticky routing: the id is the session
 * itself — the access token it was opened with, the project, the channel, and what the channel
 * served then — sealed with the forge's `seal.key` (AES-256-GCM, forge/secret-box.ts), which
 * every replica holds (docs/forge.md, "One forge, or several on PostgreSQL"). GCM authenticates
 * what it seals: an id not made with that key, or changed by one bit, does not open. Sealing
 * rather than signing also keeps the token id out of the host's configuration and logs.
 *
 * Nothing is kept per session, so a session cannot be ended but by its token: revoking the token
 * ends the session's use (the token gate refuses every request, and the streams check it).
 */
import type { ForgeContext } from '../forge/forge-context.ts';

export interface McpSession {
  /** The access token (id) the session was opened with; null for the forge's admin token. */
  tokenId: string | null;
  project: string;
  channel: string;
  /** What the channel served when the session was opened (deliver/mcp-served-state.ts). */
  served: string;
  /** When it was opened (ms since the epoch). */
  openedAt: number;
}

/** Who presents a session id: the caller the token gate let through, and the URL's channel. */
export interface McpSessionHolder {
  tokenId: string | null;
  project: string;
  channel: string;
}

export type McpSessionCheck =
  | { ok: true; session: McpSession }
  | { ok: false; code: 'mcp.session-unknown' | 'mcp.session-mismatch'; reason: string; hint: string };

type Sealer = ForgeContext['secrets'];

/** Told apart from anything else sealed with the same key (receivers' push tokens). */
const PURPOSE = 'anvil-mcp-session/1';
/** An id is ~200 characters; anything much longer is not one of ours, and is not opened. */
const MAX_SESSION_ID = 1024;
/** The MCP spec: a session id holds visible ASCII only (0x21 to 0x7E). */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

export function mintMcpSessionId(box: Sealer, session: McpSession): string {
  const sealed = box.seal(JSON.stringify({ k: PURPOSE, t: session.tokenId, p: session.project, c: session.channel, s: session.served, at: session.openedAt }));
  if (!VISIBLE_ASCII.test(sealed)) throw new Error('unreachable: a sealed session id is base64');
  return sealed;
}

/** The session an id holds, or undefined when it is not an id this forge made. */
export function readMcpSessionId(box: Sealer, id: string): McpSession | undefined {
  if (id.length > MAX_SESSION_ID || !VISIBLE_ASCII.test(id)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(box.open(id));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v['k'] !== PURPOSE || (v['t'] !== null && typeof v['t'] !== 'string') || typeof v['p'] !== 'string' || typeof v['c'] !== 'string'
    || typeof v['s'] !== 'string' || typeof v['at'] !== 'number') return undefined;
  return { tokenId: v['t'], project: v['p'], channel: v['c'], served: v['s'], openedAt: v['at'] };
}

const AGAIN = 'initialize again (POST initialize with no Mcp-Session-Id header) to start a new session';

/**
 * Whether `id` is a session of `holder`: made by this forge, with the same token, for the same
 * project and channel. Either way a refusal is "no such session" (404 in MCP), after which a
 * host initializes again — which is right for each case: the token was replaced, the URL
 * changed, or the forge's sealing key did.
 */
export function checkMcpSession(box: Sealer, id: string, holder: McpSessionHolder): McpSessionCheck {
  const session = readMcpSessionId(box, id);
  if (!session) {
    return { ok: false, code: 'mcp.session-unknown', reason: 'the Mcp-Session-Id is not a session of this forge (or of its current sealing key)', hint: AGAIN };
  }
  const mismatch = (what: string): McpSessionCheck => ({ ok: false, code: 'mcp.session-mismatch', reason: `this MCP session was opened ${what}`, hint: `a session is used with the token, project and channel that opened it: ${AGAIN}` });
  if (session.tokenId !== holder.tokenId) return mismatch(session.tokenId === null ? 'with the admin token, not this access token' : 'with another access token');
  if (session.project !== holder.project) return mismatch('for another project');
  if (session.channel !== holder.channel) return mismatch(`for channel ${session.channel}, not ${holder.channel}`);
  return { ok: true, session };
}
