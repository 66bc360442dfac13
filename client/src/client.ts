/**
 * `createClient()`: the LIVE receiver an app embeds (DESIGN.md §6–§10; layout in client/DESIGN.md).
 *
 * Start-up serves the disk cache at once when there is one, then pulls; pushes are checked
 * (receive/check-push.ts), then applied (apply/): swapped into the store in one assignment as
 * soon as they are verified, and answered once the bundles and state are durable (cache/).
 * Applies run one at a time; a render never waits for one.
 *
 * With `transport: 'stream'` (issue 16) the same pushes arrive on an outbound stream the client
 * holds open (sync/stream-transport.ts) instead of as requests to a port of the app: each is
 * taken through the push path below, and the answer a push would get goes back as an ack.
 */
import { randomUUID } from 'node:crypto';
import { watchFile, unwatchFile, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import {
  AnvilError,
  canonicalJson,
  decodeStreamEnvelope,
  isAliasName,
  keyIdOf,
  STREAM_ENVELOPE_EVENT,
  RECEIVER_STATE_FORMAT,
  type Bundle,
  type Envelope,
  type ReceiverState,
} from '@anvil/content-schema';
import { applyEnvelope, stageEnvelope, type StagedEnvelope } from './apply/apply-envelope.ts';
import { openDiskCache, STATE_FILE, type DiskCache, type StagedBundle } from './cache/disk-cache.ts';
import type { Message } from './render/messages.ts';
import type { PromptArgs, PromptCallOptions, PromptId } from './prompt-types.ts';
import { checkEnvelopeYielding, checkPushRequest, decidePush, type PushDecision, type PushRequest } from './receive/check-push.ts';
import { receiveMiddleware, type PushAnswer } from './receive/receive-middleware.ts';
import { PromptStore } from './store/prompt-store.ts';
import { createStoreSnapshot, type PromptTrack, type SetStatus, type SnapshotSet, type StoreSnapshot } from './store/store-snapshot.ts';
import { backoffDelay, forgeApi, type ForgeApi, type ReceiverRegistration } from './sync/forge-api.ts';
import type { StreamEvent } from './sync/event-stream.ts';
import { startStreamTransport, type StreamBackoff, type StreamStatus, type StreamTransport } from './sync/stream-transport.ts';
import { MetricsQueue, type MetricsQueueStats } from './metrics/metrics-queue.ts';
import { checkReport, type MetricsReport, type MetricsOptions } from './metrics/report-metrics.ts';
import { spanAttributesOf, type SpanAttributes } from './metrics/span-attributes.ts';

export type ReceptionMode = 'accepting' | 'frozen';

/** How updates reach the client: pushed to a port of the app (default), or on a stream it opens. */
export type Transport = 'push' | 'stream';

export interface ClientOptions {
  forge: string;
  project: string;
  token: string;
  channel: 'production' | 'staging' | 'development';
  /** The mode on first start; afterwards the mode kept in the cache wins (it survives restarts). */
  mode?: ReceptionMode;
  cacheDir: string;
  /** Sets to serve, with semver ranges (`{onboarding: '^1.2.0'}`), or names; absent: every set. */
  sets?: Record<string, string> | string[];
  /** Pinned forge keys (key id → base64 Ed25519 key), or one base64 key; else trust on first use. */
  publicKey?: string | Record<string, string>;
  /** How long `ready` waits for a first state when there is no cache (default 10 s). */
  readyTimeoutMs?: number;
  /** Where the forge can push to; registered with the forge. `listen()` sets it too. */
  pushUrl?: string;
  instanceId?: string;
  heartbeatMs?: number;
  /** Also pull every so often (default 5 min; 0: never). Pushes are the fast path. */
  pollMs?: number;
  maxBodyBytes?: number;
  fetch?: typeof fetch;
  /**
   * `push` (default): the forge POSTs updates to `listen()` / `receiver()`. `stream`: the client
   * opens an outbound stream to the forge and needs no inbound port (issue 16; docs/client.md).
   */
  transport?: Transport;
  /** Tuning of the `stream` transport. */
  stream?: {
    /** A stream silent for this long (no keep-alive either) is reconnected (default 45 s). */
    idleTimeoutMs?: number;
    /** Reconnection delays (default full jitter over 250 ms · 2^attempt, at most 30 s). */
    backoff?: StreamBackoff;
    /**
     * The answer to each envelope goes back to the forge after a random delay up to this
     * (default 3 s), so that a fan-out to thousands of streams does not return as one burst of
     * requests while the forge (and, sharing its machine, other receivers) still sends and
     * applies it. The answer is bookkeeping: the receiver serves the envelope already. 0: at once.
     */
    ackJitterMs?: number;
  };
  /** Usage metrics (`reportMetrics`, issue 17): queue bound, batch size, flush interval, raw reports per interval before folding, aggregate bound, retries. */
  metrics?: MetricsOptions;
}

/** The transport in `status()`: a push receiver's URL, or the stream's state. */
export type TransportStatus = { kind: 'push'; url: string | undefined } | ({ kind: 'stream' } & StreamStatus);

export interface ClientStatus {
  ready: boolean;
  mode: ReceptionMode;
  channel: string;
  forge: string;
  project: string;
  instanceId: string;
  lastSync: { at: string; result: string } | undefined;
  transport: TransportStatus;
  sets: Record<string, SetStatus>;
}

export interface SyncResult {
  changed: boolean;
  code: string;
  reason?: string;
}

type Listener = (event: { type: 'update' | 'error'; detail: unknown }) => void;

export interface AnvilClient {
  /** Resolves once prompts can be served (true), or when `readyTimeoutMs` passed without any (false). */
  readonly ready: Promise<boolean>;
  // The id-taking methods check the id, the variables and `options.variant` against the
  // declarations `anvil types` generates, and take any string and any variables without them
  // (prompt-types.ts). Variables may be left out only when the prompt requires none.
  /** The prompt rendered as text: `anvil.prompt('welcome.message', { name: 'Ada' })`. */
  prompt<Id extends PromptId>(id: Id, ...args: PromptArgs<Id>): string;
  /** The prompt rendered as Dotprompt-style messages (roles, history, media). */
  messages<Id extends PromptId>(id: Id, ...args: PromptArgs<Id>): Message[];
  /** The Handlebars body that a call with these options would render. */
  template<Id extends PromptId>(id: Id, options?: PromptCallOptions<Id>): string;
  /** Which set, version and variant a call with these options is served from. */
  track<Id extends PromptId>(id: Id, options?: PromptCallOptions<Id>): PromptTrack;
  /** OpenTelemetry attributes of such a call: `span.setAttributes(anvil.spanAttributes(id, options))`. */
  spanAttributes<Id extends PromptId>(id: Id, options?: PromptCallOptions<Id>): SpanAttributes;
  /**
   * How a call went, for the forge's analytics (`anvil analytics`): queued and sent in batches
   * off the render path; dropped (and counted) rather than waited for. Never throws.
   */
  reportMetrics<Id extends PromptId>(id: Id, report: MetricsReport<Id>): void;
  /** The usage metrics queue: reports queued, sent, folded and dropped. */
  metricsStats(): MetricsQueueStats;
  status(): ClientStatus;
  sync(): Promise<SyncResult>;
  setMode(mode: ReceptionMode): Promise<void>;
  on(event: 'update' | 'error', listener: (detail: unknown) => void): () => void;
  /** Express-compatible middleware: `app.use('/anvil', anvil.receiver())`. */
  receiver(): ReturnType<typeof receiveMiddleware>;
  /** A plain HTTP listener for pushes; registers its URL with the forge. Not with `transport: 'stream'`. */
  listen(port?: number, host?: string): Promise<{ url: string; close(): Promise<void> }>;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 32 * 1024 * 1024;
const NOTHING_STAGED: StagedEnvelope = { spans: undefined, staged: [], discard: async () => undefined };

export async function createClient(options: ClientOptions): Promise<AnvilClient> {
  const client = new LiveClient(options);
  await client.start();
  return client;
}

class LiveClient implements AnvilClient {
  readonly ready: Promise<boolean>;
  private resolveReady!: (ready: boolean) => void;
  private readonly store = new PromptStore();
  private readonly cache: DiskCache;
  private readonly api: ForgeApi;
  private readonly listeners = new Set<Listener>();
  private readonly ranges: Record<string, string>;
  private readonly setNames: string[] | undefined;
  private state: ReceiverState | undefined;
  private bundles = new Map<string, Bundle>();
  private hasContent = false;
  private applying: Promise<unknown> = Promise.resolve();
  private busy = false;
  private closed = false;
  private lastSync: ClientStatus['lastSync'];
  private pushUrl: string | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly servers = new Set<Server>();
  private syncAttempt = 0;
  private stream: StreamTransport | undefined;
  /** The envelope id this client holds (its last pull's ETag or stream event): where a stream resumes. */
  private heldEnvelope: string | undefined;
  private readonly usage: MetricsQueue;

  constructor(private readonly options: ClientOptions) {
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
    this.cache = openDiskCache(options.cacheDir);
    this.api = forgeApi({ forge: options.forge, project: options.project, token: options.token, ...(options.fetch ? { fetch: options.fetch } : {}) });
    // An alias (`"onboarding": "stable"`, issue 17) is no range: it chose what `anvil-live install`
    // locked; pushes for the set are then taken as for a set named without a range.
    this.ranges = Array.isArray(options.sets) || options.sets === undefined ? {}
      : Object.fromEntries(Object.entries(options.sets).filter(([, range]) => !isAliasName(range)));
    this.setNames = options.sets === undefined ? undefined : Array.isArray(options.sets) ? [...options.sets] : Object.keys(options.sets);
    this.pushUrl = options.pushUrl;
    this.usage = new MetricsQueue({
      ...options.metrics, channel: options.channel, instanceId: () => this.instanceId(),
      send: (batch) => this.api.metrics(batch), onError: (err) => this.emit('error', err),
    });
  }

  async start(): Promise<void> {
    const loaded = await this.cache.load();
    if (loaded) {
      this.state = loaded.state;
      this.bundles = loaded.bundles;
      this.markReady(this.swapIn(loaded.state, loaded.bundles).sets > 0);
      if (loaded.source === 'previous') this.emit('error', new AnvilError('cache.fell-back', 'the cache\'s current state did not verify; serving the previous one', { details: { problems: loaded.problems } }));
    }
    this.readyTimeout();
    this.watchState();
    this.heldEnvelope = envelopeIdOfEtag(this.state?.etag);
    // The network comes after: a cached app is ready before any request leaves it.
    void this.syncLoop().then(() => this.startStream());
    this.every(this.options.heartbeatMs ?? 30_000, () => this.heartbeat());
    if ((this.options.pollMs ?? 300_000) > 0) this.every(this.options.pollMs ?? 300_000, () => void this.sync().catch(() => undefined));
  }

  // ——— rendering: memory only, synchronous ———

  prompt(id: string, vars?: Record<string, unknown>, options?: PromptCallOptions): string {
    return this.readyStore().render(id, vars, options);
  }

  messages(id: string, vars?: Record<string, unknown>, options?: PromptCallOptions): Message[] {
    return this.readyStore().messages(id, vars, options);
  }

  template(id: string, options?: PromptCallOptions): string {
    return this.readyStore().template(id, options);
  }

  track(id: string, options?: PromptCallOptions): PromptTrack {
    return this.readyStore().track(id, options);
  }

  spanAttributes(id: string, options?: PromptCallOptions): SpanAttributes {
    return spanAttributesOf(this.track(id, options), this.options.channel);
  }

  reportMetrics(id: string, report: MetricsReport): void {
    // Analytics never break the app: a report that cannot be taken is an 'error' event.
    try {
      const served = this.track(id, report);
      checkReport(served.id, report);
      this.usage.record(served, report);
    } catch (err) {
      this.emit('error', err);
    }
  }

  metricsStats(): MetricsQueueStats {
    return this.usage.stats();
  }

  /**
   * The snapshot to render from. It takes any string id: the checks are on `AnvilClient`'s
   * signatures, so this class compiles the same with or without generated declarations.
   */
  private readyStore(): StoreSnapshot {
    if (!this.hasContent) {
      throw new AnvilError('client.not-ready', `no prompts yet: the cache in ${this.options.cacheDir} is empty and the forge at ${this.options.forge} has not answered`, {
        hint: 'await anvil.ready; install bundles ahead with `anvil-live install`; check the forge URL and token',
      });
    }
    return this.store.current();
  }

  status(): ClientStatus {
    return {
      ready: this.hasContent,
      mode: this.mode(),
      channel: this.options.channel,
      forge: this.options.forge,
      project: this.options.project,
      instanceId: this.instanceId(),
      lastSync: this.lastSync,
      transport: this.streams() ? { kind: 'stream', ...(this.stream?.status() ?? waitingStream(this.heldEnvelope)) } : { kind: 'push', url: this.pushUrl },
      sets: this.hasContent ? this.store.status() : {},
    };
  }

  on(event: 'update' | 'error', listener: (detail: unknown) => void): () => void {
    const wrapped: Listener = (e) => {
      if (e.type === event) listener(e.detail);
    };
    this.listeners.add(wrapped);
    return () => this.listeners.delete(wrapped);
  }

  // ——— sync (pull) ———

  async sync(): Promise<SyncResult> {
    const keys = await this.forgeKeys();
    const answer = await this.api.envelope(this.options.channel, this.state?.etag);
    if (answer.status === 304) return this.synced({ changed: false, code: 'not-modified' });
    const intake = stageEnvelope(this.cache, answer.body);
    try {
      const checked = await checkEnvelopeYielding(answer.body, this.envelopeView(keys), { spans: intake.spans });
      if (!checked.ok) {
        // A forge serving something older than we have (409 stale) is not an error for a pull.
        if (checked.rejection.code === 'stale') return this.synced({ changed: false, code: 'stale', reason: checked.rejection.reason });
        throw new AnvilError(`sync.${checked.rejection.code}`, `the forge's envelope was refused: ${checked.rejection.reason}`);
      }
      if (!checked.changed && this.state?.etag === answer.etag) return this.synced({ changed: false, code: 'unchanged' });
      await this.apply(checked.envelope, { etag: answer.etag, keys, bytes: checked.bundleBytes, staged: intake.staged });
      return this.synced({ changed: checked.changed, code: checked.changed ? 'applied' : 'unchanged' });
    } finally {
      void intake.discard();
    }
  }

  private synced(result: SyncResult): SyncResult {
    this.lastSync = { at: new Date().toISOString(), result: result.code };
    // Whatever the pull found, this client now holds the channel's current envelope.
    if (result.code !== 'stale') this.heldEnvelope = envelopeIdOfEtag(this.state?.etag) ?? this.heldEnvelope;
    return result;
  }

  private async syncLoop(): Promise<void> {
    while (!this.closed) {
      try {
        await this.sync();
        this.syncAttempt = 0;
        await this.register();
        return;
      } catch (err) {
        this.lastSync = { at: new Date().toISOString(), result: (err as AnvilError).code ?? 'failed' };
        this.emit('error', err);
        if (isPermanent(err)) return;
        await this.sleep(backoffDelay(this.syncAttempt++, { baseMs: 500, maxMs: 60_000 }));
      }
    }
  }

  // ——— push ———

  receiver() {
    return receiveMiddleware((request) => this.onPush(request), { maxBodyBytes: this.maxBody() });
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<{ url: string; close(): Promise<void> }> {
    if (this.streams()) {
      throw new AnvilError('client.transport', 'this client streams (transport: "stream"): the forge sends updates on its outbound stream, not to a port', { hint: 'leave listen() out, or create the client with transport: "push"' });
    }
    const handler = this.receiver();
    // Loaded here, not at start-up: most apps mount receiver() in their own server instead, and
    // Node's HTTP server module is a noticeable part of a cold start (DESIGN.md §11, start-up).
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(port, host, resolve));
    this.servers.add(server);
    const url = `http://${host}:${(server.address() as AddressInfo).port}/`;
    this.pushUrl ??= url;
    await this.register().catch((err: unknown) => this.emit('error', err));
    return {
      url,
      close: () => new Promise<void>((resolve) => {
        this.servers.delete(server);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    };
  }

  private async onPush(request: PushRequest): Promise<PushAnswer> {
    const keys = this.state?.forgeKeys ?? this.pinnedOption();
    if (!keys) return { status: 503, headers: { 'retry-after': '5' }, body: { ok: false, code: 'busy', reason: 'this receiver has not pinned the forge key yet' } };
    const view = {
      ...this.envelopeView(keys),
      token: this.options.token,
      mode: this.mode(),
      seenWebhookIds: new Set(this.state?.seenWebhookIds ?? []),
      maxBodyBytes: this.maxBody(),
      busy: this.busy,
      now: Date.now(),
    };
    // checkPush, in steps, with renders let in between: the request (who is asking), then —
    // while the bundles it seems to carry are already being written — the envelope.
    const asked = checkPushRequest(request, view);
    if (!asked.ok) return answerOf(asked.decision);
    // While an apply runs this push will most likely be answered 503: nothing to write ahead.
    const intake = this.busy ? NOTHING_STAGED : stageEnvelope(this.cache, request.body);
    try {
      const checked = await checkEnvelopeYielding(request.body, view, { spans: intake.spans });
      const decision = decidePush(checked, asked.webhookId, { busy: this.busy });
      if (!('envelope' in decision)) return answerOf(decision);
      try {
        await this.apply(decision.envelope, { webhookId: decision.webhookId, keys, bytes: decision.bundleBytes, staged: intake.staged });
      } catch (err) {
        this.emit('error', err);
        const code = (err as AnvilError).code ?? 'apply.failed';
        return { status: code.startsWith('push.') ? 422 : 503, headers: { 'retry-after': '5' }, body: { ok: false, code, reason: (err as Error).message } };
      }
      return { status: 200, body: { ok: true, code: 'applied', versions: this.versions() } };
    } finally {
      void intake.discard();
    }
  }

  // ——— stream (issue 16): the same pushes, on a connection the client opened ———

  private streams(): boolean {
    return this.options.transport === 'stream';
  }

  private startStream(): void {
    if (!this.streams() || this.closed || this.stream) return;
    this.stream = startStreamTransport({
      connect: async (lastEventId, signal) => {
        // The keys are pinned (or fetched, trust on first use) before anything arrives to check.
        await this.forgeKeys();
        return this.api.stream(this.options.channel, this.instanceId(), lastEventId, signal);
      },
      onEvent: (event) => this.onStreamEvent(event),
      // The fallback while the stream is down: one ETag pull per attempt (a 304 costs nothing).
      // A frozen receiver changes only on a manual sync, so it does not pull here.
      onDisconnected: async () => {
        if (this.mode() !== 'frozen' && !this.closed) await this.sync();
      },
      register: () => this.register(),
      resumeFrom: () => this.heldEnvelope,
      onError: (err) => this.emit('error', err),
      idleTimeoutMs: this.options.stream?.idleTimeoutMs,
      // A body, its three headers as JSON and the field names.
      maxEventChars: this.maxBody() + 16 * 1024,
      backoff: this.options.stream?.backoff,
    });
  }

  /**
   * An event of the stream: taken as the push it carries (onPush: the same checks, in the same
   * order, and the same apply), and answered to the forge as the push would have been.
   */
  private async onStreamEvent(event: StreamEvent): Promise<void> {
    if (event.type !== STREAM_ENVELOPE_EVENT) return;
    const decoded = decodeStreamEnvelope(event.data);
    let answer: PushAnswer;
    if (!decoded) {
      answer = { status: 400, body: { ok: false, code: 'push.malformed', reason: 'the stream event is not an envelope with its webhook headers' } };
    } else {
      // The request as the forge would have POSTed it. The bearer token is the one this client
      // opened the stream with: the forge proved it knows it by answering that request, and
      // proves itself by the webhook signature, checked next, as on a push.
      const request: PushRequest = { headers: { ...decoded.headers, authorization: `Bearer ${this.options.token}` }, body: decoded.body };
      answer = await this.onPush(request);
      // A push would be answered "busy, retry shortly" while another apply runs; a stream waits.
      for (let i = 0; answer.status === 503 && answer.body.code === 'busy' && this.busy && !this.closed && i < 100; i++) {
        await this.applying;
        answer = await this.onPush(request);
      }
    }
    const { status, body } = answer;
    // This client holds the envelope now (applied, or had it, or has newer): resume after it.
    // Frozen or refused: not held, so a later connection is sent the channel's current envelope.
    if (status < 300 || body.code === 'stale') this.heldEnvelope = event.lastEventId;
    if (status >= 400 && body.code !== 'frozen' && body.code !== 'stale') {
      this.emit('error', new AnvilError(body.code, `an envelope on the stream was refused: ${body.reason ?? body.code}`, { details: { status, envelope: event.lastEventId } }));
    }
    if (event.lastEventId === '' || this.closed) return;
    const ack = {
      instanceId: this.instanceId(), envelope: event.lastEventId, status, code: body.code,
      ...(body.reason !== undefined ? { reason: String(body.reason).slice(0, 1_000) } : {}), versions: this.versions(),
    };
    const send = () => void (this.closed ? undefined : this.api.ack(ack).catch((err: unknown) => this.emit('error', err)));
    const jitter = this.options.stream?.ackJitterMs ?? 3_000;
    if (jitter <= 0) send();
    else void this.sleep(Math.floor(Math.random() * jitter)).then(send);
  }

  // ——— apply: verify (done by the caller) → swap → bundles and state durable (apply/) ———

  private apply(envelope: Envelope, how: { webhookId?: string | undefined; etag?: string | undefined; keys: Record<string, string>; bytes?: Map<string, Buffer>; staged?: StagedBundle[] }): Promise<void> {
    const run = this.applying.then(async () => {
      this.busy = true;
      let servedSets = 0;
      try {
        const applied = await applyEnvelope({
          cache: this.cache,
          current: this.state ?? this.freshState(how.keys),
          known: this.bundles,
          envelope,
          bytes: how.bytes,
          staged: how.staged,
          sets: this.setNames,
          webhookId: how.webhookId,
          etag: how.etag,
          serve: (state, bundles) => {
            const { replaced, sets } = this.swapIn(state, bundles);
            servedSets = sets;
            return () => this.store.swap(replaced);
          },
        });
        // What the receiver reports (versions, seen webhook ids) moves on once it is durable.
        this.state = applied.state;
        this.bundles = applied.bundles;
        this.markReady(servedSets > 0);
        this.emit('update', { versions: this.versions() });
      } finally {
        this.busy = false;
      }
    });
    this.applying = run.catch(() => undefined);
    return run;
  }

  /** Serves `bundles` as `state` says; returns the snapshot it replaced and how many sets it serves. */
  private swapIn(state: ReceiverState, bundles: ReadonlyMap<string, Bundle>): { replaced: StoreSnapshot; sets: number } {
    const sets: Record<string, SnapshotSet> = {};
    for (const [name, served] of Object.entries(state.sets)) {
      const bundle = bundles.get(served.integrity);
      if (!bundle) continue;
      const rollout = served.rollout && bundles.get(served.rollout.integrity);
      sets[name] = rollout ? { bundle, rollout: { bundle: rollout, percent: served.rollout!.percent } } : { bundle };
    }
    const replaced = this.store.swap(createStoreSnapshot({ sets, bundles: bundles.values(), previous: this.store.current(), instanceSeed: state.instanceId }));
    return { replaced, sets: Object.keys(sets).length };
  }

  /** Prompts can be served from now on (when `serving`): `ready` resolves. */
  private markReady(serving: boolean): void {
    if (!this.hasContent && serving) {
      this.hasContent = true;
      this.resolveReady(true);
    }
  }

  // ——— mode ———

  mode(): ReceptionMode {
    return this.state?.mode ?? this.options.mode ?? 'accepting';
  }

  async setMode(mode: ReceptionMode): Promise<void> {
    if (mode !== 'accepting' && mode !== 'frozen') throw new AnvilError('client.bad-mode', `unknown mode "${String(mode)}"`, { hint: 'accepting or frozen' });
    const run = this.applying.then(async () => {
      const current = this.state ?? this.freshState(this.pinnedOption() ?? {});
      const next = { ...current, mode };
      if (this.state || Object.keys(next.forgeKeys).length > 0) await this.cache.commit(next);
      this.state = next;
    });
    this.applying = run.catch(() => undefined);
    await run;
    void this.heartbeat();
    // Unfrozen: a new connection, on which the forge sends what changed while frozen.
    if (mode === 'accepting') this.stream?.reconnect();
  }

  /**
   * Another process (`anvil-live mode frozen`, `anvil-live sync`) may change the state on disk;
   * the running app takes it within a second, without a restart.
   */
  private watchState(): void {
    const file = path.join(this.options.cacheDir, STATE_FILE);
    const onChange = (now: Stats) => {
      void (this.applying = this.applying.then(async () => {
        // This client's own commits fire the watch too, once per apply; a full load re-verifies
        // every bundle, so it is done only when the file says something this client does not hold.
        // The file its own last commit made current (the same inode, size and mtime: never
        // rewritten in place) says what this client holds: no read needed. The watch may also
        // have seen the file before, mid-commit (linking it as the previous state changes its
        // ctime): then one stat tells whether the file is, now, the one this client committed.
        if (this.cache.isLastCommit && (this.cache.isLastCommit(now) || this.cache.isLastCommit(await stat(file).catch(() => now)))) return;
        const text = await readFile(file, 'utf8').catch(() => undefined);
        if (text === undefined || this.closed || sameState(text, this.state)) return;
        const loaded = await this.cache.load();
        if (!loaded || this.closed) return;
        if (canonicalJson(loaded.state) === canonicalJson(this.state ?? null)) return;
        this.state = loaded.state;
        this.bundles = loaded.bundles;
        this.markReady(this.swapIn(loaded.state, loaded.bundles).sets > 0);
        this.emit('update', { versions: this.versions(), source: 'disk' });
      }).catch((err: unknown) => this.emit('error', err)));
    };
    watchFile(file, { interval: 250, persistent: false }, onChange);
    // This listener only: another client of the same cache in this process keeps watching.
    this.unwatch = () => unwatchFile(file, onChange);
  }

  private unwatch: () => void = () => undefined;

  // ——— forge registration ———

  private registration(): ReceiverRegistration {
    const where = this.streams() ? { transport: 'stream' as const } : { url: this.pushUrl };
    return { instanceId: this.instanceId(), ...where, channel: this.options.channel, mode: this.mode(), ranges: this.ranges, versions: this.versions() };
  }

  /** Whether the forge knows this receiver: it has a push URL, or streams. */
  private registers(): boolean {
    return this.pushUrl !== undefined || this.streams();
  }

  private async register(): Promise<void> {
    if (!this.registers() || this.closed) return;
    await this.api.register(this.registration());
  }

  private async heartbeat(): Promise<void> {
    if (!this.registers() || this.closed) return;
    await this.api.heartbeat(this.registration()).catch((err: unknown) => this.emit('error', err));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unwatch();
    for (const t of this.timers) clearTimeout(t);
    for (const server of this.servers) {
      server.closeAllConnections();
      server.close();
    }
    await this.stream?.stop();
    await this.usage.close();
    if (this.registers()) await this.api.leave(this.instanceId()).catch(() => undefined);
    await this.applying;
  }

  // ——— helpers ———

  private async forgeKeys(): Promise<Record<string, string>> {
    const known = this.state?.forgeKeys ?? this.pinnedOption();
    if (known) return known;
    // Trust on first use, as SSH does: the key seen now is pinned in the state with the first apply.
    const wellKnown = await this.api.wellKnown();
    const keys = Object.fromEntries(wellKnown.keys.map((k) => [k.keyId, k.publicKey]));
    if (Object.keys(keys).length === 0) throw new AnvilError('forge.no-keys', `the forge at ${this.options.forge} publishes no signing key`);
    this.tofuKeys = keys;
    return keys;
  }

  private tofuKeys: Record<string, string> | undefined;

  private pinnedOption(): Record<string, string> | undefined {
    const key = this.options.publicKey;
    if (key === undefined) return this.tofuKeys;
    if (typeof key !== 'string') return key;
    return { [keyIdOf(key)]: key };
  }

  private freshState(keys: Record<string, string>): ReceiverState {
    return {
      format: RECEIVER_STATE_FORMAT,
      forge: this.options.forge,
      project: this.options.project,
      channel: this.options.channel,
      mode: this.options.mode ?? 'accepting',
      forgeKeys: keys,
      sets: {},
      bundles: {},
      seenWebhookIds: [],
      instanceId: this.options.instanceId ?? `anvil-${randomUUID()}`,
    };
  }

  private instanceId(): string {
    return this.state?.instanceId ?? (this.fallbackInstanceId ??= this.options.instanceId ?? `anvil-${randomUUID()}`);
  }

  private fallbackInstanceId: string | undefined;

  private envelopeView(keys: Record<string, string>) {
    const rollouts: Record<string, { version: string; percent: number }> = {};
    for (const [set, served] of Object.entries(this.state?.sets ?? {})) {
      if (served.rollout) rollouts[set] = { version: served.rollout.version, percent: served.rollout.percent };
    }
    return { project: this.options.project, channel: this.options.channel, forgeKeys: keys, versions: this.versions(), rollouts, ranges: this.ranges, sets: this.setNames };
  }

  private versions(): Record<string, string> {
    return Object.fromEntries(Object.entries(this.state?.sets ?? {}).map(([set, s]) => [set, s.version]));
  }

  private maxBody(): number {
    return this.options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  }

  private readyTimeout(): void {
    if (this.hasContent) return;
    const t = setTimeout(() => this.resolveReady(this.hasContent), this.options.readyTimeoutMs ?? 10_000);
    t.unref();
    this.timers.add(t);
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.add(t);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      t.unref();
      this.timers.add(t);
    });
  }

  private emit(type: 'update' | 'error', detail: unknown): void {
    for (const l of this.listeners) l({ type, detail });
  }
}

function answerOf(decision: Exclude<PushDecision, { code: 'applied' }>): PushAnswer {
  const headers: Record<string, string> = 'retryAfter' in decision && decision.retryAfter ? { 'retry-after': String(decision.retryAfter) } : {};
  return { status: decision.status, headers, body: { ok: decision.status === 200, code: decision.code, reason: decision.reason } };
}

/** `"env-…"` (an ETag) → `env-…`: the envelope id a stream resumes from. */
function envelopeIdOfEtag(etag: string | undefined): string | undefined {
  if (etag === undefined) return undefined;
  const id = /^(?:W\/)?"([^"]*)"$/.exec(etag)?.[1] ?? etag;
  return id === '' ? undefined : id;
}

/** The stream's status before it starts (after the first pull). */
function waitingStream(held: string | undefined): StreamStatus {
  return { state: 'connecting', since: new Date().toISOString(), lastEventId: held, lastEventAt: undefined, connects: 0, attempt: 0 };
}

function sameState(text: string, state: ReceiverState | undefined): boolean {
  // This client's own commit, as the cache wrote it (disk-cache.ts): no parse needed.
  if (state !== undefined && text === `${JSON.stringify(state, null, 2)}\n`) return true;
  try {
    return state !== undefined && canonicalJson(JSON.parse(text)) === canonicalJson(state);
  } catch {
    return false;
  }
}

function isPermanent(err: unknown): boolean {
  const code = (err as AnvilError | undefined)?.code ?? '';
  return code === 'forge.unauthorized' || code.startsWith('sync.push.');
}
