/**
 * The Forges pages' routes (issue 17, forge peering), behind the dashboard's session and CSRF
 * checks (dashboard-routes.ts mounts them). Every signed-in user sees the connected projects of
 * other forges; browsing a known forge, and connecting or disconnecting, are the forge admin's.
 *
 * Whatever a page shows of a peer is fetched from the peer then (peer-client.ts, held a few
 * seconds): a peer that is down, slow or refusing the token makes a message on the page, with
 * the peer's code, never a 500.
 */
import { Router, type Request, type Response } from 'express';
import { AnvilError } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import type { PeerClient, PeerRendering } from '../peers/peer-client.ts';
import { connectPeerProject, disconnectPeerProject, isPeerConnected, listPeerConnections, peerClients } from '../peers/peer-connections.ts';
import { paging } from './dashboard-data.ts';
import { field, frameOf, queryText, send, sessionOf, type Refuse } from './dashboard-http.ts';
import { may } from './dashboard-roles.ts';
import { userOf } from './dashboard-session.ts';
import { MAX_PREVIEW_VARS, PROMPTS_PER_PAGE } from './set-version-view.ts';
import { forgesPage, remoteProjectPage, remotePrompts, remoteSetPage, remoteVersionPage, type BrowsedProject, type Fetched, type RemoteRendering, type RemoteVersionPageData } from './forges-page.ts';

/** Projects of one forge whose sets the overview lists inline; the others are a click away. */
const PROJECTS_INLINE = 20;

export function forgesRoutes(ctx: ForgeContext, options: { refuse: Refuse }): Router {
  const router = Router();
  const { refuse } = options;
  const forges = ctx.knownForges ?? [];
  const clients = peerClients(forges);
  const isAdmin = (res: Response) => may(userOf(sessionOf(res)), 'manage-tokens');

  /** The client of a known forge, and whether this user may look at that project of it. */
  const reach = async (res: Response, forge: string, project: string): Promise<{ peer: PeerClient; connected: boolean } | undefined> => {
    const peer = clients.get(forge);
    const connected = peer ? await isPeerConnected(ctx.db, forge, project) : false;
    if (!peer || (!connected && !isAdmin(res))) {
      refuse(res, 404, 'Not found', 'There is no such connected project, or you cannot see it.');
      return undefined;
    }
    return { peer, connected };
  };

  const showForges = async (res: Response, status: number, notes: { message?: string | undefined; error?: string | undefined } = {}) => {
    const admin = isAdmin(res);
    const connections = await listPeerConnections(ctx.db, forges);
    const shown = await Promise.all(forges.map(async (f) => {
      if (!admin) return { name: f.name, url: f.url };
      const peer = clients.get(f.name)!;
      const projects = await fetched(async () => {
        const { projects: list } = await peer.projects();
        return Promise.all(list.slice(0, PROJECTS_INLINE).map(async (project): Promise<BrowsedProject> => ({
          project, connected: connections.some((c) => c.forge === f.name && c.project === project.name), sets: await fetched(() => peer.sets(project.name)),
        })));
      });
      return { name: f.name, url: f.url, projects };
    }));
    send(res, status, forgesPage(frameOf(ctx, res), { now: Date.now(), admin, connections, forges: shown, ...notes }));
  };

  router.get('/forges', async (req, res) => {
    const done = queryText(req, 'connected') ?? queryText(req, 'disconnected');
    const verb = queryText(req, 'connected') !== undefined ? 'Connected' : 'Disconnected';
    await showForges(res, 200, { message: done !== undefined ? `${verb} ${done}.` : undefined });
  });

  const change = (kind: 'connect' | 'disconnect') => async (req: Request, res: Response) => {
    if (!isAdmin(res)) return refuse(res, 403, 'Not allowed', 'Only the forge\'s admin connects projects of other forges. Sign in with the admin token.');
    const forge = field(req, 'forge');
    const project = field(req, 'project');
    const actor = sessionOf(res).actor;
    try {
      if (kind === 'connect') {
        const peer = clients.get(forge);
        if (!peer) return showForges(res, 400, { error: `"${forge.slice(0, 100)}" is not a known forge.` });
        await connectPeerProject(ctx.db, peer, { project, actor });
      } else {
        await disconnectPeerProject(ctx.db, { forge, project, actor });
      }
    } catch (err) {
      if (err instanceof AnvilError) return showForges(res, statusOf(err.code), { error: `${err.code}: ${err.message}${err.hint ? ` (${err.hint})` : ''}` });
      throw err;
    }
    res.redirect(303, `/ui/forges?${kind === 'connect' ? 'connected' : 'disconnected'}=${encodeURIComponent(`${forge} / ${project}`)}`);
  };
  router.post('/forges/connect', change('connect'));
  router.post('/forges/disconnect', change('disconnect'));

  router.get('/forges/:forge/projects/:project', async (req, res) => {
    const { forge, project } = req.params as { forge: string; project: string };
    const found = await reach(res, forge, project);
    if (!found) return;
    const page = Number(queryText(req, 'page', 7) ?? '1');
    const sets = await fetched(() => found.peer.sets(project, Number.isSafeInteger(page) && page >= 1 ? page : 1));
    send(res, sets.ok ? 200 : statusOf(sets.code), remoteProjectPage(frameOf(ctx, res), { forge, project, connected: found.connected, admin: isAdmin(res), now: Date.now(), sets }));
  });

  router.get('/forges/:forge/projects/:project/sets/:set', async (req, res) => {
    const { forge, project, set } = req.params as { forge: string; project: string; set: string };
    const found = await reach(res, forge, project);
    if (!found) return;
    const releases = await fetched(() => found.peer.releases(project, set));
    send(res, releases.ok ? 200 : statusOf(releases.code), remoteSetPage(frameOf(ctx, res), { forge, project, set, releases }));
  });

  router.get('/forges/:forge/projects/:project/sets/:set/versions/:version', async (req, res) => {
    const { forge, project, set, version } = req.params as { forge: string; project: string; set: string; version: string };
    const found = await reach(res, forge, project);
    if (!found) return;
    const bundle = await fetched(() => found.peer.bundle(project, set, version));
    const prompt = queryText(req, 'prompt');
    let rendering: RemoteRendering | undefined;
    let onPage = queryText(req, 'page', 7);
    if (bundle.ok && prompt !== undefined) {
      const variant = queryText(req, 'variant');
      const typed = typeof req.query['vars'] === 'string' ? req.query['vars'].slice(0, MAX_PREVIEW_VARS + 1) : '';
      rendering = { prompt, variant, vars: typed, outcome: await renderOnPeer(found.peer, project, set, version, prompt, variant, typed) };
      // The rendered prompt's page, whatever `page` says.
      const at = remotePrompts(bundle.value).findIndex((p) => p.id === prompt && p.variant === variant);
      if (at >= 0) onPage = String(Math.floor(at / PROMPTS_PER_PAGE) + 1);
    }
    const release: RemoteVersionPageData['release'] = bundle.ok ? (() => {
      const all = remotePrompts(bundle.value);
      const p = paging(all.length, onPage, PROMPTS_PER_PAGE);
      return { ok: true, value: { bundle: bundle.value, prompts: all.slice(p.offset, p.offset + p.pageSize), paging: p } };
    })() : bundle;
    send(res, bundle.ok ? 200 : statusOf(bundle.code), remoteVersionPage(frameOf(ctx, res), { forge, project, set, version, release, rendering }));
  });

  return router;
}

