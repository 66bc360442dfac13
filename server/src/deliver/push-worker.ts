/**
 * The push worker: takes due deliveries from the queue with a lease, pushes each envelope to its
 * receiver (DESIGN.md §8: bearer token + Standard Webhooks headers, Ed25519-signed), and writes
 * down what the receiver answered (push-outcome.ts decides, delivery-queue.ts records).
 *
 * Built for fan-out: bounded concurrency over keep-alive connections; each envelope's bytes
 * read and kept once; per attempt only the headers are made; outcomes written in batches (one
 * transaction for every answer that came in during one turn of the event loop). Built to be
 * killed: the queue is the only state, a lease that runs out lets a restarted worker (or another
 * replica) retake a row, and a retried push carries the same webhook-id, which the receiver
 * answers 200 no-op if it had applied it.
 *
 * Pushes go only where the push-target rules allow (issue 14): each push resolves its host,
 * checks every address, and connects to the one it checked (resolve-push-target.ts); a refused
 * target fails for good as `target.blocked` without a request.
 *
 * Pushes go only with a token still in force (issue 18): just before each request the worker
 * reads the state of the token the receiver registered with (checks asked for in the same turn
 * of the event loop share one read), so a delivery claimed before a revocation, racing it, is
 * not sent; it is cancelled (`token.revoked`) and the receiver marked revoked, as revoking does.
 */
import http from 'node:http';
import https from 'node:https';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { signWebhook } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import type { Delivery } from '../store/database.ts';
import { storedTokenIds } from '../access/access-tokens.ts';
import { cancelRevokedPushes, claimDue, nextDueAt, queueDepth, recordOutcomes, tokensInForce, type DeliveryResult, type RevokedPush, type TokenState } from './delivery-queue.ts';
import { decidePushOutcome, type BackoffOptions, type PushOutcome, type ReceiverAnswer } from './push-outcome.ts';
import { createPushTargetResolver, pinnedLookup, type CheckedAddress } from './resolve-push-target.ts';

export interface PushWorkerOptions {
  /** Pushes in flight at once (default 32). */
  concurrency?: number | undefined;
  /** How long a claimed delivery stays this worker's (default 60 s); must outlast `timeoutMs`. */
  leaseMs?: number | undefined;
  /** How often to look for due deliveries without being woken (default 1 s). */
  pollMs?: number | undefined;
  /** How long a receiver has to answer one push (default 10 s). */
  timeoutMs?: number | undefined;
  /** Names this worker in leases (default host:pid:random). */
  owner?: string | undefined;
  backoff?: BackoffOptions | undefined;
}

export interface PushWorker {
  /** Look for due deliveries now (call after enqueueing). */
  wake(): void;
  /** Resolves when nothing is due or in flight, and every answer so far is recorded. */
  drain(): Promise<void>;
  /** Stops taking deliveries, lets those in flight finish and records them. */
  stop(): Promise<void>;
}

const ANSWER_LIMIT = 64 * 1024;
const ENVELOPE_CACHE = 16;
const TOKEN_CACHE = 100_000;

/** What a push needs of its receiver's row. */
interface PushReceiver {
  instance_id: string;
  push_token: string;
  gone_at: string | null;
  token_id: string | null;
  revoked_at: string | null;
}

/** Not pushed: the receiver's token is revoked (or otherwise not in force). */
interface Refused {
  kind: 'revoked';
  tokenId: string | null;
  prefix: string | null;
}

