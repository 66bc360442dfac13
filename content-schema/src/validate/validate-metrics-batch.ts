import { bucketOf } from '../latency-histogram.ts';
import type { MetricsBatch } from '../schemas/metrics-batch.ts';
import type { Report } from './run-validation.ts';
import type { ValidationResult } from './issues.ts';
import { fieldAt } from './read-data.ts';
import { runValidation } from './run-validation.ts';

/**
 * Validates the body of `POST …/metrics` (issue 17), as received: untrusted, every problem at
 * once. Beyond the schema, each aggregate must add up — its histogram counts its calls, no more
 * successes than calls, a latency sum between its maximum and calls × maximum, the maximum in
 * the highest bucket used — since the forge adds it to its rows as it stands.
 */
export function validateMetricsBatch(input: unknown): ValidationResult<MetricsBatch> {
  return runValidation<MetricsBatch>(input, {
    validator: 'metrics-batch',
    // {aggregates: [{histogram: [n]}]} is as deep as a batch goes.
    maxDepth: 4,
    check(data, { error, faulted }) {
      const aggregates = fieldAt(data, 'aggregates');
      if (!Array.isArray(aggregates)) return;
      aggregates.forEach((aggregate, i) => checkAggregate(aggregate, `/aggregates/${i}`, error, faulted));
    },
  });
}

function checkAggregate(aggregate: unknown, base: string, error: Report, faulted: (path: string) => boolean): void {
  const fields = ['events', 'successes', 'latencySumMs', 'latencyMaxMs', 'histogram'] as const;
  if (faulted(base) || fields.some((f) => faulted(`${base}/${f}`))) return;
  const events = fieldAt(aggregate, 'events') as number;
  const successes = fieldAt(aggregate, 'successes') as number;
  const sum = fieldAt(aggregate, 'latencySumMs') as number;
  const max = fieldAt(aggregate, 'latencyMaxMs') as number;
  const histogram = fieldAt(aggregate, 'histogram') as number[];
  if (successes > events) {
    error(`${base}/successes`, 'metrics.aggregate-successes', `${successes} successes out of ${events} calls`);
  }
  const counted = histogram.reduce((a, b) => a + b, 0);
  if (counted !== events) {
    error(`${base}/histogram`, 'metrics.aggregate-histogram', `the histogram counts ${counted} calls, the aggregate ${events}`, 'each call adds one to the bucket of its latency');
  }
  // Sums of fractional latencies are rounded: a relative slack of 1e-9 covers that, not a mistake.
  const slack = 1e-9 * Math.max(1, sum);
  if (sum + slack < max || sum > events * max + slack) {
    error(`${base}/latencySumMs`, 'metrics.aggregate-latency', `a latency sum of ${sum} ms does not fit ${events} calls of at most ${max} ms`);
  }
  const highest = histogram.findLastIndex((n) => n > 0);
  if (counted === events && highest >= 0 && highest !== bucketOf(max)) {
    error(`${base}/latencyMaxMs`, 'metrics.aggregate-latency', `the largest latency (${max} ms) is in bucket ${bucketOf(max)}, but the highest bucket used is ${highest}`);
  }
}
