/**
 * A push from the forge → what to answer, decided in the order of DESIGN.md §8's table, before
 * anything is applied. Pure: the request and a view of the receiver in, a decision out; the HTTP
 * edge (receive-middleware.ts) only reads the body and writes the answer.
 *
 * The order matters: cheap checks that need no trust first (size), then who is asking (token,
 * request signature, time window) — so that nothing about the receiver's state leaks to a caller
 * who cannot prove to be the forge — then what is asked (frozen, repeats, the envelope itself).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import semver from 'semver';
import {
  validateEnvelope,
  integrityOfBundleBytes,
  verifyBundleIntegrity,
  verifyBundleSignatures,
  verifyEnvelopeStatement,
  verifyWebhook,
  WEBHOOK_TOLERANCE_SECONDS,
  type Envelope,
} from '@anvil/content-schema';
import { promptsFromBytes } from '../bundle/bundle-bytes.ts';
import { channelAccepts, type BundleRole } from './channel-policy.ts';
import { bundleSpans, isSpanChain, readEnvelopeBytes, scanBundleSpans, type EnvelopeBytes } from './envelope-spans.ts';

export interface PushRequest {
  /** Header names in lower case, as node:http gives them. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ReceiverView {
  project: string;
  channel: string;
  /** The project access token the forge presents as `Authorization: Bearer …`. */
  token: string;
  /** Pinned forge keys: key id → base64 Ed25519 public key. */
  forgeKeys: Record<string, string>;
  mode: 'accepting' | 'frozen';
  /** `webhook-id`s already applied (a retry of one is a no-op). */
  seenWebhookIds: ReadonlySet<string>;
  /** Current version per served set. */
  versions: Readonly<Record<string, string>>;
  /** Rollouts in force per set. */
  rollouts: Readonly<Record<string, { version: string; percent: number }>>;
  /** The receiver's semver ranges per set (absent: any version). */
  ranges: Readonly<Record<string, string>>;
  /** Sets this receiver serves; bundles of other sets are dependencies. Absent: every set. */
  sets?: readonly string[] | undefined;
  maxBodyBytes: number;
  /** An apply is in progress: come back shortly (503). */
  busy: boolean;
  /** For the ±window check (ms since the epoch). */
  now: number;
}

export type PushDecision =
  | { status: 200; code: 'applied'; envelope: Envelope; bundleBytes: Map<string, Buffer>; webhookId: string }
  | { status: 200; code: 'duplicate' | 'unchanged'; reason: string }
  | { status: 400 | 401 | 403 | 409 | 413 | 422 | 503; code: string; reason: string; retryAfter?: number };

export function checkPush(request: PushRequest, view: ReceiverView): PushDecision {
  const asked = checkPushRequest(request, view);
  return asked.ok ? decidePush(checkEnvelope(request.body, view), asked.webhookId, view) : asked.decision;
}

export type PushRequestCheck = { ok: true; webhookId: string } | { ok: false; decision: Exclude<PushDecision, { code: 'applied' }> };

/**
 * What is decided before the body is read as an envelope: size, token, request signature and
 * window, a repeated webhook-id, frozen. `checkPush` is this, then `checkEnvelope`, then
 * `decidePush`; a receiver may run them apart, to let renders in between (client.ts).
 */
export function checkPushRequest(request: PushRequest, view: ReceiverView): PushRequestCheck {
  const refuse = (decision: Exclude<PushDecision, { code: 'applied' }>) => ({ ok: false as const, decision });
  if (request.body.length > view.maxBodyBytes) {
    return refuse({ status: 413, code: 'push.too-large', reason: `the body is ${request.body.length} bytes; this receiver takes at most ${view.maxBodyBytes}` });
  }
  if (!tokenMatches(header(request, 'authorization'), view.token)) {
    return refuse({ status: 401, code: 'push.token', reason: 'missing or wrong bearer token' });
  }
  const webhookId = header(request, 'webhook-id');
  const verified = verifyWebhook(view.forgeKeys, {
    id: webhookId ?? '',
    timestamp: header(request, 'webhook-timestamp') ?? '',
    signature: header(request, 'webhook-signature') ?? '',
    body: request.body,
  }, { now: view.now, toleranceSeconds: WEBHOOK_TOLERANCE_SECONDS });
  if (!verified.ok) return refuse({ status: verified.status, code: verified.code, reason: verified.reason });
  const id = webhookId as string;

  if (view.seenWebhookIds.has(id)) return refuse({ status: 200, code: 'duplicate', reason: `webhook ${id} was applied already` });
  if (view.mode === 'frozen') return refuse({ status: 409, code: 'frozen', reason: 'this receiver is frozen; it updates only on a manual sync' });
  return { ok: true, webhookId: id };
}

