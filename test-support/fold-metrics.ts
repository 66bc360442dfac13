/**
 * The test oracle for folded usage metrics (issue 17): raw events summed per integrity, prompt,
 * variant, rollout side and minute into the wire format's aggregates, written out plainly from
 * content-schema's definitions (the histogram's buckets included). The client's folding
 * (client/src/metrics/metrics-queue.ts) and the forge's ingest are each held to it; neither uses
 * it. Aggregates come out in the order their first event came in.
 */
import { bucketOf, emptyHistogram, type MetricsAggregate, type MetricsEvent } from '@anvil/content-schema';

export function foldEvents(events: readonly MetricsEvent[]): MetricsAggregate[] {
  const folded = new Map<string, MetricsAggregate>();
  for (const e of events) {
    const minute = Math.floor(e.at / 60_000);
    const key = JSON.stringify([e.integrity, e.prompt, e.variant, e.rollout, minute]);
    const a = folded.get(key) ?? {
      set: e.set, version: e.version, integrity: e.integrity, prompt: e.prompt, variant: e.variant, rollout: e.rollout, minute,
      events: 0, successes: 0, latencySumMs: 0, latencyMaxMs: 0, histogram: emptyHistogram(),
    };
    folded.set(key, a);
    a.events++;
    if (e.success) a.successes++;
    a.latencySumMs += e.latencyMs;
    a.latencyMaxMs = Math.max(a.latencyMaxMs, e.latencyMs);
    a.histogram[bucketOf(e.latencyMs)]!++;
  }
  return [...folded.values()];
}
