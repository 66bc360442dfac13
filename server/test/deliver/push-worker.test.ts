/**
 * The push worker over real HTTP on loopback, against receivers that answer each row of
 * DESIGN.md §8's table, with a real SQLite queue under it.
 */
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { verifyWebhook } from '@anvil/content-schema';
import { enqueueDeliveries } from '../../src/deliver/delivery-queue.ts';
import { startPushWorker, type PushWorker, type PushWorkerOptions } from '../../src/deliver/push-worker.ts';
import { listAudit } from '../../src/store/audit-log.ts';
import {
  PROJECT, TOKEN, addEnvelope, addReceiver, deliveryStates, makeBundle, settle, startAnswerServer,
  type Answer, type AnswerServer, type SeenPush,
} from '../support/delivery-fixtures.ts';
import { createTestForge, type TestForge } from '../support/forge-context.ts';

const bundle = makeBundle('onboarding', '1.2.0', { 'welcome.message': 'Hello {{name}}' });
const FAST: PushWorkerOptions = { pollMs: 20, timeoutMs: 300, leaseMs: 2_000, backoff: { baseMs: 20, maxMs: 50 } };

describe('push worker', function () {
  let forge: TestForge;
  let servers: AnswerServer[];
  let workers: PushWorker[];

  beforeEach(async () => {
    forge = await createTestForge();
    servers = [];
    workers = [];
  });
  afterEach(async () => {
    for (const w of workers) await w.stop();
    for (const s of servers) await s.close();
    await forge.close();
  });

  async function receiver(instanceId: string, answer: (push: SeenPush, n: number) => Answer, more: { ranges?: Record<string, string> } = {}): Promise<AnswerServer> {
    const server = await startAnswerServer(answer);
    servers.push(server);
    await addReceiver(forge.ctx, { instanceId, url: server.url, ...more });
    return server;
  }
  function worker(options: PushWorkerOptions = {}): PushWorker {
    const w = startPushWorker(forge.ctx, { ...FAST, ...options });
    workers.push(w);
    return w;
  }
  async function publish(version = '1.2.0', set = 'onboarding', ttlMs?: number) {
    const env = await addEnvelope(forge.ctx, [version === bundle.version ? bundle : makeBundle(set, version, { 'welcome.message': `v${version}` })]);
    const n = await enqueueDeliveries(forge.ctx, { project: PROJECT, channel: 'production', envelopeId: env.id, set, version, ttlMs });
    return { ...env, queued: n };
  }
  const delivery = (instanceId: string) => forge.ctx.db.selectFrom('deliveries').selectAll().where('instance_id', '=', instanceId).executeTakeFirstOrThrow();
  const receiverRow = (instanceId: string) => forge.ctx.db.selectFrom('receivers').selectAll().where('instance_id', '=', instanceId).executeTakeFirstOrThrow();
  const json = (status: number, body: Record<string, unknown> = {}, headers: Record<string, string> = {}): Answer => ({ status, body: { ok: status === 200, ...body }, headers });

  it('pushes the envelope as stored, with the bearer token and a Standard Webhooks signature whose id is the delivery id', async () => {
    const server = await receiver('a', () => json(200, { code: 'applied', versions: { onboarding: '1.2.0' } }));
    const { body } = await publish();
    const w = worker();
    w.wake();
    await settle(forge.ctx, w);
    const [push] = server.pushes;
    const d = await delivery('a');
    expect(server.pushes).to.have.length(1);
    expect(push!.body.toString('utf8')).to.equal(body);
    expect(push!.headers).to.include({ authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'webhook-id': d.id });
    const verified = verifyWebhook({ [forge.key.keyId]: forge.key.publicKey }, {
      id: push!.headers['webhook-id'], timestamp: push!.headers['webhook-timestamp'], signature: push!.headers['webhook-signature'], body: push!.body,
    });
    expect(verified.ok).to.equal(true);
    expect(Math.abs(Number(push!.headers['webhook-timestamp']) - Date.now() / 1000)).to.be.lessThan(5);
    expect(d).to.include({ state: 'delivered', attempts: 1, last_status: 200, last_code: 'applied' });
    expect(JSON.parse((await receiverRow('a')).versions)).to.deep.equal({ onboarding: '1.2.0' });
  });

  it('answers every row of the §8 table as the table says', async () => {
    const fixed: Record<string, Answer> = {
      ok: json(200, { code: 'applied', versions: { onboarding: '1.2.0' } }),
      malformed: json(400, { code: 'push.malformed', reason: 'the body is not JSON' }),
      schema: json(422, { code: 'push.integrity', reason: 'bundle onboarding@1.2.0 does not match its integrity' }),
      token: json(401, { code: 'push.token', reason: 'missing or wrong bearer token' }),
      window: json(403, { code: 'webhook.window', reason: 'outside the ±5 min window' }),
      frozen: json(409, { code: 'frozen', reason: 'this receiver is frozen' }),
      stale: json(409, { code: 'stale', reason: 'this receiver has onboarding@1.3.0' }),
      gone: json(410, { code: 'gone' }),
      large: json(413, { code: 'push.too-large', reason: 'at most 1 kB' }),
    };
    for (const [id, answer] of Object.entries(fixed)) await receiver(id, () => answer);
    // Faults and busy answers: retried, then taken.
    const busy = await receiver('busy-429', (_p, n) => (n === 1 ? json(429, { code: 'busy' }, { 'retry-after': '0' }) : fixed['ok']!));
    const unavailable = await receiver('busy-503', (_p, n) => (n === 1 ? json(503, { code: 'busy' }) : fixed['ok']!));
    const fault = await receiver('fault-500', (_p, n) => (n < 3 ? { status: 500, body: '<html>oops</html>' } : fixed['ok']!));
    const reset = await receiver('reset', (_p, n) => (n === 1 ? 'reset' : fixed['ok']!));
    const hanging = await receiver('hanging', (_p, n) => (n === 1 ? 'hang' : fixed['ok']!));
    await publish();
    const w = worker();
    w.wake();
    await settle(forge.ctx, w);

    expect(await deliveryStates(forge.ctx)).to.deep.equal({
      ok: 'delivered', malformed: 'failed', schema: 'failed', token: 'failed', window: 'failed', frozen: 'frozen', stale: 'stale',
      gone: 'gone', large: 'failed', 'busy-429': 'delivered', 'busy-503': 'delivered', 'fault-500': 'delivered', reset: 'delivered', hanging: 'delivered',
    });
    expect(await delivery('malformed')).to.include({ last_status: 400, last_code: 'push.malformed', last_reason: 'the body is not JSON', attempts: 1 });
    expect(await delivery('schema')).to.include({ last_status: 422, last_code: 'push.integrity', attempts: 1 });
    expect(await delivery('large')).to.include({ last_status: 413, last_code: 'push.too-large', last_reason: 'at most 1 kB', attempts: 1 });
    expect(await delivery('frozen')).to.include({ last_status: 409, last_code: 'frozen', attempts: 1 });
    expect(await delivery('stale')).to.include({ last_status: 409, last_code: 'stale', attempts: 1 });
    expect(await receiverRow('frozen')).to.include({ last_delivery_state: 'frozen', last_delivery_status: 409, last_delivery_code: 'frozen', last_delivery_reason: 'this receiver is frozen' });
    expect(await receiverRow('malformed')).to.include({ last_delivery_state: 'failed', last_delivery_reason: 'the body is not JSON' });
    expect((await receiverRow('gone')).gone_at).to.be.a('string');
    expect((await receiverRow('ok')).gone_at).to.equal(null);
    expect(await delivery('fault-500')).to.include({ attempts: 3 });
    expect(fault.pushes).to.have.length(3);
    // The same webhook-id on every retry, a fresh timestamp and signature each time.
    expect(new Set(fault.pushes.map((p) => p.id)).size).to.equal(1);
    for (const server of [busy, unavailable, reset, hanging]) {
      expect(server.pushes).to.have.length(2);
      expect(server.pushes[0]!.id).to.equal(server.pushes[1]!.id);
    }
    // Retried only once the 300 ms timeout ran out (measured from the request's start, a little before the server saw it).
    expect(hanging.pushes[1]!.at - hanging.pushes[0]!.at).to.be.at.least(250);
    for (const id of Object.keys(fixed)) expect((await delivery(id)).attempts, id).to.equal(1);

    const audit = await listAudit(forge.ctx.db, { kind: 'delivery.' });
    expect(audit).to.have.length(14);
    const kinds = Object.fromEntries(audit.map((a) => [a.subject, a.kind]));
    expect(kinds).to.include({ ok: 'delivery.delivered', malformed: 'delivery.failed', frozen: 'delivery.frozen', stale: 'delivery.stale', gone: 'delivery.gone', hanging: 'delivery.delivered' });
    const alerts = audit.filter((a) => (JSON.parse(a.detail) as { alert?: boolean }).alert).map((a) => a.subject).sort();
    expect(alerts).to.deep.equal(['token', 'window']);

    const metric = async (name: string) => (await forge.ctx.metrics.registry.getSingleMetric(name)!.get()).values;
    const byOutcome = Object.fromEntries((await metric('anvil_deliveries_total')).map((v) => [v.labels['outcome'], v.value]));
    expect(byOutcome).to.deep.equal({ delivered: 6, failed: 5, frozen: 1, stale: 1, gone: 1, retry: 6 });
    expect((await metric('anvil_delivery_queue_depth'))[0]!.value).to.equal(0);
    const latencyCount = (await metric('anvil_push_seconds')).filter((v) => (v as { metricName?: string }).metricName === 'anvil_push_seconds_count').reduce((n, v) => n + v.value, 0);
    expect(latencyCount).to.equal(20);
  });

  it('waits as long as Retry-After says (seconds) before trying again', async () => {
    const server = await receiver('busy', (_p, n) => (n === 1 ? json(503, { code: 'busy' }, { 'retry-after': '1' }) : json(200, { code: 'applied' })));
    await publish();
    const w = worker();
    w.wake();
    await w.drain();
    const d = await delivery('busy');
    expect(d).to.include({ state: 'pending', last_status: 503, last_code: 'busy' });
    expect(Date.parse(d.next_attempt_at) - Date.parse(d.updated_at)).to.be.within(990, 1_010);
    await settle(forge.ctx, w);
    expect(server.pushes).to.have.length(2);
    expect(server.pushes[1]!.at - server.pushes[0]!.at).to.be.at.least(950);
  });

  it('a 410 deregisters the receiver: its other pending deliveries are superseded, and later publishes skip it', async () => {
    const server = await receiver('leaving', () => ({ status: 410 }));
    await receiver('staying', () => json(200, { code: 'applied' }));
    await publish('1.0.0', 'core');
    await publish('1.2.0', 'onboarding');
    const w = worker({ concurrency: 1 });
    w.wake();
    await settle(forge.ctx, w);
    const rows = await forge.ctx.db.selectFrom('deliveries').select(['instance_id', 'set_name', 'state']).where('instance_id', '=', 'leaving').execute();
    expect(rows.map((r) => r.state).sort()).to.deep.equal(['gone', 'superseded']);
    expect(server.pushes).to.have.length(1);
    expect((await publish('1.3.0')).queued).to.equal(1);
  });

  it('gives up on a receiver that keeps failing once the delivery expires', async () => {
    const server = await receiver('broken', () => ({ status: 500 }));
    await publish('1.2.0', 'onboarding', 250);
    const w = worker();
    w.wake();
    await settle(forge.ctx, w);
    const d = await delivery('broken');
    expect(d).to.include({ state: 'failed', last_code: 'expired', last_status: 500 });
    expect(d.last_reason).to.match(/^gave up after \d+ attempts?: the delivery expired/);
    expect(server.pushes.length).to.equal(d.attempts);
    expect(server.pushes.length).to.be.at.least(2);
  });

  it('logs a 401/403 at error level, as an alert', async () => {
    const lines: Record<string, unknown>[] = [];
    forge.ctx.logger = pino({ level: 'warn' }, new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }));
    await receiver('refusing', () => json(401, { code: 'push.token', reason: 'missing or wrong bearer token' }));
    await publish();
    const w = worker();
    w.wake();
    await settle(forge.ctx, w);
    const alert = lines.find((l) => l['level'] === 50);
    expect(alert).to.include({ receiver: 'refusing', status: 401, code: 'push.token' });
    expect(String(alert!['msg'])).to.match(/refused the forge's token or signature/);
  });

  it('keeps at most `concurrency` pushes in flight', async () => {
    let inFlight = 0;
    let most = 0;
    for (let i = 0; i < 12; i++) {
      await receiver(`r${i}`, () => {
        inFlight++;
        most = Math.max(most, inFlight);
        return 'hang';
      });
    }
    // Hanging answers time out; the bound holds whatever the receivers do.
    await publish();
    const w = worker({ concurrency: 3, timeoutMs: 100, backoff: { baseMs: 1, maxMs: 1 } });
    w.wake();
    await new Promise((r) => setTimeout(r, 80));
    expect(most).to.equal(3);
    await w.stop();
  });

  it('two workers on one store (two connections, like two replicas) never push the same delivery twice', async () => {
    const all: AnswerServer[] = [];
    for (let i = 0; i < 60; i++) all.push(await receiver(`r${i}`, () => json(200, { code: 'applied' })));
    await publish();
    const replica = await createTestForge({ file: forge.file, key: forge.key });
    try {
      const a = worker({ concurrency: 4 });
      const b = startPushWorker(replica.ctx, { ...FAST, concurrency: 4 });
      a.wake();
      b.wake();
      await settle(forge.ctx, a);
      await b.drain();
      await b.stop();
      const ids = all.flatMap((s) => s.pushes.map((p) => p.id));
      expect(ids).to.have.length(60);
      expect(new Set(ids).size).to.equal(60);
      const owners = await forge.ctx.db.selectFrom('audit_log').select('detail').where('kind', '=', 'delivery.delivered').execute();
      expect(owners).to.have.length(60);
    } finally {
      await replica.close();
    }
  });
});
