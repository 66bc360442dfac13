/**
 * Fan-out to real LIVE receivers (@anvil/client, listening on loopback, each with its own disk
 * cache): they apply what the forge pushes, a frozen one is left alone, and a forge stopped or
 * killed mid fan-out finishes after a restart with every push applied exactly once.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { enqueueDeliveries } from '../../src/deliver/delivery-queue.ts';
import { startPushWorker, type PushWorker, type PushWorkerOptions } from '../../src/deliver/push-worker.ts';
import {
  PROJECT, addEnvelope, addReceiver, deliveryStates, makeBundle, settle, startRealReceivers, type RealReceivers,
} from '../support/delivery-fixtures.ts';
import { createTestForge, type TestForge } from '../support/forge-context.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const FAST: PushWorkerOptions = { pollMs: 20, timeoutMs: 2_000, leaseMs: 3_000, backoff: { baseMs: 20, maxMs: 50 } };

describe('fan-out to real receivers', function () {
  let forge: TestForge;
  let receivers: RealReceivers | undefined;
  const workers: PushWorker[] = [];

  beforeEach(async () => { forge = await createTestForge(); });
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
    await receivers?.close();
    receivers = undefined;
    await forge.close();
  });

  async function start(count: number, options: Parameters<typeof startRealReceivers>[2] = {}): Promise<RealReceivers> {
    receivers = await startRealReceivers(forge.key, count, options);
    for (const r of receivers.receivers) await addReceiver(forge.ctx, { instanceId: r.instanceId, url: r.url });
    return receivers;
  }
  async function publish(version: string): Promise<number> {
    const env = await addEnvelope(forge.ctx, [makeBundle('onboarding', version, { 'welcome.message': `Hello {{name}} (${version})` })]);
    return enqueueDeliveries(forge.ctx, { project: PROJECT, channel: 'production', envelopeId: env.id, set: 'onboarding', version });
  }
  function worker(ctx = forge.ctx, options: PushWorkerOptions = {}): PushWorker {
    const w = startPushWorker(ctx, { ...FAST, ...options });
    workers.push(w);
    return w;
  }
  /** Each webhook-id was applied by exactly one receiver, once; anything else it answered was a no-op. */
  function appliedOnce(all: RealReceivers): void {
    const applied = all.answers().filter((a) => a.code === 'applied').map((a) => a.webhookId);
    expect(new Set(applied).size).to.equal(applied.length);
    for (const a of all.answers()) expect(`${a.status} ${a.code}`).to.be.oneOf(['200 applied', '200 duplicate']);
  }

  it('every receiver applies the release, and the forge records what each now serves', async () => {
    const all = await start(12);
    expect(await publish('1.2.0')).to.equal(12);
    const w = worker();
    w.wake();
    await settle(forge.ctx, w);
    expect(Object.values(await deliveryStates(forge.ctx))).to.deep.equal(Array(12).fill('delivered'));
    for (const r of all.receivers) {
      expect(r.client.prompt('welcome.message', { name: 'Ada' })).to.equal('Hello Ada (1.2.0)');
      expect(r.answers.map((a) => [a.status, a.code])).to.deep.equal([[200, 'applied']]);
    }
    const rows = await forge.ctx.db.selectFrom('receivers').select(['versions', 'last_delivery_state']).execute();
    for (const row of rows) expect(row).to.deep.equal({ versions: JSON.stringify({ onboarding: '1.2.0' }), last_delivery_state: 'delivered' });

    await publish('1.3.0');
    w.wake();
    await settle(forge.ctx, w);
    for (const r of all.receivers) expect(r.client.prompt('welcome.message', { name: 'Bo' })).to.equal('Hello Bo (1.3.0)');
    appliedOnce(all);
  });

  it('a frozen receiver is recorded as frozen and not pushed again', async () => {
    const all = await start(3);
    await all.receivers[1]!.client.setMode('frozen');
    await publish('1.2.0');
    const w = worker();
    w.wake();
    await settle(forge.ctx, w);
    await new Promise((r) => setTimeout(r, 100));
    await w.drain();
    expect(await deliveryStates(forge.ctx)).to.deep.equal({ 'receiver-0': 'delivered', 'receiver-1': 'frozen', 'receiver-2': 'delivered' });
    expect(all.receivers[1]!.answers.map((a) => [a.status, a.code])).to.deep.equal([[409, 'frozen']]);
    const row = await forge.ctx.db.selectFrom('receivers').selectAll().where('instance_id', '=', 'receiver-1').executeTakeFirstOrThrow();
    expect(row).to.include({ last_delivery_state: 'frozen', last_delivery_status: 409, last_delivery_code: 'frozen' });
    expect(() => all.receivers[1]!.client.prompt('welcome.message')).to.throw(/no prompts yet/);
  });

  it('a worker stopped mid fan-out, then a new one on the same store file, push each delivery exactly once', async () => {
    let pushes = 0;
    let stopped: Promise<void> | undefined;
    let first: PushWorker | undefined;
    const all = await start(16, {
      // Stopped as its sixth push arrives: it takes nothing more, and finishes what is in flight.
      onPush: () => {
        if (++pushes === 6) stopped = first!.stop();
      },
    });
    await publish('1.2.0');
    first = worker(forge.ctx, { concurrency: 2, owner: 'first' });
    first.wake();
    while (!stopped) await new Promise((r) => setTimeout(r, 1));
    await stopped;
    const states = Object.values(await deliveryStates(forge.ctx));
    const doneFirst = states.filter((s) => s === 'delivered').length;
    expect(doneFirst).to.be.within(6, 7);
    expect(states.filter((s) => s === 'pending')).to.have.length(16 - doneFirst);

    const restarted = await createTestForge({ file: forge.file, key: forge.key });
    try {
      const second = worker(restarted.ctx, { owner: 'second' });
      await settle(restarted.ctx, second);
      await second.stop();
    } finally {
      await restarted.close();
    }
    expect(Object.values(await deliveryStates(forge.ctx))).to.deep.equal(Array(16).fill('delivered'));
    // Stopping records what was in flight, so nothing was even re-sent.
    expect(all.answers().map((a) => a.code)).to.deep.equal(Array(16).fill('applied'));
    for (const r of all.receivers) expect(r.client.prompt('welcome.message', { name: 'Ada' })).to.equal('Hello Ada (1.2.0)');
  });

  it('a forge killed (SIGKILL) mid fan-out: after a restart every receiver has applied it once, and nothing recorded delivered is sent again', async function () {
    let killedAt = -1;
    let child: ReturnType<typeof fork> | undefined;
    const all = await start(24, {
      onPush: () => {
        // Killed while its fifth push is being answered: some answers are recorded, some in flight, some never sent.
        if (killedAt < 0 && child && all.answers().length >= 4) {
          child.kill('SIGKILL');
          killedAt = Date.now();
        }
      },
    });
    await publish('1.2.0');
    const exited = new Promise<void>((resolve) => {
      child = fork(path.join(here, 'fixtures/push-worker-child.ts'), [forge.file, JSON.stringify(forge.key), JSON.stringify({ ...FAST, concurrency: 2, leaseMs: 400, owner: 'killed' })], {
        execArgv: ['--conditions=anvil-source', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.on('exit', () => resolve());
    });
    await exited;
    expect(killedAt).to.be.greaterThan(0);
    const answersAtKill = all.answers().length;
    const recorded = await forge.ctx.db.selectFrom('deliveries').select(['id', 'state', 'lease_owner']).execute();
    const deliveredBefore = new Set(recorded.filter((d) => d.state === 'delivered').map((d) => d.id));
    expect(deliveredBefore.size).to.be.lessThan(24);
    expect(recorded.some((d) => d.state === 'pending' && d.lease_owner === 'killed')).to.equal(true);

    const w = worker(forge.ctx, { owner: 'restarted' });
    await settle(forge.ctx, w, 10_000);
    expect(Object.values(await deliveryStates(forge.ctx))).to.deep.equal(Array(24).fill('delivered'));
    const after = all.answers().slice(answersAtKill);
    for (const a of after) expect(deliveredBefore.has(a.webhookId), `${a.webhookId} was recorded delivered, and sent again`).to.equal(false);
    appliedOnce(all);
    // The push that was arriving when the forge died was applied, never recorded, sent again: a no-op.
    expect(all.answers().filter((a) => a.code === 'duplicate').length).to.be.at.least(1);
    for (const r of all.receivers) {
      expect(r.answers.filter((a) => a.code === 'applied')).to.have.length(1);
      expect(r.client.prompt('welcome.message', { name: 'Ada' })).to.equal('Hello Ada (1.2.0)');
    }
  });
});
