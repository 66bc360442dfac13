import type { MetricsBatch } from '../schemas/metrics-batch.ts';
import type { ValidationResult } from './issues.ts';
import { runValidation } from './run-validation.ts';

/** Validates the body of `POST …/metrics` (issue 17), as received: untrusted, every problem at once. */
export function validateMetricsBatch(input: unknown): ValidationResult<MetricsBatch> {
  // {events: [{…}]} is as deep as a batch goes.
  return runValidation<MetricsBatch>(input, { validator: 'metrics-batch', maxDepth: 4 });
}
