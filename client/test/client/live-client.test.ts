/**
 * The LIVE receiver end to end: a real forge on loopback (fake-forge.ts), real signatures, a
 * real cache directory, pushes over HTTP. Every rejection path of DESIGN.md §8's table, and
 * that nothing served changes when one is taken.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { canonicalJson, generateSigningKey, isAnvilError } from '@anvil/content-schema';
import { createClient, type AnvilClient, type ClientOptions } from '../../src/client.ts';
import { makeBundle, startFakeForge, type FakeForge } from '../support/fake-forge.ts';

const v1 = makeBundle('onboarding', '1.0.0', { 'welcome.message': 'Hi {{name}} (v1)' });
const v2 = makeBundle('onboarding', '1.1.0', { 'welcome.message': 'Hello {{name}} (v2)' });
const v3 = makeBundle('onboarding', '1.2.0', { 'welcome.message': 'Hey {{name}} (v3)' });

describe('the LIVE client', function () {
  let forge: FakeForge;
  let cacheDir: string;
  const clients: AnvilClient[] = [];

  beforeEach(async function () {
    forge = await startFakeForge();
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'anvil-client-'));
  });
  afterEach(async function () {
    for (const c of clients.splice(0)) await c.close();
    await forge.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  async function client(extra: Partial<ClientOptions> = {}): Promise<AnvilClient> {
    const c = await createClient({ forge: forge.url, project: 'acme', token: forge.token, channel: 'production', cacheDir, readyTimeoutMs: 2_000, pollMs: 0, ...extra });
    clients.push(c);
    return c;
  }

  it('starts from the forge, pins its key, and renders in memory', async function () {
    forge.publish('production', [v1]);
    const anvil = await client();
    expect(await anvil.ready).to.equal(true);
    expect(anvil.prompt('welcome.message', { name: 'Ada' })).to.equal('Hi Ada (v1)');
    expect(anvil.prompt('onboarding/welcome.message', { name: 'Ada' })).to.equal('Hi Ada (v1)');
    const status = anvil.status();
    expect(status.sets['onboarding']).to.include({ version: '1.0.0', integrity: v1.integrity });
    expect(status).to.include({ mode: 'accepting', channel: 'production', ready: true });
    expect(anvil.track('welcome.message')).to.include({ set: 'onboarding', version: '1.0.0', integrity: v1.integrity });
  });

  it('is ready from its cache before any network call, and serves it while the forge is down', async function () {
    forge.publish('production', [v1]);
    const first = await client();
    await first.ready;
    await first.close();
    clients.splice(0);
    forge.down();
    const before = forge.requests.length;
    const again = await client();
    // Ready at once: createClient resolved with the cache loaded.
    expect(again.status().ready).to.equal(true);
    expect(forge.requests.length).to.equal(before);
    expect(again.prompt('welcome.message', { name: 'Bo' })).to.equal('Hi Bo (v1)');
  });

  it('without cache or forge, waits for ready, then says clearly that it is not ready', async function () {
    forge.down();
    const anvil = await client({ readyTimeoutMs: 200 });
    expect(await anvil.ready).to.equal(false);
    try {
      anvil.prompt('welcome.message');
      expect.fail('should throw');
    } catch (err) {
      expect(isAnvilError(err) && err.code).to.equal('client.not-ready');
    }
  });

  it('pulls with If-None-Match: a 304 changes nothing', async function () {
    forge.publish('production', [v1]);
    const anvil = await client();
    await anvil.ready;
    expect(await anvil.sync()).to.deep.include({ changed: false, code: 'not-modified' });
    const last = forge.requests.filter((r) => r.path.includes('/envelope')).at(-1)!;
    expect(last.headers['if-none-match']).to.be.a('string');
    forge.publish('production', [v2]);
    expect(await anvil.sync()).to.deep.include({ changed: true, code: 'applied' });
    expect(anvil.prompt('welcome.message', { name: 'Ada' })).to.equal('Hello Ada (v2)');
  });

  describe('pushes (DESIGN.md §8)', function () {
    let anvil: AnvilClient;
    let url: string;

    beforeEach(async function () {
      forge.publish('production', [v1]);
      anvil = await client();
      await anvil.ready;
      url = (await anvil.listen()).url;
    });

    async function unchanged(): Promise<void> {
      expect(anvil.prompt('welcome.message', { name: 'Ada' })).to.equal('Hi Ada (v1)');
    }

    it('applies a signed push (200), and a repeated webhook-id is a no-op 200', async function () {
      const envelope = forge.envelope('production', [v2]);
      const first = await forge.push(url, envelope, { id: 'msg_1' });
      expect(first.status).to.equal(200);
      expect(first.body).to.include({ ok: true, code: 'applied' });
      expect(anvil.prompt('welcome.message', { name: 'Ada' })).to.equal('Hello Ada (v2)');
      const again = await forge.push(url, envelope, { id: 'msg_1' });
      expect(again.status).to.equal(200);
      expect(again.body['code']).to.equal('duplicate');
    });

    it('registered its push URL with the forge', async function () {
      const registered = [...forge.receivers.values()][0]!;
      expect(registered).to.include({ url, channel: 'production', mode: 'accepting' });
    });

    const rejections: [string, number, string, (f: FakeForge) => Promise<{ status: number; body: Record<string, unknown> }>][] = [
      ['a wrong token', 401, 'push.token', (f) => f.push(url, f.envelope('production', [v2]), { token: 'nope' })],
      ['a bad request signature', 401, 'webhook.signature', (f) => f.push(url, f.envelope('production', [v2]), { key: generateSigningKey() })],
      ['a timestamp outside ±5 min', 403, 'webhook.window', (f) => f.push(url, f.envelope('production', [v2]), { timestamp: Math.floor(Date.now() / 1000) - 301 })],
      ['a body that is not JSON', 400, 'push.malformed', (f) => f.push(url, '{"format":')],
      ['a body that is not an envelope', 422, 'push.schema', (f) => f.push(url, { hello: 'world' } as never)],
      ['a tampered bundle', 422, 'push.integrity', (f) => {
        const e = f.envelope('production', [v2]);
        return f.push(url, canonicalJson(e).replace('Hello {{name}}', 'Owned {{name}}'));
      }],
      ['bundles signed by another key', 422, 'push.signature', (f) => f.push(url, f.envelope('production', [v2], {}, { key: generateSigningKey() }))],
      ['another channel', 422, 'push.wrong-channel', (f) => f.push(url, f.envelope('staging', [v2]))],
      ['an older version (stale)', 409, 'stale', async (f) => {
        await f.push(url, f.envelope('production', [v3]));
        return f.push(url, f.envelope('production', [v2]));
      }],
    ];
    for (const [what, status, code, send] of rejections) {
      it(`answers ${status} ${code} to ${what}, with a JSON reason, and changes nothing`, async function () {
        const before = canonicalJson(anvil.status().sets);
        const answer = await send(forge);
        expect(answer.status).to.equal(status);
        expect(answer.body).to.include({ ok: false, code });
        expect(answer.body['reason']).to.be.a('string').and.not.equal('');
        if (code !== 'stale') {
          await unchanged();
          expect(canonicalJson(anvil.status().sets)).to.equal(before);
        }
      });
    }

    it('applies a signed bundle with a prompt entry it cannot read: that prompt throws prompt.invalid on use, the others serve, also after a restart', async function () {
      // E.g. a newer forge added a metadata field: integrity and signature hold, the entry's schema does not.
      const odd = makeBundle('onboarding', '1.1.0', {
        'welcome.message': 'Hello {{name}} (v2)',
        'odd.prompt': { template: 'Never shown', metadata: { colour: 'red' } as never },
      });
      const answer = await forge.push(url, canonicalJson(forge.envelope('production', [odd])));
      expect(answer.status).to.equal(200);
      expect(answer.body).to.include({ ok: true, code: 'applied' });
      const check = (c: AnvilClient) => {
        expect(c.prompt('welcome.message', { name: 'Ada' })).to.equal('Hello Ada (v2)');
        try {
          c.prompt('odd.prompt');
          expect.fail('should throw');
        } catch (err) {
          expect(isAnvilError(err) && err.code).to.equal('prompt.invalid');
          expect((err as Error).message).to.contain('onboarding@1.1.0/odd.prompt').and.contain('colour');
        }
      };
      check(anvil);
      for (const c of clients.splice(0)) await c.close();
      forge.down();
      check(await client());
    });

    it('answers 413 to a body larger than it takes', async function () {
      const small = await client({ maxBodyBytes: 200, cacheDir: path.join(cacheDir, 'small') });
      await small.ready;
      const smallUrl = (await small.listen()).url;
      const answer = await forge.push(smallUrl, forge.envelope('production', [v2]));
      expect(answer.status).to.equal(413);
      expect(answer.body['code']).to.equal('push.too-large');
    });

    it('answers 409 frozen when frozen, applies nothing, and updates only on sync', async function () {
      await anvil.setMode('frozen');
      const answer = await forge.push(url, forge.envelope('production', [v2]));
      expect(answer.status).to.equal(409);
      expect(answer.body['code']).to.equal('frozen');
      await unchanged();
      forge.publish('production', [v2]);
      await anvil.sync();
      expect(anvil.prompt('welcome.message', { name: 'Ada' })).to.equal('Hello Ada (v2)');
    });
  });

  it('keeps its mode across restarts, and takes a mode changed on disk within a second', async function () {
    forge.publish('production', [v1]);
    const app = await client();
    await app.ready;
    // Another process (anvil-live mode frozen) changes the cache the app uses.
    const operator = await client();
    await operator.ready;
    await operator.setMode('frozen');
    const deadline = Date.now() + 1_000;
    while (app.status().mode !== 'frozen' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(app.status().mode).to.equal('frozen');
    for (const c of clients.splice(0)) await c.close();
    const restarted = await client({ mode: 'accepting' });
    expect(restarted.status().mode).to.equal('frozen');
  });

  it('serves a rollout to a sticky share of keys and says which version served a call', async function () {
    forge.publish('production', [v1, v2], { onboarding: { version: '1.1.0', percent: 30 } });
    const anvil = await client();
    await anvil.ready;
    let rolled = 0;
    for (let i = 0; i < 1_000; i++) {
      const track = anvil.track('welcome.message', { key: `user-${i}` });
      const text = anvil.prompt('welcome.message', { name: 'x' }, { key: `user-${i}` });
      expect(text).to.equal(track.version === '1.1.0' ? 'Hello x (v2)' : 'Hi x (v1)');
      if (track.rollout) rolled++;
    }
    expect(rolled).to.be.within(240, 360);
    expect(anvil.track('welcome.message', { key: 'user-7' })).to.deep.equal(anvil.track('welcome.message', { key: 'user-7' }));
    expect(anvil.status().sets['onboarding']!.rollout).to.include({ version: '1.1.0', percent: 30 });
  });
});
