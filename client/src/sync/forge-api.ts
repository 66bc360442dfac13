/**
 * The forge's HTTP API as the receiver uses it (DESIGN.md §8), over the platform's `fetch`:
 * the public keys, the current envelope with ETags, immutable versions, and the receiver's own
 * registration. Every call has a timeout; a failure is an AnvilError with the forge's answer.
 */
import { AnvilError, type MetricsBatch, type ReceiverAck, type ReceiverRegistration as WireRegistration } from '@anvil/content-schema';

export interface ForgeKey {
  keyId: string;
  publicKey: string;
  /** `active` signs; `retiring` keys stay valid for the grace period of a rotation. */
  status?: string;
}

export interface WellKnown {
  name: string;
  apiVersion: string;
  keys: ForgeKey[];
}

/**
 * `GET …/sets/:set/versions`: the set's releases, each with its bundle's integrity and, from a
 * forge that records its decisions, the channels it may be served on (refused releases are not
 * listed at all).
 */
export interface ReleaseList {
  versions: { version: string; integrity: string; channels?: string[] }[];
  /** The set's aliases whose release is listed (issue 17): `{stable: "1.2.0"}`; absent from older forges. */
  aliases?: Record<string, string>;
}

/**
 * `GET …/sets/:set/versions/:version`: a released bundle and the forge's signatures over its
 * integrity, as parsed JSON; the caller checks schema, integrity and signatures. Releases only:
 * the forge answers 404 for a head build's version (those come in the channel's envelope).
 */
export interface ReleasedBundle {
  bundle: unknown;
  signatures: unknown[];
  /** The channels the forge allows the release on, when it says. */
  channels?: string[];
}

export type EnvelopeAnswer = { status: 304 } | { status: 200; etag: string | undefined; body: Buffer };

/**
 * The body of `register` and `heartbeat`: content-schema's receiver registration
 * (receiver-registration.schema.json), which the forge validates. `url` may still be unknown
 * here, before `listen()`; the client registers only once it has one, since the forge needs it.
 */
export type ReceiverRegistration = Omit<WireRegistration, 'url'> & { url?: string | undefined };