/** The answer to a push whose request passed and whose envelope was checked. */
export function decidePush(checked: EnvelopeCheck, webhookId: string, view: Pick<ReceiverView, 'busy'>): PushDecision {
  if (!checked.ok) return checked.rejection;
  if (!checked.changed) return { status: 200, code: 'unchanged', reason: 'this receiver has these versions already' };
  if (view.busy) return { status: 503, code: 'busy', reason: 'an update is being applied; retry shortly', retryAfter: 1 };
  return { status: 200, code: 'applied', envelope: checked.envelope, bundleBytes: checked.bundleBytes, webhookId };
}

export type EnvelopeView = Pick<ReceiverView, 'project' | 'channel' | 'forgeKeys' | 'versions' | 'rollouts' | 'ranges' | 'sets'>;

type Rejection = Extract<PushDecision, { status: 400 | 401 | 403 | 409 | 413 | 422 | 503 }>;
const reject = (rejection: Rejection) => ({ ok: false as const, rejection });

export type EnvelopeCheck =
  | { ok: true; envelope: Envelope; changed: boolean; /** Each bundle's exact bytes, when integrity was checked on them. */ bundleBytes: Map<string, Buffer> }
  | { ok: false; rejection: Rejection };

export interface EnvelopeCheckOptions {
  /** The body's bundle spans as `bundleSpans` guessed them, when the caller has them already. */
  spans?: Buffer[] | undefined;
}

/**
 * The envelope itself, pushed or pulled: JSON, schema, project and channel, every bundle's
 * integrity and forge signature, the forge's signature over the envelope statement (which binds
 * the bundles to this project, channel and rollouts: issue 18), the channel's policy for every
 * bundle (channel-policy.ts), the receiver's ranges, and versions that only move forward —
 * rollout bundles included.
 *
 * A canonical body (a forge sends nothing else) is read without its prompt entries: they stay
 * in the body, located, and each is parsed when its prompt is first used (bundle/bundle-bytes.ts;
 * DESIGN.md §11, "apply"). Any other body, or one whose bundles' bytes do not hash to their
 * integrity, is parsed whole, and judged on that.
 */
export function checkEnvelope(body: Buffer, view: EnvelopeView, options: EnvelopeCheckOptions = {}): EnvelopeCheck {
  const read = readEnvelopeBytes(body);
  const fromBytes = read && checkParsedEnvelope(body, read.outline, view, { read });
  if (fromBytes !== undefined) return fromBytes;
  const parsed = parseEnvelopeJson(body);
  return parsed.ok ? checkParsedEnvelope(body, parsed.value, view, options)! : parsed;
}

/**
 * `checkEnvelope`, letting the event loop run between reading the body and checking it: the two
 * halves of a 10 MB check are each shorter than the whole, and renders wait for no more than one.
 */
export async function checkEnvelopeYielding(body: Buffer, view: EnvelopeView, options: EnvelopeCheckOptions = {}): Promise<EnvelopeCheck> {
  const read = readEnvelopeBytes(body);
  if (read !== undefined) {
    await yieldToEventLoop();
    const fromBytes = checkParsedEnvelope(body, read.outline, view, { read });
    if (fromBytes !== undefined) return fromBytes;
  }
  const parsed = parseEnvelopeJson(body);
  if (!parsed.ok) return parsed;
  await yieldToEventLoop();
  return checkParsedEnvelope(body, parsed.value, view, options)!;
}

