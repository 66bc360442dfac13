/**
 * The metrics queue (issue 17): every event recorded comes out in a batch as it went in (same
 * fields, same order) across several flushes and partial batches, with its error code; what is
 * dropped past the bound is counted and told to the forge with the next batch.
 */
import { expect } from 'chai';
import type { MetricsBatch, MetricsEvent } from '@anvil/content-schema';
import { MetricsQueue } from '../../src/metrics/metrics-queue.ts';

function event(i: number): MetricsEvent {
  const version = i % 3 === 0 ? '1.1.0' : '1.0.0';
  return {
    set: 'onboarding', version, integrity: `sha256-${version === '1.1.0' ? 'B' : 'A'}${'x'.repeat(42)}=`, prompt: i % 2 === 0 ? 'welcome' : 'farewell',
    variant: i % 5 === 0 ? 'fr' : null, rollout: version === '1.1.0', success: i % 7 !== 0, latencyMs: i * 1.5, at: 1_700_000_000_000 + i,
    ...(i % 11 === 0 ? { error: `code-${i}` } : {}),
  };
}

describe('metrics queue', () => {
  it('gives back every event as recorded, in order, across flushes and partial batches', async () => {
    const batches: MetricsBatch[] = [];
    const queue = new MetricsQueue({ send: async (b) => void batches.push(b), channel: 'production', instanceId: () => 'app-1', maxQueued: 700, batchSize: 300, flushMs: 60_000 });
    let next = 0;
    const record = (n: number) => { for (let k = 0; k < n; k++) queue.record(event(next++)); };
    record(650);
    await queue.flush(); // 300, 300, 50
    record(500);
    await queue.flush();
    record(10);
    await queue.close();
    const sent = batches.flatMap((b) => b.events);
    expect(sent).to.have.length(1_160);
    expect(sent).to.deep.equal(Array.from({ length: 1_160 }, (_, i) => event(i)));
    expect(batches.every((b) => b.events.length <= 300 && b.channel === 'production' && b.instanceId === 'app-1')).to.equal(true);
    expect(queue.stats()).to.include({ queued: 0, sent: 1_160, dropped: 0 });
  });

  it('drops past the bound and counts the drops, keeping the oldest', async () => {
    const batches: MetricsBatch[] = [];
    const queue = new MetricsQueue({ send: async (b) => void batches.push(b), channel: 'staging', instanceId: () => 'app-2', maxQueued: 300, batchSize: 1_000, flushMs: 60_000 });
    for (let i = 0; i < 350; i++) queue.record(event(i));
    expect(queue.stats()).to.include({ queued: 300, dropped: 50 });
    await queue.close();
    expect(batches[0]!.events).to.deep.equal(Array.from({ length: 300 }, (_, i) => event(i)));
    expect(batches[0]!.dropped).to.equal(50);
  });
});
