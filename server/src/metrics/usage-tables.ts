/**
 * The tables of migration 010 as Kysely sees them, added to the store's `Database` by
 * declaration merging (as database.ts adds its own), so that usage analytics keeps its
 * definitions beside its code.
 */
import type { Generated } from 'kysely';

type HistogramColumns = { [K in `h${number}`]?: number };

export interface PromptMetricsTable extends HistogramColumns {
  project: string;
  channel: string;
  set_name: string;
  version: string;
  prompt: string;
  /** '' for the base prompt. */
  variant: string;
  /** Minutes since the epoch. */
  minute: number;
  events: number;
  successes: number;
  latency_sum_ms: number;
  latency_max_ms: number;
}

export interface PromptMetricEventTable {
  id: Generated<number>;
  project: string;
  channel: string;
  set_name: string;
  version: string;
  integrity: string;
  prompt: string;
  variant: string | null;
  rollout: number;
  success: number;
  latency_ms: number;
  error: string | null;
  instance_id: string | null;
  /** Milliseconds since the epoch. */
  at: number;
  received_at: number;
}

export interface RolloutGuardTable {
  project: string;
  set_name: string;
  channel: string;
  version: string;
  /** Success-rate points (0..1) the canary may trail the stable version by. */
  margin: number;
  min_samples: number;
  updated_at: string;
}

export interface RolloutPauseTable {
  project: string;
  set_name: string;
  channel: string;
  version: string;
  percent: number;
  reason: string;
  /** JSON: the figures judged. */
  detail: string;
  paused_at: string;
  /** Set when a commit changed the rollout: the pause no longer applies. */
  cleared_at: string | null;
}

declare module '../store/database.ts' {
  interface Database {
    prompt_metrics: PromptMetricsTable;
    prompt_metric_events: PromptMetricEventTable;
    rollout_guards: RolloutGuardTable;
    rollout_pauses: RolloutPauseTable;
  }
}
