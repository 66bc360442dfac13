/**
 * The forge's HTTP surface (DESIGN §8) as one Express 5 app. Webhooks are mounted before any
 * JSON body parser: they verify signatures over the raw bytes (and @octokit/webhooks hangs when
 * express.json() has consumed the body). Every failure answers JSON with a code, never a stack.
 *
 * What an anonymous caller can learn is nothing about the projects (issue 14): `/healthz` names
 * none, `/metrics` labels carry none, a webhook that does not verify gets one answer whatever it
 * claims, and under `/api/v1/projects/:project` the token is checked before anything else —
 * before the body is parsed and before the project is looked up — so an unknown project and a
 * real one answer alike to anyone but the admin.
 */
import express, { Router, type Express, type Request, type Response } from 'express';
import type { ForgeContext } from '../forge/forge-context.ts';
import { gitWebhookHandler } from '../webhooks/git-webhook.ts';
import { githubWebhookHandler } from '../webhooks/github-webhooks.ts';
import type { ForgeEventHandler } from '../webhooks/forge-event.ts';
import { dashboardRoutes } from '../dashboard/dashboard-routes.ts';
import { healthRoutes } from './health-routes.ts';
import { metricsRoutes } from './metrics-routes.ts';
import { errorHandler, sendError } from './http-errors.ts';
import { pullRoutes } from './pull-routes.ts';
import { publishRoutes } from './publish-routes.ts';
import { receiverRoutes, tokenRoutes } from './receiver-routes.ts';
import { streamRoutes } from './stream-routes.ts';
import { mcpRoutes } from './mcp-routes.ts';
import { peerRoutes } from './peer-routes.ts';
import { requireToken } from './require-token.ts';

export const API_VERSION = '1';
/** The largest JSON body the API takes (registrations, publish requests); pushes go the other way. */
const JSON_LIMIT = '256kb';

export interface ForgeAppOptions {
  onEvent: ForgeEventHandler;
  /** Called after an API publish, so the push worker starts at once. */
  wake: () => void;
}

export type ForgeApp = Express & {
  /** Resolves once every webhook accepted so far has been handed on and handled (they run after the answer). */
  drainWebhooks(): Promise<void>;
};

export function createForgeApp(ctx: ForgeContext, options: ForgeAppOptions): ForgeApp {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use(healthRoutes(ctx));
  app.get('/metrics', async (_req, res) => {
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  app.get('/.well-known/anvil.json', (_req, res) => {
    res.json({ name: ctx.name, apiVersion: API_VERSION, url: ctx.publicUrl, keys: ctx.keys.published() });
  });

  const webhooks = [githubWebhookHandler(ctx, options.onEvent), gitWebhookHandler(ctx, options.onEvent)] as const;
  app.post('/webhooks/github', webhooks[0]);
  app.post('/webhooks/git', webhooks[1]);

  // The dashboard (issue 15): HTML pages with their own session and errors.
  app.get('/', (_req, res) => res.redirect(303, '/ui/'));
  app.use('/ui', dashboardRoutes(ctx, { wake: options.wake }));

  // Peers (issue 17): the project list, each project's sets, rendering on demand; each route gated itself.
  app.use('/api/v1/projects', peerRoutes(ctx));
  const project = Router({ mergeParams: true });
  // The gate first: nothing — the body, the project's existence — is looked at for a caller
  // without a valid token.
  project.use(requireToken(ctx));
  // Usage metrics (issue 17) parse their own, larger, bodies.
  project.use(metricsRoutes(ctx, options.wake));
  project.use(express.json({ limit: JSON_LIMIT }));
  project.use(pullRoutes(ctx));
  project.use(receiverRoutes(ctx));
  project.use(streamRoutes(ctx));
  project.use(mcpRoutes(ctx));
  project.use(tokenRoutes(ctx));
  project.use(publishRoutes(ctx, options.wake));
  app.use('/api/v1/projects/:project', project);

  app.use((req: Request, res: Response) => sendError(res, 404, 'not-found', `no route for ${req.method} ${req.path}`));
  app.use(errorHandler(ctx.logger));
  return Object.assign(app, { drainWebhooks: async () => void (await Promise.all(webhooks.map((w) => w.drain()))) });
}