function parseEnvelopeJson(body: Buffer): { ok: true; value: unknown } | { ok: false; rejection: Rejection } {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch (err) {
    return reject({ status: 400, code: 'push.malformed', reason: `the body is not JSON: ${(err as Error).message}` });
  }
}

/** Undefined only with `read`, when the bundles' bytes do not verify: the body must be parsed whole. */
function checkParsedEnvelope(body: Buffer, parsed: unknown, view: EnvelopeView, options: EnvelopeCheckOptions & { read?: EnvelopeBytes }): EnvelopeCheck | undefined {
  // Prompt entries are checked before each prompt is first served (store/), not here: the
  // outline, integrity over every byte and the signatures are what an apply waits for.
  const checked = validateEnvelope(parsed, { deferPrompts: true });
  if (!checked.ok) {
    const first = checked.errors[0];
    return reject({ status: 422, code: 'push.schema', reason: `not a valid envelope${first ? ` at ${first.path || '/'}: ${first.message}` : ''}` });
  }
  const envelope = parsed as Envelope;
  if (envelope.project !== view.project) return reject({ status: 422, code: 'push.wrong-project', reason: `the envelope is for project ${envelope.project}, this receiver serves ${view.project}` });
  if (envelope.channel !== view.channel) return reject({ status: 422, code: 'push.wrong-channel', reason: `the envelope is for channel ${envelope.channel}, this receiver takes ${view.channel}` });

  let bundleBytes: Map<string, Buffer>;
  if (options.read !== undefined) {
    const located = options.read.bundles;
    const spans = located.map((b) => body.subarray(b.start, b.end));
    if (!envelope.bundles.every((b, i) => integrityOfBundleBytes(spans[i]!) === b.integrity)) return undefined;
    bundleBytes = new Map(envelope.bundles.map((b, i) => [b.integrity, spans[i]!] as const));
    // The bytes are the forge's: serve the prompts from them.
    envelope.bundles.forEach((b, i) => (b.prompts = promptsFromBytes(body, located[i]!)));
  } else {
    // On the bytes as received when the body is canonical (it is, from a forge); else re-serialised.
    bundleBytes = verifiedBundleBytes(body, envelope.bundles, options.spans);
    for (const bundle of envelope.bundles) {
      if (bundleBytes.has(bundle.integrity)) continue;
      if (!verifyBundleIntegrity(bundle)) return reject({ status: 422, code: 'push.integrity', reason: `bundle ${bundle.set}@${bundle.version} does not match its integrity` });
    }
  }
  const signed = verifyBundleSignatures(envelope.bundles, envelope.signatures, view.forgeKeys);
  if (!signed.ok) return reject({ status: 422, code: 'push.signature', reason: signed.reason });
  // One more Ed25519 verification per envelope: the bundle signatures say the forge built each
  // bundle, this one that the forge sent these bundles and rollouts to this project's channel.
  const bound = verifyEnvelopeStatement(envelope, envelope.envelopeSignatures, view.forgeKeys);
  if (!bound.ok) return reject({ status: 422, code: 'push.envelope-signature', reason: bound.reason });

  const roles = bundleRoles(envelope, view.sets);
  for (const [i, bundle] of envelope.bundles.entries()) {
    const verdict = channelAccepts(view.channel, bundle, roles[i]);
    if (!verdict.ok) return reject({ status: 422, code: 'push.channel-policy', reason: `channel ${view.channel} refuses ${verdict.reason}` });
  }

  const served = servedBundles(envelope, view.sets);
  const rolledOut = rolloutBundles(envelope, view.sets);
  for (const bundle of [...served, ...rolledOut]) {
    const range = view.ranges[bundle.set];
    if (range !== undefined && !semver.satisfies(bundle.version, range, { includePrerelease: true })) {
      const what = served.includes(bundle) ? '' : 'rollout ';
      return reject({ status: 422, code: 'push.out-of-range', reason: `${what}${bundle.set}@${bundle.version} is outside this receiver's range ${range}` });
    }
  }
  let forward = false;
  for (const bundle of served) {
    const current = view.versions[bundle.set];
    if (current === undefined) forward = true;
    else if (semver.lt(bundle.version, current)) {
      return reject({ status: 409, code: 'stale', reason: `this receiver has ${bundle.set}@${current}, newer than ${bundle.version}` });
    } else if (semver.gt(bundle.version, current)) forward = true;
  }
  // A rollout moves some keys to another version: never to one older than the set's current one.
  for (const bundle of rolledOut) {
    const current = view.versions[bundle.set];
    if (current !== undefined && semver.lt(bundle.version, current)) {
      return reject({ status: 409, code: 'stale', reason: `this receiver has ${bundle.set}@${current}, newer than the rollout's ${bundle.version}` });
    }
  }
  return { ok: true, envelope, bundleBytes, changed: forward || rolloutChanged(envelope, view) };
}

