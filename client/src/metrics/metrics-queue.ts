/**
 * Usage metrics on their way to the forge (issue 17), off the render path: `record()` only
 * appends to a bounded queue or adds to a bounded table; batches leave on an unref'd timer, or
 * sooner once a batch is full, one request at a time. Nothing here throws into the app, waits,
 * or grows without bound: what cannot be kept is dropped and counted, and a batch the forge does
 * not take after a bounded retry is dropped and counted too; failures go to `onError`.
 *
 * The first `rawPerFlush` reports of each flush interval are kept as raw events (the forge keeps
 * those for a while, error codes included). Past that, a report is folded into an aggregate per
 * (integrity, prompt, variant, rollout, minute) — a Map lookup and a few additions, nothing
 * retained — holding what the forge would have summed from the same events (the count,
 * successes, latency sum and maximum, latency histogram), so analytics come out the same.
 */
import { addCall, callsInBatch, emptyHistogram, METRICS_BATCH_LIMITS, type MetricsAggregate, type MetricsBatch, type MetricsEvent } from '@anvil/content-schema';
import type { PromptTrack } from '../store/store-snapshot.ts';
import { metricsEventOf, type MetricsReport } from './report-metrics.ts';

const MINUTE_MS = 60_000;

export interface MetricsQueueOptions {
  /** Sends one batch (the forge's `POST …/metrics`); rejects on failure. */
  send(batch: MetricsBatch): Promise<void>;
  channel: MetricsBatch['channel'];
  instanceId(): string;
  /** Raw events held at most (default 10,000): memory stays bounded while the forge is away. */
  maxQueued?: number | undefined;
  /** Raw events per request (default 500; the forge takes up to 1,000). */
  batchSize?: number | undefined;
  /** A partial batch leaves after this long (default 5 s); also the window of `rawPerFlush`. */
  flushMs?: number | undefined;
  /**
   * Reports kept as raw events per flush interval (default 1,000, i.e. 200 a second); the
   * interval's later reports, and any while the raw queue is full, are folded into aggregates.
   */
  rawPerFlush?: number | undefined;
  /** Aggregates held at most (default 1,000); a report that would need another one is dropped. */
  maxAggregates?: number | undefined;
  /** Retries of a batch after a failure that may pass (default 2), with backoff from `retryBaseMs` (default 500 ms). */
  retries?: number | undefined;
  retryBaseMs?: number | undefined;
  onError?: ((err: unknown) => void) | undefined;
}

export interface MetricsQueueStats {
  /** Reports waiting to be sent, raw or folded. */
  queued: number;
  /** Reports the forge took, raw or folded. */
  sent: number;
  /** Reports folded into aggregates rather than kept as raw events. */
  folded: number;
  /** Reports dropped: nowhere to keep them, or their batch could not be delivered. */
  dropped: number;
  failedBatches: number;
}

export class MetricsQueue {
  private queue: MetricsEvent[] = [];
  /** Folded reports waiting to be sent, by integrity, prompt, variant, rollout and minute. */
  private folded = new Map<string, MetricsAggregate>();
  private readonly maxQueued: number;
  private readonly batchSize: number;
  private readonly rawPerFlush: number;
  private readonly maxAggregates: number;
  /** Raw events taken since the flush interval began. */
  private rawInWindow = 0;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private closed = false;
  private sent = 0;
  private foldedTotal = 0;
  /** Reports in `folded`, waiting to be sent. */
  private foldedWaiting = 0;
  private dropped = 0;
  /** Drops not yet told to the forge (sent with the next batch that arrives). */
  private unreported = 0;
  private failedBatches = 0;

  constructor(private readonly options: MetricsQueueOptions) {
    this.maxQueued = Math.max(1, options.maxQueued ?? 10_000);
    this.batchSize = Math.max(1, Math.min(METRICS_BATCH_LIMITS.events, options.batchSize ?? 500));
    this.rawPerFlush = Math.max(0, options.rawPerFlush ?? 1_000);
    this.maxAggregates = Math.max(1, options.maxAggregates ?? 1_000);
  }

  /** Takes a checked report of a call `served` as `track()` says; O(1), no I/O. */
  record(served: PromptTrack, report: MetricsReport): void {
    if (this.closed) {
      this.drop(1);
      return;
    }
    const at = Math.floor(report.at ?? Date.now());
    if (this.rawInWindow < this.rawPerFlush && this.queue.length < this.maxQueued) {
      this.rawInWindow++;
      this.queue.push(metricsEventOf(served, report, at));
      if (this.queue.length >= this.batchSize) this.sendSoon();
    } else if (!this.fold(served, report, at)) {
      this.drop(1);
      return;
    }
    if (this.timer === undefined) {
      this.timer = setInterval(() => {
        this.rawInWindow = 0;
        void this.flush();
      }, this.options.flushMs ?? 5_000);
      this.timer.unref();
    }
  }

