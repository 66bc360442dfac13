/**
 * The forge's MCP sessions across replicas (issue 17): two forges on one PostgreSQL schema with
 * the same keys, and no sticky routing — the host's POSTs go to replica A, its GET stream to
 * replica B (as a load balancer may send them). A publish on A reaches the host through B's
 * stream (announced on the store's events, LISTEN/NOTIFY), and either replica answers the
 * session's POSTs: the session id holds the session, sealed with the key both replicas share.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { PromptListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { createAccessToken } from '../../src/access/access-tokens.ts';
import { mcpStreamHubOf } from '../../src/deliver/mcp-stream-hub.ts';
import type { ResolvedForgeConfig } from '../../src/forge/forge-config.ts';
import { createLogger } from '../../src/forge/logger.ts';
import { startForge, type RunningForge } from '../../src/forge/start-forge.ts';
import { gitdir, type GitDir } from '../support/gitdir.ts';
import { createTestSchema, type TestSchema } from '../support/test-postgres.ts';
import { until } from '../support/until.ts';

const FILES = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/support/set.yaml': 'mode: live\n',
  'prompts/support/answer.md': '---\ninput:\n  schema:\n    question: string\n---\nAnswer: {{question}}',
};

describe('forge: MCP sessions across replicas on PostgreSQL', function () {
  this.timeout(60_000);
  let schema: TestSchema;
  let repo: GitDir;
  let a: RunningForge;
  let b: RunningForge;
  let token: string;
  const dirs: string[] = [];
  const clients: Client[] = [];

  before(async () => {
    schema = await createTestSchema();
    repo = await gitdir({ files: FILES });
    const config = (dataDir: string): ResolvedForgeConfig => ({
      name: 'replicated-forge', dataDir, host: '127.0.0.1', port: 0, keyRotationGraceDays: 7, defaultBranches: {}, database: schema.url,
      projects: [{ name: 'acme', remote: repo.dir, provider: 'git', webhookSecret: 'replicated-forge-git-secret-0123456789' }],
    });
    const options = { logger: createLogger({ level: 'silent' }), syncOnStart: false };
    const [aDir, bDir] = [mkdtempSync(path.join(tmpdir(), 'anvil-mcp-replica-a-')), mkdtempSync(path.join(tmpdir(), 'anvil-mcp-replica-b-'))];
    dirs.push(aDir, bDir);
    a = await startForge(config(aDir), options);
    // Every replica holds the same keys (docs/forge.md): the signing keys and seal.key.
    cpSync(path.join(aDir, 'keys'), path.join(bDir, 'keys'), { recursive: true });
    b = await startForge(config(bDir), options);
    await a.sync('acme');
    await a.settle();
    token = (await createAccessToken(a.ctx.db, { project: 'acme', label: 'mcp host' })).token;
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await b?.close();
    await a?.close();
    await schema?.drop();
    await repo?.cleanup();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('a publish on replica A reaches the host\'s stream held by replica B, and both answer the session\'s POSTs', async () => {
    // The load balancer: POSTs to `postTo`, the GET stream to B.
    let postTo = a;
    const route = '/api/v1/projects/acme/mcp?channel=development';
    const transport = new StreamableHTTPClientTransport(new URL(`${a.url}${route}`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
      fetch: (_url, init) => fetch(`${(init?.method === 'GET' ? b : postTo).url}${route}`, init),
    });
    const client = new Client({ name: 'anvil-test', version: '1.0.0' });
    clients.push(client);
    let notified = 0;
    client.setNotificationHandler(PromptListChangedNotificationSchema, () => void (notified += 1));
    await client.connect(transport);
    expect(transport.sessionId).to.be.a('string');
    await until('the host\'s stream held by B', () => mcpStreamHubOf(b.ctx).count() === 1);
    expect(mcpStreamHubOf(a.ctx).count(), 'A holds no stream').to.equal(0);
    const before = (await client.listPrompts()).prompts.find((p) => p.name === 'support/answer')!;

    // A saved edit: A syncs it and publishes the new head build on development.
    await repo.commit('clearer answer', { 'prompts/support/answer.md': '---\ninput:\n  schema:\n    question: string\n---\nShort answer: {{question}}' });
    await a.sync('acme');
    const synced = Date.now();
    await until('notifications/prompts/list_changed through B', () => notified === 1, 5_000);
    expect(Date.now() - synced, 'ms from the sync on A to the notification from B').to.be.below(3_000);
    const head = await a.ctx.db.selectFrom('channel_heads').select('version')
      .where('project', '=', 'acme').where('channel', '=', 'development').where('set_name', '=', 'support').executeTakeFirstOrThrow();
    expect(head.version).to.not.equal(before._meta?.['version']);

    const onA = (await client.listPrompts()).prompts.find((p) => p.name === 'support/answer')!;
    expect(onA._meta).to.include({ set: 'support', version: head.version });
    postTo = b;
    const onB = await client.getPrompt({ name: 'support/answer', arguments: { question: 'Why?' } });
    expect(onB.messages).to.deep.equal([{ role: 'user', content: { type: 'text', text: 'Short answer: Why?' } }]);
    expect(onB._meta).to.include({ version: head.version });
  });
});
