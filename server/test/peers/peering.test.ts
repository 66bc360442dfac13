/**
 * Forge peering (issue 17): two real forges on loopback. The peer (`partner`) is the published
 * forge with one more locked release whose prompt carries a script payload; the browsing forge
 * knows it under `knownForges` with a read-only token of its `acme` project, and a third known
 * forge (`gone`) that is down.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { AnvilError } from '@anvil/content-schema';
import { createAccessToken } from '../../src/access/access-tokens.ts';
import { readForgeConfig, type ResolvedForgeConfig } from '../../src/forge/forge-config.ts';
import { createLogger } from '../../src/forge/logger.ts';
import { startForge, type RunningForge } from '../../src/forge/start-forge.ts';
import type { KnownForge } from '../../src/peers/known-forge.ts';
import { peerClient } from '../../src/peers/peer-client.ts';
import { connectPeerProject, disconnectPeerProject, listPeerConnections } from '../../src/peers/peer-connections.ts';
import { formatReleaseMessage } from '../../src/release/release-record.ts';
import { runCli } from '../../src/cli/main.ts';
import { listAudit } from '../../src/store/audit-log.ts';
import { signInOverHttp } from '../support/dashboard-http.ts';
import { ADMIN_TOKEN as PEER_ADMIN, startPublishedForge, type PublishedForge } from '../support/published-forge.ts';

const LOCAL_ADMIN = 'browsing-forge-admin-token-0123456789abcdef';
const PAYLOAD = `<script>alert('x')</script>`;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function expectPeerError(promise: Promise<unknown>, code: string): Promise<AnvilError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(AnvilError);
    expect((err as AnvilError).code).to.equal(code);
    return err as AnvilError;
  }
  throw new Error(`expected ${code}`);
}

describe('forge peering (issue 17)', function () {
  this.timeout(120_000);
  let peer: PublishedForge;
  let local: RunningForge;
  let readToken: string;
  let partner: KnownForge;
  let gone: KnownForge;
  let dataDir: string;

  before(async () => {
    peer = await startPublishedForge();
    await peer.repo.commit('Add widgets', {
      'prompts/widgets/set.yaml': 'mode: locked\n',
      'prompts/widgets/hello.md': `---\ndescription: "desc ${PAYLOAD}"\ninput:\n  schema:\n    name: string\n---\nHello {{name}} ${PAYLOAD}`,
    });
    await peer.repo.tag('widgets@1.0.0', { message: formatReleaseMessage({ set: 'widgets', version: '1.0.0', dependencies: {} }) });
    await peer.forge.sync('acme');
    await peer.forge.settle();
    readToken = (await createAccessToken(peer.forge.ctx.db, { project: 'acme', label: 'browsing forge', scope: 'read' })).token;

    partner = { name: 'partner', url: peer.forge.url, token: readToken, tokenEnv: 'PARTNER_TOKEN' };
    gone = { name: 'gone', url: `http://127.0.0.1:${await closedPort()}`, token: readToken, tokenEnv: 'GONE_TOKEN' };
    dataDir = mkdtempSync(path.join(tmpdir(), 'anvil-browsing-forge-'));
    const config: ResolvedForgeConfig = {
      name: 'browsing-forge', dataDir, host: '127.0.0.1', port: 0, keyRotationGraceDays: 7, adminToken: LOCAL_ADMIN,
      projects: [{ name: 'local', remote: peer.repo.dir, provider: 'git', webhookSecret: 'browsing-forge-secret-0123456789' }],
      defaultBranches: {}, knownForges: [partner, gone],
    };
    local = await startForge(config, { logger: createLogger({ level: 'silent' }), syncOnStart: false });
  });

  after(async () => {
    await local?.close();
    await peer?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const api = (method: string, apiPath: string, token: string | undefined, body?: unknown) => fetch(`${peer.forge.url}${apiPath}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

  describe('the serving forge', () => {
    it('lists the projects a token sees: its own; the admin every one; nobody without a token', async () => {
      expect(await (await api('GET', '/api/v1/projects', readToken)).json()).to.deep.equal({ forge: 'published-forge', projects: [{ name: 'acme', releasedSets: 2 }] });
      const admin = await (await api('GET', '/api/v1/projects', PEER_ADMIN)).json() as { projects: { name: string }[] };
      expect(admin.projects.map((p) => p.name)).to.deep.equal(['acme', 'hello']);
      const anonymous = await api('GET', '/api/v1/projects', undefined);
      expect(anonymous.status).to.equal(401);
      expect(((await anonymous.json()) as { code: string }).code).to.equal('auth.missing');
      expect((await api('GET', '/api/v1/projects', 'anvil_notavalidtokennotavalidtokennotavalidtok')).status).to.equal(401);
    });

    it('lists a project\'s sets with their prompt count, latest release and last update', async () => {
      const res = await api('GET', '/api/v1/projects/acme/sets', readToken);
      expect(res.status).to.equal(200);
      const body = await res.json() as { sets: { name: string; prompts: number | null; latest: { version: string } | null; updatedAt: string | null }[]; paging: { total: number } };
      expect(body.sets.map((s) => [s.name, s.prompts, s.latest?.version ?? null])).to.deep.equal([['core', 1, '1.0.0'], ['support', null, null], ['widgets', 1, '1.0.0']]);
      expect(Date.parse(body.sets[0]!.updatedAt!)).to.be.a('number').and.not.NaN;
      expect(body.paging.total).to.equal(3);
      // Another project's token is refused, as on every project route.
      expect((await api('GET', '/api/v1/projects/hello/sets', readToken)).status).to.equal(403);
    });

    it('renders a release on demand, with given or sample inputs; bad input is a 400, unknown things 404', async () => {
      const render = (body: unknown, version = '1.0.0') => api('POST', `/api/v1/projects/acme/sets/widgets/versions/${version}/render`, readToken, body);
      const given = await render({ prompt: 'hello', vars: { name: 'Ada' } });
      expect(given.status).to.equal(200);
      expect(await given.json()).to.deep.include({ ok: true, text: `Hello Ada ${PAYLOAD}`, missing: [] });
      const sample = await (await render({ prompt: 'hello' })).json() as { text: string; sampleVars: Record<string, unknown> };
      expect(sample.sampleVars).to.have.property('name');
      expect((await render({ prompt: 'hello', vars: [1] })).status).to.equal(400);
      expect((await render({ vars: {} })).status).to.equal(400);
      expect((await render({ prompt: 'hello', extra: 1 })).status).to.equal(400);
      expect((await render({ prompt: 'nope' })).status).to.equal(404);
      expect((await render({ prompt: 'hello' }, '9.9.9')).status).to.equal(404);
      // A head build is not a release: not offered, as on …/versions/:version.
      const head = await api('POST', `/api/v1/projects/acme/sets/support/versions/${encodeURIComponent(peer.headVersion)}/render`, readToken, { prompt: 'answer' });
      expect(head.status).to.equal(404);
      // An alias the forge holds (as its sync stores anvil.yaml's `aliases`) renders the release it names.
      expect((await render({ prompt: 'hello' }, 'not-a-version')).status, 'an alias it does not hold').to.equal(404);
      await peer.forge.ctx.db.insertInto('aliases').values({ project: 'acme', set_name: 'widgets', alias: 'stable', version: '1.0.0', commit: 'c'.repeat(40), updated_at: new Date().toISOString() }).execute();
      const byAlias = await render({ prompt: 'hello', vars: { name: 'Ada' } }, 'stable');
      expect(byAlias.status).to.equal(200);
      expect(await byAlias.json()).to.include({ version: '1.0.0', prompt: 'hello' });
      expect((await render({ prompt: 'hello' }, '^1.0')).status, 'neither a version nor an alias').to.equal(400);
      const broken = await fetch(`${peer.forge.url}/api/v1/projects/acme/sets/widgets/versions/1.0.0/render`, { method: 'POST', headers: { authorization: `Bearer ${readToken}`, 'content-type': 'application/json' }, body: '{' });
      expect(broken.status).to.equal(400);
    });

    it('a read-only token reads, and is refused 403 auth.read-only on every route that writes', async () => {
      for (const [method, apiPath] of [
        ['GET', '/api/v1/projects/acme/envelope?channel=development'],
        ['GET', '/api/v1/projects/acme/sets/core/versions'],
        ['GET', '/api/v1/projects/acme/sets/core/versions/1.0.0'],
        ['GET', '/api/v1/projects/acme/receivers'],
      ] as const) {
        expect((await api(method, apiPath, readToken)).status, `${method} ${apiPath}`).to.equal(200);
      }
      // Ending an MCP session changes nothing on the forge: the route's own answer (405), not a refusal.
      expect((await api('DELETE', '/api/v1/projects/acme/mcp?channel=development', readToken)).status, 'DELETE …/mcp').to.equal(405);
      const registration = { instanceId: 'peer-1', url: 'https://app.example.com/anvil', channel: 'production', ranges: {}, versions: {}, mode: 'accepting' };
      for (const [method, apiPath, body] of [
        ['POST', '/api/v1/projects/acme/receivers', registration],
        ['PUT', '/api/v1/projects/acme/receivers', registration],
        ['DELETE', '/api/v1/projects/acme/receivers', { instanceId: 'peer-1' }],
        ['POST', '/api/v1/projects/acme/receivers/ack', { instanceId: 'peer-1', envelope: 'x' }],
        ['GET', '/api/v1/projects/acme/stream?channel=production', undefined],
        ['POST', '/api/v1/projects/acme/publish', { set: 'core', version: '1.0.0', channels: ['production'] }],
        ['POST', '/api/v1/projects/acme/metrics', { batch: [] }],
        ['POST', '/api/v1/projects/acme/tokens', { label: 'x' }],
      ] as const) {
        const res = await api(method, apiPath, readToken, body);
        expect(res.status, `${method} ${apiPath}`).to.equal(403);
        expect(((await res.json()) as { code: string }).code, `${method} ${apiPath}`).to.equal('auth.read-only');
      }
      // A token made before scopes (full) is not refused there: it gets as far as the route's own checks.
      const full = await api('POST', '/api/v1/projects/acme/receivers', peer.tokens.acme, { instanceId: 'x' });
      expect(full.status).to.not.equal(403);
    });
  });

  describe('the browsing forge', () => {
    it('browses the peer through its client, and connects a project read-only, audited', async () => {
      const client = peerClient(partner);
      expect((await client.projects()).projects.map((p) => p.name)).to.deep.equal(['acme']);
      expect((await client.sets('acme')).sets.map((s) => s.name)).to.deep.equal(['core', 'support', 'widgets']);
      expect((await client.releases('acme', 'widgets')).map((r) => r.version)).to.deep.equal(['1.0.0']);
      expect(Object.keys((await client.bundle('acme', 'widgets', '1.0.0')).prompts)).to.deep.equal(['hello']);
      expect((await client.render('acme', 'widgets', '1.0.0', { prompt: 'hello', vars: { name: 'Lin' } })).text).to.equal(`Hello Lin ${PAYLOAD}`);

      const db = local.ctx.db;
      await expectPeerError(connectPeerProject(db, client, { project: 'hello', actor: 'cli' }), 'peer.project-unknown');
      const { connection, already } = await connectPeerProject(db, client, { project: 'acme', actor: 'cli' });
      expect(already).to.equal(false);
      expect(connection.source).to.equal('partner / acme');
      expect((await connectPeerProject(db, client, { project: 'acme', actor: 'cli' })).already).to.equal(true);
      expect((await listPeerConnections(db, [partner])).map((c) => [c.source, c.actor, c.known])).to.deep.equal([['partner / acme', 'cli', true]]);
      // Nothing of the peer's is copied: this forge stores no bundle of it.
      expect(await db.selectFrom('bundles').select('set_name').execute()).to.deep.equal([]);
      await disconnectPeerProject(db, { forge: 'partner', project: 'acme', actor: 'cli' });
      await expectPeerError(disconnectPeerProject(db, { forge: 'partner', project: 'acme', actor: 'cli' }), 'peer.not-connected');
      const audit = (await listAudit(db, {})).filter((r) => r.kind.startsWith('peer.')).map((r) => [r.kind, r.subject]);
      expect(audit).to.have.deep.members([['peer.connect', 'partner / acme'], ['peer.disconnect', 'partner / acme']]);
    });

    it('says clearly when a peer is down, slow, or refuses the token', async () => {
      const down = await expectPeerError(peerClient(gone).projects(), 'peer.unreachable');
      expect(down.message).to.include('forge "gone"');
      expect(down.message).to.not.include(readToken);
      await expectPeerError(peerClient({ ...partner, token: 'anvil_notavalidtokennotavalidtokennotavalidtok' }).projects(), 'peer.unauthorized');
      await expectPeerError(peerClient(partner).sets('hello'), 'peer.forbidden');
      const silent: Server = createServer(() => { /* never answers */ });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const slow = peerClient({ ...partner, url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` }, { timeoutMs: 300 });
        await expectPeerError(slow.projects(), 'peer.timeout');
      } finally {
        silent.closeAllConnections();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    });

    it('the Forges page browses, connects (admin, CSRF), lists with the source, renders through the peer, escapes the peer\'s text', async () => {
      const url = local.url;
      const cookie = await signInOverHttp(url, LOCAL_ADMIN);
      const get = async (p: string) => {
        const res = await fetch(`${url}${p}`, { headers: { cookie } });
        return { status: res.status, text: await res.text() };
      };
      const overview = await get('/ui/forges');
      expect(overview.status).to.equal(200);
      expect(overview.text).to.include('<a href="/ui/forges" aria-current="page">Forges</a>');
      expect(overview.text).to.include('partner').and.include('widgets');
      expect(overview.text).to.match(/<td>1<\/td>/);
      // The forge that is down is a message on the page, not a failed page.
      expect(overview.text).to.include('peer.unreachable');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(overview.text)![1]!;

      const post = (action: string, fields: Record<string, string>) => fetch(`${url}/ui/forges/${action}`, {
        method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields),
      });
      expect((await post('connect', { forge: 'partner', project: 'acme' })).status, 'no CSRF token').to.equal(403);
      expect((await post('connect', { _csrf: csrf, forge: 'partner', project: 'acme' })).status).to.equal(303);
      const listed = await get('/ui/forges');
      expect(listed.text).to.include('<span class="forge">partner</span> / <strong>acme</strong>');
      expect(listed.text).to.include('Disconnect');

      const version = await get('/ui/forges/partner/projects/acme/sets/widgets/versions/1.0.0');
      expect(version.status).to.equal(200);
      expect(version.text).to.not.include(PAYLOAD);
      expect(version.text).to.include('desc &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;');
      const rendered = await get(`/ui/forges/partner/projects/acme/sets/widgets/versions/1.0.0?prompt=hello&vars=${encodeURIComponent('{"name":"Grace"}')}`);
      expect(rendered.status).to.equal(200);
      expect(rendered.text).to.include('Hello Grace &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;');
      expect(rendered.text).to.not.include(PAYLOAD);
      const badVars = await get('/ui/forges/partner/projects/acme/sets/widgets/versions/1.0.0?prompt=hello&vars=%7Bnope');
      expect(badVars.status).to.equal(200);
      expect(badVars.text).to.include('preview.invalid-json');
      expect((await get('/ui/forges/partner/projects/acme')).text).to.include('widgets');
      expect((await get('/ui/forges/partner/projects/acme/sets/widgets')).text).to.include('1.0.0');

      // A connected project of a forge that is down: a clear message, a 502, never a 500.
      await local.ctx.db.insertInto('peer_connections').values({ forge: 'gone', project: 'acme', connected_at: new Date().toISOString(), actor: 'test' }).execute();
      const unreachable = await get('/ui/forges/gone/projects/acme/sets/widgets/versions/1.0.0');
      expect(unreachable.status).to.equal(502);
      expect(unreachable.text).to.include('peer.unreachable').and.include('forge &quot;gone&quot;');
      expect((await post('disconnect', { _csrf: csrf, forge: 'gone', project: 'acme' })).status).to.equal(303);

      // A viewer (a project token of this forge) sees connected projects, but may not browse or connect.
      const viewerToken = (await createAccessToken(local.ctx.db, { project: 'local' })).token;
      const viewer = await signInOverHttp(url, viewerToken);
      const seen = await (await fetch(`${url}/ui/forges`, { headers: { cookie: viewer } })).text();
      expect(seen).to.include('<span class="forge">partner</span> / <strong>acme</strong>');
      expect(seen).to.not.include('>Connect<');
      const viewerCsrf = /name="_csrf" value="([^"]+)"/.exec(seen)![1]!;
      const refused = await fetch(`${url}/ui/forges/connect`, { method: 'POST', redirect: 'manual', headers: { cookie: viewer, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: viewerCsrf, forge: 'partner', project: 'acme' }) });
      expect(refused.status).to.equal(403);
      expect((await fetch(`${url}/ui/forges/partner/projects/hello`, { headers: { cookie: viewer } })).status).to.equal(404);
      expect((await post('disconnect', { _csrf: csrf, forge: 'partner', project: 'acme' })).status).to.equal(303);
    });

    it('anvil peers browses and connects from the command line', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'anvil-peers-cli-'));
      const file = path.join(dir, 'anvil-forge.yaml');
      writeFileSync(file, `dataDir: ${JSON.stringify(dataDir)}\nprojects:\n  - name: local\n    remote: ${JSON.stringify(peer.repo.dir)}\nknownForges:\n  - name: partner\n    url: ${peer.forge.url}\n    token: {env: ANVIL_TEST_PARTNER_TOKEN}\n`);
      process.env['ANVIL_TEST_PARTNER_TOKEN'] = readToken;
      const out: string[] = [];
      const err: string[] = [];
      const io = { cwd: dir, out: (t: string) => out.push(t), err: (t: string) => err.push(t), tty: false };
      try {
        expect(await runCli(['peers', 'browse', 'partner', 'acme', '--config', file], io)).to.equal(0);
        expect(out.join('\n')).to.match(/widgets\s+1\s+1\.0\.0/);
        expect(await runCli(['peers', 'connect', 'partner', 'acme', '--config', file], io)).to.equal(0);
        expect(await runCli(['peers', 'list', '--config', file], io)).to.equal(0);
        expect(out.join('\n')).to.include('partner / acme');
        expect(await runCli(['peers', 'disconnect', 'partner', 'acme', '--config', file], io)).to.equal(0);
        expect(await runCli(['peers', 'browse', 'nope', '--config', file], io)).to.equal(1);
        expect(err.join('\n')).to.include('peer.unknown-forge');
      } finally {
        delete process.env['ANVIL_TEST_PARTNER_TOKEN'];
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('read-only tokens', () => {
    it('sign in to the dashboard as viewers only, and cannot be granted more', async () => {
      const { setGrant } = await import('../../src/dashboard/dashboard-grants.ts');
      const row = await peer.forge.ctx.db.selectFrom('access_tokens').select(['id', 'scope']).where('label', '=', 'browsing forge').executeTakeFirstOrThrow();
      expect(row.scope).to.equal('read');
      try {
        await setGrant(peer.forge.ctx, { tokenId: row.id, project: 'acme', role: 'publisher', actor: 'admin' });
        expect.fail('granted');
      } catch (err) {
        expect((err as AnvilError).code).to.equal('grant.read-only-token');
      }
      const cookie = await signInOverHttp(peer.forge.url, readToken);
      const page = await (await fetch(`${peer.forge.url}/ui/projects`, { headers: { cookie } })).text();
      expect(page).to.include('viewer');
    });

    it('are made with `anvil token create --scope read`; existing and default tokens stay full', async () => {
      const out: string[] = [];
      const err: string[] = [];
      const io = { cwd: dataDir, out: (t: string) => out.push(t), err: (t: string) => err.push(t), tty: false };
      expect(await runCli(['token', 'create', '--project', 'local', '--scope', 'read', '--label', 'peer', '--data-dir', dataDir], io)).to.equal(0);
      expect(out[0]).to.match(/^anvil_/);
      expect(await runCli(['token', 'create', '--project', 'local', '--scope', 'write', '--data-dir', dataDir], io)).to.equal(1);
      expect(err.join('\n')).to.include('--scope must be full or read');
      expect(await runCli(['token', 'list', '--project', 'local', '--json', '--data-dir', dataDir], io)).to.equal(0);
      const listed = JSON.parse(out.at(-1)!) as { tokens: { label: string; scope?: string }[] };
      expect(listed.tokens.find((t) => t.label === 'peer')?.scope).to.equal('read');
      expect(listed.tokens.filter((t) => t.label !== 'peer').every((t) => t.scope === undefined)).to.equal(true);
    });
  });

  describe('knownForges in anvil-forge.yaml', () => {
    const read = (yaml: string, env: NodeJS.ProcessEnv = {}) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'anvil-known-forges-'));
      const file = path.join(dir, 'anvil-forge.yaml');
      writeFileSync(file, `projects:\n  - name: acme\n    remote: https://example.com/p.git\n${yaml}`);
      try {
        return readForgeConfig(file, { ANVIL_WEBHOOK_SECRET: 'a-webhook-secret-0123456789', ...env });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };

    it('resolves each peer with its token from the environment', () => {
      const r = read('knownForges:\n  - name: partner\n    url: https://anvil.partner.example/\n    token: {env: PARTNER}\n', { PARTNER: readToken });
      expect(r.config?.knownForges).to.deep.equal([{ name: 'partner', url: 'https://anvil.partner.example', token: readToken, tokenEnv: 'PARTNER' }]);
      expect(r.problems.filter((p) => p.code.startsWith('forge-config.known'))).to.deep.equal([]);
    });

    it('names a bad URL and a duplicate name at their line, and warns of a missing token', () => {
      const bad = read('knownForges:\n  - name: partner\n    url: ftp://x\n    token: {env: PARTNER}\n  - name: partner\n    url: https://b.example\n    token: {env: PARTNER}\n', { PARTNER: readToken });
      expect(bad.config).to.equal(undefined);
      const url = bad.problems.find((p) => p.message.includes('URL') || p.code.includes('pattern') || p.code.includes('url'));
      expect(url, JSON.stringify(bad.problems)).to.include({ line: 6 });
      expect(bad.problems.find((p) => p.code === 'forge-config.duplicate-known-forge')).to.include({ line: 8 });

      const missing = read('knownForges:\n  - name: partner\n    url: http://anvil.partner.example\n    token: {env: PARTNER}\n');
      expect(missing.config?.knownForges).to.equal(undefined);
      expect(missing.problems.find((p) => p.code === 'forge-config.known-forge-token')).to.include({ severity: 'warning' });
      const clear = read('knownForges:\n  - name: partner\n    url: http://anvil.partner.example\n    token: {env: PARTNER}\n', { PARTNER: readToken });
      expect(clear.problems.find((p) => p.code === 'forge-config.known-forge-insecure')).to.include({ severity: 'warning' });
    });
  });
});
