/** `app.use('/anvil', anvil.receiver())` in a real Express 5 app, and the mistake of parsing first. */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import express from 'express';
import { createClient, type AnvilClient } from '../../src/client.ts';
import { makeBundle, startFakeForge, type FakeForge } from '../support/fake-forge.ts';

describe('the receiver as Express middleware', function () {
  let forge: FakeForge;
  let anvil: AnvilClient;
  let cacheDir: string;
  let server: Server;

  beforeEach(async function () {
    forge = await startFakeForge();
    forge.publish('staging', [makeBundle('onboarding', '1.0.0', { hi: 'v1' })]);
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'anvil-express-'));
    anvil = await createClient({ forge: forge.url, project: 'acme', token: forge.token, channel: 'staging', cacheDir, pollMs: 0 });
    await anvil.ready;
  });
  afterEach(async function () {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await anvil.close();
    await forge.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  async function serve(app: express.Express): Promise<string> {
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('applies a push mounted under a path, beside the app\'s own JSON routes', async function () {
    const app = express();
    app.use('/anvil', anvil.receiver());
    app.use(express.json());
    app.post('/api/echo', (req, res) => void res.json(req.body));
    const base = await serve(app);
    const answer = await forge.push(`${base}/anvil`, forge.envelope('staging', [makeBundle('onboarding', '1.1.0', { hi: 'v2' })]));
    expect(answer.status).to.equal(200);
    expect(anvil.prompt('hi')).to.equal('v2');
    const echo = await fetch(`${base}/api/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(await echo.json()).to.deep.equal({ a: 1 });
  });

  it('says what is wrong when express.json() ran first, and applies nothing', async function () {
    const app = express();
    app.use(express.json());
    app.use('/anvil', anvil.receiver());
    const base = await serve(app);
    const answer = await forge.push(`${base}/anvil`, forge.envelope('staging', [makeBundle('onboarding', '1.1.0', { hi: 'v2' })]));
    expect(answer.status).to.equal(400);
    expect(answer.body).to.include({ code: 'push.body-parsed' });
    expect(anvil.prompt('hi')).to.equal('v1');
  });

  it('works behind express.raw(), which keeps the exact bytes', async function () {
    const app = express();
    app.use('/anvil', express.raw({ type: '*/*', limit: '32mb' }), anvil.receiver());
    const base = await serve(app);
    const answer = await forge.push(`${base}/anvil`, forge.envelope('staging', [makeBundle('onboarding', '1.1.0', { hi: 'v2' })]));
    expect(answer.status).to.equal(200);
    expect(anvil.prompt('hi')).to.equal('v2');
  });
});
