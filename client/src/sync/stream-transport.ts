/**
 * The streaming transport (issue 16): for an app with no inbound port (Kubernetes, NAT,
 * serverless), the receiver opens one outbound `GET …/stream` to the forge and reads
 * server-sent events over `fetch` — no dependency, no WebSocket (Node 20 has no stable global
 * one). Each event carries the signed envelope a push would carry; the client checks and applies
 * it on the push path (client.ts), so there is one verifier.
 *
 * This file is the connection's life: connect with `Last-Event-ID` (the envelope the receiver
 * holds, so the forge sends the channel's current envelope only when it differs), read events
 * one at a time, treat a silent connection as dead (the forge sends keep-alive comments), and
 * after any end — the forge restarting, a proxy cutting idle connections, the network — pull
 * once with the ETag (the fallback: nothing is missed while the stream is down) and reconnect
 * after a delay with exponential backoff and full jitter, so that a thousand receivers cut at
 * once do not come back at once. A refused token (401/403) stops it for good.
 */
import { AnvilError } from '@anvil/content-schema';
import { createEventStreamParser, type StreamEvent } from './event-stream.ts';
import { backoffDelay } from './forge-api.ts';

export type StreamState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

export interface StreamStatus {
  state: StreamState;
  /** When the current state began (ISO-8601). */
  since: string;
  /** The envelope id the stream resumes from (`Last-Event-ID`): the last one this receiver holds. */
  lastEventId: string | undefined;
  /** When the last envelope arrived on the stream. */
  lastEventAt: string | undefined;
  /** Connections made so far. */
  connects: number;
  /** Failed or short-lived connections in a row; the next delay grows with it. */
  attempt: number;
  /** While disconnected: when the next connection is tried. */
  nextAttemptAt?: string | undefined;
  /** Why the last connection ended or failed. */
  lastError?: { code: string; message: string } | undefined;
}

export interface StreamBackoff {
  baseMs: number;
  maxMs: number;
  random?: () => number;
}

/** Reconnection delays: full jitter over 250 ms · 2^attempt, at most 30 s. */
export const STREAM_BACKOFF: StreamBackoff = { baseMs: 250, maxMs: 30_000 };

/**
 * The delay before reconnection attempt `attempt` (0 for the first after a drop): a random
 * delay up to `min(maxMs, baseMs · 2^attempt)` (AWS's "full jitter"). Pure but for `random`.
 */
export function streamReconnectDelay(attempt: number, backoff: StreamBackoff = STREAM_BACKOFF): number {
  return backoffDelay(attempt, { baseMs: backoff.baseMs, maxMs: backoff.maxMs, ...(backoff.random ? { random: backoff.random } : {}) });
}

/** A connection that stayed up this long, or carried an envelope, resets the backoff. */
export const STABLE_CONNECTION_MS = 10_000;

