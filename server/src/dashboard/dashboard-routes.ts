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
import { countReceivers, listReceivers, type ReceiverView } from '../receivers/list-receivers.ts';
import { hasUnsatisfiedRange } from '../receivers/range-satisfaction.ts';
import { appendAudit, listAudit } from '../store/audit-log.ts';
import type { DashboardSession } from '../store/database.ts';
import { paging, projectSets, setVersions, type Paging } from './dashboard-data.ts';
import { renderedDiff } from '../diff/rendered-diff.ts';
import { diffContract } from '../release/contract-diff.ts';
import { MAX_PREVIEW_VARS, setVersionView } from './set-version-view.ts';
import { auditPage, comparePage, projectsPage, setVersionPage, receiversPage, signInPage, tokensPage } from './dashboard-pages.ts';
import { cookieFlags, csrfValid, endSession, newSecret, readSession, sameSecret, SESSION_COOKIE, SESSION_TTL_MS, SIGN_IN_COOKIE, userOf } from './dashboard-session.ts';
import { signIn } from './dashboard-sign-in.ts';
import { auditVerifier } from './audit-verifier.ts';
import { rolloutsPage } from './rollouts-page.ts';
import { analyticsPage } from './analytics-page.ts';
import { parseSince, usageReport } from '../metrics/usage-report.ts';
import { rolloutsOverview } from './rollouts-view.ts';
import { parseServesFilter } from './receivers-filter.ts';
import { listGrants, setGrant } from './dashboard-grants.ts';
import { openCompareSource, resolveCompareSides } from './compare-sides.ts';
import { storedVersions } from './stored-versions.ts';
import { dashboardPublishRoutes } from './dashboard-publish-routes.ts';
import { forgesRoutes } from './forges-routes.ts';
import { allowFor, field, frameOf, queryText, refusal, send, sessionOf, visibleProjects } from './dashboard-http.ts';

const RECEIVERS_PER_PAGE = 50;
const AUDIT_PER_PAGE = 50;
/** The sign-in form's token lives as long as someone may leave the form open. */
const SIGN_IN_TTL_MS = 3_600_000;

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
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

export interface DashboardOptions {
  /** Starts the push worker at once after a publish. */
  wake: () => void;
}

