/**
 * Push URLs at registration (issue 14), over HTTP: stored normalised; ambiguous ones refused as
 * invalid; ones the forge would not push to refused at once with a hint naming the setting —
 * and, since a name can resolve elsewhere later, a name is judged again at every push.
 */
import { expect } from 'chai';
import { enqueueDeliveries } from '../../src/deliver/delivery-queue.ts';
import { startPushWorker } from '../../src/deliver/push-worker.ts';
import { PROJECT, addEnvelope, makeBundle, settle, startAnswerServer } from '../support/delivery-fixtures.ts';
import { startReceiverApp, type ReceiverApp } from './receiver-app.ts';

const RECEIVERS = '/api/v1/projects/acme/receivers';
const registration = (url: string, instanceId = 'web-1') => ({ instanceId, url, channel: 'production', mode: 'accepting', ranges: {}, versions: {} });

describe('push URLs at registration', () => {
  let app: ReceiverApp;
  let token: string;
  let dns: Record<string, string[]>;
  async function start(allowPrivateNetworks: boolean): Promise<void> {
    dns = {};
    app = await startReceiverApp({
      pushTargets: {
        allowPrivateNetworks,
        resolve: async (host) => (dns[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
      },
    });
    token = await app.token('acme', 'web app');
  }
  afterEach(() => app.close());

  const stored = async () => (await app.forge.ctx.db.selectFrom('receivers').select(['instance_id', 'url']).execute()).map((r) => r.url);

  it('stores the URL normalised (WHATWG serialisation)', async () => {
    await start(false);
    const cases: [string, string][] = [
      ['HTTPS://App.Example.COM:443/anvil', 'https://app.example.com/anvil'],
      ['http://app.example.com:8080', 'http://app.example.com:8080/'],
      ['http://[2606:4700:4700:0:0:0:0:1111]:8080/x', 'http://[2606:4700:4700::1111]:8080/x'],
      ['https://bücher.example/anvil', 'https://xn--bcher-kva.example/anvil'],
    ];
    for (const [i, [url]] of cases.entries()) {
      const answer = await app.call('POST', RECEIVERS, { token, body: registration(url, `web-${i}`) });
      expect(answer.status, `${url}: ${JSON.stringify(answer.body)}`).to.equal(201);
    }
    expect(await stored()).to.have.members(cases.map(([, normal]) => normal));
  });

  it('refuses URLs that parsers could read differently, saying why, and stores nothing', async () => {
    await start(true);
    const cases: [string, string][] = [
      [' https://app.example.com/anvil', 'receiver-registration.url-whitespace'],
      ['https://app.example.com/an vil', 'receiver-registration.url-whitespace'],
      ['https://app.exa\tmple.com/', 'receiver-registration.url-whitespace'],
      ['https://app.example.com\\@169.254.169.254/', 'receiver-registration.url-backslash'],
      ['https://user:pass@app.example.com/', 'receiver-registration.url-credentials'],
      ['https://@app.example.com/', 'receiver-registration.url-credentials'],
      ['ftp://app.example.com/', 'receiver-registration.url'],
      ['https:app.example.com', 'receiver-registration.url'],
      ['http://0x7f000001:4100/', 'receiver-registration.url-host'],
      ['http://127.1:4100/', 'receiver-registration.url-host'],
      ['http://2852039166/', 'receiver-registration.url-host'],
      ['http://%31%32%37.0.0.1/', 'receiver-registration.url-host'],
      ['http://app.example.com:0/', 'receiver-registration.url-port'],
    ];
    for (const [url, code] of cases) {
      const answer = await app.call('POST', RECEIVERS, { token, body: registration(url) });
      expect(answer.status, url).to.equal(422);
      expect(answer.body, url).to.include({ code: 'receiver.invalid' });
      expect((answer.body['issues'] as { code: string; path: string }[]).map((i) => `${i.code}@${i.path}`), url).to.deep.equal([`${code}@/url`]);
    }
    expect(await stored()).to.deep.equal([]);
  });

  it('refuses loopback, private, link-local and metadata targets by default, with a hint naming the setting', async () => {
    await start(false);
    for (const url of ['http://127.0.0.1:4100/anvil', 'http://[::1]:4100/', 'http://10.0.0.5/anvil', 'http://localhost:3000/', 'http://[0:0:0:0:0:ffff:7f00:1]/', 'http://169.254.169.254/', 'http://[::ffff:169.254.169.254]/', 'http://metadata.google.internal/', 'http://0.0.0.0:4100/']) {
      for (const method of ['POST', 'PUT']) {
        const answer = await app.call(method, RECEIVERS, { token, body: registration(url) });
        expect(answer.status, `${method} ${url}`).to.equal(422);
        expect(answer.body, url).to.include({ ok: false, code: 'receiver.url-blocked' });
        expect(String(answer.body['reason']), url).to.contain('the forge does not push to');
        if (!/169\.254|a9fe|metadata/.test(url)) expect(String(answer.body['hint']), url).to.contain('pushTargets: {allowPrivateNetworks: true}');
      }
    }
    expect(await stored()).to.deep.equal([]);
  });

  it('with allowPrivateNetworks, takes loopback and private addresses, never link-local or metadata', async () => {
    await start(true);
    expect((await app.call('POST', RECEIVERS, { token, body: registration('http://127.0.0.1:4100/anvil', 'a') })).status).to.equal(201);
    expect((await app.call('POST', RECEIVERS, { token, body: registration('http://localhost:4100/anvil', 'b') })).status).to.equal(201);
    expect((await app.call('POST', RECEIVERS, { token, body: registration('http://192.168.1.20/anvil', 'c') })).status).to.equal(201);
    for (const url of ['http://169.254.169.254/latest/', 'http://[::ffff:a9fe:a9fe]/', 'http://[fe80::1]/', 'http://metadata.google.internal/', 'http://[fd00:ec2::254]/']) {
      const answer = await app.call('POST', RECEIVERS, { token, body: registration(url, 'd') });
      expect(answer.body, url).to.include({ code: 'receiver.url-blocked' });
      expect(String(answer.body['hint'])).to.contain('even with pushTargets.allowPrivateNetworks');
    }
    expect(await stored()).to.have.members(['http://127.0.0.1:4100/anvil', 'http://localhost:4100/anvil', 'http://192.168.1.20/anvil']);
  });

  it('refuses the forge\'s own URL', async () => {
    await start(true);
    app.forge.ctx.publicUrl = app.url;
    const answer = await app.call('POST', RECEIVERS, { token, body: registration(`${app.url}/api/v1/projects/acme/receivers`) });
    expect(answer.body).to.include({ code: 'receiver.url-blocked' });
    expect(String(answer.body['hint'])).to.contain('not the forge\'s');
  });

  it('a name that resolved to a public address when it registered, and to loopback when pushed to, gets no push', async () => {
    await start(false);
    const target = await startAnswerServer(() => ({ status: 422, body: { ok: false, code: 'x', reason: 'SECRET-ANSWER-FROM-THE-TARGET' } }));
    const port = new URL(target.url).port;
    try {
      dns['rebind.test'] = ['93.184.215.14'];
      const registered = await app.call('POST', RECEIVERS, { token, body: registration(`http://rebind.test:${port}/anvil`) });
      expect(registered.status).to.equal(201);

      dns['rebind.test'] = ['127.0.0.1'];
      const { ctx } = app.forge;
      const env = await addEnvelope(ctx, [makeBundle('onboarding', '1.0.0', { 'welcome.message': 'Hello' })]);
      await enqueueDeliveries(ctx, { project: PROJECT, channel: 'production', envelopeId: env.id, set: 'onboarding', version: '1.0.0' });
      const worker = startPushWorker(ctx, { pollMs: 20 });
      await settle(ctx, worker);
      await worker.stop();

      expect(target.pushes).to.have.length(0);
      const listed = await app.call('GET', RECEIVERS, { token });
      const [view] = listed.body['receivers'] as { lastDelivery: Record<string, unknown> }[];
      expect(view!.lastDelivery).to.include({ state: 'failed', code: 'target.blocked', status: null });
      expect(String(view!.lastDelivery['reason'])).to.contain('127.0.0.1 (rebind.test) is loopback');
      expect(JSON.stringify(listed.body)).not.to.contain('SECRET');
    } finally {
      await target.close();
    }
  });
});
