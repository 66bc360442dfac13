/**
 * What a LIVE receiver sends the forge about the calls it served (issue 17, usage analytics):
 * `POST /api/v1/projects/:project/metrics` with a batch of events, each naming the set, version,
 * integrity and variant that served one call (as `anvil.track()` says) and how the call went.
 * No key, no variables, no text of the prompt or of the answer: only what analytics compares.
 *
 * A client reporting faster than it may send raw events folds the rest into `aggregates`: per
 * (integrity, prompt, variant, rollout, minute) the count, the successes, the latency sum and
 * maximum and the latency histogram (latency-histogram.ts) — what the forge would have summed
 * from the same events, so the analytics are the same either way; error codes are only sent
 * with raw events.
 */
import { Type, type Static } from '@sinclair/typebox';
import { LATENCY_BUCKETS } from '../latency-histogram.ts';
import { ChannelName, Integrity, LIMITS, PromptId, SemverVersion, SetName, VariantName } from './common.ts';

export const METRICS_BATCH_LIMITS = {
  /** Events in one batch; the client sends at most this many per request. */
  events: 1_000,
  /** Aggregates in one batch (each a few hundred bytes, like an event). */
  aggregates: 1_000,
  /** Calls one aggregate may count: its latency sum stays an exact integer of ms below 2^53. */
  eventsPerAggregate: 100_000_000,
  /** A call's latency is at most a day: anything longer is a clock or unit mistake. */
  latencyMs: 86_400_000,
  /** The error code an app may attach to a failed call (`timeout`, `schema`…). */
  errorCode: 64,
} as const;

export const MetricsEventSchema = Type.Object(
  {
    set: SetName({ title: 'Set' }),
    version: SemverVersion({ title: 'Version', description: 'The version of the set that served the call.' }),
    integrity: Integrity({ title: 'Integrity', description: 'The integrity of the bundle that served the call.' }),
    prompt: PromptId({ title: 'Prompt', description: 'The prompt id within the set (e.g. "welcome.message").' }),
    variant: Type.Union([VariantName(), Type.Null()], { title: 'Variant', description: 'The variant served, or null for the base prompt.' }),
    rollout: Type.Boolean({ title: 'Rollout', description: 'True when the version served is the one being rolled out on the channel.' }),
    success: Type.Boolean({ title: 'Success', description: 'Whether the app counts the call as a success.' }),
    latencyMs: Type.Number({ minimum: 0, maximum: METRICS_BATCH_LIMITS.latencyMs, title: 'Latency (ms)' }),
    at: Type.Integer({ minimum: 0, title: 'When', description: 'When the call ended, in milliseconds since the epoch (the forge takes its own clock when this is far off).' }),
    error: Type.Optional(Type.String({ minLength: 1, maxLength: METRICS_BATCH_LIMITS.errorCode, pattern: '^[A-Za-z0-9_.:-]+$', title: 'Error code' })),
  },
  { additionalProperties: false, title: 'Anvil metrics event' },
);

/** Calls folded into one aggregate by the client: all served alike, in the same minute. */
export const MetricsAggregateSchema = Type.Object(
  {
    set: SetName({ title: 'Set' }),
    version: SemverVersion({ title: 'Version', description: 'The version of the set that served the calls.' }),
    integrity: Integrity({ title: 'Integrity', description: 'The integrity of the bundle that served the calls.' }),
    prompt: PromptId({ title: 'Prompt', description: 'The prompt id within the set (e.g. "welcome.message").' }),
    variant: Type.Union([VariantName(), Type.Null()], { title: 'Variant', description: 'The variant served, or null for the base prompt.' }),
    rollout: Type.Boolean({ title: 'Rollout', description: 'True when the version served is the one being rolled out on the channel.' }),
    minute: Type.Integer({ minimum: 0, title: 'Minute', description: 'The minute the calls ended in, in minutes since the epoch (the forge takes its own clock when this is far off).' }),
    events: Type.Integer({ minimum: 1, maximum: METRICS_BATCH_LIMITS.eventsPerAggregate, title: 'Calls' }),
    successes: Type.Integer({ minimum: 0, maximum: METRICS_BATCH_LIMITS.eventsPerAggregate, title: 'Successes', description: 'The calls the app counted as a success.' }),
    latencySumMs: Type.Number({ minimum: 0, maximum: METRICS_BATCH_LIMITS.eventsPerAggregate * METRICS_BATCH_LIMITS.latencyMs, title: 'Latency sum (ms)' }),
    latencyMaxMs: Type.Number({ minimum: 0, maximum: METRICS_BATCH_LIMITS.latencyMs, title: 'Largest latency (ms)' }),
    histogram: Type.Array(Type.Integer({ minimum: 0, maximum: METRICS_BATCH_LIMITS.eventsPerAggregate }), {
      minItems: LATENCY_BUCKETS, maxItems: LATENCY_BUCKETS, title: 'Latency histogram',
      description: `The calls per latency bucket: ${LATENCY_BUCKETS} counts, bucket i holding latencies up to 2^(i/2) ms, the last one everything longer.`,
    }),
  },
  { additionalProperties: false, title: 'Anvil metrics aggregate' },
);

export const MetricsBatchSchema = Type.Object(
  {
    channel: ChannelName({ description: 'The channel of the receiver that served the calls.' }),
    instanceId: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.shortText, pattern: '^[!-~]+$', title: 'Instance id' })),
    /** Events the client dropped (queue full, forge down) since its last batch that arrived. */
    dropped: Type.Optional(Type.Integer({ minimum: 0, title: 'Dropped', description: 'Events the receiver dropped since its previous batch (queue full or forge unreachable).' })),
    events: Type.Array(MetricsEventSchema, { maxItems: METRICS_BATCH_LIMITS.events, title: 'Events', description: 'Calls sent one by one (empty when all were folded into aggregates).' }),
    aggregates: Type.Optional(Type.Array(MetricsAggregateSchema, { maxItems: METRICS_BATCH_LIMITS.aggregates, title: 'Aggregates', description: 'Calls the receiver folded, per prompt, side, variant and minute, when it reported faster than it sends raw events.' })),
  },
  {
    title: 'Anvil metrics batch',
    description: 'The body of POST /api/v1/projects/:project/metrics: how calls served by a LIVE receiver went, per set version and variant.',
    additionalProperties: false,
  },
);

/** One served call, as reported. */
export type MetricsEvent = Static<typeof MetricsEventSchema>;
/** Reported calls folded together. */
export type MetricsAggregate = Static<typeof MetricsAggregateSchema>;
/** A batch of reported calls. */
export type MetricsBatch = Static<typeof MetricsBatchSchema>;
