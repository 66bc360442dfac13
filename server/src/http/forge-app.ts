/**
 * The forge's HTTP surface (DESIGN §8) as one Express 5 app. Webhooks are mounted before any
 * JSON body parser: they verify signatures over the raw bytes (and @octokit/webhooks hangs when
 * express.json() has consumed the body). Every failure answers JSON with a code, never a stack.
 */
import express, { Router, type Express, type NextFunction, type Request, type Response } from 'express';
import type { ForgeContext } from '../forge/forge-context.ts';
import { gitWebhookHandler } from '../webhooks/git-webhook.ts';
import { githubWebhookHandler } from '../webhooks/github-webhooks.ts';
import type { ForgeEventHandler } from '../webhooks/forge-event.ts';
import { errorHandler, sendError } from './http-errors.ts';
import { pullRoutes } from './pull-routes.ts';
import { publishRoutes } from './publish-routes.ts';
import { receiverRoutes, tokenRoutes } from './receiver-routes.ts';
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

  app.get('/healthz', (_req, res) => void res.json({ ok: true, name: ctx.name, projects: [...ctx.projects.keys()] }));
  app.get('/metrics', async (_req, res) => {
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  app.get('/.well-known/anvil.json', (_req, res) => {
    res.json({ name: ctx.name, apiVersion: API_VERSION, url: ctx.publicUrl, keys: ctx.keys.published() });
  });

  const webhooks = [githubWebhookHandler(ctx, options.onEvent), gitWebhookHandler(ctx, options.onEvent)] as const;
  app.post('/webhooks/github', webhooks[0]);
  app.post('/webhooks/git', webhooks[1]);

  const project = Router({ mergeParams: true });
  project.use((req: Request, res: Response, next: NextFunction) => {
    const name = String(req.params['project']);
    if (!ctx.projects.has(name)) return sendError(res, 404, 'project.unknown', `this forge has no project "${name}"`);
    next();
  });
  project.use(express.json({ limit: JSON_LIMIT }));
  project.use(requireToken(ctx));
  project.use(pullRoutes(ctx));
  project.use(receiverRoutes(ctx));
  project.use(tokenRoutes(ctx));
  project.use(publishRoutes(ctx, options.wake));
  app.use('/api/v1/projects/:project', project);

  app.use((req: Request, res: Response) => sendError(res, 404, 'not-found', `no route for ${req.method} ${req.path}`));
  app.use(errorHandler(ctx.logger));
  return Object.assign(app, { drainWebhooks: async () => void (await Promise.all(webhooks.map((w) => w.drain()))) });
}
