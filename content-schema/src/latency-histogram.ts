/**
 * The latency histogram of usage metrics (issue 17), part of their wire format: the forge stores
 * one per minute and key, and a client that folds its reports (metrics-batch.ts, `aggregates`)
 * sends the same buckets. Bucket `i` holds latencies up to 2^(i/2) ms — each bucket about 41 %
 * wider than the one before — from ≤ 1 ms to the last bucket, which holds everything above
 * 2^(LAST-1)/2 ms (about 12 minutes). Fixed bounds make histograms of any minutes, versions,
 * replicas or clients add up bucket by bucket, so the store keeps one row per minute instead of
 * every latency, and percentiles are read from the summed buckets (interpolated within one, so
 * at worst ~20 % off, never more than a bucket).
 */

export const LATENCY_BUCKETS = 40;

/** The upper bound (ms) of bucket `i`; the last bucket has none. */
export function bucketUpperMs(i: number): number {
  return i >= LATENCY_BUCKETS - 1 ? Number.POSITIVE_INFINITY : 2 ** (i / 2);
}

/** The lower bound (ms) of bucket `i`: the previous bucket's upper bound, 0 for the first. */
export function bucketLowerMs(i: number): number {
  return i <= 0 ? 0 : 2 ** ((i - 1) / 2);
}

/** The bucket a latency falls in. */
export function bucketOf(latencyMs: number): number {
  if (!(latencyMs > 1)) return 0;
  // The smallest i with latency ≤ 2^(i/2); the epsilon keeps exact bounds (2 ms, 4 ms) in their bucket.
  const i = Math.ceil(2 * Math.log2(latencyMs) - 1e-9);
  return Math.min(LATENCY_BUCKETS - 1, Math.max(0, i));
}

/** An empty histogram. */
export function emptyHistogram(): number[] {
  return new Array<number>(LATENCY_BUCKETS).fill(0);
}

/**
 * The `q` quantile (0 < q ≤ 1) of the latencies a histogram counts, interpolated linearly within
 * its bucket; `maxMs` (the largest latency seen, when known) bounds the open last bucket.
 * Undefined for an empty histogram.
 */
export function percentileOf(buckets: readonly number[], q: number, maxMs?: number): number | undefined {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i] ?? 0;
    if (n === 0) continue;
    if (seen + n >= rank) {
      const lower = bucketLowerMs(i);
      let upper = bucketUpperMs(i);
      if (!Number.isFinite(upper)) upper = Math.max(lower, maxMs ?? lower * Math.SQRT2);
      if (maxMs !== undefined) upper = Math.min(upper, Math.max(lower, maxMs));
      return lower + ((rank - seen) / n) * (upper - lower);
    }
    seen += n;
  }
  return maxMs;
}
