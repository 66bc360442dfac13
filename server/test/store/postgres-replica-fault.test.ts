/**
 * The fault test of issue 16: two forge replicas on one PostgreSQL share a fan-out to 200 real
 * LIVE receivers, and one of them — a process of its own — is killed with SIGKILL in the middle
 * of it. The other carries on, takes over the dead replica's deliveries when their leases run
 * out, and every receiver ends up with the release, applied exactly once; nothing recorded as
 * delivered is pushed again.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { enqueueDeliveries } from '../../src/deliver/delivery-queue.ts';
import { startPushWorker, type PushWorker } from '../../src/deliver/push-worker.ts';
import { verifyAuditChain } from '../../src/store/audit-log.ts';
import { PROJECT, addEnvelope, addReceiver, deliveryStates, makeBundle, settle, startRealReceivers, type RealReceivers } from '../support/delivery-fixtures.ts';
import { createTestForge, type TestForge } from '../support/forge-context.ts';
import { createTestSchema, type TestSchema } from '../support/test-postgres.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const RECEIVERS = 200;

describe('two replicas on PostgreSQL, one killed (SIGKILL) mid fan-out', function () {
  this.timeout(60_000);
  let schema: TestSchema;
  let forge: TestForge;
  let receivers: RealReceivers | undefined;
  let worker: PushWorker | undefined;
  let child: ChildProcess | undefined;

  beforeEach(async () => {
    schema = await createTestSchema();
    forge = await createTestForge({ file: schema.url, name: 'survivor' });
  });
  afterEach(async () => {
    child?.kill('SIGKILL');
    await worker?.stop();
    await receivers?.close();
    await forge.close();
    await schema.drop();
  });

  it('every receiver converges on the release, each push applied once, none lost', async () => {
    let killedAt = -1;
    const all = await startRealReceivers(forge.key, RECEIVERS, {
      onPush: () => {
        // Killed once a quarter of the receivers have answered: some of its pushes recorded,
        // some in flight, some claimed and never sent.
        if (killedAt < 0 && child && all.answers().length >= RECEIVERS / 4) {
          child.kill('SIGKILL');
          killedAt = all.answers().length;
        }
      },
    });
    receivers = all;
    for (const r of all.receivers) await addReceiver(forge.ctx, { instanceId: r.instanceId, url: r.url });
    const env = await addEnvelope(forge.ctx, [makeBundle('onboarding', '1.2.0', { 'welcome.message': 'Hello {{name}} (1.2.0)' })]);

    // The replica that dies: its own process and connections, short leases so that its claims
    // come back soon, and a head start on the queue.
    const started = new Promise<void>((resolve, reject) => {
      child = fork(path.join(here, '../deliver/fixtures/push-worker-child.ts'), [
        schema.url, JSON.stringify(forge.key), JSON.stringify({ pollMs: 20, timeoutMs: 2_000, leaseMs: 1_000, concurrency: 8, owner: 'doomed', backoff: { baseMs: 20, maxMs: 50 } }),
      ], { execArgv: ['--conditions=anvil-source', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.once('message', () => resolve());
      child.once('exit', (code, signal) => reject(new Error(`the replica exited before it started (${code ?? signal})`)));
    });
    await started;
    child!.removeAllListeners('exit');
    const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
    expect(await enqueueDeliveries(forge.ctx, { project: PROJECT, channel: 'production', envelopeId: env.id, set: 'onboarding', version: '1.2.0' })).to.equal(RECEIVERS);
    // The survivor joins a moment later, and pushes beside it until it dies.
    await new Promise((r) => setTimeout(r, 50));
    worker = startPushWorker(forge.ctx, { pollMs: 20, timeoutMs: 2_000, leaseMs: 3_000, concurrency: 8, owner: 'survivor', backoff: { baseMs: 20, maxMs: 50 } });
    worker.wake();
    await exited;
    expect(killedAt, 'the replica was killed mid fan-out').to.be.within(RECEIVERS / 4, RECEIVERS - 1);

    const rows = await forge.ctx.db.selectFrom('deliveries').select(['id', 'state', 'lease_owner']).execute();
    const deliveredBefore = new Set(rows.filter((d) => d.state === 'delivered').map((d) => d.id));
    expect(rows.some((d) => d.state === 'pending' && d.lease_owner === 'doomed'), 'the dead replica held leases').to.equal(true);
    const answersAtKill = all.answers().length;

    await settle(forge.ctx, worker, 20_000);
    expect(Object.values(await deliveryStates(forge.ctx))).to.deep.equal(Array(RECEIVERS).fill('delivered'));
    for (const a of all.answers().slice(answersAtKill)) expect(deliveredBefore.has(a.webhookId), `${a.webhookId} was recorded delivered, and pushed again`).to.equal(false);
    for (const a of all.answers()) expect(`${a.status} ${a.code}`).to.be.oneOf(['200 applied', '200 duplicate']);
    // What the dead replica had pushed but not recorded went out again from the survivor: no-ops.
    expect(all.answers().filter((a) => a.code === 'duplicate').length).to.be.at.least(1);
    for (const r of all.receivers) {
      expect(r.answers.filter((a) => a.code === 'applied'), r.instanceId).to.have.length(1);
      expect(r.client.prompt('welcome.message', { name: 'Ada' })).to.equal('Hello Ada (1.2.0)');
    }
    // Each delivery recorded once, by one replica or the other, into one audit chain.
    const recorded = await forge.ctx.db.selectFrom('audit_log').select('detail').where('kind', '=', 'delivery.delivered').execute();
    expect(new Set(recorded.map((r) => (JSON.parse(r.detail) as { delivery: string }).delivery)).size).to.equal(RECEIVERS);
    expect(recorded).to.have.length(RECEIVERS);
    expect(await verifyAuditChain(forge.ctx.db)).to.include({ ok: true, rows: RECEIVERS });
  });
});
