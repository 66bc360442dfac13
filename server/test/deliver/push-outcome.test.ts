/**
 * DESIGN.md §8's table, row by row: a receiver's answer → what the forge does.
 */
import { expect } from 'chai';
import { decidePushOutcome, retryAfterMs, type OutcomeClock, type ReceiverAnswer } from '../../src/deliver/push-outcome.ts';

const now = Date.parse('2026-11-21T12:00:00.000Z');
const clock: OutcomeClock = { attempt: 1, now, expiresAt: now + 24 * 3600_000, backoff: { baseMs: 1_000, maxMs: 600_000, random: () => 0.5 } };

describe('push outcome (DESIGN.md §8 table)', () => {
  const rows: { answer: ReceiverAnswer; expect: Record<string, unknown> }[] = [
    { answer: { status: 200, code: 'applied', versions: { onboarding: '1.2.0' } }, expect: { kind: 'final', state: 'delivered', code: 'applied', alert: false, deregister: false, versions: { onboarding: '1.2.0' } } },
    { answer: { status: 200, code: 'duplicate' }, expect: { kind: 'final', state: 'delivered', code: 'duplicate' } },
    { answer: { status: 204 }, expect: { kind: 'final', state: 'delivered', code: 'http.204' } },
    { answer: { status: 400, code: 'push.malformed', reason: 'not JSON' }, expect: { kind: 'final', state: 'failed', code: 'push.malformed', reason: 'not JSON', alert: false } },
    { answer: { status: 422, code: 'push.integrity', reason: 'bundle x does not match' }, expect: { kind: 'final', state: 'failed', code: 'push.integrity', reason: 'bundle x does not match', alert: false } },
    { answer: { status: 401, code: 'push.token', reason: 'wrong token' }, expect: { kind: 'final', state: 'failed', code: 'push.token', alert: true } },
    { answer: { status: 403, code: 'webhook.window', reason: 'outside the window' }, expect: { kind: 'final', state: 'failed', code: 'webhook.window', alert: true } },
    { answer: { status: 409, code: 'frozen', reason: 'frozen' }, expect: { kind: 'final', state: 'frozen', code: 'frozen', alert: false } },
    { answer: { status: 409, code: 'stale', reason: 'has 1.3.0' }, expect: { kind: 'final', state: 'stale', code: 'stale' } },
    { answer: { status: 410 }, expect: { kind: 'final', state: 'gone', deregister: true, code: 'http.410' } },
    { answer: { status: 413, code: 'push.too-large' }, expect: { kind: 'final', state: 'failed', code: 'push.too-large', alert: false } },
    { answer: { status: 429, retryAfter: '30' }, expect: { kind: 'retry', nextAttemptAt: now + 30_000, delay: 'retry-after', status: 429 } },
    { answer: { status: 503, code: 'busy', retryAfter: 'Sat, 21 Nov 2026 12:02:00 GMT' }, expect: { kind: 'retry', nextAttemptAt: now + 120_000, delay: 'retry-after', code: 'busy' } },
    { answer: { status: 503 }, expect: { kind: 'retry', nextAttemptAt: now + 500, delay: 'backoff' } },
    { answer: { status: 429, retryAfter: 'soon' }, expect: { kind: 'retry', nextAttemptAt: now + 500, delay: 'backoff' } },
    { answer: { status: 500, code: 'internal' }, expect: { kind: 'retry', nextAttemptAt: now + 500, delay: 'backoff', status: 500 } },
    { answer: { status: 404 }, expect: { kind: 'retry', code: 'http.404', delay: 'backoff' } },
    { answer: { status: 409, code: 'conflict' }, expect: { kind: 'retry', code: 'conflict' } },
    { answer: { error: 'ECONNREFUSED' }, expect: { kind: 'retry', status: null, code: 'unreachable', delay: 'backoff' } },
    { answer: { error: 'no answer within 10000 ms', timedOut: true }, expect: { kind: 'retry', status: null, code: 'timeout' } },
  ];
  for (const row of rows) {
    const label = row.answer.status === undefined ? `no answer (${row.answer.error})` : `${row.answer.status}${row.answer.code ? ` ${row.answer.code}` : ''}${row.answer.retryAfter ? ` Retry-After: ${row.answer.retryAfter}` : ''}`;
    it(`${label} → ${String(row.expect['kind'])} ${String(row.expect['state'] ?? '')}`.trim(), () => {
      expect(decidePushOutcome(row.answer, clock)).to.deep.include(row.expect);
    });
  }

  it('backs off exponentially with full jitter, up to the cap', () => {
    const at = (attempt: number, random: number) => decidePushOutcome({ status: 500 }, { ...clock, attempt, backoff: { baseMs: 1_000, maxMs: 600_000, random: () => random } });
    expect(at(1, 0.999)).to.include({ nextAttemptAt: now + 999 });
    expect(at(4, 0.999)).to.include({ nextAttemptAt: now + 7_992 });
    expect(at(30, 0.5)).to.include({ nextAttemptAt: now + 300_000 });
    expect(at(4, 0)).to.include({ nextAttemptAt: now });
  });

  it('gives up as "expired" when the next try would fall after the delivery\'s expiry (a day)', () => {
    const late = { ...clock, attempt: 17, expiresAt: now + 1_000 };
    const outcome = decidePushOutcome({ status: 503 }, late);
    expect(outcome).to.include({ kind: 'final', state: 'failed', code: 'expired', status: 503 });
    expect(outcome.reason).to.match(/gave up after 17 attempts: the delivery expired \(last: the receiver is unavailable\)/);
    expect(decidePushOutcome({ status: 429, retryAfter: '7200' }, { ...clock, expiresAt: now + 3_600_000 })).to.include({ state: 'failed', code: 'expired' });
    expect(decidePushOutcome({ error: 'ECONNRESET' }, { ...clock, expiresAt: now })).to.include({ state: 'failed', code: 'expired', status: null });
  });

  it('reads Retry-After as seconds or an HTTP date, and ignores anything else', () => {
    expect(retryAfterMs('0', now)).to.equal(0);
    expect(retryAfterMs(' 120 ', now)).to.equal(120_000);
    expect(retryAfterMs('Sat, 21 Nov 2026 11:00:00 GMT', now)).to.equal(0);
    expect(retryAfterMs('-5', now)).to.equal(undefined);
    expect(retryAfterMs('1.5', now)).to.equal(undefined);
    expect(retryAfterMs('tomorrow-ish', now)).to.equal(undefined);
  });
});
