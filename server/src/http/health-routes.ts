/**
 * `GET /healthz`: liveness for anyone — `{"ok": true}` and nothing else, no project name, since
 * anyone can ask (issue 14). `GET /healthz?details=1` with `Authorization: Bearer <admin token>`:
 * where each project stands (forge-health.ts); without the admin token it is refused like any
 * other request without a valid token.
 *
 * `GET /readyz`: readiness, for a load balancer or an orchestrator (and for scripts that start
 * `anvil serve`): 503 `forge.starting` until the first sync since start of every project has
 * ended, then 200. Until then the forge answers from its store, which after a first start is
 * empty, so a receiver would be told there is nothing published. A first sync that fails counts
 * as ended: the forge then serves what its store holds and retries (logged as `sync failed`).
 */
import { Router, type Request, type Response } from 'express';
import { forgeHealth } from '../forge/forge-health.ts';
import type { ForgeContext } from '../forge/forge-context.ts';
import { sendError, statusOfCode } from './http-errors.ts';
import { bearerToken, isAdminToken } from './require-token.ts';

export function healthRoutes(ctx: ForgeContext): Router {
  const router = Router();
  router.get('/healthz', async (req: Request, res: Response) => {
    // Load balancers and probes poll this: no cache should keep an old answer.
    res.setHeader('cache-control', 'no-store');
    if (req.query['details'] === undefined) return void res.json({ ok: true });
    const presented = bearerToken(req);
    if (presented === undefined || presented === null || !isAdminToken(ctx, presented)) {
      const code = presented === undefined ? 'auth.missing' : 'auth.invalid';
      ctx.metrics.apiDenials.inc({ code });
      res.setHeader('www-authenticate', 'Bearer realm="anvil"');
      return sendError(res, statusOfCode(code), code, 'the health details need the admin token', 'send `Authorization: Bearer <admin token>` (ANVIL_ADMIN_TOKEN on the forge)');
    }
    res.json(await forgeHealth(ctx));
  });
  router.get('/readyz', (_req: Request, res: Response) => {
    res.setHeader('cache-control', 'no-store');
    const waiting = ctx.unsynced?.size ?? 0;
    if (waiting === 0) return void res.json({ ok: true });
    // A count, not names: anyone may ask.
    res.setHeader('retry-after', '1');
    sendError(res, 503, 'forge.starting', `the first sync of ${waiting} project${waiting === 1 ? '' : 's'} has not ended yet`, 'retry shortly; `GET /healthz` says the process is alive');
  });
  return router;
}
