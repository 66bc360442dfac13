/**
 * Events between the forge replicas that share a store (issue 16): a replica publishes on a
 * named channel, and every subscriber of that channel on every replica — this one included —
 * is called with the payload. On PostgreSQL it is LISTEN/NOTIFY; on SQLite, where one forge
 * process owns the store, an in-process EventEmitter with the same behaviour and limits, so that
 * code written against one works on the other.
 *
 * What it promises, and what it does not:
 * - Publish after the change the event announces is committed: a subscriber that hears of it
 *   may read it from the store at once.
 * - At most once, in publish order per publisher. A replica whose listening connection drops
 *   misses what is published until it is back; it then calls each subscriber's `onMissed`, which
 *   should catch up from the store (e.g. a stream resumes from the last envelope it sent). So an
 *   event is a prompt to look, never the only record of a change.
 * - Channels are per store: on PostgreSQL the channel is qualified by the store's schema, so two
 *   forges in two schemas of one database do not hear each other.
 * - Payloads are JSON, at most MAX_EVENT_BYTES once serialised (NOTIFY's limit is 8,000 bytes):
 *   send ids and versions, not bundles.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { sql } from 'kysely';
import type { Client } from 'pg';
import { AnvilError } from '@anvil/content-schema';
import type { Store, StoreLocation } from './open-store.ts';

export type StoreEventPayload = null | boolean | number | string | readonly unknown[] | { readonly [key: string]: unknown };

export type StoreEventListener = (payload: unknown) => void;

export interface SubscribeOptions {
  /** Called when events may have been missed (the listening connection dropped and came back). */
  onMissed?: (() => void) | undefined;
}

export interface StoreEvents {
  /** Sends `payload` to every subscriber of `channel`, on every replica of the store. */
  publish(channel: string, payload: StoreEventPayload): Promise<void>;
  /**
   * Calls `listener` with each payload published on `channel` from now on: what is published
   * after the returned promise resolves reaches it. Resolves with the function that unsubscribes.
   */
  subscribe(channel: string, listener: StoreEventListener, options?: SubscribeOptions): Promise<() => Promise<void>>;
  /** Stops listening; subscribers hear nothing more, and publish fails. */
  close(): Promise<void>;
}

/** The largest serialised payload, the same on both dialects (PostgreSQL's NOTIFY takes under 8,000 bytes). */
export const MAX_EVENT_BYTES = 7_900;

const CHANNEL = /^[a-z0-9][a-z0-9._-]{0,47}$/;

export interface StoreEventsOptions {
  /** A listener that threw, or the listening connection failed: reported here, never thrown at the publisher. */
  onError?: ((err: Error) => void) | undefined;
  /** PostgreSQL: the first wait before listening again after the connection dropped (default 100 ms). */
  reconnectMs?: number | undefined;
}

/** Calls a listener; what it throws is reported, so that one subscriber cannot stop the others. */
function deliver(listener: StoreEventListener, text: string, onError: StoreEventsOptions['onError']): void {
  try {
    listener(JSON.parse(text));
  } catch (err) {
    onError?.(err as Error);
  }
}

/** Events for the store at `location`; `db` is that store, opened with openStore. */
export async function createStoreEvents(db: Store, location: StoreLocation, options: StoreEventsOptions = {}): Promise<StoreEvents> {
  if (!('postgres' in location)) return localEvents(options);
  const schema = (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema ?? 'public';
  return postgresEvents(db, location.postgres, schema, options);
}

function checkChannel(channel: string): void {
  if (!CHANNEL.test(channel)) {
    throw new AnvilError('events.channel', `"${channel.slice(0, 60)}" is not an event channel name`, { hint: 'lower-case letters, digits, ".", "_" and "-", at most 48 characters' });
  }
}

function serialise(channel: string, payload: StoreEventPayload): string {
  const text = JSON.stringify(payload) as string | undefined;
  if (text === undefined) throw new AnvilError('events.payload', `the payload published on ${channel} is not JSON`);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_EVENT_BYTES) {
    throw new AnvilError('events.payload-too-large', `the payload published on ${channel} is ${bytes} bytes; events carry at most ${MAX_EVENT_BYTES}`, { hint: 'publish ids and versions, and let subscribers read the rest from the store' });
  }
  return text;
}

function closedError(): AnvilError {
  return new AnvilError('events.closed', 'the store\'s events are closed');
}

/** One process: the SQLite forge. Delivered on a later turn of the event loop, as a copy, like NOTIFY. */
function localEvents(options: StoreEventsOptions): StoreEvents {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  let closed = false;
  return {
    async publish(channel, payload) {
      checkChannel(channel);
      if (closed) throw closedError();
      const text = serialise(channel, payload);
      setImmediate(() => emitter.emit(channel, text));
    },
    async subscribe(channel, listener) {
      checkChannel(channel);
      if (closed) throw closedError();
      const handler = (text: string) => deliver(listener, text, options.onError);
      emitter.on(channel, handler);
      return async () => { emitter.off(channel, handler); };
    },
    async close() {
      closed = true;
      emitter.removeAllListeners();
    },
  };
}

