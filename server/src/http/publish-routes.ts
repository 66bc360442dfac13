/**
 * `POST /api/v1/projects/:project/publish {set, version, overrideRefusal?, reason?}`: "Publish to
 * LIVE", admin only (a refused release only with `overrideRefusal` and a `reason`, audited); and
 * `GET …/deliveries?envelope=<id>`: where each push of it stands, for `anvil publish`'s progress.
 */
import { Router, type Request, type Response } from 'express';
import { AnvilError, isExactVersion } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
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
    const envelopes = ([] as unknown[]).concat(req.query['envelope'] ?? []).map(String).slice(0, 10);
    if (envelopes.length === 0) throw new AnvilError('request.invalid', 'name the envelope: ?envelope=<id>');
    const since = typeof req.query['since'] === 'string' ? req.query['since'] : '';
    const rows = await ctx.db.selectFrom('deliveries')
      .select(['instance_id', 'url', 'set_name', 'version', 'state', 'attempts', 'last_status', 'last_code', 'last_reason', 'updated_at', 'envelope_id'])
      .where('project', '=', String(req.params['project'])).where('envelope_id', 'in', envelopes).where('created_at', '>=', since).orderBy('instance_id').execute();
    res.json({ deliveries: rows.map((r) => ({
      instanceId: r.instance_id, url: r.url, set: r.set_name, version: r.version, envelope: r.envelope_id, state: r.state, attempts: r.attempts,
      status: r.last_status, code: r.last_code, reason: r.last_reason, updatedAt: r.updated_at,
    })) });
  });
  return router;
}
