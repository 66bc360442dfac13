/**
 * The gate of `/api/v1/projects/:project/…` (DESIGN §9): a Bearer access token of that very
 * project — a token of one project can do nothing in another — or, where a route allows it, the
 * forge's admin token. Who is calling is left in `res.locals.caller` for the route.
 *
 * It runs before anything else looks at the request, the project's existence included, and the
 * work it does does not depend on the project named: an anonymous caller, or one holding another
 * project's token, gets the same answer for a project that exists as for one that does not
 * (issue 14). Only the admin token learns that a project is unknown (404).
 *
 * A `read` token (a peer forge's, issue 17) passes for reads only — GETs but the stream, and the
 * POSTs that only read (rendering, MCP) — and is answered 403 `auth.read-only` on anything that
 * writes: registering, heartbeating or removing a receiver, acknowledging, streaming,
 * publishing, reporting usage. Tokens made before scopes are `full`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { verifyAccessToken, type AuthFailureCode, type TokenScope } from '../access/access-tokens.ts';
import type { ForgeContext } from '../forge/forge-context.ts';
import type { ForgeMetrics } from '../forge/metrics.ts';
import { sendError, statusOfCode } from './http-errors.ts';

export type Caller =
  | { kind: 'project'; project: string; tokenId: string; prefix: string; label: string; token: string; scope?: TokenScope | undefined }
  | { kind: 'admin'; project: string };

/**
 * Whether a route takes the admin token: `never` (a receiver's own calls: its token is what
 * pushes present back to it), `allowed` (reads an operator may make too), `only` (managing tokens).
 */
export type AdminAccess = 'never' | 'allowed' | 'only';

export interface RequireTokenOptions {
  /** Default `allowed`. */
  admin?: AdminAccess;
}

/** The caller that `requireToken` let through. */
export function callerOf(res: Response): Caller {
  const caller = res.locals['caller'] as Caller | undefined;
  if (!caller) throw new Error('callerOf: the route is not behind requireToken');
  return caller;
}

/**
 * The token of an `Authorization: Bearer …` header: undefined when there is no header, null
 * when there is one of another kind (an invalid credential rather than a missing one).
 */
export function bearerToken(req: Request): string | undefined | null {
  const header = req.headers.authorization;
  if (header === undefined || header === '') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match ? match[1]! : null;
}

/**
 * Whether a request only reads. Held as an allow-list, so that a route added later is closed to
 * read tokens until it is known to read: GET and HEAD but `/stream` (which makes the caller a
 * streaming receiver), and POST `…/render` and `/mcp`, which render and list and change nothing.
 */
export function isReadRequest(req: Pick<Request, 'method' | 'path'>): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return !/\/stream\/?$/.test(req.path);
  if (req.method === 'POST') return /\/render\/?$/.test(req.path) || /(^|\/)mcp\/?$/.test(req.path);
  // An MCP host ends its session with DELETE; the forge keeps nothing per session (mcp-routes.ts).
  if (req.method === 'DELETE') return /(^|\/)mcp\/?$/.test(req.path);
  return false;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant time in the admin token's content: both sides are hashed to 32 bytes first. */
export function isAdminToken(ctx: Pick<ForgeContext, 'adminToken'>, presented: string): boolean {
  if (!ctx.adminToken) return false;
  return timingSafeEqual(sha256(presented), sha256(ctx.adminToken));
}

/**
 * The gate. Used once in front of every project route (the default, `admin: 'allowed'`) and
 * again on a route that narrows it (`never`, `only`): a caller already let through in this
 * request is not verified twice, only held to the route's rule.
 */
export function requireToken(ctx: Pick<ForgeContext, 'db' | 'adminToken' | 'projects'> & { metrics?: Pick<ForgeMetrics, 'apiDenials'> }, options: RequireTokenOptions = {}): RequestHandler {
  const admin = options.admin ?? 'allowed';
  return async (req, res, next) => {
    const project = req.params['project'];
    if (typeof project !== 'string') return next(new Error('requireToken is mounted without a :project parameter (use Router({mergeParams: true}))'));
    const deny = (code: AuthFailureCode | 'auth.read-only', reason: string, hint?: string): void => {
      ctx.metrics?.apiDenials.inc({ code });
      if (code !== 'auth.forbidden' && code !== 'auth.read-only') res.setHeader('www-authenticate', 'Bearer realm="anvil"');
      sendError(res, code === 'auth.read-only' ? 403 : statusOfCode(code), code, reason, hint);
    };

    let caller = res.locals['caller'] as Caller | undefined;
    if (caller?.project !== project) {
      caller = undefined;
      const presented = bearerToken(req);
      if (presented === null) return deny('auth.invalid', 'the Authorization header is not `Bearer <token>`', 'send `Authorization: Bearer <token>`');
      if (presented !== undefined && isAdminToken(ctx, presented)) {
        caller = { kind: 'admin', project };
      } else {
        const check = await verifyAccessToken(ctx.db, project, presented);
        if (!check.ok) return deny(check.code, check.reason, check.hint);
        const { token } = check;
        caller = { kind: 'project', project, tokenId: token.id, prefix: token.prefix, label: token.label, token: presented!, scope: token.scope };
      }
    }
    if (caller.kind === 'admin' && admin === 'never') {
      return deny('auth.forbidden', 'the admin token cannot be used here', 'receivers call with a project access token');
    }
    if (caller.kind === 'project' && caller.scope === 'read' && !isReadRequest(req)) {
      return deny('auth.read-only', 'this access token is read-only: it may list, pull and render, not change anything', 'a peer forge\'s token is made with `--scope read`; receivers and tools need a full token of the project');
    }
    if (caller.kind === 'project' && admin === 'only') {
      return deny('auth.forbidden', 'only the admin token may do this', ctx.adminToken ? 'use the admin token, or `anvil token` on the forge host' : 'the admin API is off: set ANVIL_ADMIN_TOKEN on the forge, or use `anvil token` on the forge host');
    }
    // Past the gate: a project token is refused above for any project but its own, existing or
    // not, so only the admin token (or a token of a project since removed from the
    // configuration, asking about that project) learns here that a project is unknown.
    if (!ctx.projects.has(project)) return sendError(res, 404, 'project.unknown', `this forge has no project "${project.slice(0, 100)}"`);
    res.locals['caller'] = caller;
    next();
  };
}
