/**
 * The dashboard under /ui/ (issue 15): server-side rendered pages over the forge's store, signed
 * in with a token exchanged for a session cookie. Every POST form carries the session's
 * synchronizer token; every page is `no-store` and answered with a Content-Security-Policy that
 * allows no inline script, so even a missed escape could not run.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { parse as parseCookies } from 'cookie';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { AnvilError } from '@anvil/content-schema';
import { createAccessToken, listAccessTokens, revokeAccessToken, type CreatedAccessToken } from '../access/access-tokens.ts';
import type { ForgeContext } from '../forge/forge-context.ts';
import { rateLimitedLog } from '../forge/rate-limited-log.ts';
import { packageFile } from '../package-root.ts';
import { listReceivers } from '../receivers/list-receivers.ts';
import { appendAudit, listAudit, verifyAuditChain } from '../store/audit-log.ts';
import type { DashboardSession } from '../store/database.ts';
import { paging, projectSets, setVersions, storedSetVersion } from './dashboard-data.ts';
import { renderedDiff } from '../diff/rendered-diff.ts';
import { diffContract } from '../release/contract-diff.ts';
import { MAX_PREVIEW_VARS, setVersionView } from './set-version-view.ts';
import { auditPage, comparePage, errorPage, projectsPage, setVersionPage, receiversPage, signInPage, tokensPage, type PageFrame } from './dashboard-pages.ts';
import { may, seesProject, type DashboardAction } from './dashboard-roles.ts';
import { cookieFlags, csrfValid, endSession, newSecret, readSession, sameSecret, SESSION_COOKIE, SESSION_TTL_MS, SIGN_IN_COOKIE, userOf } from './dashboard-session.ts';
import { signIn } from './dashboard-sign-in.ts';
import type { Html } from './html.ts';

const RECEIVERS_PER_PAGE = 50;
const AUDIT_PER_PAGE = 50;
/** The sign-in form's token lives as long as someone may leave the form open. */
const SIGN_IN_TTL_MS = 3_600_000;

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

const ASSETS: Record<string, string> = { 'dashboard.css': 'text/css; charset=utf-8', 'dashboard.js': 'text/javascript; charset=utf-8' };

/** Assets ship in the package's `assets/dashboard/` (package.json `files`), read once. */
const assetCache = new Map<string, string>();
function asset(name: string): string {
  let text = assetCache.get(name);
  if (text === undefined) {
    text = readFileSync(packageFile('assets', 'dashboard', name), 'utf8');
    assetCache.set(name, text);
  }
  return text;
}

function sessionOf(res: Response): DashboardSession {
  const session = res.locals['dashboardSession'] as DashboardSession | undefined;
  if (!session) throw new Error('the dashboard route is not behind the session check');
  return session;
}

function frameOf(ctx: ForgeContext, res: Response): PageFrame {
  const session = sessionOf(res);
  return { forgeName: ctx.name, user: userOf(session), csrf: session.csrf_token };
}

function send(res: Response, status: number, page: Html): void {
  res.status(status).type('html').send(page.toString());
}

function field(req: Request, name: string): string {
  const body = req.body as Record<string, unknown> | undefined;
  const value = body?.[name];
  return typeof value === 'string' ? value : '';
}

function queryText(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' && value !== '' ? value.slice(0, 200) : undefined;
}