export function startPushWorker(ctx: ForgeContext, options: PushWorkerOptions = {}): PushWorker {
  const concurrency = Math.max(1, options.concurrency ?? 32);
  const leaseMs = options.leaseMs ?? 60_000;
  const pollMs = options.pollMs ?? 1_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const log = ctx.logger.child({ component: 'push-worker', owner });
  const targets = createPushTargetResolver(ctx);
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: concurrency }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: concurrency }),
  };

  // Envelope bytes by id, kept in insertion order: a fan-out pushes one envelope many times.
  const envelopes = new Map<string, Promise<Buffer | undefined>>();
  // Sealed → plain push tokens: opening is cheap, but not free a thousand times per publish.
  const tokens = new Map<string, string>();
  // Sealed push token → the id of the access token it is, for receivers not yet linked to one
  // (registered before migration 005); null: no token of the store (nothing to revoke).
  const links = new Map<string, string | null>();
  // Token checks asked for in this turn of the event loop, answered together (tokenInForce).
  let gate: Map<string, { resolve: (state: TokenState | undefined) => void; reject: (err: unknown) => void }[]> | undefined;

  let inFlight = 0;
  let stopping = false;
  let pumping = false;
  let again = false;
  let scheduled = false;
  let pumpSeq = 0;
  let timer: NodeJS.Timeout | undefined;
  let depthAt = 0;
  const answered: DeliveryResult[] = [];
  const refused: RevokedPush[] = [];
  const drainWaiters: { after: number; resolve: () => void }[] = [];
  const idleWaiters: (() => void)[] = [];

  function schedulePump(): void {
    if (scheduled) return;
    scheduled = true;
    // setImmediate, not a microtask: answers that arrive in the same I/O phase share one write.
    setImmediate(() => {
      scheduled = false;
      void pump();
    });
  }

  async function pump(): Promise<void> {
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    // Each pass has its own number: a drain() is answered only by a pass that began after it.
    let seq = 0;
    let idle = false;
    try {
      do {
        again = false;
        seq = ++pumpSeq;
        await flush();
        if (stopping) break;
        const free = concurrency - inFlight;
        if (free <= 0) continue;
        const now = Date.now();
        const due = await claimDue(ctx, owner, free, leaseMs, now);
        if (due.length > 0) await start(due, now);
        idle = due.length < free && inFlight === 0 && answered.length === 0 && refused.length === 0;
      } while (again);
    } catch (err) {
      log.error({ err }, 'the push queue could not be read or written; trying again shortly');
    } finally {
      pumping = false;
    }
    if (idle || stopping) settleDrains(seq);
    if (inFlight === 0) for (const resolve of idleWaiters.splice(0)) resolve();
    if (idle && !stopping) await armTimer();
  }

  function settleDrains(seq: number): void {
    for (let i = drainWaiters.length - 1; i >= 0; i--) {
      const waiter = drainWaiters[i]!;
      if (stopping || waiter.after < seq) {
        drainWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  /** Sleeps until the next delivery is due, or `pollMs`, whichever is sooner. */
  async function armTimer(): Promise<void> {
    const next = await nextDueAt(ctx).catch(() => undefined);
    ctx.metrics.queueDepth.set(await queueDepth(ctx).catch(() => 0));
    if (stopping) return;
    const wait = next === undefined ? pollMs : Math.min(pollMs, Math.max(0, next - Date.now()));
    clearTimeout(timer);
    timer = setTimeout(schedulePump, wait);
    timer.unref();
  }

  async function start(due: Delivery[], now: number): Promise<void> {
    const byKey = new Map<string, PushReceiver>();
    for (const project of new Set(due.map((d) => d.project))) {
      const receivers = await ctx.db.selectFrom('receivers')
        .select(['instance_id', 'push_token', 'gone_at', 'token_id', 'revoked_at'])
        .where('project', '=', project)
        .where('instance_id', 'in', [...new Set(due.filter((d) => d.project === project).map((d) => d.instance_id))])
        .execute();
      await linkTokens(project, receivers.filter((r) => r.token_id === null && r.gone_at === null));
      for (const r of receivers) byKey.set(`${project}\0${r.instance_id}`, r);
    }
    for (const delivery of due) {
      const receiver = byKey.get(`${delivery.project}\0${delivery.instance_id}`);
      inFlight++;
      void attempt(delivery, receiver, now).then((outcome) => {
        if (outcome.kind === 'revoked') refused.push({ delivery, tokenId: outcome.tokenId, prefix: outcome.prefix });
        else answered.push({ delivery, outcome, at: Date.now() });
      }, (err: unknown) => {
        // A bug, not the receiver's answer: keep the delivery and try again after backoff.
        log.error({ err, delivery: delivery.id }, 'a push failed inside the forge');
        answered.push({ delivery, outcome: decidePushOutcome({ error: `forge error: ${(err as Error).message}` }, clockOf(delivery, Date.now())), at: Date.now() });
      }).finally(() => {
        inFlight--;
        schedulePump();
      });
    }
  }

  function clockOf(delivery: Delivery, now: number) {
    return { attempt: delivery.attempts, now, expiresAt: Date.parse(delivery.expires_at), backoff: options.backoff };
  }

  /**
   * Links receivers registered before tokens were linked (migration 005) to the token their
   * sealed push token is (found as a presented token is found), so that the check before each push applies to them
   * and a later revocation finds them. Once per sealed token per worker; rows are written once.
   */
  async function linkTokens(project: string, unlinked: PushReceiver[]): Promise<void> {
    const toFind = new Map<string, PushReceiver[]>();
    for (const r of unlinked) {
      const known = links.get(r.push_token);
      if (known !== undefined) {
        r.token_id = known;
        continue;
      }
      let plain: string;
      try {
        plain = openToken(r.push_token);
      } catch {
        continue; // attempt() meets the same error and retries, as before.
      }
      toFind.set(plain, [...(toFind.get(plain) ?? []), r]);
    }
    if (toFind.size === 0) return;
    const ids = await storedTokenIds(ctx.db, [...toFind.keys()]);
    for (const [plain, receivers] of toFind) {
      const id = ids.get(plain) ?? null;
      for (const r of receivers) {
        if (links.size >= TOKEN_CACHE) links.clear();
        links.set(r.push_token, id);
        r.token_id = id;
        if (id !== null) {
          await ctx.db.updateTable('receivers').set({ token_id: id })
            .where('project', '=', project).where('instance_id', '=', r.instance_id).where('token_id', 'is', null).execute();
        }
      }
    }
  }

  /** The state of a token now; the checks asked for in one turn of the event loop share one read. */
  function tokenInForce(id: string): Promise<TokenState | undefined> {
    return new Promise((resolve, reject) => {
      if (!gate) {
        const waiting = new Map<string, { resolve: (state: TokenState | undefined) => void; reject: (err: unknown) => void }[]>();
        gate = waiting;
        setImmediate(() => {
          gate = undefined;
          tokensInForce(ctx, [...waiting.keys()]).then((found) => {
            for (const [tokenId, waiters] of waiting) for (const w of waiters) w.resolve(found.get(tokenId));
          }, (err: unknown) => {
            for (const waiters of waiting.values()) for (const w of waiters) w.reject(err);
          });
        });
      }
      gate.set(id, [...(gate.get(id) ?? []), { resolve, reject }]);
    });
  }

  async function attempt(delivery: Delivery, receiver: PushReceiver | undefined, claimedAt: number): Promise<PushOutcome | Refused> {
    const final = (state: 'failed' | 'gone', code: string, reason: string): PushOutcome => ({ kind: 'final', state, status: null, code, reason, alert: false, deregister: false });
    if (claimedAt >= Date.parse(delivery.expires_at)) return final('failed', 'expired', 'the delivery expired before it could be pushed');
    if (!receiver) return final('failed', 'receiver.unknown', 'the receiver is no longer registered');
    if (receiver.revoked_at !== null) return { kind: 'revoked', tokenId: receiver.token_id, prefix: null };
    if (receiver.gone_at !== null) return final('gone', 'receiver.gone', `the receiver left at ${receiver.gone_at}`);
    const body = await envelopeBytes(delivery.envelope_id);
    if (!body) return final('failed', 'envelope.missing', `envelope ${delivery.envelope_id} is not in the store`);
    const token = openToken(receiver.push_token);
    let url: URL;
    try {
      url = new URL(delivery.url);
    } catch {
      return final('failed', 'target.invalid', `not a URL: ${delivery.url.slice(0, 200)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return final('failed', 'target.invalid', `not an http(s) URL: ${delivery.url.slice(0, 200)}`);
    const started = process.hrtime.bigint();
    // Judged on the address this push connects to, resolved now (issue 14): a refused target
    // gets no request at all, so nothing it could answer reaches `anvil receivers`.
    const target = await targets.resolve(url);
    if (target.kind === 'blocked') return final('failed', 'target.blocked', target.reason);
    // Last, right before the request: a revocation committed while this push waited (for its
    // claim, the envelope, the lookup) stops it. A receiver still without a link after
    // linkTokens holds a token this store never had, so there is nothing to revoke: tokens are
    // never deleted, and only a store written by hand (a test fixture) has such a row.
    if (receiver.token_id !== null && target.kind === 'allowed') {
      const state = await tokenInForce(receiver.token_id);
      if (!state || state.revoked || state.project !== delivery.project) return { kind: 'revoked', tokenId: receiver.token_id, prefix: state?.prefix ?? null };
    }
    const answer = target.kind === 'unresolved' ? { error: target.error } : await post(delivery, url, target.addresses, body, token);
    const outcome = decidePushOutcome(answer, clockOf(delivery, Date.now()));
    ctx.metrics.pushLatency.observe({ outcome: outcome.kind === 'retry' ? 'retry' : outcome.state }, Number(process.hrtime.bigint() - started) / 1e9);
    return outcome;
  }

  function envelopeBytes(id: string): Promise<Buffer | undefined> {
    let cached = envelopes.get(id);
    if (!cached) {
      cached = ctx.db.selectFrom('envelopes').select('body').where('id', '=', id).executeTakeFirst().then((row) => (row ? Buffer.from(row.body, 'utf8') : undefined));
      envelopes.set(id, cached);
      cached.then((b) => b ?? envelopes.delete(id), () => envelopes.delete(id));
      if (envelopes.size > ENVELOPE_CACHE) envelopes.delete(envelopes.keys().next().value!);
    }
    return cached;
  }

  function openToken(sealed: string): string {
    let plain = tokens.get(sealed);
    if (plain === undefined) {
      plain = ctx.secrets.open(sealed);
      if (tokens.size >= TOKEN_CACHE) tokens.clear();
      tokens.set(sealed, plain);
    }
    return plain;
  }

  /**
   * One POST to the address already checked (`pinnedLookup`: no second lookup). Redirects are
   * not followed (node:http never does): a 3xx is the receiver's answer, like any other.
   */
  function post(delivery: Delivery, url: URL, addresses: readonly CheckedAddress[], body: Buffer, token: string, retried = false): Promise<ReceiverAnswer> {
    const agent = url.protocol === 'https:' ? agents['https:'] : agents['http:'];
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'content-length': String(body.length),
      authorization: `Bearer ${token}`,
      'webhook-id': delivery.id,
      'webhook-timestamp': String(timestamp),
      // One signature per signing key: receivers pinned to a retiring key still verify (rotation).
      'webhook-signature': ctx.keys.signers.map((key) => signWebhook(key, { id: delivery.id, timestamp, body })).join(' '),
    };
    return new Promise((resolve) => {
      let done = false;
      const finish = (answer: ReceiverAnswer) => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        resolve(answer);
      };
      const req = (url.protocol === 'https:' ? https : http).request(url, { method: 'POST', agent, headers, lookup: pinnedLookup(addresses) }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < ANSWER_LIMIT) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => finish(answerOf(res, Buffer.concat(chunks).subarray(0, ANSWER_LIMIT))));
        res.on('error', (err) => finish({ error: err.message }));
      });
      const deadline = setTimeout(() => {
        finish({ error: `no answer within ${timeoutMs} ms`, timedOut: true });
        req.destroy();
      }, timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive socket the receiver closed just as it was reused: not the receiver's
        // answer, so send once more on a fresh connection (the pattern Node's docs give).
        if (!retried && !done && req.reusedSocket && err.code === 'ECONNRESET') {
          done = true;
          clearTimeout(deadline);
          resolve(post(delivery, url, addresses, body, token, true));
          return;
        }
        finish({ error: err.code ?? err.message });
      });
      req.end(body);
    });
  }

  async function flush(): Promise<void> {
    if (refused.length > 0) {
      const batch = refused.splice(0);
      let cancelled: number;
      try {
        cancelled = await cancelRevokedPushes(ctx, owner, batch);
      } catch (err) {
        refused.unshift(...batch);
        throw err;
      }
      ctx.metrics.deliveries.inc({ outcome: 'revoked' }, batch.length);
      log.warn({ refused: batch.length, cancelled, receivers: [...new Set(batch.map((p) => p.delivery.instance_id))].slice(0, 20) }, 'not pushed: the access token the receiver registered with is revoked');
    }
    if (answered.length === 0) return;
    const batch = answered.splice(0);
    let recorded: DeliveryResult[];
    try {
      recorded = await recordOutcomes(ctx, owner, batch);
    } catch (err) {
      // Kept for the next pass (the store may be busy for a moment); if the process dies first,
      // the leases run out and the pushes are sent again, as no-ops for receivers that applied them.
      answered.unshift(...batch);
      throw err;
    }
    if (Date.now() - depthAt >= 250) {
      depthAt = Date.now();
      ctx.metrics.queueDepth.set(await queueDepth(ctx));
    }
    for (const { delivery: d, outcome } of recorded) {
      const label = outcome.kind === 'retry' ? 'retry' : outcome.state;
      ctx.metrics.deliveries.inc({ outcome: label });
      const fields = { delivery: d.id, project: d.project, receiver: d.instance_id, set: d.set_name, version: d.version, attempt: d.attempts, status: outcome.status, code: outcome.code, reason: outcome.reason };
      if (outcome.kind === 'retry') {
        log.debug({ ...fields, nextAttemptAt: new Date(outcome.nextAttemptAt).toISOString() }, 'push to retry');
        continue;
      }
      if (outcome.alert) log.error(fields, 'a receiver refused the forge\'s token or signature: check the project\'s tokens and the forge\'s keys');
      else if (outcome.code === 'target.blocked') log.warn(fields, 'push refused: the receiver\'s URL leads to an address the forge does not push to (pushTargets in anvil-forge.yaml)');
      else if (outcome.state === 'failed') log.warn(fields, 'push failed for good');
      else log.debug(fields, `push ${outcome.state}`);
    }
    if (batch.length !== recorded.length) log.warn({ lost: batch.length - recorded.length }, 'answers to pushes whose lease had passed to another worker were not recorded');
  }

  const poll = setInterval(schedulePump, pollMs);
  poll.unref();
  schedulePump();

  return {
    wake: schedulePump,
    drain() {
      if (stopping) return Promise.resolve();
      return new Promise<void>((resolve) => {
        drainWaiters.push({ after: pumpSeq, resolve });
        schedulePump();
      });
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      clearInterval(poll);
      clearTimeout(timer);
      while (inFlight > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
      while (pumping || scheduled) await new Promise((r) => setTimeout(r, 1));
      await flush().catch((err: unknown) => log.error({ err }, 'could not record the last answers; their leases will run out and they will be pushed again'));
      for (const waiter of drainWaiters.splice(0)) waiter.resolve();
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

/** The receiver's answer: status, and from its JSON body the code, reason and versions, when it sent them. */
function answerOf(res: http.IncomingMessage, body: Buffer): ReceiverAnswer {
  const status = res.statusCode ?? 0;
  const retryAfter = res.headers['retry-after'];
  let code: string | undefined;
  let reason: string | undefined;
  let versions: Record<string, string> | undefined;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const o = parsed as Record<string, unknown>;
      if (typeof o['code'] === 'string') code = o['code'].slice(0, 200);
      if (typeof o['reason'] === 'string') reason = o['reason'].slice(0, 1_000);
      const v = o['versions'];
      if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')) versions = v as Record<string, string>;
    }
  } catch {
    // Not JSON (a proxy's error page, say): the status alone decides.
    if (status >= 400 && body.length > 0) reason = body.toString('utf8', 0, 300).trim();
  }
  return { status, code, reason, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, versions };
}