export function dashboardRoutes(ctx: ForgeContext, options: DashboardOptions): Router {
  const router = Router();
  const refusals = rateLimitedLog(ctx.logger);
  const sessionCookie = cookieFlags(ctx.publicUrl, SESSION_TTL_MS);
  const signInCookie = cookieFlags(ctx.publicUrl, SIGN_IN_TTL_MS);

  const refuse = refusal(ctx);
  const checkAuditChain = auditVerifier(ctx.db);
  // Parsed bundles and compiled prompts of the versions people look at (immutable once stored).
  const storedVersionsCache = storedVersions(ctx.db);
  const allow = allowFor(refuse);

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

  router.post('/sign-out', async (_req, res) => {
    const session = sessionOf(res);
    const cookies = res.locals['cookies'] as Record<string, string | undefined>;
    await endSession(ctx.db, cookies[SESSION_COOKIE]!);
    await appendAudit(ctx.db, { project: session.project, kind: 'dashboard.sign-out', subject: session.actor.replace(/^token:/, ''), actor: session.actor });
    res.clearCookie(SESSION_COOKIE, { path: '/ui' });
    res.redirect(303, '/ui/sign-in');
  });

  router.get('/', (_req, res) => res.redirect(303, '/ui/projects'));
  router.use(dashboardPublishRoutes(ctx, { refuse, wake: options.wake }));
  router.use(forgesRoutes(ctx, { refuse }));

  router.get('/projects', async (_req, res) => {
    const projects = [];
    for (const name of visibleProjects(ctx, res)) projects.push(await projectSets(ctx.db, name, '1'));
    send(res, 200, projectsPage(frameOf(ctx, res), projects));
  });

  router.get('/projects/:project', async (req, res) => {
    const name = req.params['project']!;
    // An unknown project and one the user may not see answer alike.
    if (!visibleProjects(ctx, res).includes(name)) return refuse(res, 404, 'Not found', 'There is no such project, or you cannot see it.');
    send(res, 200, projectsPage(frameOf(ctx, res), [await projectSets(ctx.db, name, req.query['page'])], { single: true }));
  });

  router.get('/projects/:project/sets/:set/versions/:version', async (req, res) => {
    const { project, set, version } = req.params as { project: string; set: string; version: string };
    if (!visibleProjects(ctx, res).includes(project)) return refuse(res, 404, 'Not found', 'There is no such project, or you cannot see it.');
    const stored = await storedVersionsCache.read(project, set, version);
    if (!stored) return refuse(res, 404, 'Not found', `The forge has no version ${version} of ${set} in ${project}.`);
    // A preview changes nothing, so it is a GET: the inputs are in the URL, checked and bounded by setVersionView.
    const prompt = queryText(req, 'prompt');
    const vars = req.query['vars'];
    const preview = prompt !== undefined
      ? { prompt, variant: queryText(req, 'variant'), vars: typeof vars === 'string' ? vars.slice(0, MAX_PREVIEW_VARS + 1) : '' }
      : undefined;
    // One page of prompts (a preview's own page, whatever `page` says): a set can hold thousands.
    const view = setVersionView(stored.bundle, stored.dependencyPartials, preview, { page: req.query['page'], compile: stored.compile });
    send(res, 200, setVersionPage(frameOf(ctx, res), { project, view }));
  });

  // Usage analytics of a set (issue 17).
  router.get('/projects/:project/sets/:set/analytics', async (req, res) => {
    const { project, set } = req.params as { project: string; set: string };
    if (!visibleProjects(ctx, res).includes(project)) return refuse(res, 404, 'Not found', 'There is no such project, or you cannot see it.');
    const channel = queryText(req, 'channel') || undefined;
    const since = queryText(req, 'since') || undefined;
    if (channel !== undefined && !['production', 'staging', 'development'].includes(channel)) return refuse(res, 400, 'Bad request', 'The channel is production, staging or development.');
    let from: number | undefined;
    try {
      from = since !== undefined ? parseSince(since) : undefined;
    } catch {
      return refuse(res, 400, 'Bad request', 'Since is a duration (24h, 7d, 30m) or a date (2026-01-31).');
    }
    const report = await usageReport(ctx.db, { project, set, channel, since: from });
    send(res, 200, analyticsPage(frameOf(ctx, res), report, { channel, since }));
  });

  router.get('/projects/:project/sets/:set/compare', async (req, res) => {
    const { project, set } = req.params as { project: string; set: string };
    if (!visibleProjects(ctx, res).includes(project)) return refuse(res, 404, 'Not found', 'There is no such project, or you cannot see it.');
    const versions = await setVersions(ctx.db, project, set);
    if (versions.length === 0) return refuse(res, 404, 'Not found', `The forge has no version of ${set} in ${project}.`);
    // Not queryText, which cuts at 200 characters: a cut ref could name something else, so
    // compare-sides refuses long text instead. A ref typed beside a select wins over its choice.
    const text = (name: string) => {
      const value = req.query[name];
      return typeof value === 'string' && value !== '' ? value : undefined;
    };
    const from = text('from_ref') ?? text('from');
    const to = text('to_ref') ?? text('to');
    const frame = frameOf(ctx, res);
    const source = openCompareSource(ctx, project, set, versions.map((v) => v.version), storedVersionsCache);
    try {
      // Without a choice yet, the form offers the two newest versions.
      const shown = {
        project, set, versions, refs: await source.repo.offered(set),
        from: from ?? versions[1]?.version ?? versions[0]!.version, to: to ?? versions[0]!.version,
      };
      if (from === undefined && to === undefined) return send(res, 200, comparePage(frame, shown));
      const sides = await resolveCompareSides(source, from, to);
      if (!sides.ok) return send(res, 400, comparePage(frame, { ...shown, error: sides.errors.map((e) => `${e.code}: ${e.message}`).join(' ') }));
      const prompts = renderedDiff(sides.from, sides.to, { unchangedText: false });
      send(res, 200, comparePage(frame, {
        ...shown, result: { contract: diffContract(sides.from.bundle, sides.to.bundle), prompts, labels: { from: sides.from.label, to: sides.to.label } },
      }));
    } finally {
      source.close();
    }
  });

  router.get('/receivers', async (req, res) => {
    const user = userOf(sessionOf(res));
    const channel = queryText(req, 'channel');
    const serves = queryText(req, 'serves', 150);
    const filter = serves === undefined ? undefined : parseServesFilter(serves);
    const unsatisfied = queryText(req, 'ranges') === 'unsatisfied';
    const scope = { ...(user.project === null ? {} : { project: user.project }), ...(channel ? { channel } : {}) };
    let shown: ReceiverView[];
    let p: Paging;
    if (filter === undefined && !unsatisfied) {
      // One page read from the store: a forge may hold thousands of receivers.
      p = paging(await countReceivers(ctx.db, scope), req.query['page'], RECEIVERS_PER_PAGE);
      shown = await listReceivers(ctx.db, { ...scope, limit: p.pageSize, offset: p.offset });
    } else {
      // What they serve and their ranges are JSON in their rows: filtered here.
      const chosen = (await listReceivers(ctx.db, scope)).filter((r) => (!filter || typeof filter === 'string' || r.versions[filter.set] === filter.version)
        && (!unsatisfied || hasUnsatisfiedRange(r.rangeStatus ?? {})));
      p = paging(chosen.length, req.query['page'], RECEIVERS_PER_PAGE);
      shown = chosen.slice(p.offset, p.offset + p.pageSize);
    }
    send(res, typeof filter === 'string' ? 400 : 200, receiversPage(frameOf(ctx, res), {
      receivers: shown, paging: p, channel, serves, unsatisfied, now: Date.now(), ...(typeof filter === 'string' ? { error: filter } : {}),
    }));
  });

  router.get('/rollouts', async (req, res) => {
    const user = userOf(sessionOf(res));
    const { rows, paging: p } = await rolloutsOverview(ctx.db, visibleProjects(ctx, res), req.query['page']);
    send(res, 200, rolloutsPage(frameOf(ctx, res), { rows, paging: p, showProject: user.project === null }));
  });

  const showTokens = async (res: Response, status: number, extra: { created?: CreatedAccessToken & { project: string; label: string }; error?: string | undefined; message?: string | undefined; form?: { project: string; label: string } } = {}) => {
    send(res, status, tokensPage(frameOf(ctx, res), {
      tokens: await listAccessTokens(ctx.db), projects: [...ctx.projects.keys()].sort(), now: Date.now(), grants: await listGrants(ctx.db),
      ...(extra.created ? { created: { token: extra.created.token, project: extra.created.project, label: extra.created.label } } : {}),
      error: extra.error, message: extra.message, form: extra.form,
    }));
  };

  router.get('/tokens', allow('manage-tokens'), async (req, res) => {
    const revoked = queryText(req, 'revoked', 40);
    const granted = /^([A-Za-z0-9_-]{1,40}):(viewer|publisher|admin)$/.exec(queryText(req, 'granted', 60) ?? '');
    await showTokens(res, 200, { message: revoked ? `Revoked ${revoked}….` : granted ? `${granted[1]}… now signs in as ${granted[2]}.` : undefined });
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

  router.post('/tokens/role', allow('manage-tokens'), async (req, res) => {
    try {
      const grant = await setGrant(ctx, { tokenId: field(req, 'id'), project: field(req, 'project'), role: field(req, 'role'), actor: sessionOf(res).actor });
      res.redirect(303, `/ui/tokens?granted=${encodeURIComponent(`${grant.prefix}:${grant.role}`)}`);
    } catch (err) {
      if (err instanceof AnvilError) return showTokens(res, 400, { error: `${err.code}: ${err.message}${err.hint ? ` (${err.hint})` : ''}` });
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
      rows: shown, kind, verification: await checkAuditChain(), paged: before !== undefined, now: Date.now(),
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
