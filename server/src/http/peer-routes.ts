/**
 * What a forge serves to its peers (issue 17, forge peering): other forges browse its projects
 * and sets and render its prompts on demand, never copying them.
 *
 *   GET  /api/v1/projects                                             the projects the token sees
 *   GET  /api/v1/projects/:project/sets[?page=]                       each set: prompts, latest release, updated
 *   POST /api/v1/projects/:project/sets/:set/versions/:version/render {prompt, variant?, vars?} → the rendering
 *
 * Any token of the project may call them, a `read` token (a peer's, `anvil token create --scope
 * read`) included: they only read. A project token sees its own project; the admin token every
 * project. As on every project route (require-token.ts), an anonymous caller learns nothing.
 *
 * Only releases the forge decided to publish are offered, as on `…/versions` (pull-routes.ts):
 * a set without one is listed with no latest version, and rendering anything else is 404.
 * Rendering uses the dashboard's cache of parsed versions and compiled prompts
 * (dashboard/stored-versions.ts) and the renderer of `anvil render` and the review comment.
 */
import express, { Router, type Request, type Response } from 'express';
import { AnvilError, isAliasName, isExactVersion, type Bundle, type PromptMetadata } from '@anvil/content-schema';
import { findAccessToken, verifyAccessToken } from '../access/access-tokens.ts';
import { projectSets, setVersions } from '../dashboard/dashboard-data.ts';
import { storedVersions } from '../dashboard/stored-versions.ts';
import { renderForReview } from '../diff/render-for-review.ts';
import { sampleInputs } from '../diff/sample-inputs.ts';
import type { ForgeContext } from '../forge/forge-context.ts';
import { storedAliases } from '../forge/sync-aliases.ts';
import { readReleaseDecision, releaseDecisionsOf } from '../publish/release-decisions.ts';
import { sendError } from './http-errors.ts';
import { bearerToken, isAdminToken, requireToken } from './require-token.ts';

/** Sets per page of `…/sets`: each costs a few small queries and, once, a parse of its latest bundle. */
export const PEER_SETS_PER_PAGE = 50;
/** A render request is a prompt id and a person's variables, not a data set. */
const RENDER_BODY_LIMIT = '64kb';
const ID_MAX = 200;
/** Parsed bundles held for peers' listings and renderings (its own budget, beside the dashboard's). */
const PEER_VERSIONS_MAX_BYTES = 16 * 1024 * 1024;

/** A set as a peer lists it. */
export interface PeerSet {
  name: string;
  mode: string | null;
  /** Prompts of the latest release (its variants not counted); null without one. */
  prompts: number | null;
  /** The newest release the forge publishes, with when it was built; null without one. */
  latest: { version: string; releasedAt: string } | null;
  /** When the set last changed as far as a peer can see: its newest release. */
  updatedAt: string | null;
}

