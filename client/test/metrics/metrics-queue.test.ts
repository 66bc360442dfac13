/**
 * The metrics queue (issue 17): every report kept raw comes out in a batch as it went in (same
 * fields, same order) across several flushes and partial batches, with its error code; past the
 * raw allowance of a flush interval, reports are folded into aggregates that hold exactly what
 * the forge sums from the same events (content-schema's histogram); what cannot be kept is
 * dropped, counted and told to the forge with the next batch.
 */
import { expect } from 'chai';
import { validateMetricsBatch, type MetricsAggregate, type MetricsBatch, type MetricsEvent } from '@anvil/content-schema';
import { foldEvents } from '../../../test-support/fold-metrics.ts';
import { MetricsQueue, type MetricsQueueOptions } from '../../src/metrics/metrics-queue.ts';

const T0 = 1_700_000_000_000;

function event(i: number): MetricsEvent {
  const version = i % 3 === 0 ? '1.1.0' : '1.0.0';
  return {
    set: 'onboarding', version, integrity: `sha256-${version === '1.1.0' ? 'B' : 'A'}${'x'.repeat(42)}=`, prompt: i % 2 === 0 ? 'welcome' : 'farewell',
    variant: i % 5 === 0 ? 'fr' : null, rollout: version === '1.1.0', success: i % 7 !== 0, latencyMs: i * 1.5, at: T0 + i,
    ...(i % 11 === 0 ? { error: `code-${i}` } : {}),
  };
}

/** Reports an event as the client does: what served it (as `track()` says), and how it went. */
function record(queue: MetricsQueue, e: MetricsEvent): void {
  queue.record(
    { set: e.set, id: e.prompt, version: e.version, integrity: e.integrity, variant: e.variant, rollout: e.rollout },
    { success: e.success, latency_ms: e.latencyMs, at: e.at, ...(e.error !== undefined ? { error: e.error } : {}) },
  );
}

function queueOf(batches: MetricsBatch[], options: Partial<MetricsQueueOptions>): MetricsQueue {
  return new MetricsQueue({ send: async (b) => void batches.push(b), channel: 'production', instanceId: () => 'app-1', flushMs: 60_000, ...options });
}

const sorted = (aggregates: MetricsAggregate[]) => [...aggregates].sort((a, b) =>
  JSON.stringify([a.integrity, a.prompt, a.variant, a.rollout, a.minute]) < JSON.stringify([b.integrity, b.prompt, b.variant, b.rollout, b.minute]) ? -1 : 1);

