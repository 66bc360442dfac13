/**
 * Syncs run one at a time per project, and a burst of webhooks (a push of a branch and three
 * tags is four deliveries) coalesces into at most one more sync after the running one: each
 * sync reconciles everything, so the later requests need only the next run, not one each.
 */
export class SyncQueue<T> {
  private readonly running = new Map<string, Promise<T>>();
  private readonly queued = new Map<string, Promise<T>>();

  constructor(private readonly run: (key: string) => Promise<T>) {}

  request(key: string): Promise<T> {
    const queued = this.queued.get(key);
    if (queued) return queued;
    const running = this.running.get(key);
    if (!running) return this.start(key);
    const next = running.catch(() => undefined).then(() => {
      this.queued.delete(key);
      return this.start(key);
    });
    this.queued.set(key, next);
    return next;
  }

  /** Resolves when no sync is running or queued. */
  async idle(): Promise<void> {
    while (this.running.size > 0 || this.queued.size > 0) {
      await Promise.allSettled([...this.running.values(), ...this.queued.values()]);
    }
  }

  private start(key: string): Promise<T> {
    const p = this.run(key).finally(() => {
      if (this.running.get(key) === p) this.running.delete(key);
    });
    this.running.set(key, p);
    return p;
  }
}