export interface ForgeApiOptions {
  forge: string;
  project: string;
  token: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export interface ForgeApi {
  wellKnown(): Promise<WellKnown>;
  envelope(channel: string, etag?: string): Promise<EnvelopeAnswer>;
  /** A released bundle with its signatures: `GET …/sets/:set/versions/:version` (releases only; `forge.not-found` otherwise). */
  version(set: string, version: string): Promise<ReleasedBundle>;
  /** The releases of a set: `GET …/sets/:set/versions`. */
  versions(set: string): Promise<ReleaseList>;
  register(receiver: ReceiverRegistration): Promise<void>;
  heartbeat(receiver: ReceiverRegistration): Promise<void>;
  leave(instanceId: string): Promise<void>;
  /**
   * `GET …/stream?channel=…&instance=…` (issue 16): the body of the receiver's event stream,
   * once the forge answered 200. The timeout covers the answer's headers only; the stream
   * lasts until `signal` aborts it or the forge ends it.
   */
  stream(channel: string, instanceId: string, lastEventId: string | undefined, signal: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  /** `POST …/receivers/ack`: how a streaming receiver answered an envelope of its stream. */
  ack(ack: ReceiverAck): Promise<void>;
  /** `POST …/metrics` (issue 17): a batch of usage events. */
  metrics(batch: MetricsBatch): Promise<void>;
}

export function forgeApi(options: ForgeApiOptions): ForgeApi {
  const base = options.forge.replace(/\/+$/, '');
  const project = `${base}/api/v1/projects/${encodeURIComponent(options.project)}`;
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function call(method: string, url: string, init: { body?: unknown; headers?: Record<string, string>; auth?: boolean; signal?: AbortSignal } = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (init.auth !== false) headers['authorization'] = `Bearer ${options.token}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    // With a caller's signal (a stream), the timeout covers the headers only: the body is read
    // for as long as the caller wants.
    const timeout = init.signal ? new AbortController() : undefined;
    const timer = timeout && setTimeout(() => timeout.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    try {
      res = await doFetch(url, {
        method, headers, signal: init.signal && timeout ? AbortSignal.any([init.signal, timeout.signal]) : AbortSignal.timeout(timeoutMs),
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
    } catch (err) {
      if (init.signal?.aborted) throw err;
      throw new AnvilError('forge.unreachable', `cannot reach the forge at ${base}: ${(err as Error).message}`, {
        hint: 'check the forge URL and that it is running; the receiver keeps serving what it has', cause: err,
      });
    } finally {
      clearTimeout(timer);
    }
    if (res.status >= 400) {
      const text = await res.text().catch(() => '');
      let reason = text.slice(0, 300);
      try {
        const parsed = JSON.parse(text) as { reason?: string; error?: { message?: string } };
        reason = parsed.reason ?? parsed.error?.message ?? reason;
      } catch { /* not JSON: keep the text */ }
      const code = res.status === 401 || res.status === 403 ? 'forge.unauthorized' : res.status === 404 ? 'forge.not-found' : 'forge.failed';
      throw new AnvilError(code, `${method} ${url} answered ${res.status}${reason ? `: ${reason}` : ''}`, {
        hint: code === 'forge.unauthorized' ? 'check the access token for this project (anvil token create --project …)' : undefined,
        details: { status: res.status, retryAfter: res.headers.get('retry-after') },
      });
    }
    return res;
  }

  return {
    async wellKnown() {
      const res = await call('GET', `${base}/.well-known/anvil.json`, { auth: false });
      return (await res.json()) as WellKnown;
    },
    async envelope(channel, etag) {
      const res = await call('GET', `${project}/envelope?channel=${encodeURIComponent(channel)}`, etag ? { headers: { 'if-none-match': etag } } : {});
      if (res.status === 304) return { status: 304 };
      return { status: 200, etag: res.headers.get('etag') ?? undefined, body: Buffer.from(await res.arrayBuffer()) };
    },
    async version(set, version) {
      const url = `${project}/sets/${encodeURIComponent(set)}/versions/${encodeURIComponent(version)}`;
      const parsed = await jsonOf(await call('GET', url), url);
      const signatures = fieldOf(parsed, 'signatures');
      if (fieldOf(parsed, 'bundle') === undefined || !Array.isArray(signatures)) throw badAnswer(url, 'expected {bundle, signatures}');
      const channels = channelsOf(fieldOf(parsed, 'channels'));
      return { bundle: fieldOf(parsed, 'bundle'), signatures: signatures as unknown[], ...(channels ? { channels } : {}) };
    },
    async versions(set) {
      const url = `${project}/sets/${encodeURIComponent(set)}/versions`;
      const answer = await jsonOf(await call('GET', url), url);
      const list = fieldOf(answer, 'versions');
      const entries = Array.isArray(list) ? (list as unknown[]) : undefined;
      const ok = entries?.every((e) => typeof fieldOf(e, 'version') === 'string' && typeof fieldOf(e, 'integrity') === 'string');
      if (!entries || !ok) throw badAnswer(url, 'expected {versions: [{version, integrity}]}');
      return {
        versions: entries.map((e) => {
          const channels = channelsOf(fieldOf(e, 'channels'));
          return { version: fieldOf(e, 'version') as string, integrity: fieldOf(e, 'integrity') as string, ...(channels ? { channels } : {}) };
        }),
        ...aliasesOf(fieldOf(answer, 'aliases')),
      };
    },
    async register(receiver) {
      await call('POST', `${project}/receivers`, { body: receiver });
    },
    async heartbeat(receiver) {
      await call('PUT', `${project}/receivers`, { body: receiver });
    },
    async leave(instanceId) {
      await call('DELETE', `${project}/receivers`, { body: { instanceId } });
    },
    async stream(channel, instanceId, lastEventId, signal) {
      const url = `${project}/stream?channel=${encodeURIComponent(channel)}&instance=${encodeURIComponent(instanceId)}`;
      const res = await call('GET', url, { signal, headers: { accept: 'text/event-stream', ...(lastEventId !== undefined ? { 'last-event-id': lastEventId } : {}) } });
      const type = res.headers.get('content-type') ?? '';
      if (!res.body || !type.startsWith('text/event-stream')) {
        await res.body?.cancel().catch(() => undefined);
        throw badAnswer(url, `expected text/event-stream, got ${type || 'no body'}`);
      }
      return res.body;
    },
    async ack(ack) {
      await call('POST', `${project}/receivers/ack`, { body: ack });
    },
    async metrics(batch) {
      await call('POST', `${project}/metrics`, { body: batch });
    },
  };
}

async function jsonOf(res: Response, url: string): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badAnswer(url, 'the answer is not JSON');
  }
}

function fieldOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

function badAnswer(url: string, what: string): AnvilError {
  return new AnvilError('forge.bad-answer', `GET ${url}: ${what}`, { hint: 'is this URL an Anvil forge, with the same API version?' });
}

/** Exponential backoff with full jitter (a random delay up to the exponential cap). */
export function backoffDelay(attempt: number, { baseMs = 1_000, maxMs = 300_000, random = Math.random } = {}): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30)));
}

/** A forge's `channels` field: a list of names, or absent (a forge from before it said). */
function channelsOf(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((c) => typeof c === 'string') ? (value as string[]) : undefined;
}

/** The `aliases` of a versions answer, keeping only string → string entries (a `__proto__` key stays a key). */
function aliasesOf(value: unknown): { aliases?: Record<string, string> } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const aliases = Object.create(null) as Record<string, string>;
  for (const [alias, version] of Object.entries(value)) if (typeof version === 'string') aliases[alias] = version;
  return Object.keys(aliases).length > 0 ? { aliases } : {};
}
