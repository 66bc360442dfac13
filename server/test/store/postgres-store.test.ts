/**
 * The store on a real PostgreSQL server (issue 16): every migration, the operations a forge does,
 * and what several replicas on one database rely on — each delivery claimed once, one audit
 * chain, events between replicas. Each test works in a schema of its own (test-postgres.ts),
 * opened through an operator's kind of URL; a server that does not answer fails the test.
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { sql } from 'kysely';
import { claimDue, enqueueDeliveries, recordOutcomes } from '../../src/deliver/delivery-queue.ts';
import type { PushOutcome } from '../../src/deliver/push-outcome.ts';
import { publishBundle } from '../../src/publish/publish-bundle.ts';
import { appendAudit, appendAuditEntries, appendAuditGrouped, listAudit, verifyAuditChain } from '../../src/store/audit-log.ts';
import { storeDialect } from '../../src/store/dialect.ts';
import { MIGRATIONS, openStore, type Store } from '../../src/store/open-store.ts';
import { createStoreEvents, MAX_EVENT_BYTES } from '../../src/store/store-events.ts';
import { addEnvelope, addReceiver, makeBundle, PROJECT } from '../support/delivery-fixtures.ts';
import { createTestForge, type TestForge } from '../support/forge-context.ts';
import { createTestSchema, type TestSchema } from '../support/test-postgres.ts';
import { until } from '../support/until.ts';

const delivered = (versions?: Record<string, string>): PushOutcome => ({ kind: 'final', state: 'delivered', status: 200, code: 'applied', reason: 'applied', alert: false, deregister: false, versions });

describe('store: PostgreSQL', function () {
  this.timeout(30_000);
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function schema(): Promise<TestSchema> {
    const s = await createTestSchema();
    cleanup.push(() => s.drop());
    return s;
  }
  async function open(s: TestSchema): Promise<Store> {
    const db = await openStore({ postgres: s.url });
    cleanup.push(() => db.destroy());
    return db;
  }
  /** Two forges (replicas) on one schema, as two machines behind a load balancer. */
  async function replicas(): Promise<[TestForge, TestForge]> {
    const s = await schema();
    const a = await createTestForge({ file: s.url, name: 'replica-a' });
    cleanup.push(() => a.close());
    const b = await createTestForge({ file: s.url, key: a.key, name: 'replica-b' });
    cleanup.push(() => b.close());
    return [a, b];
  }

  describe('migrations', () => {
    it('create every table and column that SQLite gets, with numbered keys and the append-only audit log', async () => {
      const s = await schema();
      const db = await open(s);
      expect(storeDialect(db)).to.equal('postgres');
      const pgColumns = await s.query<{ table_name: string; column_name: string }>(
        'SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name NOT LIKE $2 ORDER BY table_name, column_name', [s.schema, 'kysely%']);
      const lite = await openStore({ file: ':memory:' });
      const liteTables = (await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'kysely%' AND name NOT LIKE 'sqlite%'`.execute(lite)).rows.map((r) => r.name);
      const liteColumns: string[] = [];
      for (const table of liteTables) {
        for (const c of (await sql<{ name: string }>`SELECT name FROM pragma_table_info(${table})`.execute(lite)).rows) liteColumns.push(`${table}.${c.name}`);
      }
      await lite.destroy();
      expect(pgColumns.rows.map((r) => `${r.table_name}.${r.column_name}`).sort()).to.deep.equal(liteColumns.sort());

      const identities = await s.query<{ col: string; data_type: string }>(
        "SELECT table_name || '.' || column_name AS col, data_type FROM information_schema.columns WHERE table_schema = $1 AND is_identity = 'YES' ORDER BY 1", [s.schema]);
      expect(identities.rows).to.deep.equal([
        { col: 'audit_log.seq', data_type: 'bigint' }, { col: 'github_posts.id', data_type: 'bigint' }, { col: 'prompt_metric_events.id', data_type: 'bigint' },
        { col: 'publications.id', data_type: 'bigint' },
      ]);
      const applied = (await db.withSchema(s.schema).selectFrom('kysely_migration' as never).select('name' as never).execute()) as { name: string }[];
      expect(applied.map((r) => r.name)).to.deep.equal(Object.keys(MIGRATIONS));
      // Keys come back as numbers, as on SQLite.
      const row = await appendAudit(db, { kind: 'publish', subject: 'a@1.0.0' });
      expect(row.seq).to.equal(1);
    });

    it('run once when two replicas start at the same time, and reopening changes nothing', async () => {
      const s = await schema();
      const [a, b] = await Promise.all([open(s), open(s)]);
      await appendAudit(a, { kind: 'publish', subject: 'a@1.0.0' });
      const again = await open(s);
      expect((await listAudit(b)).map((r) => r.subject)).to.deep.equal(['a@1.0.0']);
      expect((await listAudit(again)).length).to.equal(1);
    });

    it('refuse a store that a newer forge has migrated', async () => {
      const s = await schema();
      await open(s);
      await s.query(`INSERT INTO "${s.schema}".kysely_migration (name, timestamp) VALUES ($1, $2)`, ['999-from-the-future', new Date().toISOString()]);
      try {
        await openStore({ postgres: s.url });
        expect.fail('opened');
      } catch (err) {
        expect((err as { code: string }).code).to.equal('store.newer-than-code');
        expect((err as Error).message).to.contain('999-from-the-future');
      }
    });

    it('make the audit log append-only: updates, deletes and TRUNCATE are refused', async () => {
      const db = await open(await schema());
      await appendAudit(db, { kind: 'publish', subject: 'a@1.0.0' });
      for (const attempt of [
        () => db.updateTable('audit_log').set({ subject: 'b@1.0.0' }).execute(),
        () => db.deleteFrom('audit_log').execute(),
        () => sql`TRUNCATE audit_log`.execute(db),
      ]) {
        const err = await attempt().then(() => undefined, (e: unknown) => e as Error);
        expect(err?.message).to.contain('append-only');
      }
      expect(await verifyAuditChain(db)).to.include({ ok: true, rows: 1 });
    });

    it('report a server that does not answer as a store error, naming the URL without its password', async () => {
      try {
        await openStore({ postgres: 'postgres://anvil:s3cret@127.0.0.1:1/anvil' });
        expect.fail('opened');
      } catch (err) {
        expect((err as { code: string }).code).to.equal('store.open');
        expect((err as Error).message).to.contain('postgres://anvil:***@127.0.0.1:1/anvil').and.not.contain('s3cret');
      }
    });
  });

  describe('what a forge does', () => {
    it('publishes, queues a delivery per receiver, claims, records the answers, and audits it all in one chain', async () => {
      const s = await schema();
      const forge = await createTestForge({ file: s.url });
      cleanup.push(() => forge.close());
      for (const id of ['a', 'b']) await addReceiver(forge.ctx, { instanceId: id, url: `http://127.0.0.1:9/${id}` });
      const bundle = makeBundle('onboarding', '1.2.0', { welcome: 'Hello {{name}}' });
      const outcome = await publishBundle(forge.ctx, { project: PROJECT, bundle, channels: ['production'], reason: 'release onboarding@1.2.0' });
      expect(outcome.channels).to.deep.equal([{ channel: 'production', outcome: 'published', envelopeId: outcome.channels[0]!.envelopeId, deliveries: 2 }]);
      // Published again: the channel serves it already.
      expect((await publishBundle(forge.ctx, { project: PROJECT, bundle, channels: ['production'], reason: 'again' })).channels[0]!.outcome).to.equal('already-serving');

      const claimed = await claimDue(forge.ctx, 'w1', 10, 60_000);
      expect(claimed.map((d) => d.instance_id).sort()).to.deep.equal(['a', 'b']);
      expect(await claimDue(forge.ctx, 'w2', 10, 60_000)).to.deep.equal([]);
      const at = Date.now();
      const recorded = await recordOutcomes(forge.ctx, 'w1', claimed.map((delivery) => ({ delivery, at, outcome: delivered() })));
      expect(recorded).to.have.length(2);
      const rows = await forge.ctx.db.selectFrom('deliveries').select(['state', 'attempts', 'lease_owner']).execute();
      expect(rows).to.deep.equal([{ state: 'delivered', attempts: 1, lease_owner: null }, { state: 'delivered', attempts: 1, lease_owner: null }]);
      const receivers = await forge.ctx.db.selectFrom('receivers').select(['instance_id', 'versions', 'last_delivery_state']).orderBy('instance_id').execute();
      expect(receivers).to.deep.equal([
        { instance_id: 'a', versions: '{"onboarding":"1.2.0"}', last_delivery_state: 'delivered' },
        { instance_id: 'b', versions: '{"onboarding":"1.2.0"}', last_delivery_state: 'delivered' },
      ]);
      const audit = (await listAudit(forge.ctx.db)).map((r) => `${r.kind} ${r.subject}`);
      expect(audit.slice(0, 2)).to.deep.equal(['publish onboarding@1.2.0', 'publish.skipped onboarding@1.2.0']);
      expect(audit.slice(2)).to.have.members(['delivery.delivered a', 'delivery.delivered b']);
      // listAudit's kind is a prefix, matched exactly (LIKE would differ between the dialects).
      expect((await listAudit(forge.ctx.db, { kind: 'publish' })).length).to.equal(2);
      expect((await listAudit(forge.ctx.db, { kind: 'publish.' })).length).to.equal(1);
      expect((await listAudit(forge.ctx.db, { kind: 'PUBLISH' })).length).to.equal(0);
      expect((await listAudit(forge.ctx.db, { kind: 'publis_' })).length).to.equal(0);
      expect(await verifyAuditChain(forge.ctx.db)).to.include({ ok: true, rows: 4 });
    });
  });

  describe('two replicas on one database', () => {
    it('claim every delivery exactly once when both claim at the same time', async () => {
      const [a, b] = await replicas();
      const receivers = 300;
      for (let i = 0; i < receivers; i += 100) {
        await Promise.all(Array.from({ length: 100 }, (_, j) => addReceiver(a.ctx, { instanceId: `r${i + j}`, url: `http://127.0.0.1:9/r${i + j}` })));
      }
      const env = await addEnvelope(a.ctx, [makeBundle('onboarding', '1.0.0', { welcome: 'Hi' })]);
      expect(await enqueueDeliveries(b.ctx, { project: PROJECT, channel: 'production', envelopeId: env.id, set: 'onboarding', version: '1.0.0' })).to.equal(receivers);

      // Three workers per replica, each claiming small batches as fast as it can, and recording
      // every batch (with its audit rows) as soon as it has it.
      const taken = new Map<string, string>();
      await Promise.all([a, b, a, b, a, b].map(async (forge, w) => {
        const owner = `${forge.ctx.name}:w${w}`;
        for (;;) {
          const batch = await claimDue(forge.ctx, owner, 7, 60_000);
          if (batch.length === 0) return;
          for (const d of batch) {
            expect(taken.get(d.id), `${d.id} claimed by ${owner} and ${taken.get(d.id)}`).to.equal(undefined);
            taken.set(d.id, owner);
          }
          const recorded = await recordOutcomes(forge.ctx, owner, batch.map((delivery) => ({ delivery, at: Date.now(), outcome: delivered() })));
          expect(recorded).to.have.length(batch.length);
        }
      }));
      expect(taken.size).to.equal(receivers);
      // Both replicas did part of the work (with one idle, this test would show nothing).
      const owners = new Set([...taken.values()].map((o) => o.split(':')[0]));
      expect([...owners].sort()).to.deep.equal(['replica-a', 'replica-b']);
      const rows = await a.ctx.db.selectFrom('deliveries').select(['state', 'attempts']).execute();
      expect(rows.every((r) => r.state === 'delivered' && r.attempts === 1)).to.equal(true);
      expect(await verifyAuditChain(b.ctx.db)).to.include({ ok: true, rows: receivers });
    });

    it('append to one audit chain that verifies, whichever replica appends, one row, a group or a batch at a time', async () => {
      const [a, b] = await replicas();
      await Promise.all([a, b].flatMap((forge) => Array.from({ length: 40 }, (_, i) => i % 4 === 0
        // A batch inside a transaction that also writes, as recordOutcomes and token revocation do.
        ? forge.ctx.db.transaction().execute(async (trx) => {
          await trx.insertInto('seen_tags').values({ project: PROJECT, tag: `${forge.ctx.name}-t${i}`, target: 'x', first_seen_at: new Date().toISOString() }).execute();
          await appendAuditEntries(trx, [1, 2, 3].map((n) => ({ kind: 'test.batch', subject: `${forge.ctx.name} ${i}.${n}` })));
        })
        // Grouped with the others asked for at the same moment (webhook intake does).
        : i % 4 === 1 ? appendAuditGrouped(forge.ctx.db, { kind: 'test.grouped', subject: `${forge.ctx.name} ${i}` })
          : appendAudit(forge.ctx.db, { kind: 'test.one', subject: `${forge.ctx.name} ${i}` }))));
      const rows = 2 * (30 + 10 * 3);
      expect(await verifyAuditChain(a.ctx.db)).to.include({ ok: true, rows });
      const all = await listAudit(b.ctx.db, { limit: 1_000 });
      expect(new Set(all.map((r) => r.prev_hash)).size, 'no two rows link to the same row').to.equal(rows);
      // A batch stays together: nothing of the other replica's lands inside it.
      for (const [i, row] of all.entries()) {
        if (row.subject.endsWith('.1')) expect([all[i + 1]!.subject, all[i + 2]!.subject]).to.deep.equal([row.subject.replace(/1$/, '2'), row.subject.replace(/1$/, '3')]);
      }
    });

    it('take a webhook delivery once: of the same delivery id inserted by both at once, exactly one insert counts', async () => {
      const [a, b] = await replicas();
      // The check-and-insert of webhook-intake.ts, raced by both replicas on 50 ids.
      const take = (forge: TestForge, id: string) => forge.ctx.db.insertInto('webhook_deliveries')
        .values({ source: 'git', delivery_id: id, event: 'push', received_at: new Date().toISOString() })
        .onConflict((oc) => oc.columns(['source', 'delivery_id']).doNothing())
        .executeTakeFirst().then((r) => Number(r.numInsertedOrUpdatedRows ?? 0n));
      const ids = Array.from({ length: 50 }, (_, i) => `delivery-${i}`);
      const counts = await Promise.all(ids.map(async (id) => (await Promise.all([take(a, id), take(b, id)])).reduce((x, y) => x + y, 0)));
      expect(counts).to.deep.equal(ids.map(() => 1));
    });
  });

  describe('events', () => {
    it('reach the subscribers of both replicas, this one included, in publish order', async () => {
      const [a, b] = await replicas();
      const heard: Record<string, unknown[]> = { a: [], b: [] };
      await a.ctx.events.subscribe('envelopes', (p) => heard['a']!.push(p));
      await b.ctx.events.subscribe('envelopes', (p) => heard['b']!.push(p));
      for (let i = 0; i < 5; i++) await a.ctx.events.publish('envelopes', { project: 'acme', n: i });
      await b.ctx.events.publish('envelopes', { project: 'acme', n: 'from b' });
      const expected = [0, 1, 2, 3, 4, 'from b'].map((n) => ({ project: 'acme', n }));
      await until('both replicas heard every event', () => heard['a']!.length === 6 && heard['b']!.length === 6);
      expect(heard['a']).to.deep.equal(expected);
      expect(heard['b']).to.deep.equal(expected);
    });

    it('stay within their store and channel, and stop at unsubscribe', async () => {
      const [a, b] = await replicas();
      const other = await createTestForge({ file: (await schema()).url });
      cleanup.push(() => other.close());
      const heard: string[] = [];
      const stop = await b.ctx.events.subscribe('envelopes', (p) => heard.push(`envelopes ${JSON.stringify(p)}`));
      await b.ctx.events.subscribe('rollouts', (p) => heard.push(`rollouts ${JSON.stringify(p)}`));
      const marks: string[] = [];
      await other.ctx.events.subscribe('envelopes', (p) => marks.push(JSON.stringify(p)));
      await other.ctx.events.publish('envelopes', 'another store');
      await a.ctx.events.publish('rollouts', 1);
      await a.ctx.events.publish('envelopes', 2);
      await until('b heard both', () => heard.length === 2);
      await until('the other store heard its own', () => marks.length === 1);
      await stop();
      await a.ctx.events.publish('envelopes', 3);
      await a.ctx.events.publish('rollouts', 4);
      await until('b heard the rollout', () => heard.length === 3);
      expect(heard).to.deep.equal(['rollouts 1', 'envelopes 2', 'rollouts 4']);
      expect(marks).to.deep.equal(['"another store"']);
    });

    it('refuse a bad channel name and a payload NOTIFY could not carry, the same on SQLite', async () => {
      const [a] = await replicas();
      const lite = await createTestForge({ file: ':memory:' });
      cleanup.push(() => lite.close());
      for (const events of [a.ctx.events, lite.ctx.events]) {
        for (const [channel, payload, code] of [
          ['Envelopes', 1, 'events.channel'], ['a b', 1, 'events.channel'], ['x'.repeat(49), 1, 'events.channel'],
          ['envelopes', 'x'.repeat(MAX_EVENT_BYTES), 'events.payload-too-large'],
        ] as const) {
          const err = await events.publish(channel, payload).then(() => undefined, (e: unknown) => e as { code: string });
          expect(err?.code, `${channel.slice(0, 10)} on ${storeDialect(events === lite.ctx.events ? lite.ctx.db : a.ctx.db)}`).to.equal(code);
        }
      }
    });

    it('call onMissed when the listening connection drops, and listen again', async () => {
      const s = await schema();
      const a = await open(s);
      const b = await open(s);
      const errors: Error[] = [];
      const events = await createStoreEvents(b, { postgres: s.url }, { reconnectMs: 20, onError: (err) => errors.push(err) });
      cleanup.push(() => events.close());
      const publisher = await createStoreEvents(a, { postgres: s.url });
      cleanup.push(() => publisher.close());
      const heard: unknown[] = [];
      let missed = 0;
      await events.subscribe('envelopes', (p) => heard.push(p), { onMissed: () => missed++ });
      await publisher.publish('envelopes', 'before');
      await until('heard before', () => heard.length === 1);
      // What a restarted server or a cut network does to the listening connection. Only this
      // store's: its channels are named after a hash of its schema (store-events.ts).
      const scope = createHash('sha256').update(s.schema).digest('hex').slice(0, 8);
      const ended = await s.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'anvil-forge-events' AND query = $1", [`LISTEN "anvil:${scope}:envelopes"`]);
      expect(ended.rowCount).to.equal(1);
      await until('onMissed called', () => missed === 1);
      await publisher.publish('envelopes', 'after');
      await until('heard after', () => heard.length === 2);
      expect(heard).to.deep.equal(['before', 'after']);
      expect(errors.length).to.be.greaterThan(0);
    });
  });
});