/**
 * How the receiver would use each bundle, for the channel policy: the rollout version of a set,
 * a dependency (pinned by exact version by another bundle of the envelope, or of a set this
 * receiver does not serve), or a set's current bundle.
 */
function bundleRoles(envelope: Envelope, sets: readonly string[] | undefined): BundleRole[] {
  const pinned = new Set<string>();
  for (const b of envelope.bundles) for (const [dep, version] of Object.entries(b.dependencies)) pinned.add(`${dep}@${version}`);
  return envelope.bundles.map((b) => {
    if (envelope.rollouts[b.set]?.version === b.version) return 'rollout';
    if (pinned.has(`${b.set}@${b.version}`) || (sets !== undefined && !sets.includes(b.set))) return 'dependency';
    return 'set';
  });
}

/**
 * Each bundle's exact bytes in `body`, by integrity, for the bundles whose bytes hash to their
 * integrity. Guessed spans count only when every one of them verifies: each is then the text
 * the parser read for its bundle (the first starts where the array does, and a span that hashes
 * right is a whole canonical bundle, so the next starts right after it). Otherwise the exact scan
 * is used, whose spans are right on their own.
 */
function verifiedBundleBytes(body: Buffer, bundles: Envelope['bundles'], spans?: Buffer[]): Map<string, Buffer> {
  const found = new Map<string, Buffer>();
  const guessed = spans !== undefined && isSpanChain(body, spans) ? spans : bundleSpans(body);
  if (guessed?.length === bundles.length && bundles.every((b, i) => integrityOfBundleBytes(guessed[i]!) === b.integrity)) {
    bundles.forEach((b, i) => found.set(b.integrity, guessed[i]!));
    return found;
  }
  const exact = scanBundleSpans(body);
  if (exact?.length !== bundles.length) return found;
  bundles.forEach((b, i) => {
    if (integrityOfBundleBytes(exact[i]!) === b.integrity) found.set(b.integrity, exact[i]!);
  });
  return found;
}

/** The bundles an envelope offers for the sets this receiver serves (not rollouts or dependencies). */
export function servedBundles(envelope: Envelope, sets: readonly string[] | undefined): Envelope['bundles'] {
  return envelope.bundles.filter((b) => (sets === undefined || sets.includes(b.set)) && envelope.rollouts[b.set]?.version !== b.version);
}

/** The rollout bundles an envelope offers for the sets this receiver serves. */
export function rolloutBundles(envelope: Envelope, sets: readonly string[] | undefined): Envelope['bundles'] {
  return envelope.bundles.filter((b) => (sets === undefined || sets.includes(b.set)) && envelope.rollouts[b.set]?.version === b.version);
}

function rolloutChanged(envelope: Envelope, view: EnvelopeView): boolean {
  const mine = (set: string) => view.sets === undefined || view.sets.includes(set);
  for (const [set, rollout] of Object.entries(envelope.rollouts)) {
    const current = view.rollouts[set];
    if (mine(set) && (current?.version !== rollout.version || current.percent !== rollout.percent)) return true;
  }
  return Object.keys(view.rollouts).some((set) => mine(set) && !envelope.rollouts[set]);
}

function header(request: PushRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Constant-time: both sides are hashed first, so neither length nor content leaks through timing. */
export function tokenMatches(authorization: string | undefined, token: string): boolean {
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? '';
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b) && presented.length > 0;
}
