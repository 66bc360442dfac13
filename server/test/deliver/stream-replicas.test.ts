/**
 * A publish on one forge replica reaches the streams held by another (issue 16): the envelope is
 * announced on the store's events (`ctx.events`), and the replica holding the stream reads its
 * body from the shared store. With ANVIL_TEST_STORE=postgres the two replicas are two forges on
 * one PostgreSQL schema (LISTEN/NOTIFY between them); on SQLite, where one forge process owns the
 * store, "both" are the same forge, and the announcement still goes through `ctx.events` and the
 * store, not through memory.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createAccessToken } from '../../src/access/access-tokens.ts';
import { createForgeApp } from '../../src/http/forge-app.ts';
import { announceEnvelope } from '../../src/publish/announce-envelope.ts';
import { collectStream } from '../support/collect-stream.ts';
import { addEnvelope, makeBundle, PROJECT } from '../support/delivery-fixtures.ts';
import { createTestForge, type TestForge } from '../support/forge-context.ts';
import { testStoreKind } from '../support/test-postgres.ts';

describe('streams across forge replicas (issue 16)', function () {
  const forges: TestForge[] = [];
  let server: Server | undefined;

  afterEach(async function () {
    await new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.closeAllConnections();
      server.close(() => resolve());
    });
    server = undefined;
    for (const f of forges.splice(0).reverse()) await f.close();
  });

  it('sends an envelope announced by one replica on the streams another replica holds', async function () {
    const a = await createTestForge();
    forges.push(a);
    const b = testStoreKind() === 'postgres' ? await createTestForge({ file: a.file, key: a.key }) : a;
    if (b !== a) forges.push(b);
    for (const f of new Set([a, b])) f.ctx.projects.set(PROJECT, { name: PROJECT, remote: '/srv/acme.git', provider: 'git', webhookSecret: 'x'.repeat(32) });

    // Replica B serves the stream.
    const app = createForgeApp(b.ctx, { onEvent: async () => undefined, wake: () => undefined });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/projects/${PROJECT}`;
    const { token } = await createAccessToken(a.ctx.db, { project: PROJECT, label: 'app' });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const registered = await fetch(`${base}/receivers`, {
      method: 'POST', headers, body: JSON.stringify({ instanceId: 'app-1', transport: 'stream', channel: 'production', mode: 'accepting', ranges: {}, versions: {} }),
    });
    expect(registered.status).to.equal(201);
    const abort = new AbortController();
    const stream = await fetch(`${base}/stream?channel=production&instance=app-1`, { headers, signal: abort.signal });
    expect(stream.status).to.equal(200);
    const collected = collectStream(stream);
    const read = collected.ended;
    // Nothing is published yet: only the opening comment.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(collected.text()).to.equal(': anvil stream\n\n');

    // Replica A publishes: the envelope is in the shared store, announced without its body.
    const { id, body } = await addEnvelope(a.ctx, [makeBundle('core', '1.1.0', { tone: 'Be kind.' })]);
    await announceEnvelope(a.ctx, { project: PROJECT, channel: 'production', envelope: id, set: 'core', version: '1.1.0' });
    const deadline = Date.now() + 5_000;
    const arrived = () => collected.text().includes(`id: ${id}`) && collected.text().indexOf('\n\n', collected.text().indexOf(`id: ${id}`)) >= 0;
    while (!arrived() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(collected.text()).to.contain(`id: ${id}\nevent: envelope\ndata: {"webhook-id":"stm-${id}"`);
    expect(collected.text()).to.contain(`\ndata: ${body}\n\n`);
    const row = await a.ctx.db.selectFrom('receivers').select(['stream_sent_envelope', 'last_delivery_state']).where('instance_id', '=', 'app-1').executeTakeFirstOrThrow();
    expect(row).to.deep.equal({ stream_sent_envelope: id, last_delivery_state: 'sent' });
    abort.abort();
    await read;
  });
});
