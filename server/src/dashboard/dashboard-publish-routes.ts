/**
 * "Publish to LIVE" on the dashboard (issue 15): the publisher chooses a release and sees who
 * takes it (GET …/publish), confirms (POST, CSRF-checked, the same republishRelease as the API
 * and `anvil publish`, audited with the session's actor), and is sent to a progress page whose
 * table follows each receiver through server-sent events (GET …/publish/events) read from the
 * store's deliveries — another replica may be the one pushing.
 */
import semver from 'semver';
import { Router, type Request, type Response } from 'express';
import { AnvilError, isExactVersion, type SetModeName } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import { policyCeiling } from '../policy/rollout-rules.ts';
import { isSettled, MAX_ENVELOPES, progressTally, publishProgress, type DeliveryProgress } from '../publish/publish-progress.ts';
import { releaseDecisionsOf, type ReleaseDecision } from '../publish/release-decisions.ts';
import { republishRelease } from '../publish/republish.ts';
import { listReceivers } from '../receivers/list-receivers.ts';
import { storeTime } from '../store/open-store.ts';
import { allowFor, field, frameOf, NO_SUCH_PROJECT, queryList, queryText, send, sessionOf, visibleProjects, type Refuse } from './dashboard-http.ts';
import { userOf } from './dashboard-session.ts';
import { answerText, publishPage, publishPath, publishProgressPage, resultText, type ChannelResult, type ReleaseChoice } from './publish-pages.ts';
import { publishAudience } from './publish-view.ts';

/** How often the events stream looks at the store, and how long it follows a publish. */
const POLL_MS = 250;
const FOLLOW_MS = 10 * 60_000;
const KEEPALIVE_MS = 15_000;
const ENVELOPE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const STORE_TIME = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{8,12}Z$/;
const CHANNEL_RESULT = /^(production|staging|development):([a-z-]{1,20}):([0-9]{1,7})$/;
const MAX_REASON = 500;

export interface PublishRoutesOptions {
  refuse: Refuse;
  /** Starts the push worker at once after a publish. */
  wake: () => void;
}

function choiceOf(d: ReleaseDecision): ReleaseChoice {
  return { version: d.version, channels: d.channels, refused: d.refused, reason: d.reason, ...(d.override ? { override: d.override } : {}) };
}

/** Newest first; only releases whose bundle the forge built (a failed build has nothing to publish). */
async function releaseChoices(ctx: ForgeContext, project: string, set: string): Promise<ReleaseDecision[]> {
  return [...(await releaseDecisionsOf(ctx, project, set)).values()].filter((d) => d.integrity !== null).sort((a, b) => semver.rcompare(a.version, b.version));
}

