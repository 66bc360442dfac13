/**
 * How calls add up in usage metrics (issue 17): the sums a folded aggregate carries on the wire
 * (metrics-batch.ts, `aggregates`) and the forge keeps per minute — a count, the successes, the
 * latency sum and maximum, and the latency histogram (latency-histogram.ts). One definition for
 * the client that folds its reports and the forge that files raw events and aggregates, so the
 * two cannot disagree on what a call adds.
 */
import { bucketOf } from './latency-histogram.ts';
import type { MetricsBatch } from './schemas/metrics-batch.ts';

export interface CallSums {
  events: number;
  successes: number;
  latencySumMs: number;
  latencyMaxMs: number;
  histogram: number[];
}

/** Adds one call to `sums`. */
export function addCall(sums: CallSums, success: boolean, latencyMs: number): void {
  sums.events++;
  if (success) sums.successes++;
  sums.latencySumMs += latencyMs;
  if (latencyMs > sums.latencyMaxMs) sums.latencyMaxMs = latencyMs;
  sums.histogram[bucketOf(latencyMs)]!++;
}

/** Adds the calls `more` sums up to `sums` (histograms bucket by bucket). */
export function addSums(sums: CallSums, more: Readonly<CallSums>): void {
  sums.events += more.events;
  sums.successes += more.successes;
  sums.latencySumMs += more.latencySumMs;
  if (more.latencyMaxMs > sums.latencyMaxMs) sums.latencyMaxMs = more.latencyMaxMs;
  for (let i = 0; i < sums.histogram.length; i++) sums.histogram[i]! += more.histogram[i] ?? 0;
}

/** The calls a batch carries, raw and folded. */
export function callsInBatch(batch: Pick<MetricsBatch, 'events' | 'aggregates'>): number {
  let n = batch.events.length;
  for (const a of batch.aggregates ?? []) n += a.events;
  return n;
}