describe('metrics queue', () => {
  it('gives back every report kept raw as recorded, in order, across flushes and partial batches', async () => {
    const batches: MetricsBatch[] = [];
    const queue = queueOf(batches, { maxQueued: 700, batchSize: 300, rawPerFlush: Number.POSITIVE_INFINITY });
    let next = 0;
    const recordMany = (n: number) => { for (let k = 0; k < n; k++) record(queue, event(next++)); };
    recordMany(650);
    await queue.flush(); // 300, 300, 50
    recordMany(500);
    await queue.flush();
    recordMany(10);
    await queue.close();
    const sent = batches.flatMap((b) => b.events);
    expect(sent).to.have.length(1_160);
    expect(sent).to.deep.equal(Array.from({ length: 1_160 }, (_, i) => event(i)));
    expect(batches.every((b) => b.events.length <= 300 && b.channel === 'production' && b.instanceId === 'app-1' && b.aggregates === undefined)).to.equal(true);
    expect(queue.stats()).to.include({ queued: 0, sent: 1_160, folded: 0, dropped: 0 });
  });

  it('folds reports past the raw allowance into aggregates equal to what the forge sums from the same events', async () => {
    const batches: MetricsBatch[] = [];
    const queue = queueOf(batches, { rawPerFlush: 100 });
    // Latencies over every bucket (0 ms to a day), times over five minutes, both sides, variants, failures.
    const events = Array.from({ length: 5_000 }, (_, i) => ({ ...event(i), latencyMs: [0, 0.5, 1, 2, 37.5, 1_000, 250_000, 86_400_000][i % 8]! * (1 + (i % 3)) / 3, at: T0 + i * 60 }));
    for (const e of events) record(queue, e);
    expect(queue.stats()).to.include({ queued: 5_000, folded: 4_900, dropped: 0 });
    await queue.close();

    expect(batches.flatMap((b) => b.events)).to.deep.equal(events.slice(0, 100));
    const aggregates = batches.flatMap((b) => b.aggregates ?? []);
    expect(sorted(aggregates)).to.deep.equal(sorted(foldEvents(events.slice(100))));
    // 2 versions (and so 2 integrities) × 2 prompts × 2 variants × 6 minutes at most.
    expect(aggregates.length).to.be.at.most(48);
    for (const b of batches) expect(validateMetricsBatch(b).errors).to.deep.equal([]);
    expect(queue.stats()).to.deep.equal({ queued: 0, sent: 5_000, folded: 4_900, dropped: 0, failedBatches: 0 });
  });

  it('gives each flush interval its own raw allowance', async () => {
    const batches: MetricsBatch[] = [];
    const queue = queueOf(batches, { rawPerFlush: 10, flushMs: 30 });
    const now = Date.now();
    for (let i = 0; i < 30; i++) record(queue, { ...event(i), at: now });
    await until(() => batches.length > 0);
    for (let i = 30; i < 60; i++) record(queue, { ...event(i), at: now });
    await until(() => queue.stats().sent === 60);
    await queue.close();
    const raw = batches.flatMap((b) => b.events);
    expect(raw.map((e) => e.latencyMs / 1.5)).to.deep.equal([...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 10 }, (_, i) => 30 + i)]);
    expect(batches.flatMap((b) => b.aggregates ?? []).reduce((n, a) => n + a.events, 0)).to.equal(40);
    expect(queue.stats()).to.include({ folded: 40, dropped: 0 });
  });

  it('folds once the raw queue is full, drops once the aggregates are, and counts and tells the drops', async () => {
    const batches: MetricsBatch[] = [];
    const queue = queueOf(batches, { maxQueued: 300, batchSize: 1_000, maxAggregates: 4, rawPerFlush: Number.POSITIVE_INFINITY });
    // One prompt and side, a new minute every 100 reports: the 4 aggregates hold 4 minutes, the rest have no room.
    const same = (i: number): MetricsEvent => ({ ...event(0), latencyMs: i % 50, at: T0 + Math.floor(i / 100) * 60_000 });
    for (let i = 0; i < 1_000; i++) record(queue, same(i));
    expect(queue.stats()).to.include({ queued: 700, folded: 400, dropped: 300 });
    await queue.close();
    expect(batches).to.have.length(1);
    expect(batches[0]!.events).to.deep.equal(Array.from({ length: 300 }, (_, i) => same(i)));
    expect(batches[0]!.aggregates!.map((a) => [a.minute - Math.floor(T0 / 60_000), a.events])).to.deep.equal([[3, 100], [4, 100], [5, 100], [6, 100]]);
    expect(batches[0]!.dropped).to.equal(300);
    expect(validateMetricsBatch(batches[0]).ok).to.equal(true);
  });

  it('a batch that is not delivered drops its folded reports with its raw ones, counted', async () => {
    const refused = Object.assign(new Error('refused'), { code: 'forge.refused', details: { status: 400 } });
    const tried: MetricsBatch[] = [];
    const queue = new MetricsQueue({ send: async (b) => { tried.push(b); throw refused; }, channel: 'staging', instanceId: () => 'app-3', flushMs: 60_000, rawPerFlush: 5, onError: () => undefined });
    for (let i = 0; i < 50; i++) record(queue, { ...event(0), at: T0 });
    await queue.close();
    expect(tried).to.have.length(1);
    expect(tried[0]!.events).to.have.length(5);
    expect(tried[0]!.aggregates!.map((a) => a.events)).to.deep.equal([45]);
    expect(queue.stats()).to.deep.equal({ queued: 0, sent: 0, folded: 45, dropped: 50, failedBatches: 1 });
  });

  it('sends at most a batch\'s worth of aggregates per request', async () => {
    const batches: MetricsBatch[] = [];
    const queue = queueOf(batches, { rawPerFlush: 0, maxAggregates: 2_500 });
    for (let i = 0; i < 2_500; i++) record(queue, { ...event(0), at: T0 + i * 60_000 });
    expect(queue.stats()).to.include({ queued: 2_500, folded: 2_500, dropped: 0 });
    await queue.close();
    expect(batches.map((b) => [b.events.length, b.aggregates?.length])).to.deep.equal([[0, 1_000], [0, 1_000], [0, 500]]);
    expect(queue.stats().sent).to.equal(2_500);
  });
});

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