export function dashboardPublishRoutes(ctx: ForgeContext, options: PublishRoutesOptions): Router {
  const router = Router();
  const { refuse } = options;
  const allow = allowFor(refuse);

  const params = (req: Request) => req.params as { project: string; set: string };

  /** The publish page for `version` (or the chooser), with an error and a status when the form came back. */
  const showPublish = async (req: Request, res: Response, version: string | undefined, status = 200, error?: string, reason?: string): Promise<void> => {
    const { project, set } = params(req);
    const decisions = await releaseChoices(ctx, project, set);
    const user = userOf(sessionOf(res));
    const releases = decisions.map(choiceOf);
    const frame = frameOf(ctx, res);
    if (version === undefined) return send(res, status, publishPage(frame, { project, set, releases, error }));
    const decision = decisions.find((d) => d.version === version);
    if (!decision) {
      const known = releases.length > 0 ? `releases: ${releases.map((r) => r.version).join(', ')}` : 'it has none yet';
      return send(res, 400, publishPage(frame, { project, set, releases, error: `publish.unknown-release: ${set} has no release ${version} the forge processed (${known}).` }));
    }
    const channels = decision.refused ? policyCeiling((decision.mode ?? 'review') as SetModeName, version) : decision.channels;
    const heads = Object.fromEntries((await ctx.db.selectFrom('channel_heads').select(['channel', 'version'])
      .where('project', '=', project).where('set_name', '=', set).execute()).map((h) => [h.channel, h.version]));
    const receivers = (await listReceivers(ctx.db, { project })).filter((r) => channels.includes(r.channel));
    send(res, status, publishPage(frame, {
      project, set, releases, error, reason,
      chosen: { release: choiceOf(decision), channels, audience: publishAudience(set, version, channels, heads, receivers), mayOverride: user.role === 'admin' },
    }));
  };

  const inProject = (req: Request, res: Response): boolean => {
    if (visibleProjects(ctx, res).includes(params(req).project)) return true;
    refuse(res, 404, 'Not found', NO_SUCH_PROJECT);
    return false;
  };

  router.get('/projects/:project/sets/:set/publish', allow('publish'), async (req, res) => {
    if (!inProject(req, res)) return;
    await showPublish(req, res, queryText(req, 'version', 100));
  });

  router.post('/projects/:project/sets/:set/publish', allow('publish'), async (req, res) => {
    if (!inProject(req, res)) return;
    const { project, set } = params(req);
    const version = field(req, 'version').trim();
    const override = field(req, 'override') === 'yes';
    const reason = field(req, 'reason').trim();
    if (!isExactVersion(version)) return showPublish(req, res, undefined, 400, `publish.invalid-version: choose one of the releases (got "${version.slice(0, 100)}").`);
    if (override && userOf(sessionOf(res)).role !== 'admin') {
      return refuse(res, 403, 'Not allowed', 'Only the forge\'s admin can publish a refused release.');
    }
    if (override && reason === '') return showPublish(req, res, version, 400, 'publish.reason-missing: say why the refused release is published anyway; the audit log keeps it.');
    if (reason.length > MAX_REASON) return showPublish(req, res, version, 400, `publish.reason-too-long: keep the reason under ${MAX_REASON} characters.`, reason.slice(0, MAX_REASON));
    const since = storeTime();
    try {
      const outcome = await republishRelease(ctx, project, set, version, sessionOf(res).actor, { overrideRefusal: override, reason: override ? reason : undefined });
      options.wake();
      const q = new URLSearchParams({ version, since });
      for (const c of outcome.channels) {
        q.append('channel', `${c.channel}:${c.outcome}:${c.deliveries}`);
        if (c.envelopeId) q.append('envelope', c.envelopeId);
      }
      res.redirect(303, `${publishPath(project, set)}/progress?${q.toString()}`);
    } catch (err) {
      if (!(err instanceof AnvilError)) throw err;
      const status = err.code === 'release.refused' || err.code === 'release.not-publishable' ? 409 : 400;
      await showPublish(req, res, version, status, `${err.code}: ${err.message}${err.hint ? ` (${err.hint})` : ''}`, reason);
    }
  });

  /** The publish a progress or events URL names, checked: only well-formed ids and times reach the store. */
  const publishOf = (req: Request, needsVersion: boolean): { version: string; since: string; envelopes: string[]; channels: ChannelResult[] } | string => {
    const version = queryText(req, 'version', 100) ?? '';
    const since = queryText(req, 'since', 40) ?? '';
    const envelopes = queryList(req, 'envelope', MAX_ENVELOPES);
    if ((needsVersion && !isExactVersion(version)) || !STORE_TIME.test(since) || !envelopes.every((e) => ENVELOPE_ID.test(e))) {
      return 'This progress link is not one the forge made (its version, time or envelope ids are malformed). Publish again from the set\'s publish page.';
    }
    const channels = queryList(req, 'channel', 3, 60).flatMap((c) => {
      const m = CHANNEL_RESULT.exec(c);
      return m ? [{ channel: m[1]!, outcome: m[2]!, deliveries: Number(m[3]) }] : [];
    });
    return { version, since, envelopes, channels };
  };

  router.get('/projects/:project/sets/:set/publish/progress', async (req, res) => {
    if (!inProject(req, res)) return;
    const { project, set } = params(req);
    const run = publishOf(req, true);
    if (typeof run === 'string') return refuse(res, 400, 'Bad link', run);
    const rows = await publishProgress(ctx.db, project, run.envelopes, run.since, { set, version: run.version });
    const events = new URLSearchParams({ version: run.version, since: run.since });
    for (const e of run.envelopes) events.append('envelope', e);
    // The stream is offered even when everything settled before the page loaded: it then sends
    // the rows and the result at once, so the page behaves the same however fast receivers were.
    send(res, 200, publishProgressPage(frameOf(ctx, res), {
      project, set, version: run.version, channels: run.channels, rows, eventsUrl: `${publishPath(project, set)}/events?${events.toString()}`,
      ...(rows.every((r) => isSettled(r.state)) ? { result: resultText(progressTally(rows), false) } : {}),
    }));
  });

  router.get('/projects/:project/sets/:set/publish/events', async (req, res) => {
    if (!inProject(req, res)) return;
    const { project, set } = params(req);
    const run = publishOf(req, false);
    if (typeof run === 'string') return refuse(res, 400, 'Bad link', run);
    res.status(200).set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    let open = true;
    req.on('close', () => { open = false; });
    const event = (name: string, data: unknown) => res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    const sent = new Map<string, string>();
    const started = Date.now();
    let lastWrite = started;
    try {
      while (open) {
        const rows = await publishProgress(ctx.db, project, run.envelopes, run.since, isExactVersion(run.version) ? { set, version: run.version } : undefined);
        for (const r of rows) {
          const shown: DeliveryProgress & { answer: string } = { ...r, answer: answerText(r) };
          const text = JSON.stringify(shown);
          const key = `${r.envelope} ${r.instanceId}`;
          if (sent.get(key) === text) continue;
          sent.set(key, text);
          event('delivery', shown);
          lastWrite = Date.now();
        }
        const timedOut = Date.now() - started > FOLLOW_MS;
        if (rows.every((r) => isSettled(r.state)) || timedOut) {
          event('done', { result: resultText(progressTally(rows), timedOut), tally: progressTally(rows) });
          break;
        }
        if (Date.now() - lastWrite > KEEPALIVE_MS) {
          res.write(': still pushing\n\n');
          lastWrite = Date.now();
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    } finally {
      res.end();
    }
  });

  return router;
}
