/**
 * A forge's webhook routes on loopback for tests: a real Express app, a real SQLite store
 * (createTestForge), and an onEvent that records what it was given.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import express from 'express';
import type { ForgeProject } from '../../src/forge/forge-context.ts';
import type { Logger } from '../../src/forge/logger.ts';
import { errorHandler } from '../../src/http/http-errors.ts';
import type { ForgeEvent, ForgeEventHandler } from '../../src/webhooks/forge-event.ts';
import { gitWebhookHandler } from '../../src/webhooks/git-webhook.ts';
import { githubWebhookHandler } from '../../src/webhooks/github-webhooks.ts';
import type { WebhookHandlerOptions } from '../../src/webhooks/webhook-intake.ts';
import { createTestForge, type TestForge } from '../support/forge-context.ts';

export const GITHUB_SECRET = 'It\'s a Secret to Everybody';
export const GIT_SECRET = 'git-hook-secret';

export interface WebhookForge {
  forge: TestForge;
  url: string;
  /** Every event onEvent was given, in order. */
  events: ForgeEvent[];
  /** Replaces what onEvent does (after it records the event). */
  setHandler(handler: ForgeEventHandler): void;
  /** Waits until every accepted event has been handled. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookForge(options: { projects?: ForgeProject[]; limit?: string | number; logger?: Logger; logIntervalMs?: number } = {}): Promise<WebhookForge> {
  const forge = await createTestForge();
  if (options.logger) forge.ctx.logger = options.logger;
  const projects = options.projects ?? [
    { name: 'hello', remote: 'https://github.com/Codertocat/Hello-World.git', provider: 'github', githubRepository: 'Codertocat/Hello-World', webhookSecret: GITHUB_SECRET },
    { name: 'plain', remote: '/srv/git/plain.git', provider: 'git', webhookSecret: GIT_SECRET },
  ];
  for (const project of projects) forge.ctx.projects.set(project.name, project);

  const events: ForgeEvent[] = [];
  let handler: ForgeEventHandler = async () => {};
  const onEvent: ForgeEventHandler = async (event) => {
    events.push(event);
    await handler(event);
  };
  const handlerOptions: WebhookHandlerOptions = {
    ...(options.limit === undefined ? {} : { limit: options.limit }),
    ...(options.logIntervalMs === undefined ? {} : { logIntervalMs: options.logIntervalMs }),
  };
  const github = githubWebhookHandler(forge.ctx, onEvent, handlerOptions);
  const git = gitWebhookHandler(forge.ctx, onEvent, handlerOptions);

  const app = express();
  app.post('/webhooks/github', github);
  app.post('/webhooks/git', git);
  // As in the forge: a JSON parser for everything else, after the webhook routes.
  app.use(express.json());
  app.post('/api/echo', (req, res) => void res.json(req.body));
  app.use(errorHandler(forge.ctx.logger));

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    forge,
    url: `http://127.0.0.1:${port}`,
    events,
    setHandler: (h) => void (handler = h),
    drain: async () => {
      await github.drain();
      await git.drain();
    },
    async close() {
      await github.drain();
      await git.drain();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await forge.close();
    },
  };
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export async function post(url: string, body: string | Uint8Array, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: res.status, body: json };
}

/** A JSON object, loosely typed: test payloads are edited by hand. */
export type Json = Record<string, any>;

interface WebhookDefinition {
  name: string;
  examples: Json[];
}

const definitions = createRequire(import.meta.url)('@octokit/webhooks-examples') as WebhookDefinition[];

/** A deep copy of GitHub's own example payload for `name`, the first that `pick` accepts. */
export function githubExample(name: string, pick: (payload: Json) => boolean = () => true): Json {
  const found = definitions.find((d) => d.name === name)?.examples.find(pick);
  if (!found) throw new Error(`no ${name} example matches`);
  return structuredClone(found);
}

/** Every example payload GitHub publishes, with its event name: real bodies for fuzzing. */
export function allGithubExamples(): { event: string; payload: Json }[] {
  return definitions.flatMap((d) => d.examples.map((payload) => ({ event: d.name, payload: structuredClone(payload) })));
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
