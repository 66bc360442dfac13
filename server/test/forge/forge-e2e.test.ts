/**
 * The forge end to end on one machine (issue 5): a real git repository as the remote, the forge
 * started as `anvil serve` starts it (store, keys, worker, HTTP), webhooks posted signed, and
 * real LIVE receivers (@anvil/client) on loopback registering with it and applying its pushes.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createClient, type AnvilClient } from '@anvil/client';
import { createAccessToken } from '../../src/access/access-tokens.ts';
import type { ResolvedForgeConfig } from '../../src/forge/forge-config.ts';
import { createLogger } from '../../src/forge/logger.ts';
import { startForge, type RunningForge } from '../../src/forge/start-forge.ts';
import { formatReleaseMessage } from '../../src/release/release-record.ts';
import { listAudit, verifyAuditChain } from '../../src/store/audit-log.ts';
import { anvil } from '../cli/cli-support.ts';
import { ACME_PROMPTS } from '../support/acme-prompts.ts';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';
import { createTestSchema, testStoreKind, type TestSchema } from '../support/test-postgres.ts';
import { until } from '../support/until.ts';

const SECRET = 'e2e-webhook-secret-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdef0123456789';

const FILES = ACME_PROMPTS;

describe('forge end to end: git → webhook → policy → build → signed pushes → receivers', function () {
  this.timeout(60_000);
  let repo: GitDir;
  let dataDir: string;
  let forge: RunningForge;
  let token: string;
  const clients: AnvilClient[] = [];
  let cacheRoot: string;
  // ANVIL_TEST_STORE=postgres: the forge's store is a fresh schema on the test PostgreSQL server.
  let schema: TestSchema | undefined;

  function config(): ResolvedForgeConfig {
    return {
      name: 'e2e-forge', dataDir, host: '127.0.0.1', port: 0, keyRotationGraceDays: 7, adminToken: ADMIN,
      projects: [{ name: 'acme', remote: repo.dir, provider: 'git', webhookSecret: SECRET }], defaultBranches: {},
      // The receivers listen on 127.0.0.1.
      pushTargets: { allowPrivateNetworks: true },
      ...(schema ? { database: schema.url } : {}),
    };
  }

  async function receiver(name: string, channel: 'production' | 'staging' | 'development', mode: 'accepting' | 'frozen' = 'accepting'): Promise<AnvilClient> {
    const client = await createClient({
      forge: forge.url, project: 'acme', token, channel, mode, cacheDir: path.join(cacheRoot, name), instanceId: name,
      readyTimeoutMs: 0, pollMs: 0, heartbeatMs: 3_600_000,
    });
    client.on('error', () => undefined);
    await client.listen(0);
    clients.push(client);
    return client;
  }

  async function postGitWebhook(updates: { ref: string; before: string; after: string }[], delivery = randomUUID(), secret = SECRET): Promise<{ status: number; body: Record<string, unknown> }> {
    const body = JSON.stringify({ project: 'acme', delivery, updates });
    const res = await fetch(`${forge.url}/webhooks/git`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-anvil-delivery': delivery, 'x-anvil-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` },
      body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  const versionOf = (client: AnvilClient, set: string) => client.status().sets[set]?.version;

  before(async () => {
    repo = await gitdir({ files: FILES });
    await repo.tag('core@1.0.0', { message: formatReleaseMessage({ set: 'core', version: '1.0.0', dependencies: {} }) });
    await repo.tag('onboarding@1.0.0', { message: formatReleaseMessage({ set: 'onboarding', version: '1.0.0', dependencies: { core: '1.0.0' } }) });
    dataDir = mkdtempSync(path.join(tmpdir(), 'anvil-e2e-forge-'));
    cacheRoot = mkdtempSync(path.join(tmpdir(), 'anvil-e2e-receivers-'));
    if (testStoreKind() === 'postgres') schema = await createTestSchema();
    forge = await startForge(config(), { logger: createLogger({ level: 'silent' }), syncOnStart: false, worker: { backoff: { baseMs: 50, maxMs: 200 } } });
    token = (await createAccessToken(forge.ctx.db, { project: 'acme', label: 'e2e' })).token;
  });

  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await forge?.close();
    await schema?.drop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(cacheRoot, { recursive: true, force: true });
    await cleanupGitdirs();
  });

  it('publishes what the policy allows to each channel on the first sync, and receivers apply it', async () => {
    const prod = await Promise.all(['prod-1', 'prod-2', 'prod-3'].map((n) => receiver(n, 'production')));
    const staging = await receiver('staging-1', 'staging');
    const dev = await receiver('dev-1', 'development');
    await until('every receiver registered', async () => (await forge.ctx.db.selectFrom('receivers').select('instance_id').execute()).length === 5);

    const report = await forge.sync('acme');
    // First sight of the branch: only the live set gets a head build; review and locked sets
    // publish from their releases.
    expect(report.decisions.map((d) => `${d.source.replace(/@[0-9a-f]{7}$/, '')} ${d.set} ${d.decision.audit}`)).to.have.members([
      'main support decision.publish', 'core@1.0.0 core decision.publish', 'onboarding@1.0.0 onboarding decision.publish',
    ]);
    await forge.settle();

    for (const c of prod) {
      expect(versionOf(c, 'core')).to.equal('1.0.0');
      expect(versionOf(c, 'onboarding'), 'a review set never reaches production').to.equal(undefined);
    }
    // A frozen receiver pulls once when it starts, to be ready; after that only a manual sync
    // moves it (next test).
    const frozen = await receiver('prod-frozen', 'production', 'frozen');
    await until('the frozen receiver\'s start-up pull', () => frozen.status().ready);
    expect(versionOf(frozen, 'core')).to.equal('1.0.0');
    expect(versionOf(staging, 'onboarding')).to.equal('1.0.0');
    expect(staging.prompt('welcome', { name: 'Ada' })).to.equal('Welcome, Ada!\n— The Acme team');
    expect(versionOf(dev, 'support')).to.match(/^0\.0\.1-head\.1\+[0-9a-f]{7}$/);
    expect(dev.prompt('answer', { question: 'why?' })).to.equal('Answer: why?');
  });

  it('a release tag webhook reaches every accepting production receiver; the frozen one is skipped and shown as frozen', async () => {
    const frozen = clients.find((c) => c.status().instanceId === 'prod-frozen')!;
    const frozenHad = versionOf(frozen, 'core');
    const before = await repo.revParse('HEAD');
    const after = await repo.commit('friendlier tone', { 'prompts/core/tone.md': '---\ndescription: house tone\n---\nBe warm, kind and brief.' });
    await repo.tag('core@1.1.0', { message: formatReleaseMessage({ set: 'core', version: '1.1.0', dependencies: {} }) });
    const answer = await postGitWebhook([
      { ref: 'refs/heads/main', before, after },
      { ref: 'refs/tags/core@1.1.0', before: '0'.repeat(40), after: await repo.revParse('core@1.1.0') },
    ]);
    expect(answer.status).to.equal(202);
    const prod = clients.filter((c) => c.status().channel === 'production' && c.status().mode === 'accepting');
    await until('production receivers on core 1.1.0', () => prod.every((c) => versionOf(c, 'core') === '1.1.0'));
    expect(prod[0]!.prompt('tone', {})).to.equal('Be warm, kind and brief.');
    await forge.settle();
    expect(versionOf(frozen, 'core')).to.equal(frozenHad).and.not.equal('1.1.0');
    const row = await forge.ctx.db.selectFrom('receivers').selectAll().where('instance_id', '=', 'prod-frozen').executeTakeFirstOrThrow();
    expect(row.mode).to.equal('frozen');
  });

  it('a duplicate webhook is processed once, and a bad signature gets 401 and changes nothing', async () => {
    const delivery = randomUUID();
    const head = await repo.revParse('HEAD');
    const first = await postGitWebhook([{ ref: 'refs/heads/main', before: head, after: head }], delivery);
    const second = await postGitWebhook([{ ref: 'refs/heads/main', before: head, after: head }], delivery);
    expect(first.status).to.equal(202);
    expect(second.status).to.equal(200);
    expect(second.body['duplicate']).to.equal(true);
    const received = (await listAudit(forge.ctx.db, { kind: 'webhook.received', limit: 1000 })).filter((r) => r.detail.includes(delivery));
    expect(received).to.have.length(1);

    const bad = await postGitWebhook([{ ref: 'refs/heads/main', before: head, after: head }], randomUUID(), 'not-the-secret-0123456789abcdef');
    expect(bad.status).to.equal(401);
    expect(bad.body['code']).to.be.a('string');
  });

  it('a saved edit to a live set reaches development receivers as a head build', async () => {
    const before = await repo.revParse('HEAD');
    const after = await repo.commit('clearer answer', { 'prompts/support/answer.md': '---\ninput:\n  schema:\n    question: string\n---\nShort answer: {{question}}' });
    await postGitWebhook([{ ref: 'refs/heads/main', before, after }]);
    const dev = clients.find((c) => c.status().instanceId === 'dev-1')!;
    await until('the dev receiver on the new head build', () => dev.prompt('answer', { question: 'x' }) === 'Short answer: x');
    expect(versionOf(dev, 'support')).to.match(new RegExp(`^0\\.0\\.1-head\\.\\d+\\+${after.slice(0, 7)}$`));
  });

  it('a lint error publishes nothing, and the audit log says why', async () => {
    const dev = clients.find((c) => c.status().instanceId === 'dev-1')!;
    const served = versionOf(dev, 'support');
    const before = await repo.revParse('HEAD');
    const after = await repo.commit('broken', { 'prompts/support/answer.md': 'Answer: {{#if question}}unclosed' });
    await postGitWebhook([{ ref: 'refs/heads/main', before, after }]);
    await until('the lint failure audited', async () => (await listAudit(forge.ctx.db, { kind: 'decision.lint-failed' })).some((r) => r.subject.includes(after.slice(0, 7))));
    await forge.settle();
    expect(versionOf(dev, 'support')).to.equal(served);
    expect(dev.prompt('answer', { question: 'x' })).to.equal('Short answer: x');
  });

  it('a moved release tag is refused and audited, and what was built for it stays', async () => {
    const built = await forge.ctx.db.selectFrom('bundles').select('integrity').where('set_name', '=', 'core').where('version', '=', '1.0.0').executeTakeFirstOrThrow();
    await repo.tag('core@1.0.0', { force: true, message: 'moved' });
    const report = await forge.sync('acme');
    expect(report.refusedTags.map((t) => t.tag)).to.deep.equal(['core@1.0.0']);
    const audited = await listAudit(forge.ctx.db, { kind: 'tag.moved' });
    expect(audited).to.have.length(1);
    await forge.sync('acme');
    expect(await listAudit(forge.ctx.db, { kind: 'tag.moved' }), 'audited once, not on every sync').to.have.length(1);
    const still = await forge.ctx.db.selectFrom('bundles').select('integrity').where('set_name', '=', 'core').where('version', '=', '1.0.0').executeTakeFirstOrThrow();
    expect(still.integrity).to.equal(built.integrity);
  });

  it('serves the pull API: envelope with ETag and 304, immutable versions, well-known keys', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const first = await fetch(`${forge.url}/api/v1/projects/acme/envelope?channel=production`, { headers: auth });
    expect(first.status).to.equal(200);
    const etag = first.headers.get('etag')!;
    const envelope = (await first.json()) as { bundles: { set: string; version: string }[] };
    expect(envelope.bundles.map((b) => `${b.set}@${b.version}`)).to.deep.equal(['core@1.1.0']);
    const again = await fetch(`${forge.url}/api/v1/projects/acme/envelope?channel=production`, { headers: { ...auth, 'if-none-match': etag } });
    expect(again.status).to.equal(304);
    const versions = (await (await fetch(`${forge.url}/api/v1/projects/acme/sets/core/versions`, { headers: auth })).json()) as { versions: { version: string }[] };
    expect(versions.versions.map((v) => v.version)).to.have.members(['1.0.0', '1.1.0']);
    const wellKnown = (await (await fetch(`${forge.url}/.well-known/anvil.json`)).json()) as { keys: { keyId: string }[] };
    expect(wellKnown.keys[0]!.keyId).to.equal(forge.ctx.keys.active.keyId);
    expect((await fetch(`${forge.url}/api/v1/projects/acme/envelope?channel=production`)).status).to.equal(401);
    // A project token is refused for any other project, existing or not: it learns no names (issue 14).
    expect((await fetch(`${forge.url}/api/v1/projects/nope/envelope?channel=production`, { headers: auth })).status).to.equal(403);
    const metrics = await (await fetch(`${forge.url}/metrics`)).text();
    expect(metrics).to.contain('anvil_deliveries_total');
    expect(await verifyAuditChain(forge.ctx.db)).to.include({ ok: true });
  });

  it('anvil publish pushes a release again and reports a result per receiver; it never widens the policy', async () => {
    const had = process.env['ANVIL_ADMIN_TOKEN'];
    process.env['ANVIL_ADMIN_TOKEN'] = ADMIN;
    try {
      const run = await anvil(dataDir, 'publish', 'core@1.1.0', '--forge', forge.url, '--project', 'acme', '--json', '--wait', '20');
      expect(run.code, run.stderr).to.equal(0);
      const out = JSON.parse(run.stdout) as { channels: { channel: string; outcome: string }[]; deliveries: { instanceId: string; state: string; status: number }[] };
      expect(out.channels.map((c) => c.channel)).to.deep.equal(['production', 'staging', 'development']);
      const prod = out.deliveries.filter((d) => d.instanceId.startsWith('prod-')).map((d) => `${d.instanceId} ${d.state} ${d.status}`);
      expect(prod).to.have.members(['prod-1 delivered 200', 'prod-2 delivered 200', 'prod-3 delivered 200']);

      const review = await anvil(dataDir, 'publish', 'onboarding@1.0.0', '--forge', forge.url, '--project', 'acme', '--json', '--wait', '20');
      const channels = (JSON.parse(review.stdout) as { channels: { channel: string }[] }).channels.map((c) => c.channel);
      expect(channels).to.not.include('production');

      const unknown = await anvil(dataDir, 'publish', 'core@9.9.9', '--forge', forge.url, '--project', 'acme');
      expect(unknown.code).to.equal(1);
      expect(unknown.stderr).to.contain('release.unknown');
      expect(unknown.stderr).to.not.contain('    at ');
    } finally {
      if (had === undefined) delete process.env['ANVIL_ADMIN_TOKEN'];
      else process.env['ANVIL_ADMIN_TOKEN'] = had;
    }
  });

  it('receivers that were down during a publish converge when they come back', async () => {
    const down = clients.find((c) => c.status().instanceId === 'prod-3')!;
    await down.close();
    const before = await repo.revParse('HEAD');
    await repo.commit('tone 1.2', { 'prompts/core/tone.md': '---\ndescription: house tone\n---\nBe warm and brief.' });
    await repo.tag('core@1.2.0', { message: formatReleaseMessage({ set: 'core', version: '1.2.0', dependencies: {} }) });
    await postGitWebhook([{ ref: 'refs/tags/core@1.2.0', before: '0'.repeat(40), after: await repo.revParse('core@1.2.0') }, { ref: 'refs/heads/main', before, after: await repo.revParse('HEAD') }]);
    const others = clients.filter((c) => ['prod-1', 'prod-2'].includes(c.status().instanceId));
    await until('the receivers that are up on 1.2.0', () => others.every((c) => versionOf(c, 'core') === '1.2.0'));
    // The same receiver comes back (same cache dir, same instance id) on a new port.
    const back = await receiver('prod-3', 'production');
    await until('the returning receiver on 1.2.0', () => versionOf(back, 'core') === '1.2.0');
  });
});
