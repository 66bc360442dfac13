/**
 * Sums of aggregate rows → what analytics shows (issue 17): per version the calls, the success
 * rate and latency percentiles, and "how did version X do against version Y". Pure.
 */
import { emptyHistogram, percentileOf } from '@anvil/content-schema';

/** Aggregates summed over some minutes (and prompts, variants…): what the store's query returns. */
export interface UsageTotals {
  events: number;
  successes: number;
  latencySumMs: number;
  latencyMaxMs: number;
  histogram: number[];
}

export interface UsageSummary {
  events: number;
  successes: number;
  /** successes / events; null without events. */
  successRate: number | null;
  latencyMs: { mean: number | null; p50: number | null; p95: number | null; p99: number | null; max: number | null };
}

export interface VersionComparison {
  from: string;
  to: string;
  /** `to`'s success rate minus `from`'s, in rate points (-1..1); null when either has no events. */
  successRateDelta: number | null;
  /** `to`'s latency divided by `from`'s, per percentile; null when either has none. */
  latencyRatio: { p50: number | null; p95: number | null; p99: number | null };
}

export function emptyTotals(): UsageTotals {
  return { events: 0, successes: 0, latencySumMs: 0, latencyMaxMs: 0, histogram: emptyHistogram() };
}

/** Adds `b` into `a`. */
export function addTotals(a: UsageTotals, b: UsageTotals): UsageTotals {
  a.events += b.events;
  a.successes += b.successes;
  a.latencySumMs += b.latencySumMs;
  a.latencyMaxMs = Math.max(a.latencyMaxMs, b.latencyMaxMs);
  for (let i = 0; i < a.histogram.length; i++) a.histogram[i]! += b.histogram[i] ?? 0;
  return a;
}

export function summarise(t: UsageTotals): UsageSummary {
  const none = t.events === 0;
  const p = (q: number) => (none ? null : round(percentileOf(t.histogram, q, t.latencyMaxMs) ?? 0));
  return {
    events: t.events,
    successes: t.successes,
    successRate: none ? null : t.successes / t.events,
    latencyMs: { mean: none ? null : round(t.latencySumMs / t.events), p50: p(0.5), p95: p(0.95), p99: p(0.99), max: none ? null : round(t.latencyMaxMs) },
  };
}

export function compareVersions(from: string, a: UsageSummary, to: string, b: UsageSummary): VersionComparison {
  const ratio = (x: number | null, y: number | null) => (x === null || y === null || x === 0 ? null : round(y / x, 3));
  return {
    from, to,
    successRateDelta: a.successRate === null || b.successRate === null ? null : round(b.successRate - a.successRate, 4),
    latencyRatio: { p50: ratio(a.latencyMs.p50, b.latencyMs.p50), p95: ratio(a.latencyMs.p95, b.latencyMs.p95), p99: ratio(a.latencyMs.p99, b.latencyMs.p99) },
  };
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
