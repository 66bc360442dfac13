/**
 * Two forge replicas on one PostgreSQL, end to end (issue 16): each started as `anvil serve`
 * starts it, with `database` naming the same store and the same keys in its own data dir (what
 * docs/forge.md tells operators to share), a real git repository as the remote, real LIVE
 * receivers (@anvil/client) registered with one replica or the other, and the same signed webhook
 * posted to both at once, as a load balancer's retry or a sender's redelivery would.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
import { storeDialect } from '../../src/store/dialect.ts';
import { anvil } from '../cli/cli-support.ts';
import { ACME_PROMPTS } from '../support/acme-prompts.ts';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';
import { createTestSchema, type TestSchema } from '../support/test-postgres.ts';
import { until } from '../support/until.ts';

const SECRET = 'replicas-webhook-secret-0123456789abcdef';

describe('two forge replicas on one PostgreSQL, end to end', function () {
  this.timeout(60_000);
  let repo: GitDir;
  let schema: TestSchema;
  const dirs: string[] = [];
  const forges: RunningForge[] = [];
  const clients: AnvilClient[] = [];
  let token: string;
  let aDir: string;

  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  const config = (dataDir: string): ResolvedForgeConfig => ({
    name: 'replicated-forge', dataDir, host: '127.0.0.1', port: 0, keyRotationGraceDays: 7,
    projects: [{ name: 'acme', remote: repo.dir, provider: 'git', webhookSecret: SECRET }], defaultBranches: {},
    // The receivers listen on 127.0.0.1.
    pushTargets: { allowPrivateNetworks: true },
    database: schema.url,
  });
  const versionOf = (client: AnvilClient, set: string) => client.status().sets[set]?.version;

  async function receiver(forge: RunningForge, name: string): Promise<AnvilClient> {
    const client = await createClient({
      forge: forge.url, project: 'acme', token, channel: 'production', cacheDir: tempDir(`anvil-replica-receiver-${name}-`), instanceId: name,
      readyTimeoutMs: 0, pollMs: 0, heartbeatMs: 3_600_000,
    });
    client.on('error', () => undefined);
    await client.listen(0);
    clients.push(client);
    return client;
  }

  async function postGitWebhook(forge: RunningForge, delivery: string, updates: { ref: string; before: string; after: string }[]): Promise<{ status: number; body: Record<string, unknown> }> {
    const body = JSON.stringify({ project: 'acme', delivery, updates });
    const res = await fetch(`${forge.url}/webhooks/git`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-anvil-delivery': delivery, 'x-anvil-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` },
      body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  before(async () => {
    repo = await gitdir({ files: ACME_PROMPTS });
    await repo.tag('core@1.0.0', { message: formatReleaseMessage({ set: 'core', version: '1.0.0', dependencies: {} }) });
    schema = await createTestSchema();
    const options = { logger: createLogger({ level: 'silent' }), syncOnStart: false, worker: { pollMs: 100, backoff: { baseMs: 50, maxMs: 200 } } };
    aDir = tempDir('anvil-replica-a-');
    forges.push(await startForge(config(aDir), options));
    // The second replica's data dir holds the first one's keys: the same signing key (receivers
    // pin it) and the same sealing key (it opens the push tokens the first one sealed).
    const bDir = tempDir('anvil-replica-b-');
    cpSync(path.join(aDir, 'keys'), path.join(bDir, 'keys'), { recursive: true });
    forges.push(await startForge(config(bDir), options));
    token = (await createAccessToken(forges[0]!.ctx.db, { project: 'acme', label: 'replicas' })).token;
  });

  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    for (const f of forges) await f.close();
    await schema?.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await cleanupGitdirs();
  });

  it('both serve the same store and keys', async () => {
    const [a, b] = forges as [RunningForge, RunningForge];
    expect(storeDialect(a.ctx.db)).to.equal('postgres');
    const keys = await Promise.all([a, b].map(async (f) => (await (await fetch(`${f.url}/.well-known/anvil.json`)).json()) as { keys: unknown }));
    expect(keys[1]!.keys).to.deep.equal(keys[0]!.keys);
  });

  it('a release synced by one replica reaches receivers registered with either', async () => {
    const [a, b] = forges as [RunningForge, RunningForge];
    const onA = await receiver(a, 'on-a');
    const onB = await receiver(b, 'on-b');
    await until('both receivers registered', async () => (await a.ctx.db.selectFrom('receivers').select('instance_id').execute()).length === 2);
    await a.sync('acme');
    await until('both receivers on core 1.0.0', () => versionOf(onA, 'core') === '1.0.0' && versionOf(onB, 'core') === '1.0.0');
    expect(onB.prompt('tone', {})).to.equal('Be kind and brief.');
  });

  it('the same webhook posted to both is taken once; the release it announces is pushed to each receiver once', async () => {
    const [a, b] = forges as [RunningForge, RunningForge];
    const before = await repo.revParse('HEAD');
    const after = await repo.commit('warmer tone', { 'prompts/core/tone.md': '---\ndescription: house tone\n---\nBe warm, kind and brief.' });
    await repo.tag('core@1.1.0', { message: formatReleaseMessage({ set: 'core', version: '1.1.0', dependencies: {} }) });
    const delivery = randomUUID();
    const updates = [
      { ref: 'refs/heads/main', before, after },
      { ref: 'refs/tags/core@1.1.0', before: '0'.repeat(40), after: await repo.revParse('core@1.1.0') },
    ];
    const answers = await Promise.all([postGitWebhook(a, delivery, updates), postGitWebhook(b, delivery, updates)]);
    expect(answers.map((x) => x.status).sort()).to.deep.equal([200, 202]);
    expect(answers.find((x) => x.status === 200)!.body).to.include({ duplicate: true, delivery });

    await until('both receivers on core 1.1.0', () => clients.every((c) => versionOf(c, 'core') === '1.1.0'), 20_000);
    expect(clients.map((c) => c.prompt('tone', {}))).to.deep.equal(['Be warm, kind and brief.', 'Be warm, kind and brief.']);
    await a.settle();
    await b.settle();

    const deliveries = await a.ctx.db.selectFrom('deliveries').select(['instance_id', 'set_name', 'version', 'state']).where('set_name', '=', 'core').execute();
    // 1.1.0 pushed to each receiver exactly once. The earlier 1.0.0 push may still have been
    // queued when 1.1.0 came: the queue then supersedes it (a receiver needs only the latest).
    expect(deliveries.filter((d) => d.version === '1.1.0').map((d) => `${d.instance_id} ${d.state}`).sort()).to.deep.equal(['on-a delivered', 'on-b delivered']);
    const earlier = deliveries.filter((d) => d.version === '1.0.0');
    expect(earlier.map((d) => d.instance_id).sort()).to.deep.equal(['on-a', 'on-b']);
    for (const d of earlier) expect(d.state).to.be.oneOf(['delivered', 'superseded']);
    const received = (await listAudit(b.ctx.db, { kind: 'webhook.received', limit: 1_000 })).filter((r) => (JSON.parse(r.detail) as { delivery?: string }).delivery === delivery);
    expect(received).to.have.length(1);
    expect(await verifyAuditChain(b.ctx.db)).to.include({ ok: true });
  });

  it('the operator commands reach the same store through `database` in anvil-forge.yaml', async () => {
    const dir = tempDir('anvil-replica-cli-');
    writeFileSync(path.join(dir, 'anvil-forge.yaml'), [
      `dataDir: ${JSON.stringify(aDir)}`, `database: ${JSON.stringify(schema.url)}`,
      'projects:', '  - name: acme', `    remote: ${JSON.stringify(repo.dir)}`, '',
    ].join('\n'));
    const verify = await anvil(dir, 'audit', 'verify', '--json');
    expect(verify.code, verify.stderr).to.equal(0);
    expect(JSON.parse(verify.stdout)).to.include({ ok: true });
    const tokens = await anvil(dir, 'token', 'list', '--project', 'acme', '--json');
    expect(tokens.code, tokens.stderr).to.equal(0);
    expect(tokens.stdout).to.contain('"replicas"');
  });

  it('an event published on one replica reaches subscribers on the other', async () => {
    const [a, b] = forges as [RunningForge, RunningForge];
    const heard: unknown[] = [];
    const stop = await b.ctx.events.subscribe('replica-test', (payload) => heard.push(payload));
    await a.ctx.events.publish('replica-test', { from: 'a' });
    await until('b heard a', () => heard.length === 1);
    expect(heard).to.deep.equal([{ from: 'a' }]);
    await stop();
  });
});
