/**
 * The push queue in a real SQLite store: who gets a delivery, superseding, leases, and what an
 * outcome writes.
 */
import { expect } from 'chai';
import { signEnvelope, signIntegrity } from '@anvil/content-schema';
import { checkEnvelope } from '../../../client/src/receive/check-push.ts';
import { claimDue, enqueueDeliveries, queueDepth, rangeAllows, recordOutcome, recordOutcomes } from '../../src/deliver/delivery-queue.ts';
import type { PushOutcome } from '../../src/deliver/push-outcome.ts';
import { appendAudit, listAudit, verifyAuditChain } from '../../src/store/audit-log.ts';
import { storeTime } from '../../src/store/open-store.ts';
import { PROJECT, addEnvelope, addReceiver, makeBundle } from '../support/delivery-fixtures.ts';
import { createTestForge, type TestForge } from '../support/forge-context.ts';

const url = (n: number) => `http://127.0.0.1:${9000 + n}/`;

describe('delivery queue', () => {
  let forge: TestForge;
  beforeEach(async () => { forge = await createTestForge(); });
  afterEach(async () => forge.close());

  const enqueue = (version: string, more: { channel?: string; set?: string; envelopeId?: string; now?: number } = {}) =>
    enqueueDeliveries(forge.ctx, { project: PROJECT, channel: more.channel ?? 'production', envelopeId: more.envelopeId ?? `env-${version}`, set: more.set ?? 'onboarding', version, now: more.now });
  const rows = () => forge.ctx.db.selectFrom('deliveries').selectAll().orderBy('created_at').orderBy('instance_id').execute();

  describe('enqueueDeliveries', () => {
    it('queues one delivery per receiver of the project and channel that is accepting and not gone', async () => {
      await addReceiver(forge.ctx, { instanceId: 'prod-a', url: url(1) });
      await addReceiver(forge.ctx, { instanceId: 'prod-b', url: url(2) });
      await addReceiver(forge.ctx, { instanceId: 'staging', url: url(3), channel: 'staging' });
      await addReceiver(forge.ctx, { instanceId: 'frozen', url: url(4), mode: 'frozen' });
      await addReceiver(forge.ctx, { instanceId: 'gone', url: url(5), goneAt: storeTime() });
      await addReceiver(forge.ctx, { instanceId: 'other-project', url: url(6), project: 'globex' });
      expect(await enqueue('1.0.0')).to.equal(2);
      const queued = await rows();
      expect(queued.map((r) => [r.instance_id, r.url, r.state, r.attempts, r.set_name, r.version, r.envelope_id])).to.deep.equal([
        ['prod-a', url(1), 'pending', 0, 'onboarding', '1.0.0', 'env-1.0.0'],
        ['prod-b', url(2), 'pending', 0, 'onboarding', '1.0.0', 'env-1.0.0'],
      ]);
      for (const r of queued) {
        expect(r.id).to.match(/^dlv_[0-9a-f]{32}$/);
        expect(Date.parse(r.expires_at) - Date.parse(r.created_at)).to.equal(24 * 3600_000);
        expect(r.next_attempt_at).to.equal(r.created_at);
      }
      expect(await enqueue('1.0.0', { channel: 'staging' })).to.equal(1);
      expect(await queueDepth(forge.ctx)).to.equal(3);
    });

    it('queues nothing for a streaming receiver: it has no URL, its stream carries the envelope (issue 16)', async () => {
      await addReceiver(forge.ctx, { instanceId: 'pushed', url: url(1) });
      await addReceiver(forge.ctx, { instanceId: 'streaming', url: '' });
      await forge.ctx.db.updateTable('receivers').set({ transport: 'stream' }).where('instance_id', '=', 'streaming').execute();
      expect(await enqueue('1.0.0')).to.equal(1);
      expect((await rows()).map((r) => r.instance_id)).to.deep.equal(['pushed']);
    });

    it('honours each receiver\'s range for the set, with the receiver\'s own rule (prereleases included)', async () => {
      await addReceiver(forge.ctx, { instanceId: 'caret-1', url: url(1), ranges: { onboarding: '^1.2.0' } });
      await addReceiver(forge.ctx, { instanceId: 'tilde', url: url(2), ranges: { onboarding: '~1.2.0' } });
      await addReceiver(forge.ctx, { instanceId: 'other-set-only', url: url(3), ranges: { core: '^9.0.0' } });
      await addReceiver(forge.ctx, { instanceId: 'any', url: url(4) });
      expect(await enqueue('1.3.0')).to.equal(3);
      expect((await rows()).map((r) => r.instance_id).sort()).to.deep.equal(['any', 'caret-1', 'other-set-only']);
      expect(await enqueue('2.0.0')).to.equal(2);
    });

    it('agrees with the receiver on every range: never pushes what it would refuse as out of range, nor holds back what it takes', () => {
      const key = forge.key;
      const versions = ['1.2.0', '1.2.5', '1.3.0', '1.3.0-rc.1', '2.0.0', '2.0.0-beta.2', '1.2.1-head.7+abc1234', '0.9.0'];
      const ranges = ['^1.2.0', '~1.2.0', '>=1.2.0 <2.0.0', '1.3.0-rc.1', '^2.0.0-0', '*', '1.x', 'not a range', '>=2.0.0-beta.1'];
      let taken = 0;
      let refused = 0;
      for (const version of versions) {
        const bundle = makeBundle('onboarding', version, { hello: 'Hi' });
        // On development, which takes every stage and mode: only the ranges decide here.
        const body = Buffer.from(JSON.stringify(signEnvelope([key], {
          format: 'anvil.envelope/1', id: 'e1', forge: 'f', project: PROJECT, channel: 'development', bundles: [bundle], rollouts: {},
        })));
        for (const range of ranges) {
          const forgeSays = rangeAllows({ onboarding: range }, 'onboarding', version);
          const receiver = checkEnvelope(body, { project: PROJECT, channel: 'development', forgeKeys: { [key.keyId]: key.publicKey }, versions: {}, rollouts: {}, ranges: { onboarding: range } });
          if (!receiver.ok) expect(receiver.rejection.code).to.equal('push.out-of-range');
          expect(forgeSays, `${version} in "${range}"`).to.equal(receiver.ok);
          if (receiver.ok) taken++;
          else refused++;
        }
      }
      expect(taken).to.be.greaterThan(10);
      expect(refused).to.be.greaterThan(10);
    });

    it('supersedes older pending deliveries of the same set to the same receiver, in the same transaction', async () => {
      await addReceiver(forge.ctx, { instanceId: 'a', url: url(1) });
      await addReceiver(forge.ctx, { instanceId: 'b', url: url(2) });
      await enqueue('1.0.0', { now: Date.now() - 2_000 });
      await enqueue('1.0.0', { set: 'core', envelopeId: 'env-core', now: Date.now() - 1_000 });
      expect(await enqueue('1.1.0')).to.equal(2);
      const byKey = Object.fromEntries((await rows()).map((r) => [`${r.instance_id} ${r.set_name}@${r.version}`, r]));
      expect(Object.fromEntries(Object.entries(byKey).map(([k, r]) => [k, r.state]))).to.deep.equal({
        'a onboarding@1.0.0': 'superseded', 'b onboarding@1.0.0': 'superseded',
        'a core@1.0.0': 'pending', 'b core@1.0.0': 'pending',
        'a onboarding@1.1.0': 'pending', 'b onboarding@1.1.0': 'pending',
      });
      expect(byKey['a onboarding@1.0.0']!.last_reason).to.equal('superseded by onboarding@1.1.0');
    });

    it('leaves a delivery being pushed to finish, and queues nothing behind a newer pending version', async () => {
      await addReceiver(forge.ctx, { instanceId: 'a', url: url(1) });
      await enqueue('1.0.0', { now: Date.now() - 1_000 });
      const [claimed] = await claimDue(forge.ctx, 'w1', 10, 60_000);
      expect(claimed).to.include({ instance_id: 'a', version: '1.0.0' });
      expect(await enqueue('1.1.0')).to.equal(1);
      expect((await rows()).map((r) => [r.version, r.state])).to.deep.equal([['1.0.0', 'pending'], ['1.1.0', 'pending']]);
      expect(await enqueue('1.0.5')).to.equal(0);
      expect((await rows()).map((r) => [r.version, r.state])).to.deep.equal([['1.0.0', 'pending'], ['1.1.0', 'pending']]);
    });
  });

  describe('claimDue', () => {
    it('leases due deliveries to one owner and counts the attempt; a lease that runs out is taken again', async () => {
      for (let i = 0; i < 5; i++) await addReceiver(forge.ctx, { instanceId: `r${i}`, url: url(i) });
      const now = Date.now();
      await enqueue('1.0.0', { now });
      const first = await claimDue(forge.ctx, 'w1', 3, 1_000, now);
      expect(first).to.have.length(3);
      for (const d of first) expect(d).to.include({ lease_owner: 'w1', lease_until: storeTime(now + 1_000), attempts: 1 });
      const second = await claimDue(forge.ctx, 'w2', 10, 1_000, now);
      expect(second.map((d) => d.id)).to.have.members((await rows()).map((r) => r.id).filter((id) => !first.some((d) => d.id === id)));
      expect(await claimDue(forge.ctx, 'w3', 10, 1_000, now + 999)).to.deep.equal([]);
      const retaken = await claimDue(forge.ctx, 'w3', 10, 1_000, now + 1_000);
      expect(retaken).to.have.length(5);
      for (const d of retaken) expect(d).to.include({ lease_owner: 'w3', attempts: 2 });
    });

    it('does not take deliveries that are not yet due, or not pending', async () => {
      await addReceiver(forge.ctx, { instanceId: 'a', url: url(1) });
      const now = Date.now();
      await enqueue('1.0.0', { now: now + 5_000 });
      expect(await claimDue(forge.ctx, 'w1', 10, 1_000, now)).to.deep.equal([]);
      const [d] = await claimDue(forge.ctx, 'w1', 10, 1_000, now + 5_000);
      await recordOutcome(forge.ctx, 'w1', { delivery: d!, at: now + 5_010, outcome: delivered() });
      expect(await claimDue(forge.ctx, 'w1', 10, 1_000, now + 10_000)).to.deep.equal([]);
    });

    it('two stores on one file claiming at the same time never take the same row', async () => {
      for (let i = 0; i < 200; i++) await addReceiver(forge.ctx, { instanceId: `r${i}`, url: url(i) });
      await enqueue('1.0.0');
      const other = await createTestForge({ file: forge.file, key: forge.key });
      try {
        const taken: string[] = [];
        await Promise.all([forge.ctx, other.ctx, forge.ctx, other.ctx].map(async (ctx, w) => {
          for (;;) {
            const batch = await claimDue(ctx, `w${w}`, 7, 60_000);
            if (batch.length === 0) return;
            taken.push(...batch.map((d) => d.id));
            await new Promise((r) => setImmediate(r));
          }
        }));
        expect(taken).to.have.length(200);
        expect(new Set(taken).size).to.equal(200);
      } finally {
        await other.close();
      }
    });
  });

  describe('recordOutcome', () => {
    async function claimOne(instanceId = 'a') {
      await addReceiver(forge.ctx, { instanceId, url: url(1), versions: { core: '2.0.0' } });
      await enqueue('1.2.0');
      const [d] = await claimDue(forge.ctx, 'w1', 1, 60_000);
      return d!;
    }
    const receiver = (id = 'a') => forge.ctx.db.selectFrom('receivers').selectAll().where('instance_id', '=', id).executeTakeFirstOrThrow();

    it('on 200 marks the delivery delivered and records the versions the receiver reports', async () => {
      const d = await claimOne();
      const at = Date.now();
      expect(await recordOutcome(forge.ctx, 'w1', { delivery: d, at, outcome: delivered({ core: '2.0.0', onboarding: '1.2.0', extra: '0.1.0' }) })).to.equal(true);
      const [row] = await rows();
      expect(row).to.include({ state: 'delivered', lease_owner: null, lease_until: null, last_status: 200, last_code: 'applied', updated_at: storeTime(at) });
      expect(await receiver()).to.include({
        last_delivery_state: 'delivered', last_delivery_status: 200, last_delivery_code: 'applied', last_delivery_at: storeTime(at),
        versions: JSON.stringify({ core: '2.0.0', onboarding: '1.2.0', extra: '0.1.0' }),
      });
    });

    it('on a 200 without versions, adds the delivered version to what the receiver had', async () => {
      const d = await claimOne();
      await recordOutcome(forge.ctx, 'w1', { delivery: d, at: Date.now(), outcome: { ...delivered(), code: 'duplicate' } });
      expect(JSON.parse((await receiver()).versions)).to.deep.equal({ core: '2.0.0', onboarding: '1.2.0' });
    });

    it('on a retry, keeps it pending with the next attempt time and the last answer, lease released', async () => {
      const d = await claimOne();
      const next = Date.now() + 30_000;
      await recordOutcome(forge.ctx, 'w1', { delivery: d, at: Date.now(), outcome: { kind: 'retry', nextAttemptAt: next, status: 503, code: 'busy', reason: 'applying', delay: 'retry-after' } });
      expect((await rows())[0]).to.include({ state: 'pending', next_attempt_at: storeTime(next), last_status: 503, last_code: 'busy', last_reason: 'applying', lease_owner: null, attempts: 1 });
      expect(await receiver()).to.include({ last_delivery_state: 'pending', last_delivery_status: 503, last_delivery_code: 'busy', last_delivery_reason: 'applying' });
      expect(JSON.parse((await receiver()).versions)).to.deep.equal({ core: '2.0.0' });
    });

    it('on 410, deregisters the receiver and supersedes its other pending deliveries', async () => {
      const d = await claimOne();
      await enqueue('3.0.0', { set: 'core', envelopeId: 'env-core' });
      await recordOutcome(forge.ctx, 'w1', { delivery: d, at: Date.now(), outcome: { kind: 'final', state: 'gone', status: 410, code: 'http.410', reason: 'gone', alert: false, deregister: true } });
      expect((await rows()).map((r) => [r.set_name, r.state])).to.deep.equal([['onboarding', 'gone'], ['core', 'superseded']]);
      expect((await receiver()).gone_at).to.be.a('string');
      expect(await enqueue('1.3.0')).to.equal(0);
    });

    it('records a batch of mixed answers in one go: each row its own state, versions adding up per receiver, an audit row per final outcome, chained', async () => {
      await addReceiver(forge.ctx, { instanceId: 'a', url: url(1), versions: { core: '1.0.0' } });
      await addReceiver(forge.ctx, { instanceId: 'b', url: url(2) });
      await addReceiver(forge.ctx, { instanceId: 'c', url: url(3) });
      await appendAudit(forge.ctx.db, { kind: 'publish', subject: 'onboarding@1.2.0' });
      await enqueue('1.2.0');
      await enqueue('2.0.0', { set: 'core', envelopeId: 'env-core' });
      const claimed = await claimDue(forge.ctx, 'w1', 10, 60_000);
      const of = (id: string, set: string) => claimed.find((d) => d.instance_id === id && d.set_name === set)!;
      const at = Date.now();
      const retry: PushOutcome = { kind: 'retry', nextAttemptAt: at + 5_000, status: 500, code: 'http.500', reason: 'oops', delay: 'backoff' };
      const frozen: PushOutcome = { kind: 'final', state: 'frozen', status: 409, code: 'frozen', reason: 'frozen', alert: false, deregister: false };
      const recorded = await recordOutcomes(forge.ctx, 'w1', [
        { delivery: of('a', 'onboarding'), at, outcome: { ...delivered(), code: 'duplicate' } },
        { delivery: of('a', 'core'), at, outcome: { ...delivered(), code: 'duplicate' } },
        { delivery: of('b', 'onboarding'), at, outcome: delivered({ onboarding: '1.2.0' }) },
        { delivery: of('b', 'core'), at, outcome: retry },
        { delivery: of('c', 'onboarding'), at, outcome: frozen },
        { delivery: of('c', 'core'), at, outcome: frozen },
      ]);
      expect(recorded).to.have.length(6);
      const states = Object.fromEntries((await rows()).map((r) => [`${r.instance_id} ${r.set_name}`, r.state]));
      expect(states).to.deep.equal({ 'a onboarding': 'delivered', 'a core': 'delivered', 'b onboarding': 'delivered', 'b core': 'pending', 'c onboarding': 'frozen', 'c core': 'frozen' });
      expect(JSON.parse((await receiver('a')).versions)).to.deep.equal({ core: '2.0.0', onboarding: '1.2.0' });
      expect(await receiver('b')).to.include({ versions: JSON.stringify({ onboarding: '1.2.0' }), last_delivery_state: 'pending', last_delivery_status: 500 });
      expect(await receiver('c')).to.include({ last_delivery_state: 'frozen', versions: '{}' });
      const audit = await listAudit(forge.ctx.db);
      expect(audit.map((a) => `${a.kind} ${a.subject}`)).to.deep.equal(['publish onboarding@1.2.0', 'delivery.delivered a', 'delivery.delivered a', 'delivery.delivered b', 'delivery.frozen c', 'delivery.frozen c']);
      expect(JSON.parse(audit[1]!.detail)).to.deep.include({ set: 'onboarding', version: '1.2.0', code: 'duplicate', status: 200, attempts: 1, envelope: 'env-1.2.0' });
      expect(await verifyAuditChain(forge.ctx.db)).to.deep.equal({ ok: true, rows: 6 });
    });

    it('changes nothing for an owner whose lease passed to another worker', async () => {
      const d = await claimOne();
      const later = Date.now() + 61_000;
      const [retaken] = await claimDue(forge.ctx, 'w2', 1, 60_000, later);
      expect(retaken!.id).to.equal(d.id);
      const recorded = await recordOutcomes(forge.ctx, 'w1', [{ delivery: d, at: later, outcome: delivered() }]);
      expect(recorded).to.deep.equal([]);
      expect((await rows())[0]).to.include({ state: 'pending', lease_owner: 'w2', attempts: 2 });
      expect((await receiver()).last_delivery_state).to.equal(null);
    });
  });
});

function delivered(versions?: Record<string, string>): PushOutcome {
  return { kind: 'final', state: 'delivered', status: 200, code: 'applied', reason: '', alert: false, deregister: false, ...(versions ? { versions } : {}) };
}

