/**
 * The receivers' side of the forge API and the admin token API (DESIGN §8, §9), as routers to
 * mount after `express.json()` under `/api/v1/projects/:project`:
 *
 *   POST   /receivers      register (a receiver started)        project token
 *   PUT    /receivers      heartbeat: mode, versions, ranges…   project token
 *   DELETE /receivers      leave: {instanceId}                  project token
 *   POST   /receivers/ack  a streaming receiver's answer         project token (stream-routes.ts)
 *   GET    /receivers      the project's receivers              project or admin token
 *   POST   /tokens         create a token (shown once)          admin token
 *   GET    /tokens         list tokens (never the secrets)      admin token
 *   DELETE /tokens/:id     revoke by id or prefix               admin token
 *
 * A receiver is linked to the token it last called with: revoking that token ends its pushes at
 * once (issue 18), and it is back only when it calls with a valid one.
 *
 * Bodies are untrusted: a malformed one is a 400 or 422 with codes and locations, never a 5xx.
 * A push URL is stored normalised, and one the forge would refuse to push to (a loopback,
 * private, link-local or metadata address, the forge itself: issue 14) is refused at once.
 */
import { Router, type Request, type Response } from 'express';
import { isAnvilError, validateReceiverLeave, validateReceiverRegistration, type ValidationIssue } from '@anvil/content-schema';
import { createAccessToken, listAccessTokens, revokeAccessToken } from '../access/access-tokens.ts';
import type { ForgeContext } from '../forge/forge-context.ts';
import { refuseBlockedPushUrl } from '../receivers/check-push-url.ts';
import { listReceivers } from '../receivers/list-receivers.ts';
import { recordReceiverCall, recordReceiverLeave } from '../receivers/register-receiver.ts';
import { sendError, statusOfCode } from './http-errors.ts';
import { callerOf, requireToken, type Caller } from './require-token.ts';

type Handler = (req: Request, res: Response) => Promise<void>;

/** AnvilErrors answer by their code here, so these routes do not depend on the app's error handler for that. */
function answering(handler: Handler): Handler {
  return async (req, res) => {
    try {
      await handler(req, res);
    } catch (err) {
      if (!isAnvilError(err) || res.headersSent) throw err;
      sendError(res, statusOfCode(err.code), err.code, err.message, err.hint);
    }
  };
}

/** The JSON body, or a 400 answered and undefined. */
function jsonBody(req: Request, res: Response): unknown {
  if (req.body === undefined || req.body === null || typeof req.body !== 'object') {
    sendError(res, 400, 'request.invalid', 'expected a JSON object as the body', 'send `content-type: application/json` and a JSON object');
    return undefined;
  }
  return req.body as unknown;
}

const MAX_ISSUES_ANSWERED = 20;

function sendInvalid(res: Response, code: string, what: string, issues: ValidationIssue[]): void {
  const shown = issues.slice(0, MAX_ISSUES_ANSWERED);
  const first = shown[0];
  res.status(statusOfCode(code)).json({
    ok: false,
    code,
    reason: `${what} is not valid${first ? `: ${first.path || '/'} ${first.message}` : ''}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`,
    issues: shown,
  });
}

function actorOf(caller: Caller): string {
  return caller.kind === 'admin' ? 'admin' : `token:${caller.prefix}`;
}

export function receiverRoutes(ctx: ForgeContext): Router {
  const router = Router({ mergeParams: true });
  const receiverToken = requireToken(ctx, { admin: 'never' });

  const upsert = (kind: 'register' | 'heartbeat'): Handler => answering(async (req, res) => {
    const body = jsonBody(req, res);
    if (body === undefined) return;
    const checked = validateReceiverRegistration(body);
    if (!checked.ok) return sendInvalid(res, 'receiver.invalid', kind === 'register' ? 'the registration' : 'the heartbeat', checked.errors);
    const caller = callerOf(res);
    if (caller.kind !== 'project') throw new Error('unreachable: receiver routes take project tokens only');
    // The URL as content-schema normalised it: what is stored, shown and pushed to.
    const registration = checked.value;
    // A streaming receiver has no URL: the forge sends on the stream it opened (issue 16).
    if (registration.url !== undefined) refuseBlockedPushUrl(ctx, registration.url);
    const result = await recordReceiverCall(ctx, { project: caller.project, kind, registration, token: caller.token, tokenId: caller.tokenId, actor: actorOf(caller) });
    if (result.joined || result.modeChangedFrom) {
      ctx.logger.info({ project: caller.project, instanceId: registration.instanceId, kind, mode: registration.mode, joined: result.joined }, 'receiver registered or changed mode');
    }
    res.status(kind === 'register' && result.joined ? 201 : 200).json({
      ok: true, instanceId: registration.instanceId, mode: registration.mode, joined: result.joined,
      ...(result.modeChangedFrom ? { modeChangedFrom: result.modeChangedFrom } : {}),
    });
  });

  router.post('/receivers', receiverToken, upsert('register'));
  router.put('/receivers', receiverToken, upsert('heartbeat'));

  router.delete('/receivers', receiverToken, answering(async (req, res) => {
    const body = jsonBody(req, res);
    if (body === undefined) return;
    const checked = validateReceiverLeave(body);
    if (!checked.ok) return sendInvalid(res, 'receiver.invalid', 'the leave request', checked.errors);
    const caller = callerOf(res);
    const left = await recordReceiverLeave(ctx, { project: caller.project, instanceId: checked.value.instanceId, actor: actorOf(caller) });
    res.json({ ok: true, instanceId: checked.value.instanceId, ...left });
  }));

  router.get('/receivers', requireToken(ctx, { admin: 'allowed' }), answering(async (_req, res) => {
    const caller = callerOf(res);
    res.json({ receivers: await listReceivers(ctx.db, { project: caller.project }) });
  }));

  return router;
}

export function tokenRoutes(ctx: ForgeContext): Router {
  const router = Router({ mergeParams: true });
  const adminOnly = requireToken(ctx, { admin: 'only' });

  router.post('/tokens', adminOnly, answering(async (req, res) => {
    // The body is optional: {label?}.
    const body = req.body === undefined ? {} : jsonBody(req, res);
    if (body === undefined) return;
    const label = Object.hasOwn(body as object, 'label') ? (body as { label: unknown }).label : undefined;
    if (label !== undefined && typeof label !== 'string') return sendError(res, 400, 'token.label', 'label must be a string');
    const caller = callerOf(res);
    const created = await createAccessToken(ctx.db, { project: caller.project, label, actor: actorOf(caller) });
    // The only time the token is ever shown: keep it out of every cache.
    res.setHeader('cache-control', 'no-store');
    res.status(201).json({ ok: true, project: caller.project, ...created, label: (label ?? '').trim(), note: 'the token is shown once; store it now' });
  }));

  router.get('/tokens', adminOnly, answering(async (_req, res) => {
    res.json({ tokens: await listAccessTokens(ctx.db, callerOf(res).project) });
  }));

  router.delete('/tokens/:id', adminOnly, answering(async (req, res) => {
    const caller = callerOf(res);
    // With the secret box, receivers from before tokens were linked to them end at once too.
    const revoked = await revokeAccessToken(ctx.db, caller.project, String(req.params['id']), { actor: actorOf(caller), secrets: ctx.secrets });
    res.json({ ok: true, ...revoked });
  }));

  return router;
}
