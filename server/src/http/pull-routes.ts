/**
 * The pull side of the API (DESIGN §8): the current envelope of a channel with an ETag (304 on
 * `If-None-Match`), and the immutable releases. Bundles are answered as the stored canonical
 * bytes, so a receiver checks the integrity on exactly what was built.
 */
import { Router, type Request, type Response } from 'express';
import { CHANNELS, canonicalJson, signIntegrity } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import { findBundle } from '../publish/bundle-store.ts';
import { channelEnvelope } from '../publish/channel-state.ts';
import { sendError } from './http-errors.ts';

export function pullRoutes(ctx: ForgeContext): Router {
  const router = Router({ mergeParams: true });

  router.get('/envelope', async (req: Request, res: Response) => {
    const project = String(req.params['project']);
    const channel = typeof req.query['channel'] === 'string' ? req.query['channel'] : '';
    if (!(CHANNELS as readonly string[]).includes(channel)) {
      return sendError(res, 400, 'request.channel', `channel must be one of ${CHANNELS.join(', ')}`, 'add ?channel=production (or staging, development)');
    }
    const envelope = await channelEnvelope(ctx, project, channel);
    if (!envelope) return sendError(res, 404, 'not-found.envelope', `nothing is published on ${project}/${channel} yet`);
    const etag = `"${envelope.id}"`;
    res.setHeader('etag', etag);
    res.setHeader('cache-control', 'no-cache');
    if (req.headers['if-none-match'] === etag) return void res.status(304).end();
    res.type('application/json').send(envelope.body);
  });

  router.get('/sets/:set/versions', async (req: Request, res: Response) => {
    const project = String(req.params['project']);
    const set = String(req.params['set']);
    const rows = await ctx.db.selectFrom('bundles').select(['version', 'integrity'])
      .where('project', '=', project).where('set_name', '=', set).where('stage', '=', 'release').execute();
    if (rows.length === 0) return sendError(res, 404, 'set.unknown', `${project} has no release of ${set}`);
    res.json({ versions: rows.map((r) => ({ version: r.version, integrity: r.integrity })) });
  });

  router.get('/sets/:set/versions/:version', async (req: Request, res: Response) => {
    const project = String(req.params['project']);
    const bundle = await findBundle(ctx, project, String(req.params['set']), String(req.params['version']));
    if (!bundle) return sendError(res, 404, 'release.unknown', `${project} has no ${req.params['set']}@${req.params['version']}`);
    // Immutable: a release's bytes never change, so caches may keep them.
    res.setHeader('cache-control', 'public, max-age=31536000, immutable');
    res.setHeader('etag', `"${bundle.integrity}"`);
    res.type('application/json').send(`{"bundle":${bundle.body},"signatures":${canonicalJson(ctx.keys.signers.map((key) => signIntegrity(key, bundle.integrity)))}}`);
  });

  return router;
}
