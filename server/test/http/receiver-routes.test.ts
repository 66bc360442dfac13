/** POST|PUT|DELETE|GET /api/v1/projects/:project/receivers and the admin token API, over HTTP. */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { listAudit } from '../../src/store/audit-log.ts';
import { storeTime } from '../../src/store/open-store.ts';
import { startReceiverApp, type ReceiverApp } from './receiver-app.ts';

const RECEIVERS = '/api/v1/projects/acme/receivers';

function registration(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    instanceId: 'web-1', url: 'http://127.0.0.1:4100/anvil', channel: 'production', mode: 'accepting',
    ranges: { onboarding: '^1.2.0' }, versions: { onboarding: '1.2.0' }, ...extra,
  };
}

describe('receiver routes', () => {
  let app: ReceiverApp;
  let token: string;
  beforeEach(async () => {
    app = await startReceiverApp();
    token = await app.token('acme', 'web app');
  });
  afterEach(() => app.close());

  const row = (instanceId = 'web-1') => app.forge.ctx.db.selectFrom('receivers').selectAll()
    .where('project', '=', 'acme').where('instance_id', '=', instanceId).executeTakeFirstOrThrow();

  it('register → heartbeat (mode change included) → leave, each written and audited', async () => {
    const registered = await app.call('POST', RECEIVERS, { token, body: registration() });
    expect(registered.status).to.equal(201);
    expect(registered.body).to.include({ ok: true, instanceId: 'web-1', joined: true });
    let stored = await row();
    expect(stored).to.include({ url: 'http://127.0.0.1:4100/anvil', channel: 'production', mode: 'accepting', gone_at: null });
    expect(JSON.parse(stored.ranges)).to.deep.equal({ onboarding: '^1.2.0' });
    expect(stored.registered_at).to.equal(stored.last_seen_at);

    await new Promise((r) => setTimeout(r, 5));
    const beat = await app.call('PUT', RECEIVERS, { token, body: registration({ mode: 'frozen', versions: { onboarding: '1.3.0' }, ranges: { onboarding: '^1.3.0' }, url: 'http://127.0.0.1:4200/anvil' }) });
    expect(beat.status).to.equal(200);
    expect(beat.body).to.include({ joined: false, modeChangedFrom: 'accepting', mode: 'frozen' });
    const before = stored;
    stored = await row();
    expect(stored).to.include({ mode: 'frozen', url: 'http://127.0.0.1:4200/anvil', registered_at: before.registered_at });
    expect(JSON.parse(stored.versions)).to.deep.equal({ onboarding: '1.3.0' });
    expect(stored.last_seen_at > before.last_seen_at).to.equal(true);

    // A heartbeat that changes nothing is not audited.
    expect((await app.call('PUT', RECEIVERS, { token, body: registration({ mode: 'frozen' }) })).body).to.include({ joined: false });

    const listed = await app.call('GET', RECEIVERS, { token });
    const [view] = listed.body['receivers'] as Record<string, unknown>[];
    expect(view).to.include({ instanceId: 'web-1', channel: 'production', mode: 'frozen', status: 'active', lastDelivery: null });
    expect(view).not.to.have.property('pushToken');
    expect(JSON.stringify(listed.body)).not.to.contain(token);

    const left = await app.call('DELETE', RECEIVERS, { token, body: { instanceId: 'web-1' } });
    expect(left.status).to.equal(200);
    expect(left.body).to.include({ alreadyGone: false });
    expect((await row()).gone_at).to.be.a('string');
    expect(((await app.call('GET', RECEIVERS, { token })).body['receivers'] as { status: string }[])[0]!.status).to.equal('gone');
    expect((await app.call('DELETE', RECEIVERS, { token, body: { instanceId: 'web-1' } })).body).to.include({ alreadyGone: true });

    const audit = await listAudit(app.forge.ctx.db, { kind: 'receiver' });
    const prefix = token.slice(0, 14);
    expect(audit.map((r) => [r.kind, r.subject, r.actor])).to.deep.equal([
      ['receiver.registered', 'web-1', `token:${prefix}`],
      ['receiver.mode', 'web-1', `token:${prefix}`],
      ['receiver.left', 'web-1', `token:${prefix}`],
    ]);
    expect(JSON.parse(audit[1]!.detail)).to.deep.equal({ from: 'accepting', to: 'frozen' });
  });

  it('keeps the presented token sealed in push_token, and it opens back to the token', async () => {
    await app.call('POST', RECEIVERS, { token, body: registration() });
    const stored = await row();
    expect(stored.push_token).not.to.contain(token);
    expect(stored.push_token).not.to.contain(token.slice(6));
    expect(Buffer.from(stored.push_token.replace(/^v1\./, ''), 'base64').includes(token)).to.equal(false);
    expect(app.forge.ctx.secrets.open(stored.push_token)).to.equal(token);

    // A receiver that moved to a new token (the old one revoked) registers with it: pushes present the new one.
    const next = await app.token('acme', 'rotated');
    await app.call('PUT', RECEIVERS, { token: next, body: registration() });
    expect(app.forge.ctx.secrets.open((await row()).push_token)).to.equal(next);
  });

  it('an unknown instance heartbeating registers; one that left comes back; leave of an unknown one is 404', async () => {
    const beat = await app.call('PUT', RECEIVERS, { token, body: registration({ instanceId: 'web-2' }) });
    expect(beat.status).to.equal(200);
    expect(beat.body).to.include({ joined: true });
    await app.call('DELETE', RECEIVERS, { token, body: { instanceId: 'web-2' } });
    const back = await app.call('PUT', RECEIVERS, { token, body: registration({ instanceId: 'web-2' }) });
    expect(back.body).to.include({ joined: true });
    expect((await row('web-2')).gone_at).to.equal(null);
    const unknown = await app.call('DELETE', RECEIVERS, { token, body: { instanceId: 'never-was' } });
    expect(unknown.status).to.equal(404);
    expect(unknown.body['code']).to.equal('receiver.unknown');
    expect((await listAudit(app.forge.ctx.db, { kind: 'receiver.registered' })).length).to.equal(2);
  });

  it('leaving supersedes the receiver\'s pending deliveries, and only those', async () => {
    await app.call('POST', RECEIVERS, { token, body: registration() });
    await app.call('POST', RECEIVERS, { token, body: registration({ instanceId: 'web-2' }) });
    const at = storeTime();
    const delivery = (id: string, instance: string, state: 'pending' | 'delivered') => ({
      id, project: 'acme', instance_id: instance, envelope_id: 'env-1', set_name: 'onboarding', version: '1.3.0', url: 'http://127.0.0.1:4100/anvil',
      state, attempts: 0, next_attempt_at: at, lease_owner: null, lease_until: null, last_status: null, last_code: null, last_reason: null,
      created_at: at, updated_at: at, expires_at: at,
    });
    await app.forge.ctx.db.insertInto('deliveries').values([delivery('d1', 'web-1', 'pending'), delivery('d2', 'web-1', 'delivered'), delivery('d3', 'web-2', 'pending')]).execute();
    // A receiver registering at a new address takes its queued deliveries along.
    await app.call('PUT', RECEIVERS, { token, body: registration({ url: 'http://127.0.0.1:4300/anvil' }) });
    const left = await app.call('DELETE', RECEIVERS, { token, body: { instanceId: 'web-1' } });
    expect(left.body).to.include({ superseded: 1 });
    const states = await app.forge.ctx.db.selectFrom('deliveries').select(['id', 'state', 'url']).orderBy('id').execute();
    expect(states).to.deep.equal([
      { id: 'd1', state: 'superseded', url: 'http://127.0.0.1:4300/anvil' },
      { id: 'd2', state: 'delivered', url: 'http://127.0.0.1:4100/anvil' },
      { id: 'd3', state: 'pending', url: 'http://127.0.0.1:4100/anvil' },
    ]);
  });

  it('malformed bodies are 400 or 422 with codes and locations, never 5xx, and change nothing', async () => {
    const cases: [string, { body?: unknown; raw?: string; headers?: Record<string, string> }][] = [
      ['no body', {}],
      ['not JSON', { raw: '{"instanceId": ' }],
      ['text/plain', { raw: JSON.stringify(registration()), headers: { 'content-type': 'text/plain' } }],
      ['an array', { body: [registration()] }],
      ['a string', { raw: '"web-1"' }],
      ['null', { raw: 'null' }],
      ['wrong types', { body: registration({ instanceId: 42, mode: true, ranges: 'all', versions: [] }) }],
      ['a missing field', { body: { instanceId: 'web-1', channel: 'production' } }],
      ['an unknown channel', { body: registration({ channel: 'canary' }) }],
      ['an unknown field', { body: registration({ admin: true }) }],
      ['a non-http URL', { body: registration({ url: 'file:///etc/passwd' }) }],
      ['a URL with credentials', { body: registration({ url: 'https://user:pw@example.com/' }) }],
      ['not a URL', { body: registration({ url: 'not a url' }) }],
      ['a bad range', { body: registration({ ranges: { onboarding: '^^1' } }) }],
      ['a range as a version', { body: registration({ versions: { onboarding: '^1.2.0' } }) }],
      ['a bad set name', { body: registration({ ranges: { 'Not A Set': '^1' } }) }],
      ['__proto__ keys', { raw: '{"instanceId":"web-1","url":"http://127.0.0.1:1/","channel":"production","mode":"accepting","ranges":{"__proto__":{"polluted":true}},"versions":{},"__proto__":{"admin":true}}' }],
      ['constructor keys', { body: registration({ versions: { constructor: '1.0.0' } }) }],
      ['a huge instance id', { body: registration({ instanceId: 'x'.repeat(200_000) }) }],
      ['a body over the limit', { body: registration({ instanceId: 'x'.repeat(400_000) }) }],
      ['deep nesting', { raw: `{"instanceId":"a","ranges":${'['.repeat(5_000)}${']'.repeat(5_000)}}` }],
      ['many sets', { body: registration({ ranges: Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`s${i}`, '^1'])) }) }],
    ];
    for (const [what, request] of cases) {
      for (const method of ['POST', 'PUT']) {
        const res = await app.call(method, RECEIVERS, { token, ...request });
        expect(res.status, `${method} ${what}: ${JSON.stringify(res.body).slice(0, 300)}`).to.be.oneOf([400, 413, 415, 422]);
        expect(res.body['ok'], what).to.equal(false);
        expect(res.body['code'], what).to.be.a('string');
      }
    }
    const invalid = await app.call('POST', RECEIVERS, { token, body: registration({ ranges: { onboarding: '^^1' }, channel: 'canary' }) });
    expect(invalid.status).to.equal(422);
    expect(invalid.body['code']).to.equal('receiver.invalid');
    expect((invalid.body['issues'] as { path: string }[]).map((i) => i.path)).to.have.members(['/channel', '/ranges/onboarding']);
    for (const body of [undefined, [], { instanceId: '' }, { instanceId: 7 }, { instanceId: 'web-1', extra: 1 }]) {
      const res = await app.call('DELETE', RECEIVERS, { token, ...(body === undefined ? {} : { body }) });
      expect(res.status, JSON.stringify(body)).to.be.oneOf([400, 422]);
    }
    expect(await app.forge.ctx.db.selectFrom('receivers').selectAll().execute()).to.deep.equal([]);
    expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
  });

  it('fuzzed registrations: every answer is 2xx or 4xx, and a 2xx only for a valid body', async () => {
    const values: unknown[] = [null, true, 0, -1, 1e308, '', ' ', 'x'.repeat(3_000), '\u0000', '../../etc', 'http://127.0.0.1:1/', '^1.0.0', '1.0.0', 'frozen', 'staging', [], [1], {}, { a: 'b' }, { onboarding: '1.0.0' }, { __proto__: 'x' }];
    const keys = ['instanceId', 'url', 'channel', 'mode', 'ranges', 'versions', '__proto__', 'constructor', 'extra'];
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const statuses = new Set<number>();
    for (let i = 0; i < 120; i++) {
      const body = registration({ instanceId: `fuzz-${i}` });
      for (let k = 0; k <= random(3); k++) body[keys[random(keys.length)]!] = values[random(values.length)];
      if (random(10) === 0) delete body[keys[random(6)]!];
      const res = await app.call(random(2) === 0 ? 'POST' : 'PUT', RECEIVERS, { raw: JSON.stringify(body), token });
      statuses.add(res.status);
      expect(res.status, JSON.stringify(body).slice(0, 200)).to.be.below(500);
      if (res.status < 300) expect((await row(String(body['instanceId']))).instance_id).to.equal(body['instanceId']);
    }
    expect([...statuses].some((s) => s >= 400)).to.equal(true);
    expect([...statuses].some((s) => s < 300), 'some mutations stay valid').to.equal(true);
  });

  it('admin token API: create (shown once, no-store), list without secrets, revoke by id or prefix', async () => {
    const admin = app.adminToken;
    const created = await app.call('POST', '/api/v1/projects/acme/tokens', { token: admin, body: { label: 'staging app' } });
    expect(created.status).to.equal(201);
    expect(created.headers.get('cache-control')).to.equal('no-store');
    expect(created.body).to.include({ ok: true, project: 'acme', label: 'staging app' });
    const fresh = String(created.body['token']);
    expect(fresh).to.match(/^anvil_[A-Za-z0-9_-]{43}$/);
    // Works at once, for its own project only.
    expect((await app.call('GET', RECEIVERS, { token: fresh })).status).to.equal(200);
    expect((await app.call('GET', '/api/v1/projects/beta/receivers', { token: fresh })).status).to.equal(403);
    // No body at all is fine too: an unlabelled token.
    expect((await app.call('POST', '/api/v1/projects/beta/tokens', { token: admin })).status).to.equal(201);
    expect((await app.call('POST', '/api/v1/projects/acme/tokens', { token: admin, body: { label: 5 } })).status).to.equal(400);
    expect((await app.call('POST', '/api/v1/projects/acme/tokens', { token: admin, body: { label: 'a\nb' } })).status).to.equal(400);

    const listed = await app.call('GET', '/api/v1/projects/acme/tokens', { token: admin });
    const tokens = listed.body['tokens'] as Record<string, unknown>[];
    expect(tokens.map((t) => t['label'])).to.deep.equal(['web app', 'staging app']);
    expect(JSON.stringify(listed.body)).not.to.contain(fresh);
    expect(JSON.stringify(listed.body)).not.to.contain(token);
    for (const t of tokens) expect(t).not.to.have.property('hash');

    const byPrefix = await app.call('DELETE', `/api/v1/projects/acme/tokens/${encodeURIComponent(String(created.body['prefix']))}`, { token: admin });
    expect(byPrefix.status).to.equal(200);
    expect((await app.call('GET', RECEIVERS, { token: fresh })).body['code']).to.equal('auth.revoked');
    const unknown = await app.call('DELETE', `/api/v1/projects/acme/tokens/tok_${randomBytes(6).toString('hex')}`, { token: admin });
    expect(unknown.status).to.equal(404);
    expect(unknown.body['code']).to.equal('token.unknown');
    // A token id of another project is unknown here.
    const betaId = ((await app.call('GET', '/api/v1/projects/beta/tokens', { token: admin })).body['tokens'] as { id: string }[])[0]!.id;
    expect((await app.call('DELETE', `/api/v1/projects/acme/tokens/${betaId}`, { token: admin })).status).to.equal(404);
    expect((await listAudit(app.forge.ctx.db, { kind: 'token.revoked' })).map((r) => r.actor)).to.deep.equal(['admin']);
  });
});
