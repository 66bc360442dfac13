/**
 * What a caller without a valid token can learn from the forge: nothing about its projects
 * (issue 14). A real forge on loopback with something published; every route under /api/v1 and
 * both webhook routes are asked about a real project and about one that does not exist, with
 * every kind of wrong credential, and must answer byte for byte alike.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Webhooks } from '@octokit/webhooks';
import { revokeAccessToken, createAccessToken } from '../../src/access/access-tokens.ts';
import { listAudit } from '../../src/store/audit-log.ts';
import { ADMIN_TOKEN, GITHUB_REPOSITORY, GITHUB_SECRET, startPublishedForge, type PublishedForge } from '../support/published-forge.ts';
import { githubExample } from '../webhooks/webhook-support.ts';

interface Seen {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The whole answer, but for the headers that differ between any two requests. */
async function ask(url: string, init: RequestInit = {}): Promise<Seen> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  const headers = Object.fromEntries([...res.headers].filter(([name]) => name !== 'date'));
  return { status: res.status, headers, body: await res.text() };
}

const REAL = 'acme';
const UNKNOWN = ['acne', 'zz', 'secret-project', 'a.b_c-d'];

/** Every route of a project, with a body where it takes one. */
const ROUTES: { method: string; path: string; body?: string }[] = [
  { method: 'GET', path: '/envelope?channel=production' },
  { method: 'GET', path: '/envelope' },
  { method: 'GET', path: '/sets/core/versions' },
  { method: 'GET', path: '/sets/core/versions/1.0.0' },
  { method: 'GET', path: '/sets/nope/versions/9.9.9' },
  { method: 'POST', path: '/receivers', body: JSON.stringify({ instanceId: 'x', url: 'https://app.example.com/anvil', channel: 'production', mode: 'accepting', ranges: {}, versions: {} }) },
  { method: 'PUT', path: '/receivers', body: '{}' },
  { method: 'DELETE', path: '/receivers', body: JSON.stringify({ instanceId: 'x' }) },
  { method: 'GET', path: '/receivers' },
  { method: 'POST', path: '/receivers', body: '{"not json' },
  { method: 'POST', path: '/tokens', body: JSON.stringify({ label: 'x' }) },
  { method: 'GET', path: '/tokens' },
  { method: 'DELETE', path: '/tokens/tok_000000000000' },
  { method: 'POST', path: '/publish', body: JSON.stringify({ set: 'core', version: '1.0.0' }) },
  { method: 'GET', path: '/deliveries?envelope=x' },
  { method: 'GET', path: '/no-such-route' },
  { method: 'GET', path: '' },
  { method: 'OPTIONS', path: '/envelope' },
  { method: 'HEAD', path: '/envelope?channel=production' },
];

