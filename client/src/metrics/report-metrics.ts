/**
 * What `anvil.reportMetrics(id, report)` takes (issue 17) and the event it queues: the call's
 * outcome beside what served it (as `anvil.track()` says). The key and the tags choose the
 * side and variant, as for a render; they are not sent.
 */
import { AnvilError, METRICS_BATCH_LIMITS, type MetricsEvent } from '@anvil/content-schema';
import type { PromptCallOptions } from '../prompt-types.ts';
import type { PromptTrack } from '../store/store-snapshot.ts';

export interface MetricsReport<Id extends string = string> extends PromptCallOptions<Id> {
  /** Whether the app counts the call as a success. */
  success: boolean;
  /** How long the call took, in milliseconds (the model's answer included, as the app measures it). */
  latency_ms: number;
  /** A short code for a failure (`timeout`, `schema`, `refusal`…): letters, digits, `_.:-`. */
  error?: string | undefined;
  /** When the call ended (ms since the epoch); default now. */
  at?: number | undefined;
}

export type MetricsOptions = {
  maxQueued?: number;
  batchSize?: number;
  flushMs?: number;
  retries?: number;
  retryBaseMs?: number;
};

export function metricsEventOf(track: PromptTrack, report: MetricsReport): MetricsEvent {
  const { success, latency_ms: latency, error } = report;
  if (typeof success !== 'boolean') throw new AnvilError('metrics.bad-report', `reportMetrics("${track.id}"): success must be true or false, not ${typeof success}`);
  if (typeof latency !== 'number' || !Number.isFinite(latency) || latency < 0 || latency > METRICS_BATCH_LIMITS.latencyMs) {
    throw new AnvilError('metrics.bad-report', `reportMetrics("${track.id}"): latency_ms must be a number of milliseconds from 0 to a day, not ${String(latency)}`, { hint: 'measure with performance.now() around the call' });
  }
  const event: MetricsEvent = {
    set: track.set, version: track.version, integrity: track.integrity, prompt: track.id, variant: track.variant, rollout: track.rollout,
    success, latencyMs: latency, at: Math.floor(report.at ?? Date.now()),
  };
  if (error !== undefined) {
    if (typeof error !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(error)) {
      throw new AnvilError('metrics.bad-report', `reportMetrics("${track.id}"): error must be a short code (letters, digits, "_.:-", up to 64), not ${JSON.stringify(error).slice(0, 80)}`);
    }
    event.error = error;
  }
  return event;
}
