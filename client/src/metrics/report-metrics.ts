/**
 * What `anvil.reportMetrics(id, report)` takes (issue 17), its checks, and the raw event it
 * becomes: the call's outcome beside what served it (as `anvil.track()` says). The key and the
 * tags choose the side and variant, as for a render; they are not sent.
 */
import { AnvilError, METRICS_BATCH_LIMITS, type MetricsEvent } from '@anvil/content-schema';
import type { PromptCallOptions } from '../prompt-types.ts';
import type { PromptTrack } from '../store/store-snapshot.ts';

export interface MetricsReport<Id extends string = string> extends PromptCallOptions<Id> {
  /** Whether the app counts the call as a success. */
  success: boolean;
  /** How long the call took, in milliseconds (the model's answer included, as the app measures it). */
  latency_ms: number;
  /** A short code for a failure (`timeout`, `schema`, `refusal`…): letters, digits, `_.:-`. Sent with raw events only. */
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
  rawPerFlush?: number;
  maxAggregates?: number;
};

const ERROR_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Throws `metrics.bad-report` for a report the forge would refuse (the caller turns it into an 'error' event). */
export function checkReport(id: string, report: MetricsReport): void {
  const { success, latency_ms: latency, error, at } = report;
  if (typeof success !== 'boolean') throw new AnvilError('metrics.bad-report', `reportMetrics("${id}"): success must be true or false, not ${typeof success}`);
  if (typeof latency !== 'number' || !Number.isFinite(latency) || latency < 0 || latency > METRICS_BATCH_LIMITS.latencyMs) {
    throw new AnvilError('metrics.bad-report', `reportMetrics("${id}"): latency_ms must be a number of milliseconds from 0 to a day, not ${String(latency)}`, { hint: 'measure with performance.now() around the call' });
  }
  if (error !== undefined && (typeof error !== 'string' || !ERROR_CODE.test(error))) {
    throw new AnvilError('metrics.bad-report', `reportMetrics("${id}"): error must be a short code (letters, digits, "_.:-", up to 64), not ${JSON.stringify(error).slice(0, 80)}`);
  }
  // One event with a bad time would have the forge refuse its whole batch.
  if (at !== undefined && (typeof at !== 'number' || !Number.isFinite(at) || at < 0)) {
    throw new AnvilError('metrics.bad-report', `reportMetrics("${id}"): at must be a time in milliseconds since the epoch, not ${String(at)}`, { hint: 'leave it out for now, or pass Date.now() when the call ended' });
  }
}

/** The raw event of a checked report that ended at `at`. */
export function metricsEventOf(track: PromptTrack, report: MetricsReport, at: number): MetricsEvent {
  const event: MetricsEvent = {
    set: track.set, version: track.version, integrity: track.integrity, prompt: track.id, variant: track.variant, rollout: track.rollout,
    success: report.success, latencyMs: report.latency_ms, at,
  };
  if (report.error !== undefined) event.error = report.error;
  return event;
}
