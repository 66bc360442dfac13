/** The gate of /api/v1/projects/:project/… on a real Express app on loopback (DESIGN §9). */
import { expect } from 'chai';
import { startReceiverApp, type ReceiverApp } from './receiver-app.ts';

describe('requireToken: who may call a project\'s API', () => {
  let app: ReceiverApp;
  afterEach(() => app.close());

  it('answers 401 with a code for a missing, malformed or unknown token', async () => {
    app = await startReceiverApp();
    const missing = await app.call('GET', '/api/v1/projects/acme/receivers');
    expect(missing.status).to.equal(401);
    expect(missing.body).to.include({ ok: false, code: 'auth.missing' });
    expect(missing.headers.get('www-authenticate')).to.match(/^Bearer/);
    for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer anvil_nope', `Bearer anvil_${'A'.repeat(43)}`, 'anvil_x']) {
      const res = await app.call('GET', '/api/v1/projects/acme/receivers', { headers: { authorization } });
      expect(res.status, authorization).to.equal(401);
      expect(res.body['code'], authorization).to.equal('auth.invalid');
    }
  });

  it('a token of one project can do nothing in another (403), and the right one passes', async () => {
    app = await startReceiverApp();
    const acme = await app.token('acme');
    const beta = await app.token('beta');
    const crossed = await app.call('GET', '/api/v1/projects/beta/receivers', { token: acme });
    expect(crossed.status).to.equal(403);
    expect(crossed.body['code']).to.equal('auth.forbidden');
    const registerCrossed = await app.call('POST', '/api/v1/projects/acme/receivers', { token: beta, body: { instanceId: 'x', url: 'http://127.0.0.1:1/', channel: 'production', mode: 'accepting', ranges: {}, versions: {} } });
    expect(registerCrossed.status).to.equal(403);
    expect(await app.forge.ctx.db.selectFrom('receivers').selectAll().execute()).to.deep.equal([]);
    expect((await app.call('GET', '/api/v1/projects/acme/receivers', { token: acme })).status).to.equal(200);
    expect((await app.call('GET', '/api/v1/projects/beta/receivers', { token: beta })).status).to.equal(200);
  });

  it('revocation takes effect on the very next request; last use is recorded', async () => {
    app = await startReceiverApp();
    const token = await app.token('acme', 'ci');
    expect((await app.call('GET', '/api/v1/projects/acme/receivers', { token })).status).to.equal(200);
    const [listed] = (await app.call('GET', '/api/v1/projects/acme/tokens', { token: app.adminToken })).body['tokens'] as { id: string; lastUsedAt: string | null }[];
    expect(listed!.lastUsedAt).to.be.a('string');
    expect(Date.now() - Date.parse(listed!.lastUsedAt!)).to.be.below(5_000);

    const revoked = await app.call('DELETE', `/api/v1/projects/acme/tokens/${listed!.id}`, { token: app.adminToken });
    expect(revoked.status).to.equal(200);
    const after = await app.call('GET', '/api/v1/projects/acme/receivers', { token });
    expect(after.status).to.equal(401);
    expect(after.body['code']).to.equal('auth.revoked');
  });

  it('admin-only routes refuse project tokens; receivers\' own calls refuse the admin token', async () => {
    app = await startReceiverApp();
    const token = await app.token('acme');
    for (const [method, path] of [['POST', '/tokens'], ['GET', '/tokens'], ['DELETE', '/tokens/tok_000000000000']] as const) {
      const res = await app.call(method, `/api/v1/projects/acme${path}`, { token, ...(method === 'GET' ? {} : { body: {} }) });
      expect(res.status, `${method} ${path}`).to.equal(403);
      expect(res.body['code']).to.equal('auth.forbidden');
    }
    const asAdmin = await app.call('POST', '/api/v1/projects/acme/receivers', { token: app.adminToken, body: { instanceId: 'x', url: 'http://127.0.0.1:1/', channel: 'production', mode: 'accepting', ranges: {}, versions: {} } });
    expect(asAdmin.status).to.equal(403);
    // Reads an operator makes take either.
    expect((await app.call('GET', '/api/v1/projects/acme/receivers', { token: app.adminToken })).status).to.equal(200);
    // A wrong admin token is just an invalid token.
    expect((await app.call('GET', '/api/v1/projects/acme/tokens', { token: `${app.adminToken}0` })).status).to.equal(401);
  });

  it('with no admin token configured, the admin API is off', async () => {
    app = await startReceiverApp({ admin: false });
    const token = await app.token('acme');
    const res = await app.call('POST', '/api/v1/projects/acme/tokens', { token, body: { label: 'x' } });
    expect(res.status).to.equal(403);
    expect(String(res.body['hint'])).to.contain('admin API is off');
    expect((await app.call('GET', '/api/v1/projects/acme/tokens', { token: '' })).status).to.equal(401);
  });

  it('an unknown project is 404 once the caller is known', async () => {
    app = await startReceiverApp();
    const res = await app.call('GET', '/api/v1/projects/nope/receivers', { token: app.adminToken });
    expect(res.status).to.equal(404);
    expect(res.body['code']).to.equal('project.unknown');
    expect((await app.call('GET', '/api/v1/projects/nope/receivers')).status).to.equal(401);
  });
});
