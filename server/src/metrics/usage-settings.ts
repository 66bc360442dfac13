/** How the forge takes usage metrics (issue 17); every field has a default. */
export interface UsageSettings {
  /** How long raw events are kept (default 24 h; 0: none are kept, only the aggregates). */
  rawRetentionMs?: number | undefined;
  /** Raw events older than the window are pruned at most this often (default 1 min). */
  pruneEveryMs?: number | undefined;
  /** Calls one project may report per second, sustained, raw or folded alike (default 20,000); more are answered 429. */
  eventsPerSecond?: number | undefined;
  /** Calls one project may report in a burst above that rate (default 200,000); also the most one batch may count. */
  eventsBurst?: number | undefined;
  /** A (set, channel)'s canary guard is judged at most this often as metrics arrive (default 10 s). */
  guardEveryMs?: number | undefined;
}

export const USAGE_DEFAULTS = {
  rawRetentionMs: 24 * 60 * 60_000,
  pruneEveryMs: 60_000,
  eventsPerSecond: 20_000,
  eventsBurst: 200_000,
  guardEveryMs: 10_000,
} as const;

export function usageSetting<K extends keyof typeof USAGE_DEFAULTS>(settings: UsageSettings | undefined, key: K): number {
  return settings?.[key] ?? USAGE_DEFAULTS[key];
}
