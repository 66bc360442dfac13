/**
 * The pull side of the API (DESIGN §8): the current envelope of a channel with an ETag (304 on
 * `If-None-Match`), and the immutable releases. Bundles are answered as the stored canonical
 * bytes, so a receiver checks the integrity on exactly what was built.
 *
 * `…/sets/:set/versions[/:version]` serve releases only (bundles built from a `<set>@<version>`
 * tag), which never change and may be cached for good; and of those only the ones the forge
 * decided to publish, with the channels each may be served on (`?channel=` filters the list):
 * a release refused as unreviewed is not offered (issue 18). Head builds are not releases: they reach
 * receivers inside their channel's envelope (`…/envelope`, revalidated on every pull), and a
 * head version asked for here is unknown (404), like any version that was never released.
 *
 * An alias (issue 17; anvil.yaml's `aliases`, as forge/sync-aliases.ts accepted them from the
 * default branch) stands for its release on `…/versions/:alias`, answered like the release itself
 * but revalidated (`no-cache`), since an alias moves; the list carries the aliases whose release
 * it offers, as `aliases: {stable: "1.2.0"}`.
 *
 * Every answer here is for a token holder only: `private`, so that no shared cache between the
 * forge and its callers keeps one and hands it to a caller without a token.
 */
import { Router, type Request, type Response } from 'express';
import { CHANNELS, canonicalJson, isAliasName, isExactVersion, signIntegrity } from '@anvil/content-schema';
import { storedAliases } from '../forge/sync-aliases.ts';
import type { ForgeContext } from '../forge/forge-context.ts';
import { channelEnvelope } from '../publish/channel-state.ts';
import { readReleaseDecision, refusedError, releaseDecisionsOf } from '../publish/release-decisions.ts';
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
    res.setHeader('cache-control', 'private, no-cache');
    if (req.headers['if-none-match'] === etag) return void res.status(304).end();
    res.type('application/json').send(envelope.body);
  });

  router.get('/sets/:set/versions', async (req: Request, res: Response) => {
    const project = String(req.params['project']);
    const set = String(req.params['set']);
    const channel = req.query['channel'];
    if (channel !== undefined && (typeof channel !== 'string' || !(CHANNELS as readonly string[]).includes(channel))) {
      return sendError(res, 400, 'request.channel', `channel must be one of ${CHANNELS.join(', ')}`);
    }
    const rows = await ctx.db.selectFrom('bundles').select(['version', 'integrity'])
      .where('project', '=', project).where('set_name', '=', set).where('stage', '=', 'release').execute();
    if (rows.length === 0) return sendError(res, 404, 'set.unknown', `${project} has no release of ${set}`);
    // Only releases the forge decided to publish, each with the channels it may be served on
    // (issue 18): a refused or never decided release is nobody's to install.
    const decisions = await releaseDecisionsOf(ctx, project, set);
    const offered = rows.flatMap((r) => {
      const decision = decisions.get(r.version);
      if (!decision || decision.refused || (channel !== undefined && !decision.channels.includes(channel))) return [];
      return [{ version: r.version, integrity: r.integrity, channels: decision.channels }];
    });
    const aliases = Object.fromEntries(Object.entries((await storedAliases(ctx, project, set))[set] ?? {})
      .filter(([, version]) => offered.some((o) => o.version === version)));
    // A new release adds to the list, and an alias moves: revalidate.
    res.setHeader('cache-control', 'private, no-cache');
    res.json({ versions: offered, ...(Object.keys(aliases).length > 0 ? { aliases } : {}) });
  });

  router.get('/sets/:set/versions/:version', async (req: Request, res: Response) => {
    const project = String(req.params['project']);
    const set = String(req.params['set']);
    const asked = String(req.params['version']);
    let version = asked;
    if (!isExactVersion(asked) && isAliasName(asked)) {
      const aliased = (await storedAliases(ctx, project, set))[set]?.[asked];
      if (aliased === undefined) {
        return sendError(res, 404, 'alias.unknown', `${project} has no alias ${set}@${asked}`, `aliases are set in anvil.yaml on the default branch (npx anvil alias set ${set} ${asked} <version>)`);
      }
      version = aliased;
    }
    const bundle = await ctx.db.selectFrom('bundles').select(['integrity', 'body'])
      .where('project', '=', project).where('set_name', '=', set).where('version', '=', version).where('stage', '=', 'release')
      .orderBy('created_at').executeTakeFirst();
    if (!bundle) return sendError(res, 404, 'release.unknown', `${project} has no release ${set}@${version}`, 'head builds are not served here; they come in the channel\'s envelope');
    const decision = await readReleaseDecision(ctx, project, set, version);
    if (!decision || decision.refused) {
      const refused = refusedError(set, version, decision);
      return sendError(res, 404, refused.code, refused.message, 'the forge serves only releases it decided to publish');
    }
    // Immutable: a release's bytes never change (a moved tag is refused), so the caller's own cache
    // may keep them; what an alias names changes, so that answer is revalidated.
    res.setHeader('cache-control', version === asked ? 'private, max-age=31536000, immutable' : 'private, no-cache');
    if (version !== asked) res.setHeader('anvil-alias-version', version);
    res.setHeader('etag', `"${bundle.integrity}"`);
    res.type('application/json').send(`{"bundle":${bundle.body},"channels":${canonicalJson(decision.channels)},"signatures":${canonicalJson(ctx.keys.signers.map((key) => signIntegrity(key, bundle.integrity)))}}`);
  });

  return router;
}