  stats(): MetricsQueueStats {
    return { queued: this.queue.length + this.foldedWaiting, sent: this.sent, folded: this.foldedTotal, dropped: this.dropped, failedBatches: this.failedBatches };
  }

  /** Sends what is queued and folded now, batch by batch; resolves when done (never rejects). */
  flush(): Promise<void> {
    if (this.sending) return this.sending;
    if (this.queue.length === 0 && this.folded.size === 0) return Promise.resolve();
    this.sending = this.drain().finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  /** Stops taking reports and sends what is queued (each batch with its bounded retry). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    await this.sending;
    await this.flush();
  }

  /** Adds a report to its aggregate; false when there is no room for it. */
  private fold(served: PromptTrack, report: MetricsReport, at: number): boolean {
    const minute = Math.floor(at / MINUTE_MS);
    // The integrity names the set and version; a variant name is never empty.
    const key = `${served.integrity}\u0000${served.id}\u0000${served.variant ?? ''}\u0000${served.rollout ? 1 : 0}\u0000${minute}`;
    let aggregate = this.folded.get(key);
    if (aggregate === undefined) {
      if (this.folded.size >= this.maxAggregates) return false;
      aggregate = {
        set: served.set, version: served.version, integrity: served.integrity, prompt: served.id, variant: served.variant, rollout: served.rollout,
        minute, events: 0, successes: 0, latencySumMs: 0, latencyMaxMs: 0, histogram: emptyHistogram(),
      };
      this.folded.set(key, aggregate);
      if (this.folded.size >= this.maxAggregates) this.sendSoon();
    } else if (aggregate.events >= METRICS_BATCH_LIMITS.eventsPerAggregate) {
      return false;
    }
    addCall(aggregate, report.success, report.latency_ms);
    this.foldedTotal++;
    this.foldedWaiting++;
    return true;
  }

  /** A full batch leaves on the next turn of the event loop, not inside the caller's call. */
  private sendSoon(): void {
    if (this.soon !== undefined || this.sending !== undefined) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.flush();
    }, 0);
    this.soon.unref();
  }

  private async drain(): Promise<void> {
    // Only what is waiting when the drain starts: a steady stream of reports cannot keep it going.
    let rounds = Math.max(Math.ceil(this.queue.length / this.batchSize), Math.ceil(this.folded.size / METRICS_BATCH_LIMITS.aggregates));
    while (rounds-- > 0 && (this.queue.length > 0 || this.folded.size > 0)) {
      const events = this.queue.splice(0, this.batchSize);
      const aggregates = this.takeAggregates(METRICS_BATCH_LIMITS.aggregates);
      const calls = callsInBatch({ events, aggregates });
      this.foldedWaiting -= calls - events.length;
      const dropped = this.unreported;
      const batch: MetricsBatch = {
        channel: this.options.channel, instanceId: this.options.instanceId(), events,
        ...(aggregates.length > 0 ? { aggregates } : {}), ...(dropped > 0 ? { dropped } : {}),
      };
      if (await this.sendWithRetry(batch)) {
        this.sent += calls;
        this.unreported -= dropped;
      } else {
        this.failedBatches++;
        this.drop(calls);
        // The forge is away: what is still waiting goes with the next tick, or is dropped as it fills.
        return;
      }
    }
  }

  /** Up to `n` aggregates, out of the table: reports folded from now on start new ones. */
  private takeAggregates(n: number): MetricsAggregate[] {
    const taken: MetricsAggregate[] = [];
    for (const [key, aggregate] of this.folded) {
      if (taken.length >= n) break;
      taken.push(aggregate);
      this.folded.delete(key);
    }
    return taken;
  }

  private async sendWithRetry(batch: MetricsBatch): Promise<boolean> {
    const retries = this.options.retries ?? 2;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.options.send(batch);
        return true;
      } catch (err) {
        if (attempt >= retries || !mayPass(err) || this.closed && attempt >= 1) {
          this.options.onError?.(err);
          return false;
        }
        const base = this.options.retryBaseMs ?? 500;
        await new Promise<void>((resolve) => setTimeout(resolve, Math.floor(Math.random() * base * 2 ** attempt)).unref());
      }
    }
  }

  private drop(n: number): void {
    this.dropped += n;
    this.unreported += n;
  }
}

/** A failure that may pass (the forge is down, busy or rate-limits): worth one more try. */
function mayPass(err: unknown): boolean {
  const e = err as { code?: string; details?: { status?: number } } | undefined;
  if (e?.code === 'forge.unreachable') return true;
  const status = e?.details?.status;
  return status === undefined || status === 429 || status >= 500;
}