export function dashboardRoutes(ctx: ForgeContext): Router {
  const router = Router();
  const refusals = rateLimitedLog(ctx.logger);
  const sessionCookie = cookieFlags(ctx.publicUrl, SESSION_TTL_MS);
  const signInCookie = cookieFlags(ctx.publicUrl, SIGN_IN_TTL_MS);

  const refuse = (res: Response, status: number, title: string, message: string): void => {
    const session = res.locals['dashboardSession'] as DashboardSession | undefined;
    send(res, status, errorPage({ forgeName: ctx.name, status, title, message, signedIn: session ? { user: userOf(session), csrf: session.csrf_token } : undefined }));
  };

  router.use((_req, res, next) => {
    res.set(SECURITY_HEADERS);
    next();
  });

  router.get('/assets/:name', (req, res) => {
    const type = ASSETS[req.params['name'] ?? ''];
    if (!type) return refuse(res, 404, 'Not found', 'There is no such file.');
    res.set('cache-control', 'public, max-age=3600').type(type).send(asset(req.params['name']!));
  });

  router.use(express.urlencoded({ extended: false, limit: '16kb' }));
  router.use(async (req, res, next) => {
    const cookies = parseCookies(req.headers.cookie ?? '');
    res.locals['cookies'] = cookies;
    const session = await readSession(ctx.db, cookies[SESSION_COOKIE]);
    if (session) res.locals['dashboardSession'] = session;
    next();
  });

  const showSignIn = (res: Response, status: number, error?: string): void => {
    const csrf = newSecret();
    res.cookie(SIGN_IN_COOKIE, csrf, signInCookie);
    send(res, status, signInPage({ forgeName: ctx.name, csrf, error }));
  };

  router.get('/sign-in', (_req, res) => {
    if (res.locals['dashboardSession']) return res.redirect(303, '/ui/projects');
    showSignIn(res, 200);
  });

  router.post('/sign-in', async (req, res) => {
    const cookies = res.locals['cookies'] as Record<string, string | undefined>;
    if (!sameSecret(field(req, '_csrf'), cookies[SIGN_IN_COOKIE])) {
      return showSignIn(res, 403, 'The sign-in form expired or did not come from this forge. Try again.');
    }
    const result = await signIn(ctx, field(req, 'token'), refusals);
    if (!result.ok) return showSignIn(res, 401, result.reason);
    res.clearCookie(SIGN_IN_COOKIE, { path: '/ui' });
    res.cookie(SESSION_COOKIE, result.session.id, sessionCookie);
    res.redirect(303, '/ui/projects');
  });

  // Everything below needs a session; POSTs also its CSRF token.
  router.use((req, res, next) => {
    const session = res.locals['dashboardSession'] as DashboardSession | undefined;
    if (!session) {
      if (req.method === 'GET' || req.method === 'HEAD') return res.redirect(303, '/ui/sign-in');
      return refuse(res, 401, 'Signed out', 'Your session has ended. Sign in again.');
    }
    if (req.method === 'POST' && !csrfValid(session, field(req, '_csrf'))) {
      return refuse(res, 403, 'Form refused', 'This form did not come from your session on this forge (its CSRF token is missing or wrong). Reload the page and try again.');
    }
    next();
  });

  const allow = (action: DashboardAction) => (_req: Request, res: Response, next: NextFunction) => {
    if (may(userOf(sessionOf(res)), action)) return next();
    refuse(res, 403, 'Not allowed', action === 'manage-tokens'
      ? 'Only the forge\'s admin can see and manage access tokens. Sign in with the admin token.'
      : 'Your role does not allow this.');
  };

  router.post('/sign-out', async (_req, res) => {
    const session = sessionOf(res);
    const cookies = res.locals['cookies'] as Record<string, string | undefined>;
    await endSession(ctx.db, cookies[SESSION_COOKIE]!);
    await appendAudit(ctx.db, { project: session.project, kind: 'dashboard.sign-out', subject: session.actor.replace(/^token:/, ''), actor: session.actor });
    res.clearCookie(SESSION_COOKIE, { path: '/ui' });
    res.redirect(303, '/ui/sign-in');
  });

  router.get('/', (_req, res) => res.redirect(303, '/ui/projects'));

  const visibleProjects = (res: Response): string[] => {
    const user = userOf(sessionOf(res));
    return [...ctx.projects.keys()].filter((p) => seesProject(user, p)).sort();
  };

  router.get('/projects', async (_req, res) => {
    const projects = [];
    for (const name of visibleProjects(res)) projects.push(await projectSets(ctx.db, name, '1'));
    send(res, 200, projectsPage(frameOf(ctx, res), projects));
  });

  router.get('/projects/:project', async (req, res) => {
    const name = req.params['project']!;
    // An unknown project and one the user may not see answer alike.
    if (!visibleProjects(res).includes(name)) return refuse(res, 404, 'Not found', 'There is no such project, or you cannot see it.');
    send(res, 200, projectsPage(frameOf(ctx, res), [await projectSets(ctx.db, name, req.query['page'])], { single: true }));
  });

  router.get('/projects/:project/sets/:set/versions/:version', async (req, res) => {
    const { project, set, version } = req.params as { project: string; set: string; version: string };
    if (!visibleProjects(res).includes(project)) return refuse(res, 404, 'Not found', 'There is no such project, or you cannot see it.');
    const stored = await storedSetVersion(ctx.db, project, set, version);
    if (!stored) return refuse(res, 404, 'Not found', `The forge has no version ${version} of ${set} in ${project}.`);
    // A preview changes nothing, so it is a GET: the inputs are in the URL, checked and bounded by setVersionView.
    const prompt = queryText(req, 'prompt');
    const vars = req.query['vars'];
    const preview = prompt !== undefined
      ? { prompt, variant: queryText(req, 'variant'), vars: typeof vars === 'string' ? vars.slice(0, MAX_PREVIEW_VARS + 1) : '' }
      : undefined;
    send(res, 200, setVersionPage(frameOf(ctx, res), { project, view: setVersionView(stored.bundle, stored.dependencyPartials, preview) }));
  });

  router.get('/projects/:project/sets/:set/compare', async (req, res) => {
    const { project, set } = req.params as { project: string; set: string };
    if (!visibleProjects(res).includes(project)) return refuse(res, 404, 'Not found', 'There is no such project, or you cannot see it.');
    const versions = await setVersions(ctx.db, project, set);
    if (versions.length === 0) return refuse(res, 404, 'Not found', `The forge has no version of ${set} in ${project}.`);
    const from = queryText(req, 'from');
    const to = queryText(req, 'to');
    const frame = frameOf(ctx, res);
    // Without a choice yet, the form offers the two newest versions.
    const shown = { project, set, versions, from: from ?? versions[1]?.version ?? versions[0]!.version, to: to ?? versions[0]!.version };
    if (from === undefined && to === undefined) return send(res, 200, comparePage(frame, shown));
    const known = new Set(versions.map((v) => v.version));
    const unknown = [from, to].filter((v) => v === undefined || !known.has(v));
    if (unknown.length > 0) {
      const which = unknown.map((v) => (v === undefined ? 'nothing' : `"${v}"`)).join(' and ');
      return send(res, 400, comparePage(frame, { ...shown, error: `compare.unknown-version: choose two versions of ${set} the forge has (got ${which}).` }));
    }
    const before = (await storedSetVersion(ctx.db, project, set, from!))!;
    const after = (await storedSetVersion(ctx.db, project, set, to!))!;
    const prompts = renderedDiff(
      { label: from!, bundle: before.bundle, dependencyPartials: before.dependencyPartials },
      { label: to!, bundle: after.bundle, dependencyPartials: after.dependencyPartials },
    );
    send(res, 200, comparePage(frame, { ...shown, result: { contract: diffContract(before.bundle, after.bundle), prompts } }));
  });

  router.get('/receivers', async (req, res) => {
    const user = userOf(sessionOf(res));
    const channel = queryText(req, 'channel');
    const all = await listReceivers(ctx.db, user.project === null ? {} : { project: user.project });
    const chosen = channel ? all.filter((r) => r.channel === channel) : all;
    const p = paging(chosen.length, req.query['page'], RECEIVERS_PER_PAGE);
    send(res, 200, receiversPage(frameOf(ctx, res), { receivers: chosen.slice(p.offset, p.offset + p.pageSize), paging: p, channel, now: Date.now() }));
  });

  const showTokens = async (res: Response, status: number, extra: { created?: CreatedAccessToken & { project: string; label: string }; error?: string; message?: string; form?: { project: string; label: string } } = {}) => {
    send(res, status, tokensPage(frameOf(ctx, res), {
      tokens: await listAccessTokens(ctx.db), projects: [...ctx.projects.keys()].sort(), now: Date.now(),
      ...(extra.created ? { created: { token: extra.created.token, project: extra.created.project, label: extra.created.label } } : {}),
      error: extra.error, message: extra.message, form: extra.form,
    }));
  };

  router.get('/tokens', allow('manage-tokens'), async (req, res) => {
    await showTokens(res, 200, { ...(queryText(req, 'revoked') ? { message: `Revoked ${queryText(req, 'revoked')!}….` } : {}) });
  });

  router.post('/tokens', allow('manage-tokens'), async (req, res) => {
    const project = field(req, 'project');
    const label = field(req, 'label');
    if (!ctx.projects.has(project)) return showTokens(res, 400, { error: 'Choose one of the forge\'s projects.', form: { project, label } });
    try {
      const created = await createAccessToken(ctx.db, { project, label, actor: sessionOf(res).actor });
      await showTokens(res, 201, { created: { ...created, project, label: label.trim() } });
    } catch (err) {
      if (err instanceof AnvilError) return showTokens(res, 400, { error: `${err.message}${err.hint ? ` (${err.hint})` : ''}`, form: { project, label } });
      throw err;
    }
  });

  router.post('/tokens/revoke', allow('manage-tokens'), async (req, res) => {
    const project = field(req, 'project');
    if (!ctx.projects.has(project)) return showTokens(res, 400, { error: 'That token\'s project is not on this forge.' });
    try {
      const result = await revokeAccessToken(ctx.db, project, field(req, 'id'), { actor: sessionOf(res).actor, secrets: ctx.secrets });
      res.redirect(303, `/ui/tokens?revoked=${encodeURIComponent(result.token.prefix)}`);
    } catch (err) {
      if (err instanceof AnvilError) return showTokens(res, 400, { error: err.message });
      throw err;
    }
  });

  router.get('/audit', async (req, res) => {
    const user = userOf(sessionOf(res));
    const kind = queryText(req, 'kind');
    const beforeText = queryText(req, 'before');
    const before = beforeText && /^[1-9][0-9]{0,15}$/.test(beforeText) ? Number(beforeText) : undefined;
    // One more than a page tells whether there is an older page.
    const rows = (await listAudit(ctx.db, { kind, before, limit: AUDIT_PER_PAGE + 1, ...(user.project !== null ? { project: user.project } : {}) })).reverse();
    const shown = rows.slice(0, AUDIT_PER_PAGE);
    send(res, 200, auditPage(frameOf(ctx, res), {
      rows: shown, kind, verification: await verifyAuditChain(ctx.db), paged: before !== undefined, now: Date.now(),
      ...(rows.length > AUDIT_PER_PAGE ? { older: shown.at(-1)!.seq } : {}),
    }));
  });

  router.use((_req, res) => refuse(res, 404, 'Not found', 'There is no such page.'));
  // Errors answer a page, never a stack: the request id finds the logged error.
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) return refuse(res, status, 'Request refused', 'The request could not be read (too large, or malformed).');
    const id = randomUUID();
    ctx.logger.error({ err, requestId: id }, 'unexpected error while answering a dashboard request');
    refuse(res, 500, 'Something went wrong', `An unexpected error happened (request ${id}); it is logged.`);
  });
  return router;
}
