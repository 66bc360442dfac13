/**
 * Usage metrics on their way to the forge (issue 17), off the render path: `record()` only
 * appends to a bounded queue; batches leave on an unref'd timer, or sooner once a batch is full,
 * one request at a time. When the queue is full new events are dropped and counted, never
 * waited for; a batch the forge does not take after a bounded retry is dropped and counted
 * too. Nothing here throws into the app: failures go to `onError`.
 */
import type { MetricsBatch, MetricsEvent } from '@anvil/content-schema';

export interface MetricsQueueOptions {
  /** Sends one batch (the forge's `POST …/metrics`); rejects on failure. */
  send(batch: MetricsBatch): Promise<void>;
  channel: MetricsBatch['channel'];
  instanceId(): string;
  /** Events held at most (default 10,000): memory stays bounded while the forge is away. */
  maxQueued?: number | undefined;
  /** Events per request (default 500; the forge takes up to 1,000). */
  batchSize?: number | undefined;
  /** A partial batch leaves after this long (default 5 s). */
  flushMs?: number | undefined;
  /** Retries of a batch after a failure that may pass (default 2), with backoff from `retryBaseMs` (default 500 ms). */
  retries?: number | undefined;
  retryBaseMs?: number | undefined;
  onError?: ((err: unknown) => void) | undefined;
}

export interface MetricsQueueStats {
  queued: number;
  sent: number;
  /** Events dropped: the queue was full, or their batch could not be delivered. */
  dropped: number;
  failedBatches: number;
}

export class MetricsQueue {
  private queue: MetricsEvent[] = [];
  private readonly maxQueued: number;
  private readonly batchSize: number;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private closed = false;
  private sent = 0;
  private dropped = 0;
  /** Drops not yet told to the forge (sent with the next batch that arrives). */
  private unreported = 0;
  private failedBatches = 0;

  constructor(private readonly options: MetricsQueueOptions) {
    this.maxQueued = Math.max(1, options.maxQueued ?? 10_000);
    this.batchSize = Math.max(1, Math.min(1_000, options.batchSize ?? 500));
  }

  /** Takes an event; O(1), no I/O. */
  record(event: MetricsEvent): void {
    if (this.closed || this.queue.length >= this.maxQueued) {
      this.drop(1);
      return;
    }
    this.queue.push(event);
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.flush(), this.options.flushMs ?? 5_000);
      this.timer.unref();
    }
    // A full batch leaves on the next turn of the event loop, not inside the caller's call.
    if (this.queue.length >= this.batchSize && this.soon === undefined && this.sending === undefined) {
      this.soon = setTimeout(() => {
        this.soon = undefined;
        void this.flush();
      }, 0);
      this.soon.unref();
    }
  }

  stats(): MetricsQueueStats {
    return { queued: this.queue.length, sent: this.sent, dropped: this.dropped, failedBatches: this.failedBatches };
  }

  /** Sends what is queued now, batch by batch; resolves when done (never rejects). */
  flush(): Promise<void> {
    if (this.sending) return this.sending;
    if (this.queue.length === 0) return Promise.resolve();
    this.sending = this.drain().finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  /** Stops taking events and sends what is queued (each batch with its bounded retry). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    await this.sending;
    await this.flush();
  }

  private async drain(): Promise<void> {
    // Only what is queued when the drain starts: a steady stream of events cannot keep it going.
    let rounds = Math.ceil(this.queue.length / this.batchSize);
    while (rounds-- > 0 && this.queue.length > 0) {
      const events = this.queue.splice(0, this.batchSize);
      const dropped = this.unreported;
      const batch: MetricsBatch = { channel: this.options.channel, instanceId: this.options.instanceId(), events, ...(dropped > 0 ? { dropped } : {}) };
      if (await this.sendWithRetry(batch)) {
        this.sent += events.length;
        this.unreported -= dropped;
      } else {
        this.failedBatches++;
        this.drop(events.length);
        // The forge is away: what is still queued waits for the next tick, or is dropped as it fills.
        return;
      }
    }
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
