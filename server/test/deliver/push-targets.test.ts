/**
 * Where pushes go (issue 14), with the push worker over real HTTP on loopback: a target the rules
 * refuse gets no request at all, whatever spelling of its address the URL uses and whatever its
 * name resolves to at push time; nothing it could answer is shown back; loopback is pushed to
 * only when the forge allows private networks; the address checked is the address connected to;
 * redirects are not followed. DNS is a resolver function the tests set, never the network.
 */
import { expect } from 'chai';
import { enqueueDeliveries } from '../../src/deliver/delivery-queue.ts';
import { startPushWorker, type PushWorker, type PushWorkerOptions } from '../../src/deliver/push-worker.ts';
import type { HostResolver } from '../../src/forge/forge-context.ts';
import { listReceivers } from '../../src/receivers/list-receivers.ts';
import { listAudit } from '../../src/store/audit-log.ts';
import { PROJECT, addEnvelope, addReceiver, makeBundle, settle, startAnswerServer, type Answer, type AnswerServer } from '../support/delivery-fixtures.ts';
import { createTestForge, type TestForge } from '../support/forge-context.ts';

const FAST: PushWorkerOptions = { pollMs: 20, timeoutMs: 1_000, leaseMs: 5_000, backoff: { baseMs: 20, maxMs: 50 } };
/** What the loopback target answers: it must never be seen by anyone if the target is refused. */
const SECRET_ANSWER: Answer = { status: 422, body: { ok: false, code: 'secret.answer', reason: 'SECRET-ANSWER-FROM-THE-TARGET' } };
const APPLIED: Answer = { status: 200, body: { ok: true, code: 'applied' } };

