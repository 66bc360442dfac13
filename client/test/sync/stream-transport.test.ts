/**
 * The streaming transport's life (sync/stream-transport.ts) without a network: the reconnection
 * schedule (exponential, full jitter, capped), that the loop uses it after every drop, pulls
 * while disconnected, resets after a connection that held, resumes from the envelope held, and
 * stops for good on a refused token.
 */
import { expect } from 'chai';
import { AnvilError } from '@anvil/content-schema';
import { STABLE_CONNECTION_MS, STREAM_BACKOFF, startStreamTransport, streamReconnectDelay, type StreamTransportOptions } from '../../src/sync/stream-transport.ts';

describe('the stream reconnection schedule', () => {
  it('draws each delay at random below a cap that doubles from 250 ms up to 30 s', () => {
    const cap = (attempt: number) => streamReconnectDelay(attempt, { ...STREAM_BACKOFF, random: () => 0.999_999 });
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 20, 1_000].map(cap)).to.deep.equal([249, 499, 999, 1_999, 3_999, 7_999, 15_999, 29_999, 29_999, 29_999, 29_999]);
    expect(streamReconnectDelay(5, { ...STREAM_BACKOFF, random: () => 0 })).to.equal(0);
    expect(streamReconnectDelay(3, { ...STREAM_BACKOFF, random: () => 0.5 })).to.equal(1_000);
  });

  it('spreads a thousand receivers cut at once instead of bringing them back together (full jitter)', () => {
    for (const attempt of [0, 3, 10]) {
      const delays = Array.from({ length: 1_000 }, () => streamReconnectDelay(attempt));
      const cap = Math.min(STREAM_BACKOFF.maxMs, STREAM_BACKOFF.baseMs * 2 ** attempt);
      expect(Math.max(...delays)).to.be.below(cap);
      expect(Math.min(...delays)).to.be.at.least(0);
      // Spread over the whole window: a tenth of it holds roughly a tenth of them.
      const first = delays.filter((d) => d < cap / 10).length;
      expect(first).to.be.within(50, 170);
      expect(new Set(delays).size).to.be.above(cap >= 1_000 ? 500 : 100);
    }
  });
});

describe('the stream transport', () => {
  /** A transport whose connections are scripted; sleeps are recorded and return at once. */
  function scripted(script: ((signal: AbortSignal) => Promise<ReadableStream<Uint8Array>>)[], more: Partial<StreamTransportOptions> = {}) {
    const sleeps: number[] = [];
    const resumes: (string | undefined)[] = [];
    const log: string[] = [];
    let held: string | undefined = 'env-0';
    let i = 0;
    let stopRequested: (() => void) | undefined;
    const finished = new Promise<void>((resolve) => (stopRequested = resolve));
    const transport = startStreamTransport({
      connect: async (lastEventId, signal) => {
        resumes.push(lastEventId);
        const step = script[i++];
        if (!step) {
          stopRequested!();
          return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('stopped'))));
        }
        return step(signal);
      },
      onEvent: async (event) => {
        log.push(`event ${event.lastEventId}`);
        held = event.lastEventId;
      },
      onDisconnected: async () => void log.push('pull'),
      register: async () => void log.push('register'),
      resumeFrom: () => held,
      onError: (err) => log.push(`error ${(err as AnvilError).code ?? (err as Error).message}`),
      maxEventChars: 1_000_000,
      backoff: { baseMs: 100, maxMs: 1_000, random: () => 0.5 },
      sleep: async (ms) => void sleeps.push(ms),
      ...more,
    });
    return { transport, sleeps, resumes, log, finished };
  }

  const refused = (code: string) => async () => { throw new AnvilError(code, code); };
  const body = (text: string) => async () => new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      controller.close();
    },
  });

  it('backs off with jitter after each failed attempt, pulling in between, and resumes from what it holds', async () => {
    const { transport, sleeps, resumes, log, finished } = scripted([
      refused('forge.unreachable'), refused('forge.unreachable'), refused('forge.failed'),
      body('id: env-1\nevent: envelope\ndata: x\n\n'),
      refused('forge.unreachable'),
    ]);
    await finished;
    await transport.stop();
    // Half of each cap (random 0.5): 100·2^n / 2, growing while attempts fail, reset by the
    // connection that carried an envelope.
    expect(sleeps).to.deep.equal([50, 100, 200, 50, 100]);
    expect(log.filter((l) => l === 'pull')).to.have.length(5);
    expect(log).to.include('event env-1');
    expect(resumes).to.deep.equal(['env-0', 'env-0', 'env-0', 'env-0', 'env-1', 'env-1']);
    expect(transport.status()).to.include({ state: 'stopped', connects: 1 });
  });

  it('counts a connection that ends at once without an envelope as failed, and one that held as a fresh start', async () => {
    const realNow = Date.now;
    let clock = realNow();
    Date.now = () => clock;
    try {
      const held = async () => {
        clock += STABLE_CONNECTION_MS;
        return body(': keep-alive\n\n')();
      };
      const { transport, sleeps, finished } = scripted([body(''), body(''), held, body('')]);
      await finished;
      await transport.stop();
      expect(sleeps).to.deep.equal([50, 100, 50, 100]);
    } finally {
      Date.now = realNow;
    }
  });

  it('stops for good when the forge refuses the token, and registers again when it does not know the receiver', async () => {
    const { transport, log, sleeps } = scripted([refused('forge.not-found'), refused('forge.unauthorized')]);
    for (let i = 0; i < 100 && transport.status().state !== 'stopped'; i++) await new Promise((r) => setTimeout(r, 5));
    expect(transport.status().state).to.equal('stopped');
    expect(transport.status().lastError?.code).to.equal('forge.unauthorized');
    expect(log).to.deep.equal(['error forge.not-found', 'pull', 'register', 'error forge.unauthorized']);
    expect(sleeps).to.deep.equal([50]);
    await transport.stop();
  });

  it('drops a connection that stays silent longer than the idle timeout', async () => {
    const silent = async (signal: AbortSignal) => new ReadableStream<Uint8Array>({
      start(controller) {
        signal.addEventListener('abort', () => controller.error(signal.reason));
      },
    });
    const { transport, log, finished } = scripted([silent], { idleTimeoutMs: 30 });
    await finished;
    await transport.stop();
    expect(log[0]).to.equal('error stream.idle');
  });
});
