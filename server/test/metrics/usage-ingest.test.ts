/**
 * Usage metrics at the forge (issue 17): batches over real HTTP on loopback into the forge as
 * `anvil serve` runs it, aggregated as they arrive — on SQLite and on PostgreSQL — with the raw
 * events pruned past their window, aggregates a client folded added to the same rows, and bad
 * or oversize batches answered 400 / 413.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { bucketOf, LATENCY_BUCKETS, percentileOf, type MetricsAggregate, type MetricsBatch, type MetricsEvent } from '@anvil/content-schema';
import { foldEvents } from '../../../test-support/fold-metrics.ts';
import { countRawEvents, pruneRawEvents, queryUsage, recordUsageBatch } from '../../src/metrics/usage-store.ts';
import { summarise } from '../../src/metrics/usage-summary.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { HISTOGRAM_COLUMNS } from '../../src/store/migrations/010-prompt-metrics.ts';
import { cleanupGitdirs } from '../support/gitdir.ts';
import { ADMIN_TOKEN, startPublishedForge, type PublishedForge } from '../support/published-forge.ts';
import { createTestSchema, type TestSchema } from '../support/test-postgres.ts';

const INTEGRITY = `sha256-${'A'.repeat(43)}=`;

export function usageEvent(over: Partial<MetricsEvent> = {}): MetricsEvent {
  return { set: 'core', version: '1.0.0', integrity: INTEGRITY, prompt: 'tone', variant: null, rollout: false, success: true, latencyMs: 100, at: Date.now(), ...over };
}


describe('usage metrics: the latency histogram', function () {
  it('has as many buckets as the migration has columns, and puts bounds in their own bucket', function () {
    expect(LATENCY_BUCKETS).to.equal(HISTOGRAM_COLUMNS);
    expect(bucketOf(0)).to.equal(0);
    expect(bucketOf(1)).to.equal(0);
    expect(bucketOf(2)).to.equal(2);
    expect(bucketOf(2.1)).to.equal(3);
    expect(bucketOf(1e12)).to.equal(LATENCY_BUCKETS - 1);
  });

  it('reads percentiles within one bucket of the exact ones', function () {
    const latencies = Array.from({ length: 10_000 }, (_, i) => 5 + (i % 1000) * 0.7 + (i % 7) * 30);
    const buckets = new Array<number>(LATENCY_BUCKETS).fill(0);
    for (const l of latencies) buckets[bucketOf(l)]!++;
    const sorted = [...latencies].sort((a, b) => a - b);
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
      const estimate = percentileOf(buckets, q, sorted.at(-1))!;
      expect(estimate / exact, `p${q * 100}`).to.be.within(1 / Math.SQRT2, Math.SQRT2);
    }
  });
});

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`usage metrics in the store (${kind})`, function () {
    this.timeout(60_000);
    let db: Store;
    let dir: string | undefined;
    let schema: TestSchema | undefined;

    beforeEach(async function () {
      if (kind === 'postgres') {
        schema = await createTestSchema();
        db = await openStore({ postgres: schema.url });
      } else {
        dir = mkdtempSync(path.join(tmpdir(), 'anvil-usage-'));
        db = await openStore({ file: path.join(dir, 'forge.db') });
      }
    });
    afterEach(async function () {
      await db.destroy();
      await schema?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('adds batches to one row per minute and key, and sums them per version', async function () {
      const now = Date.UTC(2026, 0, 1, 12, 0, 30);
      const batch = (events: MetricsEvent[]): MetricsBatch => ({ channel: 'production', events });
      // Two batches in the same minute, one a minute later; two versions; a variant.
      await recordUsageBatch(db, 'acme', batch([
        usageEvent({ at: now, latencyMs: 10 }), usageEvent({ at: now, latencyMs: 20, success: false }),
        usageEvent({ at: now, version: '1.1.0', rollout: true, latencyMs: 40 }),
      ]), { now });
      await recordUsageBatch(db, 'acme', batch([usageEvent({ at: now + 1_000, latencyMs: 30 }), usageEvent({ at: now, variant: 'fr', latencyMs: 5 })]), { now });
      await recordUsageBatch(db, 'acme', batch([usageEvent({ at: now + 60_000, latencyMs: 1_000 })]), { now: now + 60_000 });
      // Another project's events stay its own.
      await recordUsageBatch(db, 'other', batch([usageEvent({ at: now })]), { now });

      const rows = await db.selectFrom('prompt_metrics').selectAll().where('project', '=', 'acme').where('version', '=', '1.0.0').orderBy('minute').orderBy('variant').execute();
      expect(rows.map((r) => [r.variant, r.events, r.successes])).to.deep.equal([['', 3, 2], ['fr', 1, 1], ['', 1, 1]]);
      expect(Number(rows[0]!.latency_sum_ms)).to.equal(60);
      expect(Number(rows[0]!.latency_max_ms)).to.equal(30);

      const totals = await queryUsage(db, { project: 'acme', set: 'core' });
      expect(totals.map((t) => [t.version, t.channel, t.totals.events, t.totals.successes])).to.deep.equal([['1.0.0', 'production', 5, 4], ['1.1.0', 'production', 1, 1]]);
      const v1 = summarise(totals[0]!.totals);
      expect(v1.successRate).to.equal(0.8);
      expect(v1.latencyMs.max).to.equal(1_000);
      expect(v1.latencyMs.p50).to.be.within(10, 30);
      // --since leaves out earlier minutes.
      const later = await queryUsage(db, { project: 'acme', set: 'core', since: now + 60_000 });
      expect(later.map((t) => t.totals.events)).to.deep.equal([1]);
      expect(await countRawEvents(db, 'acme')).to.equal(6);
    });

    it('adds folded aggregates to the same rows as the raw events they stand for; the raw window keeps raw events only', async function () {
      const now = Date.UTC(2026, 0, 1, 12, 0, 30);
      // Three minutes, two versions, a variant, latencies across the buckets; and a time far in the past, filed at now.
      const events = Array.from({ length: 300 }, (_, i) => usageEvent({
        at: i === 77 ? now - 3 * 86_400_000 : now - 60_000 + (i % 3) * 40_000, version: i % 4 === 0 ? '1.1.0' : '1.0.0', rollout: i % 4 === 0,
        variant: i % 5 === 0 ? 'fr' : null, success: i % 6 !== 0, latencyMs: [0.5, 4, 100, 2_500, 700_000][i % 5]! + i / 4,
      }));
      await recordUsageBatch(db, 'raw', { channel: 'production', events }, { now });
      // Part raw, the rest folded: as a client past its raw allowance sends it, in two batches.
      await recordUsageBatch(db, 'folded', { channel: 'production', events: events.slice(0, 40), aggregates: foldEvents(events.slice(40, 200)) }, { now });
      await recordUsageBatch(db, 'folded', { channel: 'production', events: [], aggregates: foldEvents(events.slice(200)) }, { now });

      const rowsOf = async (project: string) => (await db.selectFrom('prompt_metrics').selectAll().where('project', '=', project)
        .orderBy('version').orderBy('variant').orderBy('minute').execute()).map(({ project: _, ...row }) => ({ ...row, latency_sum_ms: Number(row.latency_sum_ms) }));
      const raw = await rowsOf('raw');
      expect(raw.length).to.be.at.least(8);
      expect(await rowsOf('folded')).to.deep.equal(raw);
      expect(await queryUsage(db, { project: 'folded', set: 'core' })).to.deep.equal(await queryUsage(db, { project: 'raw', set: 'core' }));
      expect(await countRawEvents(db, 'raw')).to.equal(300);
      expect(await countRawEvents(db, 'folded')).to.equal(40);
    });

    it('keeps raw events for the window only', async function () {
      const now = Date.now();
      await recordUsageBatch(db, 'acme', { channel: 'staging', events: [usageEvent(), usageEvent()] }, { now: now - 25 * 3_600_000 });
      await recordUsageBatch(db, 'acme', { channel: 'staging', events: [usageEvent()] }, { now: now - 3_600_000 });
      expect(await countRawEvents(db)).to.equal(3);
      expect(await pruneRawEvents(db, 24 * 3_600_000, now)).to.equal(2);
      expect(await countRawEvents(db)).to.equal(1);
      // The aggregates stay.
      const totals = await queryUsage(db, { project: 'acme', set: 'core', channel: 'staging' });
      expect(totals[0]!.totals.events).to.equal(3);
    });

    it('adds up batches taken at once (concurrent upserts of the same rows)', async function () {
      const now = Date.now();
      const events = Array.from({ length: 200 }, (_, i) => usageEvent({ at: now, prompt: `p${i % 10}`, success: i % 4 !== 0, latencyMs: i }));
      await Promise.all(Array.from({ length: 8 }, () => recordUsageBatch(db, 'acme', { channel: 'production', events }, { now, keepRaw: false })));
      const [totals] = await queryUsage(db, { project: 'acme', set: 'core' });
      expect(totals!.totals.events).to.equal(1_600);
      expect(totals!.totals.successes).to.equal(1_200);
      expect(totals!.totals.histogram.reduce((a, b) => a + b, 0)).to.equal(1_600);
      expect(await countRawEvents(db)).to.equal(0);
    });
  });
}

describe('usage metrics over HTTP: POST /api/v1/projects/:project/metrics', function () {
  this.timeout(60_000);
  let f: PublishedForge;
  const post = (body: unknown, token = f.tokens.acme, project = 'acme') => fetch(`${f.forge.url}/api/v1/projects/${project}/metrics`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: typeof body === 'string' ? body : JSON.stringify(body),
  });

  before(async () => {
    f = await startPublishedForge();
  });
  after(async () => {
    await f?.close();
    await cleanupGitdirs();
  });

  it('takes a batch with the project token (202) and aggregates it', async function () {
    const res = await post({ channel: 'production', instanceId: 'web-1', events: [usageEvent(), usageEvent({ success: false, latencyMs: 250, error: 'timeout' })] });
    expect(res.status).to.equal(202);
    expect(await res.json()).to.deep.equal({ ok: true, accepted: 2 });
    const [totals] = await queryUsage(f.forge.ctx.db, { project: 'acme', set: 'core' });
    expect(totals).to.deep.include({ version: '1.0.0', channel: 'production' });
    expect(totals!.totals.events).to.equal(2);
    expect(totals!.totals.successes).to.equal(1);
    const raw = await f.forge.ctx.db.selectFrom('prompt_metric_events').selectAll().where('project', '=', 'acme').execute();
    expect(raw.map((r) => [r.instance_id, r.error])).to.deep.equal([['web-1', null], ['web-1', 'timeout']]);
  });

  it('takes a gzip-compressed batch', async function () {
    const body = gzipSync(JSON.stringify({ channel: 'development', events: [usageEvent({ set: 'support', prompt: 'answer' })] }));
    const res = await fetch(`${f.forge.url}/api/v1/projects/acme/metrics`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: `Bearer ${f.tokens.acme}` }, body,
    });
    expect(res.status).to.equal(202);
    const [totals] = await queryUsage(f.forge.ctx.db, { project: 'acme', set: 'support', channel: 'development' });
    expect(totals!.totals.events).to.equal(1);
  });

  it('answers 400 with every problem and where, for a bad batch; nothing is stored', async function () {
    const before = await countRawEvents(f.forge.ctx.db);
    const res = await post({ channel: 'prod', events: [usageEvent({ latencyMs: -5 }), { ...usageEvent(), extra: 1 }] });
    expect(res.status).to.equal(400);
    const body = (await res.json()) as { code: string; reason: string; issues: { path: string }[] };
    expect(body.code).to.equal('metrics.invalid');
    expect(body.reason).to.match(/^the metrics batch is not valid: \/channel/);
    expect(body.issues.map((i) => i.path)).to.include.members(['/channel', '/events/0/latencyMs', '/events/1/extra']);
    const notJson = await post('{"channel":');
    expect(notJson.status).to.equal(400);
    expect(((await notJson.json()) as { code: string }).code).to.equal('request.json');
    const notObject = await post('[1,2]');
    expect(notObject.status).to.equal(400);
    expect(await countRawEvents(f.forge.ctx.db)).to.equal(before);
  });

  it('answers 413 for too many events or too many bytes', async function () {
    const many = await post({ channel: 'production', events: Array.from({ length: 1_001 }, () => usageEvent()) });
    expect(many.status).to.equal(413);
    expect(((await many.json()) as { reason: string }).reason).to.match(/at most 1000 events/);
    const huge = await post({ channel: 'production', events: [], padding: 'x'.repeat(2 * 1024 * 1024) });
    expect(huge.status).to.equal(413);
    expect(((await huge.json()) as { code: string }).code).to.equal('request.too-large');
  });

  it('is closed to callers without the project\'s token, and to the admin token', async function () {
    expect((await post({ channel: 'production', events: [] }, 'nope')).status).to.equal(401);
    expect((await post({ channel: 'production', events: [] }, f.tokens.hello)).status).to.be.oneOf([401, 403]);
    expect((await post({ channel: 'production', events: [] }, ADMIN_TOKEN)).status).to.be.oneOf([401, 403]);
  });

  it('takes folded aggregates beside raw events: accepted counts both, they add up, and only raw events are kept raw', async function () {
    const calls = () => queryUsage(f.forge.ctx.db, { project: 'acme', set: 'core', channel: 'development' });
    const rawKept = async () => (await f.forge.ctx.db.selectFrom('prompt_metric_events').select('id').where('project', '=', 'acme').where('channel', '=', 'development').where('set_name', '=', 'core').execute()).length;
    expect(await calls()).to.deep.equal([]);
    const events = Array.from({ length: 10 }, (_, i) => usageEvent({ latencyMs: 10 * i, success: i % 2 === 0 }));
    const res = await post({ channel: 'development', instanceId: 'web-2', events: events.slice(0, 4), aggregates: foldEvents(events.slice(4)) });
    expect(res.status).to.equal(202);
    expect(await res.json()).to.deep.equal({ ok: true, accepted: 10 });
    const [totals] = await calls();
    expect(totals!.totals).to.deep.include({ events: 10, successes: 5, latencySumMs: 450, latencyMaxMs: 90 });
    expect(totals!.totals.histogram.reduce((a, b) => a + b, 0)).to.equal(10);
    expect(await rawKept()).to.equal(4);
  });

  it('answers 400 for aggregates that do not add up, saying which and why; nothing is stored', async function () {
    const before = await queryUsage(f.forge.ctx.db, { project: 'acme', set: 'core' });
    const good = foldEvents([usageEvent({ latencyMs: 50 }), usageEvent({ latencyMs: 70, success: false })])[0]!;
    const res = await post({
      channel: 'production', events: [usageEvent()], aggregates: [
        good,
        { ...good, histogram: good.histogram.map((n, i) => (i === 0 ? n + 1 : n)) },
        { ...good, successes: 3 },
        { ...good, latencySumMs: 10 },
        { ...good, latencyMaxMs: 5 },
        { ...good, histogram: good.histogram.slice(1) },
        { ...good, errors: { timeout: 1 } },
        { ...good, events: 0 },
      ],
    });
    expect(res.status).to.equal(400);
    const body = (await res.json()) as { code: string; reason: string; issues: { path: string; message: string }[] };
    expect(body.code).to.equal('metrics.invalid');
    const where = body.issues.map((i) => i.path);
    expect(where).to.include.members(['/aggregates/1/histogram', '/aggregates/2/successes', '/aggregates/3/latencySumMs', '/aggregates/4/latencySumMs', '/aggregates/4/latencyMaxMs', '/aggregates/5/histogram', '/aggregates/6/errors', '/aggregates/7/events']);
    expect(where.some((p) => p.startsWith('/aggregates/0'))).to.equal(false);
    const say = (path: string) => body.issues.filter((i) => i.path === path).map((i) => i.message);
    expect(say('/aggregates/1/histogram')).to.deep.equal(['the histogram counts 3 calls, the aggregate 2']);
    expect(say('/aggregates/2/successes')).to.deep.equal(['3 successes out of 2 calls']);
    expect(say('/aggregates/3/latencySumMs')).to.deep.equal(['a latency sum of 10 ms does not fit 2 calls of at most 70 ms']);
    expect(say('/aggregates/4/latencyMaxMs')).to.deep.equal(['the largest latency (5 ms) is in bucket 5, but the highest bucket used is 13']);
    expect(body.reason).to.equal(`the metrics batch is not valid: ${body.issues[0]!.path} ${body.issues[0]!.message} (and ${body.issues.length - 1} more)`);
    expect(await queryUsage(f.forge.ctx.db, { project: 'acme', set: 'core' })).to.deep.equal(before);

    const many = await post({ channel: 'production', events: [], aggregates: Array.from({ length: 1_001 }, () => good) });
    expect(many.status).to.equal(413);
    expect(((await many.json()) as { reason: string }).reason).to.match(/at most 1000 aggregates/);
  });

  it('rate-limits a project by the calls it reports, raw and folded alike (429, retry-after; 413 past a burst)', async function () {
    f.forge.ctx.usage = { eventsPerSecond: 100, eventsBurst: 300 };
    try {
      const events = Array.from({ length: 200 }, () => usageEvent());
      expect((await post({ channel: 'staging', events })).status).to.equal(202);
      // 200 calls folded weigh as much as 200 raw events.
      const folded = await post({ channel: 'staging', events: [], aggregates: foldEvents(events) });
      expect(folded.status).to.equal(429);
      expect(folded.headers.get('retry-after')).to.equal('2');
      const limited = await post({ channel: 'staging', events });
      expect(limited.status).to.equal(429);
      expect(limited.headers.get('retry-after')).to.equal('2');
      // More calls than a burst holds can never pass: refused outright.
      const beyond = await post({ channel: 'staging', events: events.slice(0, 2), aggregates: foldEvents([...events, ...events.slice(0, 99)]) });
      expect(beyond.status).to.equal(413);
      expect(((await beyond.json()) as { reason: string }).reason).to.equal('this batch counts 301 calls (raw and folded); the forge takes at most 300 at once');
    } finally {
      f.forge.ctx.usage = undefined;
    }
  });
});