export function peerRoutes(ctx: ForgeContext): Router {
  const router = Router();
  const versions = storedVersions(ctx.db, PEER_VERSIONS_MAX_BYTES);
  const gate = requireToken(ctx);

  router.get('/', async (req: Request, res: Response) => {
    res.setHeader('cache-control', 'private, no-cache');
    const presented = bearerToken(req);
    const deny = (code: string, reason: string) => {
      ctx.metrics.apiDenials.inc({ code });
      res.setHeader('www-authenticate', 'Bearer realm="anvil"');
      sendError(res, 401, code, reason, 'send `Authorization: Bearer <token>`: a token of a project on this forge');
    };
    if (presented === undefined) return deny('auth.missing', 'this request needs an access token');
    if (presented === null) return deny('auth.invalid', 'the Authorization header is not `Bearer <token>`');
    let visible: string[];
    if (isAdminToken(ctx, presented)) {
      visible = [...ctx.projects.keys()];
    } else {
      const known = await findAccessToken(ctx.db, presented);
      // Found, then verified against its own project: the same checks (and last-use record) as every route.
      const check = known ? await verifyAccessToken(ctx.db, known.project, presented) : undefined;
      if (!check?.ok) return deny(check?.code ?? 'auth.invalid', check?.reason ?? 'the access token is not valid');
      visible = ctx.projects.has(check.token.project) ? [check.token.project] : [];
    }
    const projects = [];
    for (const name of visible.sort()) {
      const sets = await ctx.db.selectFrom('bundles').select((eb) => eb.fn.count<number>('set_name').distinct().as('n'))
        .where('project', '=', name).where('stage', '=', 'release').executeTakeFirst();
      projects.push({ name, releasedSets: Number(sets?.n ?? 0) });
    }
    res.json({ forge: ctx.name, projects });
  });

  router.get('/:project/sets', gate, async (req: Request, res: Response) => {
    const project = String(req.params['project']);
    const listed = await projectSets(ctx.db, project, req.query['page'], PEER_SETS_PER_PAGE);
    const sets: PeerSet[] = [];
    for (const s of listed.sets) {
      const latest = await latestOffered(ctx, project, s.name);
      const stored = latest ? await versions.read(project, s.name, latest.version) : undefined;
      sets.push({
        name: s.name, mode: s.mode, prompts: stored ? Object.keys(stored.bundle.prompts).length : null,
        latest: latest ? { version: latest.version, releasedAt: latest.at } : null, updatedAt: latest?.at ?? null,
      });
    }
    const p = listed.paging;
    res.setHeader('cache-control', 'private, no-cache');
    res.json({ project, sets, paging: { page: p.page, pages: p.pages, total: p.total } });
  });

  router.post('/:project/sets/:set/versions/:version/render', gate, express.json({ limit: RENDER_BODY_LIMIT }), async (req: Request, res: Response) => {
    const { project, set } = req.params as { project: string; set: string; version: string };
    const asked = String(req.params['version']);
    const body = req.body as unknown;
    const request = renderRequest(body);
    if (!request.ok) return sendError(res, 400, 'request.invalid', request.reason, 'send {"prompt": "<id>", "variant"?: "<name>", "vars"?: {…}}');
    // An alias (`stable`) names the release the forge holds for it (anvil.yaml `aliases`).
    const alias = !isExactVersion(asked) && isAliasName(asked);
    const version = isExactVersion(asked) ? asked : alias ? (await storedAliases(ctx, project, set))[set]?.[asked] : undefined;
    if (version === undefined) {
      return alias
        ? sendError(res, 404, 'alias.unknown', `${set} has no alias "${asked.slice(0, 100)}"`, 'list the set\'s releases and aliases: GET …/sets/<set>/versions')
        : sendError(res, 400, 'request.invalid', `"${asked.slice(0, 100)}" is not an exact version or an alias`, 'render a release by its version, e.g. 1.2.0, or an alias, e.g. stable');
    }
    const decision = await readReleaseDecision(ctx, project, set, version);
    const stored = decision && !decision.refused ? await versions.read(project, set, version) : undefined;
    if (!stored || stored.bundle.stage !== 'release') {
      return sendError(res, 404, 'release.unknown', `${project} publishes no release ${set}@${version}`, 'list what it offers: GET …/sets/<set>/versions');
    }
    const { prompt: id, variant } = request;
    const metadata = metadataOf(stored.bundle, id, variant);
    if (!metadata) {
      return sendError(res, 404, 'prompt.unknown', `${set}@${version} has no prompt "${id}"${variant !== undefined ? ` with variant "${variant}"` : ''}`, 'the set\'s bundle lists its prompts and variants');
    }
    const vars: Record<string, unknown> = request.vars ?? sampleInputs(metadata);
    try {
      const compiled = stored.compile(id, variant);
      const defaults = compiled.metadata.input?.default ?? {};
      const required = compiled.metadata.input?.schema?.['required'];
      const missing = (Array.isArray(required) ? required : []).filter((n): n is string => typeof n === 'string' && !(n in vars) && !(n in defaults));
      res.setHeader('cache-control', 'private, no-store');
      res.json({
        ok: true, set, version, prompt: id, ...(variant !== undefined ? { variant } : {}),
        text: renderForReview(compiled, vars),
        ...(compiled.usesMessageHelpers ? { messages: compiled.renderMessages(vars) } : {}),
        missing, ...(request.vars === undefined ? { sampleVars: vars } : {}),
      });
    } catch (err) {
      // The caller's variables did not render (or the prompt does not compile): their request, not a fault here.
      if (err instanceof AnvilError) return sendError(res, 400, err.code.startsWith('render.') ? err.code : `render.${err.code}`, err.message, err.hint);
      return sendError(res, 400, 'render.failed', (err as Error)?.message ?? String(err));
    }
  });

  return router;
}

/** The newest release of the set that the forge publishes (not refused), from the store's versions, newest first. */
async function latestOffered(ctx: ForgeContext, project: string, set: string): Promise<{ version: string; at: string } | undefined> {
  const decisions = await releaseDecisionsOf(ctx, project, set);
  return (await setVersions(ctx.db, project, set)).find((v) => v.stage === 'release' && decisions.get(v.version)?.refused === false);
}

function metadataOf(bundle: Bundle, id: string, variant: string | undefined): PromptMetadata | undefined {
  const prompt = Object.hasOwn(bundle.prompts, id) ? bundle.prompts[id] : undefined;
  if (!prompt) return undefined;
  if (variant === undefined) return prompt.metadata;
  return Object.hasOwn(prompt.variants, variant) ? prompt.variants[variant]!.metadata : undefined;
}

type RenderRequest = { ok: true; prompt: string; variant?: string | undefined; vars?: Record<string, unknown> | undefined } | { ok: false; reason: string };

/** The body of a render request, checked: a prompt id, an optional variant, optional variables (an object). */
export function renderRequest(body: unknown): RenderRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, reason: 'the body must be a JSON object' };
  const { prompt, variant, vars, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) return { ok: false, reason: `unknown field "${extra[0]!.slice(0, 40)}"` };
  if (typeof prompt !== 'string' || prompt === '' || prompt.length > ID_MAX) return { ok: false, reason: '"prompt" must be a prompt id' };
  if (variant !== undefined && (typeof variant !== 'string' || variant === '' || variant.length > ID_MAX)) return { ok: false, reason: '"variant" must be a variant name' };
  if (vars !== undefined && (typeof vars !== 'object' || vars === null || Array.isArray(vars))) return { ok: false, reason: '"vars" must be an object of variables, e.g. {"name": "Ada"}' };
  // Variables are data: a "__proto__" key stays a key, never the object's prototype.
  return { ok: true, prompt, ...(variant !== undefined ? { variant } : {}), ...(vars !== undefined ? { vars: Object.assign(Object.create(null) as Record<string, unknown>, vars) } : {}) };
}
