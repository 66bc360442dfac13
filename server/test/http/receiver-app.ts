/**
 * A forge with the receiver and token routes on loopback, assembled as the forge's app does:
 * `express.json()`, one `requireToken` gate in front of the project routes, the routers with
 * `mergeParams`, the error handler last. The store is real SQLite; the secret box is the real
 * one (AES-256-GCM, key in the data dir), so tests can check what the store keeps.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { Router } from 'express';
import { createAccessToken } from '../../src/access/access-tokens.ts';
import type { PushTargets } from '../../src/forge/forge-context.ts';
import { loadSecretBox } from '../../src/forge/secret-box.ts';
import { errorHandler, sendError } from '../../src/http/http-errors.ts';
import { receiverRoutes, tokenRoutes } from '../../src/http/receiver-routes.ts';
import { requireToken } from '../../src/http/require-token.ts';
import { createTestForge, type TestForge } from '../support/forge-context.ts';

export interface ReceiverApp {
  forge: TestForge;
  url: string;
  adminToken: string;
  /** A fresh token of `project`. */
  token(project?: string, label?: string): Promise<string>;
  /** `fetch` of `path` with a JSON body and a Bearer token. */
  call(method: string, path: string, options?: { token?: string | undefined; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>;
  close(): Promise<void>;
}

export async function startReceiverApp(options: { admin?: boolean; projects?: string[]; pushTargets?: PushTargets } = {}): Promise<ReceiverApp> {
  // Receivers on 127.0.0.1 are registered unless a test passes stricter push targets.
  const forge = await createTestForge(options.pushTargets ? { pushTargets: options.pushTargets } : {});
  const { ctx } = forge;
  for (const name of options.projects ?? ['acme', 'beta']) {
    ctx.projects.set(name, { name, remote: `/srv/${name}.git`, provider: 'git', webhookSecret: 'x'.repeat(32) });
  }
  const adminToken = randomBytes(32).toString('hex');
  if (options.admin !== false) ctx.adminToken = adminToken;
  ctx.secrets = loadSecretBox(forge.dir);

  const app = express();
  app.get('/.well-known/anvil.json', (_req, res) => void res.json({ name: ctx.name, apiVersion: '1', keys: ctx.keys.published() }));
  const project = Router({ mergeParams: true });
  project.use(express.json({ limit: '256kb' }));
  project.use(requireToken(ctx));
  project.use(receiverRoutes(ctx));
  project.use(tokenRoutes(ctx));
  app.use('/api/v1/projects/:project', project);
  app.use((req, res) => sendError(res, 404, 'not-found', `no route for ${req.method} ${req.path}`));
  app.use(errorHandler(ctx.logger));

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    forge, url, adminToken,
    async token(name = 'acme', label = 'test') {
      return (await createAccessToken(ctx.db, { project: name, label })).token;
    },
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`;
      let body: string | undefined = opts.raw;
      if (opts.body !== undefined) body = JSON.stringify(opts.body);
      if (body !== undefined) headers['content-type'] ??= 'application/json';
      const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        parsed = { raw: text };
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await forge.close();
    },
  };
}
