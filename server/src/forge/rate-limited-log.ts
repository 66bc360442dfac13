/**
 * Log lines that anyone on the network can cause (a refused webhook, a bad signature) must not
 * let them fill the disk: per key, at most one line per interval is written; the ones held back
 * are counted, and the count is written once the interval is over (issue 14).
 *
 *   const refusals = rateLimitedLog(ctx.logger, { intervalMs: 60_000 });
 *   refusals.log('warn', `github:${project}:signature-invalid`, { project, ip }, 'webhook refused');
 *
 * Keys must come from a bounded set (known project names, fixed reasons), never from what a
 * caller sent; as a backstop, past `maxKeys` distinct keys every new key shares one overflow key.
 */
import type { Logger } from './logger.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface RateLimitedLogOptions {
  /** At most one line per key this often (default 60 s). */
  intervalMs?: number;
  /** Distinct keys tracked at once (default 1,000). */
  maxKeys?: number;
}

export interface RateLimitedLog {
  /** Writes the line unless one with `key` was written less than the interval ago; true when written. */
  log(level: LogLevel, key: string, fields: Record<string, unknown>, message: string): boolean;
  /** Writes the counts held back so far now (for shutdown and tests). */
  flush(): void;
}

interface KeyState {
  windowEnds: number;
  suppressed: number;
  /** The last line held back: the summary repeats its fields. */
  last?: { level: LogLevel; fields: Record<string, unknown>; message: string };
  timer?: NodeJS.Timeout;
}

export const OVERFLOW_KEY = '(overflow)';

export function rateLimitedLog(logger: Logger, options: RateLimitedLogOptions = {}): RateLimitedLog {
  const intervalMs = options.intervalMs ?? 60_000;
  const maxKeys = options.maxKeys ?? 1_000;
  const states = new Map<string, KeyState>();

  const summarise = (key: string, state: KeyState): void => {
    clearTimeout(state.timer);
    delete state.timer;
    const { last, suppressed } = state;
    if (!last || suppressed === 0) return;
    state.suppressed = 0;
    delete state.last;
    // The summary opens the next interval, so a steady flood writes one line per interval.
    state.windowEnds = Date.now() + intervalMs;
    logger[last.level]({ ...last.fields, suppressed, suppressedForMs: intervalMs, rateLimitKey: key }, `${last.message} (${suppressed} more like it held back)`);
  };

  const forget = (now: number): void => {
    for (const [key, state] of states) {
      if (state.windowEnds <= now && state.suppressed === 0) states.delete(key);
    }
  };

  return {
    log(level, key, fields, message) {
      const now = Date.now();
      if (!states.has(key) && states.size >= maxKeys) {
        forget(now);
        if (states.size >= maxKeys) key = OVERFLOW_KEY;
      }
      const state = states.get(key);
      if (state === undefined || (now >= state.windowEnds && state.suppressed === 0)) {
        states.set(key, { windowEnds: now + intervalMs, suppressed: 0 });
        logger[level](fields, message);
        return true;
      }
      state.suppressed += 1;
      state.last = { level, fields, message };
      if (state.timer === undefined) {
        state.timer = setTimeout(() => summarise(key, state), Math.max(0, state.windowEnds - now));
        // A pending summary must not keep a process alive that has nothing else to do.
        state.timer.unref();
      }
      return false;
    },
    flush() {
      for (const [key, state] of states) summarise(key, state);
    },
  };
}