interface Subscription {
  listener: StoreEventListener;
  onMissed?: (() => void) | undefined;
}

/**
 * PostgreSQL: publish is `pg_notify` through the store's pool; one connection of its own per
 * replica LISTENs, opened at the first subscribe and opened again (with its channels) when it
 * drops, backing off up to `reconnectMs` × 32.
 */
async function postgresEvents(db: Store, url: string, schema: string, options: StoreEventsOptions): Promise<StoreEvents> {
  const { Client: PgClient } = await import('pg');
  // Per store: a hash of the schema keeps the name short (NOTIFY channels have at most 63 bytes).
  const scope = createHash('sha256').update(schema).digest('hex').slice(0, 8);
  const prefix = `anvil:${scope}:`;
  const pgChannel = (channel: string) => `${prefix}${channel}`;
  const subscribers = new Map<string, Set<Subscription>>();
  const baseDelay = options.reconnectMs ?? 100;
  let client: Client | undefined;
  let connecting: Promise<Client> | undefined;
  let closed = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  // LISTEN and UNLISTEN take turns, so that the channels listened to match `subscribers`.
  let turn: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const next = turn.then(work, work);
    turn = next.catch(() => undefined);
    return next;
  };

  const dispatch = (message: { channel: string; payload?: string | undefined }) => {
    if (!message.channel.startsWith(prefix)) return;
    for (const sub of subscribers.get(message.channel.slice(prefix.length)) ?? []) deliver(sub.listener, message.payload ?? 'null', options.onError);
  };

  const connect = (): Promise<Client> => {
    if (client) return Promise.resolve(client);
    connecting ??= (async () => {
      // TCP keep-alive: a connection that silently died is noticed, and listened on again.
      const c = new PgClient({ connectionString: url, application_name: 'anvil-forge-events', keepAlive: true });
      c.on('notification', dispatch);
      c.on('error', (err) => {
        options.onError?.(err);
        dropped(c);
      });
      c.on('end', () => dropped(c));
      try {
        await c.connect();
        for (const channel of subscribers.keys()) await c.query(`LISTEN "${pgChannel(channel)}"`);
      } catch (err) {
        c.removeAllListeners('end');
        await c.end().catch(() => undefined);
        throw err;
      }
      client = c;
      return c;
    })().finally(() => { connecting = undefined; });
    return connecting;
  };

  // The connection dropped: every subscriber may have missed events. Reconnect while anyone listens.
  const dropped = (c: Client) => {
    if (client !== c) return;
    client = undefined;
    c.removeAllListeners('end');
    void c.end().catch(() => undefined);
    if (!closed) reconnect();
  };
  const reconnect = () => {
    if (closed || timer || subscribers.size === 0) return;
    const delay = Math.min(baseDelay * 2 ** failures, baseDelay * 32);
    timer = setTimeout(() => {
      timer = undefined;
      void inTurn(connect).then(() => {
        failures = 0;
        for (const subs of subscribers.values()) {
          for (const sub of subs) {
            try {
              sub.onMissed?.();
            } catch (err) {
              options.onError?.(err as Error);
            }
          }
        }
      }, (err: unknown) => {
        failures++;
        options.onError?.(err as Error);
        reconnect();
      });
    }, delay);
    timer.unref();
  };

  return {
    async publish(channel, payload) {
      checkChannel(channel);
      if (closed) throw closedError();
      await sql`select pg_notify(${pgChannel(channel)}, ${serialise(channel, payload)})`.execute(db);
    },
    async subscribe(channel, listener, subscribeOptions = {}) {
      checkChannel(channel);
      if (closed) throw closedError();
      const sub: Subscription = { listener, onMissed: subscribeOptions.onMissed };
      await inTurn(async () => {
        const first = !subscribers.has(channel);
        const subs = subscribers.get(channel) ?? new Set();
        subs.add(sub);
        subscribers.set(channel, subs);
        try {
          // A new connection LISTENs to every subscribed channel, this one included.
          const wasOpen = client !== undefined;
          const c = await connect();
          if (first && wasOpen) await c.query(`LISTEN "${pgChannel(channel)}"`);
        } catch (err) {
          subs.delete(sub);
          if (subs.size === 0) subscribers.delete(channel);
          throw new AnvilError('events.listen', `cannot listen for ${channel} events: ${(err as Error).message}`, { cause: err });
        }
      });
      return () => inTurn(async () => {
        const subs = subscribers.get(channel);
        if (!subs?.delete(sub) || subs.size > 0) return;
        subscribers.delete(channel);
        await client?.query(`UNLISTEN "${pgChannel(channel)}"`).catch(() => undefined);
      });
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      subscribers.clear();
      await inTurn(async () => {
        const c = client;
        client = undefined;
        if (c) {
          c.removeAllListeners('end');
          await c.end().catch(() => undefined);
        }
      });
    },
  };
}
