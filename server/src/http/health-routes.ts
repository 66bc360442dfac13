/**
 * `GET /healthz`: liveness for anyone — `{"ok": true}` and nothing else, no project name, since
 * anyone can ask (issue 14). `GET /healthz?details=1` with `Authorization: Bearer <admin token>`:
 * where each project stands (forge-health.ts); without the admin token it is refused like any
 * other request without a valid token.
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
  return router;
}
