/**
 * A receiver's answer to one push → what the forge does next, exactly as DESIGN.md §8's table
 * says. Pure: the answer, the attempt number and the clock in, a decision out; the push worker
 * does the I/O and delivery-queue.ts writes the decision down.
 *
 * Where the table is silent:
 * - any 2xx counts as delivered (Standard Webhooks treats every 2xx as success; our receivers
 *   answer 200);
 * - a 409 whose code is neither `frozen` nor `stale` is a fault like any other, and is retried;
 * - a retry that could only happen after the delivery expires (a day after it was queued) is not
 *   scheduled: the delivery fails as `expired`, keeping the last fault as its reason;
 * - a 3xx is not followed (a redirect could lead to an address the forge refuses): a fault.
 */
import { backoffDelay } from '@anvil/client';

/** What came back from one push: an HTTP answer, or none at all. */
export type ReceiverAnswer =
  | {
    status: number;
    /** `code` of the receiver's JSON answer (`applied`, `frozen`, `stale`, `push.token`…). */
    code?: string | undefined;
    reason?: string | undefined;
    /** The `Retry-After` header as sent: seconds, or an HTTP date. */
    retryAfter?: string | undefined;
    /** Versions the receiver says it serves now (our receivers send them with a 200 `applied`). */
    versions?: Record<string, string> | undefined;
  }
  | {
    status?: undefined;
    /** Connection refused, reset, DNS… or `timeout` when the receiver did not answer in time. */
    error: string;
    timedOut?: boolean | undefined;
  };

/** Final states of a delivery (DeliveryState minus `pending` and `superseded`). */
export type FinalState = 'delivered' | 'failed' | 'frozen' | 'stale' | 'gone';

export type PushOutcome =
  | {
    kind: 'final';
    state: FinalState;
    status: number | null;
    code: string;
    reason: string;
    /** 401/403: the forge's token or signature is refused, which a person must look at. */
    alert: boolean;
    /** 410: the receiver is gone; deregister it and drop its other pending deliveries. */
    deregister: boolean;
    versions?: Record<string, string> | undefined;
  }
  | {
    kind: 'retry';
    /** Epoch milliseconds. */
    nextAttemptAt: number;
    status: number | null;
    code: string;
    reason: string;
    /** Whether the receiver named the delay (Retry-After) or backoff chose it. */
    delay: 'retry-after' | 'backoff';
  };

export interface BackoffOptions {
  baseMs?: number | undefined;
  maxMs?: number | undefined;
  random?: (() => number) | undefined;
}

export interface OutcomeClock {
  /** 1 for the first push of a delivery, 2 for its first retry… */
  attempt: number;
  now: number;
  /** When the delivery stops being retried (epoch ms). */
  expiresAt: number;
  backoff?: BackoffOptions | undefined;
}

/** Backoff for the forge: a first retry within a second, growing to at most 10 minutes. */
export const PUSH_BACKOFF = { baseMs: 1_000, maxMs: 600_000 } as const;

export function decidePushOutcome(answer: ReceiverAnswer, clock: OutcomeClock): PushOutcome {
  if (answer.status === undefined) {
    return retry(clock, null, answer.timedOut ? 'timeout' : 'unreachable', answer.timedOut ? `no answer in time (${answer.error})` : `no answer: ${answer.error}`, undefined);
  }
  const { status } = answer;
  const code = answer.code ?? `http.${status}`;
  const reason = answer.reason ?? '';
  const final = (state: FinalState, more: { alert?: boolean; deregister?: boolean; reason?: string } = {}): PushOutcome => ({
    kind: 'final', state, status, code, reason: more.reason ?? reason, alert: more.alert ?? false, deregister: more.deregister ?? false,
    ...(state === 'delivered' && answer.versions ? { versions: answer.versions } : {}),
  });

  if (status >= 200 && status < 300) return final('delivered');
  switch (status) {
    case 400:
    case 422:
      return final('failed', { reason: reason || (status === 400 ? 'the receiver could not read the push' : 'the receiver refused the envelope') });
    case 401:
    case 403:
      return final('failed', { alert: true, reason: reason || 'the receiver refused the forge\'s token or request signature' });
    case 409:
      if (answer.code === 'frozen') return final('frozen');
      if (answer.code === 'stale') return final('stale');
      break;
    case 410:
      return final('gone', { deregister: true, reason: reason || 'the receiver is gone' });
    case 413:
      return final('failed', { reason: reason || 'the envelope is too large for this receiver' });
    case 429:
    case 503:
      return retry(clock, status, code, reason || (status === 429 ? 'the receiver is busy' : 'the receiver is unavailable'), answer.retryAfter);
  }
  // A redirect is not followed (it could lead anywhere, the token with it: issue 14); like any
  // other unexpected answer it is a fault, retried in case the receiver is being moved.
  if (status >= 300 && status < 400) return retry(clock, status, code, reason || `the receiver answered ${status}, a redirect, which the forge does not follow: register the URL it redirects to`, undefined);
  return retry(clock, status, code, reason || `the receiver answered ${status}`, undefined);
}

function retry(clock: OutcomeClock, status: number | null, code: string, reason: string, retryAfter: string | undefined): PushOutcome {
  const named = retryAfter === undefined ? undefined : retryAfterMs(retryAfter, clock.now);
  const delay = named ?? backoffDelay(clock.attempt - 1, {
    baseMs: clock.backoff?.baseMs ?? PUSH_BACKOFF.baseMs,
    maxMs: clock.backoff?.maxMs ?? PUSH_BACKOFF.maxMs,
    ...(clock.backoff?.random ? { random: clock.backoff.random } : {}),
  });
  const nextAttemptAt = clock.now + delay;
  if (nextAttemptAt >= clock.expiresAt) {
    return {
      kind: 'final', state: 'failed', status, code: 'expired', alert: false, deregister: false,
      reason: `gave up after ${clock.attempt} attempt${clock.attempt === 1 ? '' : 's'}: the delivery expired (last: ${reason})`,
    };
  }
  return { kind: 'retry', nextAttemptAt, status, code, reason, delay: named === undefined ? 'backoff' : 'retry-after' };
}

/**
 * `Retry-After` (RFC 9110 §10.2.3): a number of seconds, or an HTTP date. Anything else is
 * ignored and backoff decides, so a garbled header cannot stall a delivery forever.
 */
export function retryAfterMs(value: string, now: number): number | undefined {
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