/** A resolver from a table; counts the lookups of each name. */
function fakeDns(table: Record<string, string[]>): HostResolver & { calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const resolve = async (host: string) => {
    calls[host] = (calls[host] ?? 0) + 1;
    const found = table[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}

describe('push targets (issue 14)', function () {
  let forge: TestForge;
  let servers: AnswerServer[];
  let worker: PushWorker | undefined;

  async function start(allowPrivateNetworks: boolean, dns: HostResolver = fakeDns({})): Promise<void> {
    forge = await createTestForge({ pushTargets: { allowPrivateNetworks, resolve: dns } });
  }
  beforeEach(() => { servers = []; });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    for (const s of servers) await s.close();
    await forge.close();
  });

  async function target(answer: Answer = SECRET_ANSWER): Promise<AnswerServer & { port: number }> {
    const server = await startAnswerServer(() => answer);
    servers.push(server);
    return Object.assign(server, { port: Number(new URL(server.url).port) });
  }
  async function publishTo(urls: Record<string, string>): Promise<void> {
    for (const [instanceId, url] of Object.entries(urls)) await addReceiver(forge.ctx, { instanceId, url });
    const env = await addEnvelope(forge.ctx, [makeBundle('onboarding', '1.0.0', { 'welcome.message': 'Hello' })]);
    const queued = await enqueueDeliveries(forge.ctx, { project: PROJECT, channel: 'production', envelopeId: env.id, set: 'onboarding', version: '1.0.0' });
    expect(queued).to.equal(Object.keys(urls).length);
    worker = startPushWorker(forge.ctx, FAST);
  }
  const deliveries = async () => Object.fromEntries((await forge.ctx.db.selectFrom('deliveries').selectAll().execute()).map((d) => [d.instance_id, d]));

  it('refuses every spelling of a loopback or metadata address, and names resolving to one, without sending anything', async () => {
    const dns = fakeDns({ 'rebind.test': ['127.0.0.1'], 'meta.test': ['169.254.169.254'], 'mixed.test': ['93.184.215.14', '127.0.0.1'] });
    await start(false, dns);
    const { port } = await target();
    const urls = {
      'loopback': `http://127.0.0.1:${port}/anvil`,
      'decimal-loopback': `http://2130706433:${port}/anvil`,
      'hex-loopback': `http://0x7f000001:${port}/anvil`,
      'octal-loopback': `http://0177.0.0.1:${port}/anvil`,
      'short-loopback': `http://127.1:${port}/anvil`,
      'mapped-loopback': `http://[::ffff:127.0.0.1]:${port}/anvil`,
      'long-mapped-loopback': `http://[0:0:0:0:0:ffff:7f00:1]:${port}/anvil`,
      'v6-loopback': `http://[::1]:${port}/anvil`,
      'localhost': `http://localhost:${port}/anvil`,
      'rebinding-name': `http://rebind.test:${port}/anvil`,
      'mixed-name': `http://mixed.test:${port}/anvil`,
      'metadata': 'http://169.254.169.254/latest/meta-data/',
      'decimal-metadata': 'http://2852039166/latest/meta-data/',
      'hex-metadata': 'http://0xA9FEA9FE/latest/meta-data/',
      'octal-metadata': 'http://0251.0376.0251.0376/latest/meta-data/',
      'mapped-metadata': 'http://[::ffff:169.254.169.254]/latest/meta-data/',
      'hex-mapped-metadata': 'http://[::ffff:a9fe:a9fe]/latest/meta-data/',
      'metadata-name': 'http://metadata.google.internal/computeMetadata/v1/',
      'metadata-by-dns': 'http://meta.test/latest/meta-data/',
      'unspecified': `http://0.0.0.0:${port}/anvil`,
    };
    await publishTo(urls);
    await settle(forge.ctx, worker!);

    expect(servers[0]!.pushes, 'the loopback target saw a request').to.have.length(0);
    const rows = await deliveries();
    for (const instanceId of Object.keys(urls)) {
      expect(rows[instanceId], instanceId).to.deep.include({ state: 'failed', last_code: 'target.blocked', last_status: null, attempts: 1 });
    }
    expect(rows['rebinding-name']!.last_reason).to.equal('127.0.0.1 (rebind.test) is loopback, and pushTargets.allowPrivateNetworks is off');
    expect(rows['mixed-name']!.last_reason).to.contain('127.0.0.1 (mixed.test)');
    expect(rows['hex-mapped-metadata']!.last_reason).to.match(/link-local/);
    expect(rows['metadata-name']!.last_reason).to.contain('metadata.google.internal is a cloud metadata name');
    // The name is looked up once per push, and not at all when the name alone decides.
    expect(dns.calls).to.deep.equal({ 'rebind.test': 1, 'meta.test': 1, 'mixed.test': 1 });

    // Final: a later pass pushes nothing more.
    worker!.wake();
    await new Promise((r) => setTimeout(r, 100));
    await worker!.drain();
    expect(servers[0]!.pushes).to.have.length(0);
    expect(Object.values(await deliveries()).map((d) => d.attempts)).to.satisfy((a: number[]) => a.every((n) => n === 1));

    // What operators see: the reason, and nothing the target could have said.
    const views = await listReceivers(forge.ctx.db, { project: PROJECT });
    for (const view of views) expect(view.lastDelivery, view.instanceId).to.deep.include({ state: 'failed', code: 'target.blocked', status: null });
    expect(JSON.stringify(views)).not.to.contain('SECRET');
    const audit = await listAudit(forge.ctx.db, { kind: 'delivery.failed' });
    expect(audit).to.have.length(Object.keys(urls).length);
    expect(audit.every((row) => (JSON.parse(row.detail) as { code: string }).code === 'target.blocked')).to.equal(true);
  });

  it('with allowPrivateNetworks, pushes to loopback in any spelling and to names resolving there; link-local and metadata stay refused', async () => {
    const dns = fakeDns({ 'receiver.test': ['127.0.0.1'], 'meta.test': ['169.254.169.254'], 'localhost': ['::1', '127.0.0.1'] });
    await start(true, dns);
    const server = await target(APPLIED);
    await publishTo({
      'loopback': `http://127.0.0.1:${server.port}/anvil`,
      'decimal-loopback': `http://2130706433:${server.port}/anvil`,
      'localhost': `http://localhost:${server.port}/anvil`,
      'named': `http://receiver.test:${server.port}/anvil`,
      'metadata': 'http://[::ffff:a9fe:a9fe]/latest/meta-data/',
      'metadata-name': 'http://metadata.google.internal/',
      'metadata-by-dns': `http://meta.test:${server.port}/anvil`,
    });
    await settle(forge.ctx, worker!);
    const rows = await deliveries();
    for (const id of ['loopback', 'decimal-loopback', 'localhost', 'named']) expect(rows[id], id).to.deep.include({ state: 'delivered', last_status: 200 });
    for (const id of ['metadata', 'metadata-name', 'metadata-by-dns']) expect(rows[id], id).to.deep.include({ state: 'failed', last_code: 'target.blocked' });
    expect(server.pushes).to.have.length(4);
    // `receiver.test` is not in any real DNS: the push reached the loopback server only because
    // it connected to the address the check resolved, and it still named its host.
    expect(server.pushes.map((p) => p.headers.host)).to.include(`receiver.test:${server.port}`);
    expect(dns.calls['receiver.test']).to.equal(1);
  });

  it('a name that does not resolve is retried like an unreachable receiver, and pushed once it resolves', async () => {
    const table: Record<string, string[]> = {};
    await start(true, fakeDns(table));
    const server = await target(APPLIED);
    await publishTo({ later: `http://later.test:${server.port}/anvil` });
    for (let i = 0; i < 100 && (await deliveries())['later']!.attempts < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const retrying = (await deliveries())['later']!;
    expect(retrying).to.deep.include({ state: 'pending', last_code: 'unreachable' });
    expect(retrying.last_reason).to.contain('later.test did not resolve (ENOTFOUND)');
    table['later.test'] = ['127.0.0.1'];
    await settle(forge.ctx, worker!);
    expect((await deliveries())['later']).to.deep.include({ state: 'delivered' });
    expect(server.pushes).to.have.length(1);
  });

  it('does not follow a redirect, wherever it points', async () => {
    await start(true);
    const elsewhere = await target(APPLIED);
    const redirecting = await target({ status: 307, headers: { location: elsewhere.url } });
    await publishTo({ moved: redirecting.url });
    for (let i = 0; i < 200 && !(await deliveries())['moved']!.last_status; i++) await new Promise((r) => setTimeout(r, 10));
    await worker!.stop();
    const row = (await deliveries())['moved']!;
    expect(row).to.deep.include({ state: 'pending', last_status: 307 });
    expect(row.last_reason).to.contain('redirect, which the forge does not follow');
    expect(redirecting.pushes.length).to.be.greaterThan(0);
    expect(elsewhere.pushes).to.have.length(0);
  });
});