/** Runs a call to a peer; its AnvilError becomes what the page says instead. */
async function fetched<T>(call: () => Promise<T>): Promise<Fetched<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (err) {
    if (err instanceof AnvilError) return { ok: false, code: err.code, message: `${err.message}${err.hint ? ` (${err.hint})` : ''}` };
    throw err;
  }
}

async function renderOnPeer(peer: PeerClient, project: string, set: string, version: string, prompt: string, variant: string | undefined, typed: string): Promise<Fetched<PeerRendering>> {
  if (typed.length > MAX_PREVIEW_VARS) return { ok: false, code: 'preview.too-large', message: `the inputs are ${typed.length} characters; at most ${MAX_PREVIEW_VARS} are accepted` };
  let vars: Record<string, unknown> | undefined;
  if (typed.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(typed);
    } catch (err) {
      return { ok: false, code: 'preview.invalid-json', message: `the inputs are not valid JSON: ${(err as Error).message}` };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, code: 'preview.invalid-json', message: 'the inputs must be one JSON object of variables, e.g. {"name": "Ada"}' };
    vars = parsed as Record<string, unknown>;
  }
  return fetched(() => peer.render(project, set, version, { prompt, ...(variant !== undefined ? { variant } : {}), ...(vars !== undefined ? { vars } : {}) }));
}

/** A page's status when the peer did not give what it shows: its own 404 stays one; the peer's failure is a bad gateway, never a 500. */
function statusOf(code: string): number {
  if (code === 'peer.not-found') return 404;
  if (code === 'peer.project-unknown' || code === 'peer.not-connected' || code === 'peer.unknown-forge') return 400;
  if (code.startsWith('peer.')) return 502;
  return 400;
}
