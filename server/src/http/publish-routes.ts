/** `POST /api/v1/projects/:project/publish {set, version}`: "Publish to LIVE", admin only. */
import { Router, type Request, type Response } from 'express';
import { AnvilError, isExactVersion } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import { republishRelease } from '../publish/republish.ts';
import { sendError } from './http-errors.ts';

export function publishRoutes(ctx: ForgeContext, wake: () => void): Router {
  const router = Router({ mergeParams: true });
  router.post('/publish', async (req: Request, res: Response) => {
    if (res.locals['caller']?.kind !== 'admin') return sendError(res, 403, 'auth.forbidden', 'publishing needs the admin token');
    const body = (req.body ?? {}) as { set?: unknown; version?: unknown };
    if (typeof body.set !== 'string' || typeof body.version !== 'string' || !isExactVersion(body.version)) {
      throw new AnvilError('request.invalid', 'the body must be {"set": "<set>", "version": "<exact version>"}');
    }
    const outcome = await republishRelease(ctx, String(req.params['project']), body.set, body.version, 'api:admin');
    wake();
    res.json({ ok: true, ...outcome });
  });
  return router;
}
