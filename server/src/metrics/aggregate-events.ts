/**
 * Usage events → per-minute aggregates (issue 17), as pure functions. A batch becomes one row
 * per (channel, set, version, prompt, variant, minute) with the count, the successes, the
 * latency sum and maximum and the latency histogram (latency-histogram.ts); the store adds such
 * rows to what it holds (usage-store.ts), so aggregation happens as events arrive and reading
 * a day of a busy prompt is summing ~1,440 rows, not millions of events.
 */
import type { MetricsEvent } from '@anvil/content-schema';
import { bucketOf, emptyHistogram } from './latency-histogram.ts';

export const MINUTE_MS = 60_000;

/** How far an event's own time may be from the forge's before the forge's clock is taken. */
export const MAX_CLOCK_SKEW_MS = { past: 24 * 60 * 60_000, future: 5 * 60_000 } as const;

export interface AggregateKey {
  project: string;
  channel: string;
  set: string;
  version: string;
  prompt: string;
  /** '' for the base prompt. */
  variant: string;
  /** Minutes since the epoch. */
  minute: number;
}

export interface AggregateRow extends AggregateKey {
  events: number;
  successes: number;
  latencySumMs: number;
  latencyMaxMs: number;
  histogram: number[];
}

/** When an event happened, as the store files it: its own time, unless that is far from `now`. */
export function eventTime(at: number, now: number): number {
  return at < now - MAX_CLOCK_SKEW_MS.past || at > now + MAX_CLOCK_SKEW_MS.future ? now : at;
}

export function minuteOf(ms: number): number {
  return Math.floor(ms / MINUTE_MS);
}

/** The events of one batch, summed per key; sorted by key, so concurrent writers lock rows in one order. */
export function aggregateEvents(project: string, channel: string, events: readonly MetricsEvent[], now: number): AggregateRow[] {
  const rows = new Map<string, AggregateRow>();
  for (const e of events) {
    const key: AggregateKey = { project, channel, set: e.set, version: e.version, prompt: e.prompt, variant: e.variant ?? '', minute: minuteOf(eventTime(e.at, now)) };
    const id = keyString(key);
    let row = rows.get(id);
    if (!row) {
      row = { ...key, events: 0, successes: 0, latencySumMs: 0, latencyMaxMs: 0, histogram: emptyHistogram() };
      rows.set(id, row);
    }
    row.events++;
    if (e.success) row.successes++;
    row.latencySumMs += e.latencyMs;
    if (e.latencyMs > row.latencyMaxMs) row.latencyMaxMs = e.latencyMs;
    row.histogram[bucketOf(e.latencyMs)]!++;
  }
  return [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
}

function keyString(k: AggregateKey): string {
  return [k.project, k.channel, k.set, k.version, k.prompt, k.variant, String(k.minute).padStart(12, '0')].join('\u0000');
}
