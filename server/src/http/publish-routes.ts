/**
 * `POST /api/v1/projects/:project/publish {set, version, overrideRefusal?, reason?}`: "Publish to
 * LIVE", admin only (a refused release only with `overrideRefusal` and a `reason`, audited); and
 * `GET …/deliveries?envelope=<id>`: where each push of it stands, for `anvil publish`'s progress.
 */
import { Router, type Request, type Response } from 'express';
import { AnvilError, isExactVersion } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import { MAX_ENVELOPES, publishProgress } from '../publish/publish-progress.ts';
import { republishRelease } from '../publish/republish.ts';
import { storeTime } from '../store/open-store.ts';
import { sendError } from './http-errors.ts';

export function publishRoutes(ctx: ForgeContext, wake: () => void): Router {
  const router = Router({ mergeParams: true });
  router.post('/publish', async (req: Request, res: Response) => {
    if (res.locals['caller']?.kind !== 'admin') return sendError(res, 403, 'auth.forbidden', 'publishing needs the admin token');
    const body = (req.body ?? {}) as { set?: unknown; version?: unknown; overrideRefusal?: unknown; reason?: unknown };
    if (typeof body.set !== 'string' || typeof body.version !== 'string' || !isExactVersion(body.version)) {
      throw new AnvilError('request.invalid', 'the body must be {"set": "<set>", "version": "<exact version>"}');
    }
    if ((body.overrideRefusal !== undefined && typeof body.overrideRefusal !== 'boolean') || (body.reason !== undefined && typeof body.reason !== 'string')) {
      throw new AnvilError('request.invalid', '"overrideRefusal" must be a boolean and "reason" a string');
    }
    // Deliveries of this publish are the ones made from now on (an envelope id is derived from
    // its content, so an earlier publish of the same state shares it).
    const at = storeTime();
    const outcome = await republishRelease(ctx, String(req.params['project']), body.set, body.version, 'api:admin', {
      overrideRefusal: body.overrideRefusal === true, reason: typeof body.reason === 'string' ? body.reason : undefined,
    });
    wake();
    res.json({ ok: true, at, ...outcome });
  });
  router.get('/deliveries', async (req: Request, res: Response) => {
    if (res.locals['caller']?.kind !== 'admin') return sendError(res, 403, 'auth.forbidden', 'deliveries are for the admin token');
    const envelopes = ([] as unknown[]).concat(req.query['envelope'] ?? []).map(String).slice(0, MAX_ENVELOPES);
    if (envelopes.length === 0) throw new AnvilError('request.invalid', 'name the envelope: ?envelope=<id>');
    const since = typeof req.query['since'] === 'string' ? req.query['since'] : '';
    // The release published, for streaming receivers' rows (publish-progress.ts).
    const set = typeof req.query['set'] === 'string' ? req.query['set'].slice(0, 200) : undefined;
    const version = typeof req.query['version'] === 'string' ? req.query['version'].slice(0, 200) : undefined;
    const release = set !== undefined && version !== undefined ? { set, version } : undefined;
    res.json({ deliveries: await publishProgress(ctx.db, String(req.params['project']), envelopes, since, release) });
  });
  return router;
}