describe('anonymous callers learn nothing about the projects (issue 14)', function () {
  this.timeout(60_000);
  let published: PublishedForge;
  let url: string;
  const credentials: Record<string, string | undefined> = {};

  before(async () => {
    published = await startPublishedForge();
    url = published.forge.url;
    const revoked = await createAccessToken(published.forge.ctx.db, { project: REAL, label: 'revoked' });
    await revokeAccessToken(published.forge.ctx.db, REAL, revoked.id);
    Object.assign(credentials, {
      'no Authorization header': undefined,
      'an empty Authorization header': '',
      'Basic credentials': 'Basic dXNlcjpwYXNz',
      'a bare Bearer': 'Bearer',
      'a malformed token': 'Bearer not-a-token',
      'a well-formed unknown token': `Bearer anvil_${'A'.repeat(43)}`,
      'a revoked token of the real project': `Bearer ${revoked.token}`,
      'a token of another project': `Bearer ${published.tokens.hello}`,
      'a wrong admin token': `Bearer ${ADMIN_TOKEN}x`,
    });
  });
  after(() => published?.close());

  it('every /api/v1 route answers a project that exists and one that does not alike, for every wrong credential', async () => {
    let compared = 0;
    for (const route of ROUTES) {
      for (const [what, authorization] of Object.entries(credentials)) {
        const init = (project: string) => ({
          method: route.method,
          headers: {
            ...(authorization !== undefined ? { authorization } : {}),
            ...(route.body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(route.body !== undefined ? { body: route.body } : {}),
        });
        const real = await ask(`${url}/api/v1/projects/${REAL}${route.path}`, init(REAL));
        const label = `${route.method} …${route.path} with ${what}`;
        expect(real.status, label).to.be.oneOf([401, 403]);
        for (const name of UNKNOWN) {
          const unknown = await ask(`${url}/api/v1/projects/${name}${route.path}`, init(name));
          expect(unknown, `${label}: ${name} vs ${REAL}`).to.deep.equal(real);
          compared++;
        }
        expect(real.body, label).not.to.match(/acme|hello|core/);
      }
    }
    expect(compared).to.equal(ROUTES.length * Object.keys(credentials).length * UNKNOWN.length);
  });

  it('a token of another project is refused alike for a real project and an unknown one, naming neither', async () => {
    const headers = { authorization: `Bearer ${published.tokens.hello}` };
    const real = await ask(`${url}/api/v1/projects/${REAL}/envelope?channel=production`, { headers });
    const unknown = await ask(`${url}/api/v1/projects/nothing/envelope?channel=production`, { headers });
    expect(real.status).to.equal(403);
    expect(unknown).to.deep.equal(real);
    expect(JSON.parse(real.body)).to.deep.equal({ ok: false, code: 'auth.forbidden', reason: 'this access token is for another project', hint: 'a token works for its own project only' });
  });

  it('only the admin token learns that a project does not exist', async () => {
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
    expect((await ask(`${url}/api/v1/projects/${REAL}/receivers`, { headers })).status).to.equal(200);
    const unknown = await ask(`${url}/api/v1/projects/nothing/receivers`, { headers });
    expect(unknown.status).to.equal(404);
    expect(JSON.parse(unknown.body)).to.include({ code: 'project.unknown' });
  });

  it('/healthz says it is alive and names nothing; the details need the admin token', async () => {
    const plain = await ask(`${url}/healthz`);
    expect(plain.status).to.equal(200);
    expect(JSON.parse(plain.body)).to.deep.equal({ ok: true });
    expect(plain.headers['cache-control']).to.equal('no-store');

    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${published.tokens.acme}`, `Bearer ${ADMIN_TOKEN}x`]) {
      const refused = await ask(`${url}/healthz?details=1`, authorization === undefined ? {} : { headers: { authorization } });
      expect(refused.status, String(authorization)).to.equal(401);
      expect(refused.headers['www-authenticate']).to.match(/^Bearer/);
      expect(refused.body).not.to.match(/acme|hello/);
    }

    const details = await ask(`${url}/healthz?details=1`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(details.status).to.equal(200);
    const body = JSON.parse(details.body) as { ok: boolean; name: string; projects: { name: string; provider: string; channels: Record<string, Record<string, string>>; branches: { branch: string }[]; receivers: number; pendingDeliveries: number }[] };
    expect(body).to.include({ ok: true, name: 'published-forge' });
    expect(body.projects.map((p) => p.name)).to.deep.equal(['acme', 'hello']);
    const acme = body.projects[0]!;
    expect(acme).to.include({ provider: 'git', receivers: 0, pendingDeliveries: 0 });
    expect(acme.channels['production']).to.deep.equal({ core: '1.0.0' });
    expect(acme.channels['development']?.['support']).to.equal(published.headVersion);
    expect(acme.branches.map((b) => b.branch)).to.deep.equal(['main']);
  });

  it('a webhook that does not verify gets one answer, whatever project or repository it claims', async () => {
    const auditBefore = (await listAudit(published.forge.ctx.db, { limit: 100_000 })).length;

    const gitFor = async (project: string) => {
      const delivery = randomUUID();
      const body = JSON.stringify({ project, delivery, updates: [{ ref: 'refs/heads/main', before: 'a'.repeat(40), after: 'b'.repeat(40) }] });
      return ask(`${url}/webhooks/git`, {
        method: 'POST', body,
        headers: { 'content-type': 'application/json', 'x-anvil-delivery': delivery, 'x-anvil-signature-256': `sha256=${createHmac('sha256', 'not the secret').update(body).digest('hex')}` },
      });
    };
    const realGit = await gitFor(REAL);
    expect(realGit.status).to.equal(401);
    expect(JSON.parse(realGit.body)).to.include({ code: 'webhook.signature.invalid' });
    for (const name of [...UNKNOWN, 'hello']) expect(await gitFor(name), name).to.deep.equal(realGit);
    expect(realGit.body).not.to.match(/acme|hello/);

    const wrong = new Webhooks({ secret: 'not the secret' });
    const githubFor = async (repository: string) => {
      const payload = githubExample('push', (p) => p['ref'] === 'refs/heads/master');
      payload['repository'].full_name = repository;
      const body = JSON.stringify(payload);
      return ask(`${url}/webhooks/github`, {
        method: 'POST', body,
        headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': await wrong.sign(body) },
      });
    };
    const realGithub = await githubFor(GITHUB_REPOSITORY);
    expect(realGithub.status).to.equal(401);
    for (const repository of ['someone/else', 'codertocat/hello-world-2', 'x']) expect(await githubFor(repository), repository).to.deep.equal(realGithub);
    expect(realGithub.body).not.to.match(/hello|codertocat/i);

    // Signed with the right secret, the same delivery is taken: the refusals above were only about the signature.
    const payload = githubExample('ping', (p) => p['repository'] !== undefined);
    payload['repository'].full_name = GITHUB_REPOSITORY;
    const body = JSON.stringify(payload);
    const signed = await ask(`${url}/webhooks/github`, {
      method: 'POST', body,
      headers: { 'content-type': 'application/json', 'x-github-event': 'ping', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': await new Webhooks({ secret: GITHUB_SECRET }).sign(body) },
    });
    expect(signed.status).to.equal(202);
    await published.forge.settle();
    // One row: the accepted ping. None for the refusals.
    const rows = await listAudit(published.forge.ctx.db, { limit: 100_000 });
    expect(rows.slice(auditBefore).map((r) => r.kind)).to.deep.equal(['webhook.received']);
  });

  it('/metrics, which anyone may read, names no project, not even one a refused webhook claimed', async () => {
    const delivery = randomUUID();
    const body = JSON.stringify({ project: 'claimed-by-a-stranger', delivery, updates: [] });
    const refused = await ask(`${url}/webhooks/git`, {
      method: 'POST', body,
      headers: { 'content-type': 'application/json', 'x-anvil-delivery': delivery, 'x-anvil-signature-256': `sha256=${'0'.repeat(64)}` },
    });
    expect(refused.status).to.equal(401);
    const metrics = await ask(`${url}/metrics`);
    expect(metrics.status).to.equal(200);
    expect(metrics.body).to.contain('anvil_webhook_rejections_total{source="git",reason="signature-invalid"}');
    expect(metrics.body).to.contain('anvil_api_denied_total{code="auth.missing"}');
    expect(metrics.body).not.to.match(/acme|hello|claimed-by-a-stranger|Hello-World/i);
    expect(metrics.body).not.to.contain('unknown-project');
  });
});