export interface StreamTransportOptions {
  /** Opens the stream; resolves with its body once the forge answered 200 (forge-api.ts `stream`). */
  connect(lastEventId: string | undefined, signal: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  /**
   * Handles one event (checked and applied like a push); events are handled one at a time, in
   * order. The receiver moves its `resumeFrom()` on when it holds the envelope.
   */
  onEvent(event: StreamEvent): Promise<void>;
  /** After the stream ended or failed, before the next attempt: the ETag pull. */
  onDisconnected(): Promise<void>;
  /** Before an attempt that follows a 404 (the forge does not know the receiver): register again. */
  register(): Promise<void>;
  /** The envelope id this receiver holds now (from its last pull or event), to resume from. */
  resumeFrom(): string | undefined;
  /** Called for every failure (the app's `error` event). */
  onError(err: unknown): void;
  /** No byte for this long (not even a keep-alive) and the connection counts as dead (default 45 s). */
  idleTimeoutMs?: number | undefined;
  /** An event larger than this ends the connection (the receiver's `maxBodyBytes`, plus headers). */
  maxEventChars: number;
  backoff?: StreamBackoff | undefined;
  /** For tests: how to wait (default setTimeout, unref'd). */
  sleep?: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined;
}

export interface StreamTransport {
  status(): StreamStatus;
  /** Ends the current connection (if any) and connects again at once, resuming as usual. */
  reconnect(): void;
  /** Closes the stream for good. */
  stop(): Promise<void>;
}

export function startStreamTransport(options: StreamTransportOptions): StreamTransport {
  const idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
  const backoff = options.backoff ?? STREAM_BACKOFF;
  const sleep = options.sleep ?? defaultSleep;
  const stopping = new AbortController();
  let connection: AbortController | undefined;
  let waiting: AbortController | undefined;
  let skipWait = false;
  const status: StreamStatus = { state: 'connecting', since: now(), lastEventId: undefined, lastEventAt: undefined, connects: 0, attempt: 0 };

  const enter = (state: StreamState, more: Partial<StreamStatus> = {}) => {
    Object.assign(status, { state, since: now(), nextAttemptAt: undefined }, more);
  };

  /** One connection, from the request to its end; resolves with whether it was stable. */
  async function connectOnce(): Promise<boolean> {
    const abort = new AbortController();
    connection = abort;
    const stop = () => abort.abort();
    stopping.signal.addEventListener('abort', stop);
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => abort.abort(new AnvilError('stream.idle', `nothing came on the stream for ${idleTimeoutMs} ms`)), idleTimeoutMs);
      idle.unref();
    };
    let stable = false;
    const opened = Date.now();
    try {
      const body = await options.connect(options.resumeFrom(), abort.signal);
      enter('connected', { connects: status.connects + 1, lastError: undefined });
      armIdle();
      const events: StreamEvent[] = [];
      const parser = createEventStreamParser({ maxEventChars: options.maxEventChars, onEvent: (e) => events.push(e) });
      const decoder = new TextDecoder('utf-8');
      const reader = body.getReader();
      abort.signal.addEventListener('abort', () => void reader.cancel().catch(() => undefined));
      for (;;) {
        const { done, value } = await reader.read();
        if (done || abort.signal.aborted) break;
        armIdle();
        parser.push(decoder.decode(value, { stream: true }));
        for (const event of events.splice(0)) {
          if (abort.signal.aborted) break;
          await options.onEvent(event);
          status.lastEventAt = now();
          stable = true;
        }
      }
      if (!stopping.signal.aborted && !abort.signal.aborted) status.lastError = { code: 'stream.ended', message: 'the forge ended the stream' };
    } catch (err) {
      if (!stopping.signal.aborted) {
        const reason = abort.signal.aborted && abort.signal.reason instanceof AnvilError ? abort.signal.reason : err;
        const code = (reason as AnvilError).code ?? 'stream.failed';
        // A reconnect() asked for by the client itself is not a failure.
        if (code !== 'stream.reconnect') {
          status.lastError = { code, message: (reason as Error).message };
          if (isPermanent(code)) throw reason;
          options.onError(reason);
        }
      }
    } finally {
      clearTimeout(idle);
      stopping.signal.removeEventListener('abort', stop);
      if (connection === abort) connection = undefined;
    }
    return stable || Date.now() - opened >= STABLE_CONNECTION_MS;
  }

  const run = (async () => {
    while (!stopping.signal.aborted) {
      enter('connecting');
      let stable: boolean;
      try {
        if (status.lastError?.code === 'forge.not-found') await options.register().catch((err: unknown) => options.onError(err));
        stable = await connectOnce();
      } catch (err) {
        enter('stopped');
        options.onError(err);
        return;
      }
      if (stopping.signal.aborted) break;
      if (stable) status.attempt = 0;
      enter('disconnected', { lastError: status.lastError });
      await options.onDisconnected().catch((err: unknown) => options.onError(err));
      if (skipWait) {
        skipWait = false;
        continue;
      }
      const delay = streamReconnectDelay(status.attempt, backoff);
      status.attempt += 1;
      status.nextAttemptAt = new Date(Date.now() + delay).toISOString();
      waiting = new AbortController();
      const wake = waiting;
      const stop = () => wake.abort();
      stopping.signal.addEventListener('abort', stop);
      await sleep(delay, wake.signal).catch(() => undefined);
      stopping.signal.removeEventListener('abort', stop);
      waiting = undefined;
      skipWait = false;
    }
    enter('stopped');
  })();

  return {
    status: () => ({ ...status, lastEventId: options.resumeFrom(), ...(status.lastError ? { lastError: { ...status.lastError } } : {}) }),
    reconnect() {
      skipWait = true;
      connection?.abort(new AnvilError('stream.reconnect', 'reconnecting'));
      waiting?.abort();
    },
    async stop() {
      stopping.abort();
      await run;
    },
  };
}

/** The forge refused who we are: retrying cannot help (the pull loop treats these alike). */
function isPermanent(code: string): boolean {
  return code === 'forge.unauthorized';
}

function now(): string {
  return new Date().toISOString();
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    t.unref();
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
