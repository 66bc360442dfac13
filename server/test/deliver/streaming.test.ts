/**
 * Streaming receivers (issue 16), end to end: the forge as `anvil serve` runs it on loopback
 * (published-forge.ts: core@1.0.0 released to production), real LIVE clients with
 * `transport: 'stream'` and no listener of their own, and — where a test needs the network to
 * misbehave — a proxy between them (cutting-proxy.ts). Each test releases the next version of
 * `core` and watches it arrive.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createClient, type AnvilClient, type ClientOptions } from '@anvil/client';
import { isAnvilError } from '@anvil/content-schema';
import { formatReceiverTable, listReceivers } from '../../src/receivers/list-receivers.ts';
import { listAudit } from '../../src/store/audit-log.ts';
import { formatReleaseMessage } from '../../src/release/release-record.ts';
import { anvil } from '../cli/cli-support.ts';
import { collectStream } from '../support/collect-stream.ts';
import { startCuttingProxy, type CuttingProxy } from '../support/cutting-proxy.ts';
import { ADMIN_TOKEN, startPublishedForge, type PublishedForge } from '../support/published-forge.ts';
import { testStoreKind } from '../support/test-postgres.ts';
import { until } from '../support/until.ts';

describe('streaming receivers (issue 16)', function () {
  let published: PublishedForge;
  let cacheRoot: string;
  let minor = 0;
  const clients: AnvilClient[] = [];
  const proxies: CuttingProxy[] = [];

  before(async function () {
    published = await startPublishedForge();
    cacheRoot = mkdtempSync(path.join(tmpdir(), 'anvil-streaming-'));
  });
  after(async function () {
    await published.close();
    rmSync(cacheRoot, { recursive: true, force: true });
  });
  afterEach(async function () {
    for (const c of clients.splice(0)) await c.close();
    for (const p of proxies.splice(0)) await p.close();
  });

  const api = (p: string) => `${published.forge.url}/api/v1/projects/acme${p}`;

  async function streamingClient(name: string, extra: Partial<ClientOptions> = {}): Promise<AnvilClient> {
    const client = await createClient({
      forge: published.forge.url, project: 'acme', token: published.tokens.acme, channel: 'production', cacheDir: path.join(cacheRoot, name),
      instanceId: name, transport: 'stream', readyTimeoutMs: 5_000, pollMs: 0, heartbeatMs: 3_600_000, stream: { ackJitterMs: 100 }, ...extra,
    });
    client.on('error', () => undefined);
    clients.push(client);
    await client.ready;
    await until(`${name} streaming`, () => streamState(client) === 'connected');
    return client;
  }

  /** Commits a change to core and tags the next release; the forge hears of it at the next sync. */
  async function nextRelease(): Promise<string> {
    minor += 1;
    const version = `1.${minor}.0`;
    await published.repo.commit(`core: revision ${minor}`, { 'prompts/core/tone.md': `---\ndescription: house tone\n---\nBe kind and brief (revision ${minor}).` });
    await published.repo.tag(`core@${version}`, { message: formatReleaseMessage({ set: 'core', version, dependencies: {} }) });
    return version;
  }

  const core = (client: AnvilClient) => client.status().sets['core']?.version;

  it('delivers a release to a client with no inbound port within a second of the sync, and shows it as streaming', async function () {
    const app = await streamingClient('app-fast');
    expect(core(app)).to.equal('1.0.0');
    expect(app.status().transport).to.include({ kind: 'stream', state: 'connected' });
    const version = await nextRelease();
    const applied = new Promise<number>((resolve) => app.on('update', () => core(app) === version && resolve(Date.now())));
    await published.forge.sync('acme');
    const synced = Date.now();
    const at = await applied;
    expect(at - synced, 'ms from the end of the sync to the apply').to.be.below(1_000);
    expect(app.prompt('tone')).to.contain(`revision ${minor}`);

    // The forge treats it like a pushed receiver: its row, its answer, the audit log.
    await until('the ack', async () => (await receiverOf('app-fast'))?.['lastDelivery'] !== null && ((await receiverOf('app-fast'))!['lastDelivery'] as { state: string }).state === 'delivered');
    const row = (await receiverOf('app-fast'))!;
    expect(row).to.include({ transport: 'stream', url: '', status: 'active' });
    expect(row['versions']).to.deep.equal({ core: version });
    const stream = row['stream'] as Record<string, string>;
    expect(stream['sentEnvelope']).to.match(/^env-/).and.equal(stream['ackedEnvelope']);
    expect(row['lastDelivery']).to.include({ state: 'delivered', status: 200, code: 'applied' });
    const audit = await listAudit(published.forge.ctx.db, { project: 'acme', kind: 'delivery.delivered' });
    expect(audit.some((r) => r.subject === 'app-fast' && JSON.parse(r.detail).transport === 'stream' && JSON.parse(r.detail).envelope === stream['ackedEnvelope'])).to.equal(true);
    // The push worker never queued anything for it: it has no URL.
    const queued = await published.forge.ctx.db.selectFrom('deliveries').select('id').where('instance_id', '=', 'app-fast').execute();
    expect(queued).to.have.length(0);

    // `anvil receivers` reads the store the forge uses: its data dir's SQLite file (on the
    // PostgreSQL runs the store is a schema the command is not told of; the table is the same).
    const table = testStoreKind() === 'postgres'
      ? formatReceiverTable(await listReceivers(published.forge.ctx.db, { project: 'acme' }), Date.now())
      : await anvil(tmpdir(), 'receivers', '--project', 'acme', '--data-dir', published.forge.ctx.dataDir).then((cli) => {
        expect(cli.code, cli.stderr).to.equal(0);
        return cli.stdout;
      });
    expect(table.split('\n')[0]).to.match(/\bTRANSPORT\b/);
    expect(table.split('\n').find((l) => l.startsWith('app-fast'))).to.match(/production\s+accepting\s+stream\s+active\s+core@\S+\s+\ds ago\s+delivered 200/);
  });

  it('shows a streaming receiver in a publish\'s progress: sent and waiting for its ack, then its answer', async function () {
    // Acks spread over 1.5 s: the progress is read while this one is still on its way.
    const app = await streamingClient('app-progress', { stream: { ackJitterMs: 1_500 } });
    const since = new Date().toISOString();
    const version = await nextRelease();
    const applied = new Promise<void>((resolve) => app.on('update', () => core(app) === version && resolve()));
    await published.forge.sync('acme');
    await applied;
    const envelope = ((await receiverOf('app-progress'))!['stream'] as Record<string, string>)['sentEnvelope']!;
    const progress = async () => {
      const q = new URLSearchParams({ envelope, since, set: 'core', version });
      const res = await fetch(api(`/deliveries?${q.toString()}`), { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(res.status).to.equal(200);
      return ((await res.json()) as { deliveries: Record<string, unknown>[] }).deliveries.find((d) => d['instanceId'] === 'app-progress');
    };
    const before = await progress();
    if (before?.['state'] === 'pending') expect(before).to.include({ url: '', set: 'core', version, code: 'stream.sent', status: null });
    await until('the ack in the progress', async () => (await progress())?.['state'] === 'delivered');
    expect(await progress()).to.include({ url: '', set: 'core', version, envelope, status: 200, code: 'applied' });
  });

  it('resumes after the connection is cut, without missing what was published meanwhile', async function () {
    const proxy = await startCuttingProxy(published.forge.url);
    proxies.push(proxy);
    const app = await streamingClient('app-resume', { forge: proxy.url });
    const before = core(app)!;
    const held = (app.status().transport as { lastEventId?: string }).lastEventId;
    expect(held).to.match(/^env-/);

    proxy.down = true;
    proxy.cut();
    await until('the client noticing', () => streamState(app) !== 'connected');
    const seenBeforeCut = proxy.requests.length;
    const version = await nextRelease();
    await published.forge.sync('acme');
    expect(core(app)).to.equal(before);
    proxy.down = false;
    await until(`the client taking ${version}`, () => core(app) === version, 15_000);
    expect(streamState(app)).to.not.equal('stopped');
    // It came back saying which envelope it held then: the one from before the cut, unless its
    // fallback pull (one per failed attempt) got through first and took the new one — the proxy
    // may come back between an attempt's failed connect and its pull.
    // The pull may also have taken it while the stream still waits out its backoff.
    const reconnected = () => proxy.requests.slice(seenBeforeCut).some((r) => r.path.includes('/stream?'));
    await until('the client reconnecting its stream', reconnected, 15_000);
    const after = proxy.requests.slice(seenBeforeCut);
    const reconnect = after.findIndex((r) => r.path.includes('/stream?'));
    const pulledFirst = after.slice(0, reconnect).some((r) => r.path.includes('/envelope?'));
    // Served first, then durable, then held (onStreamEvent): wait for the last step.
    const holding = () => (app.status().transport as { lastEventId?: string }).lastEventId;
    await until('the client holding the new envelope', () => holding() !== held);
    const taken = holding();
    expect(taken).to.match(/^env-/);
    expect(after[reconnect]!.headers['last-event-id']).to.equal(pulledFirst ? taken : held);
  });

  it('sends the current envelope on connect unless Last-Event-ID says the receiver holds it', async function () {
    await register('raw-1');
    const current = await fetch(api('/envelope?channel=production'), { headers: { authorization: `Bearer ${published.tokens.acme}` } });
    const id = current.headers.get('etag')!.replaceAll('"', '');
    const fresh = await readStream('/stream?channel=production&instance=raw-1', {}, 500);
    expect(fresh).to.contain(`id: ${id}\nevent: envelope\ndata: {"webhook-id":"stm-${id}"`);
    const resumed = await readStream('/stream?channel=production&instance=raw-1', { 'last-event-id': id }, 500);
    expect(resumed).to.not.contain('event: envelope');
    expect(resumed).to.contain(': anvil stream');
  });

  it('refuses a tampered envelope on the stream as it refuses a tampered push, and the forge records why', async function () {
    const proxy = await startCuttingProxy(published.forge.url);
    proxies.push(proxy);
    const app = await streamingClient('app-tampered', { forge: proxy.url });
    const before = core(app)!;
    const errors: unknown[] = [];
    app.on('error', (err) => errors.push(err));
    proxy.tamper = (event) => event.replace(/Be kind and brief/, 'Be cruel and brief');
    await nextRelease();
    await published.forge.sync('acme');
    // The body no longer matches the forge's signature over it: refused before it is read.
    await until('the refusal', () => errors.some((e) => isAnvilError(e) && e.code === 'webhook.signature'));
    expect(core(app)).to.equal(before);
    expect(app.prompt('tone')).to.not.contain('cruel');
    await until('the forge recording it', async () => ((await receiverOf('app-tampered'))?.['lastDelivery'] as { state?: string } | null)?.state === 'failed');
    expect((await receiverOf('app-tampered'))!['lastDelivery']).to.include({ state: 'failed', status: 401, code: 'webhook.signature' });
    // As for a push refused 401: failed, with an alert for a person to look at.
    const audit = await listAudit(published.forge.ctx.db, { project: 'acme', kind: 'delivery.failed' });
    const refusal = audit.map((r) => ({ subject: r.subject, detail: JSON.parse(r.detail) as Record<string, unknown> })).find((r) => r.subject === 'app-tampered');
    expect(refusal?.detail).to.include({ transport: 'stream', code: 'webhook.signature', status: 401, alert: true });
  });

  it('applies nothing while frozen, and catches up when accepting again', async function () {
    const app = await streamingClient('app-frozen');
    const before = core(app)!;
    // Frozen from outside (as `anvil-live mode frozen` does): the forge still has it accepting.
    const operator = await createClient({ forge: published.forge.url, project: 'acme', token: published.tokens.acme, channel: 'production', cacheDir: path.join(cacheRoot, 'app-frozen'), pollMs: 0 });
    await operator.setMode('frozen');
    await operator.close();
    await until('the app frozen', () => app.status().mode === 'frozen');
    const version = await nextRelease();
    await published.forge.sync('acme');
    await until('the answer', async () => ((await receiverOf('app-frozen'))?.['lastDelivery'] as { state?: string } | null)?.state === 'frozen');
    expect((await receiverOf('app-frozen'))!['lastDelivery']).to.include({ status: 409, code: 'frozen' });
    expect(core(app)).to.equal(before);

    await app.setMode('accepting');
    await until(`the app taking ${version}`, () => core(app) === version);
  });

  it('takes acks only from streaming receivers of the project, with a valid body', async function () {
    await register('raw-ack');
    const ack = (body: unknown, token = published.tokens.acme) => fetch(api('/receivers/ack'), {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    const good = { instanceId: 'raw-ack', envelope: 'env-x', status: 409, code: 'stale', versions: { core: '9.0.0' } };
    expect((await ack(good)).status).to.equal(200);
    expect((await receiverOf('raw-ack'))!['lastDelivery']).to.include({ state: 'stale', status: 409, code: 'stale' });
    expect((await ack({ ...good, instanceId: 'nobody' })).status).to.equal(404);
    const invalid = await ack({ ...good, status: 'ok' });
    expect(invalid.status).to.equal(422);
    expect(await invalid.json()).to.include({ code: 'receiver.invalid' });
    expect((await ack(good, published.tokens.hello)).status).to.equal(403);
    expect((await ack(good, ADMIN_TOKEN)).status).to.equal(403);
  });

  it('answers a bad token 401 as JSON before any stream, and a client with one stops', async function () {
    await register('raw-2');
    const res = await fetch(api('/stream?channel=production&instance=raw-2'), { headers: { authorization: 'Bearer anvil_not-a-token', accept: 'text/event-stream' } });
    expect(res.status).to.equal(401);
    expect(res.headers.get('content-type')).to.match(/^application\/json/);
    expect(await res.json()).to.include({ ok: false, code: 'auth.invalid' });
    const anonymous = await fetch(api('/stream?channel=production&instance=raw-2'));
    expect(anonymous.status).to.equal(401);
    const unregistered = await fetch(api('/stream?channel=production&instance=nobody'), { headers: { authorization: `Bearer ${published.tokens.acme}` } });
    expect(unregistered.status).to.equal(404);
    expect(await unregistered.json()).to.include({ code: 'receiver.unknown' });

    const client = await createClient({
      forge: published.forge.url, project: 'acme', token: 'anvil_not-a-token', channel: 'production', cacheDir: path.join(cacheRoot, 'bad-token'),
      transport: 'stream', readyTimeoutMs: 100, pollMs: 0,
    });
    client.on('error', () => undefined);
    clients.push(client);
    await until('the client giving up', () => streamState(client) === 'stopped');
    expect((client.status().transport as { lastError?: { code: string } }).lastError?.code).to.equal('forge.unauthorized');
  });

  it('ends the streams of a revoked token at once, and holds each token to a number of streams', async function () {
    const created = await fetch(api('/tokens'), { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: '{"label":"doomed"}' });
    const { token, id } = await created.json() as { token: string; id: string };
    const app = await streamingClient('app-revoked', { token });

    published.forge.ctx.streams = { maxPerToken: 1 };
    try {
      await register('raw-3', token);
      const second = await fetch(api('/stream?channel=production&instance=raw-3'), { headers: { authorization: `Bearer ${token}` } });
      expect(second.status).to.equal(429);
      expect(second.headers.get('retry-after')).to.equal('30');
      expect(await second.json()).to.include({ code: 'stream.too-many' });
    } finally {
      delete published.forge.ctx.streams;
    }

    const revokedAt = Date.now();
    const revoked = await fetch(api(`/tokens/${id}`), { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(revoked.status).to.equal(200);
    await until('the stream ended', () => streamState(app) !== 'connected', 3_000);
    expect(Date.now() - revokedAt).to.be.below(2_500);
    await until('the client giving up', () => streamState(app) === 'stopped');
    expect((app.status().transport as { lastError?: { code: string } }).lastError?.code).to.equal('forge.unauthorized');
  });

  async function receiverOf(instanceId: string): Promise<Record<string, unknown> | undefined> {
    const res = await fetch(api('/receivers'), { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const { receivers } = await res.json() as { receivers: Record<string, unknown>[] };
    return receivers.find((r) => r['instanceId'] === instanceId);
  }

  async function register(instanceId: string, token = published.tokens.acme): Promise<void> {
    const res = await fetch(api('/receivers'), {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instanceId, transport: 'stream', channel: 'production', mode: 'accepting', ranges: {}, versions: {} }),
    });
    expect(res.status, await res.clone().text()).to.be.oneOf([200, 201]);
  }

  /** What a stream carries in its first `ms`. */
  async function readStream(p: string, headers: Record<string, string>, ms: number): Promise<string> {
    const abort = new AbortController();
    const res = await fetch(api(p), { headers: { authorization: `Bearer ${published.tokens.acme}`, ...headers }, signal: abort.signal });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/event-stream/);
    const collected = collectStream(res);
    const timer = setTimeout(() => abort.abort(), ms);
    await collected.ended;
    clearTimeout(timer);
    return collected.text();
  }
});

function streamState(client: AnvilClient): string | undefined {
  const transport = client.status().transport;
  return transport.kind === 'stream' ? transport.state : undefined;
}
