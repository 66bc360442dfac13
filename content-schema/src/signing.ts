/**
 * Ed25519 signing, shared by the forge (which signs) and receivers (which verify): bundle
 * signatures over integrity strings (DESIGN §7), envelope signatures over the envelope
 * statement (which binds the bundles to a project, channel and rollouts: issue 18) and Standard
 * Webhooks `v1a` request signatures on pushes (DESIGN §8, https://www.standardwebhooks.com).
 *
 * Verifiers never throw on what arrives over the wire: they answer `{ok: false, code, reason}`.
 * Signers throw AnvilError, since a bad key or message there is the caller's bug.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import { AnvilError } from './errors.ts';
import { INTEGRITY_PATTERN } from './schemas/common.ts';
import type { Envelope, EnvelopeSignature, EnvelopeStatementSignature } from './schemas/envelope.ts';

/** A forge signing key. `publicKey` is what receivers pin; `privateKey` never leaves the forge. */
export interface SigningKey {
  /** `ed25519:` + the first 16 characters of base64url(SHA-256(raw public key)). */
  keyId: string;
  /** Base64 of the raw 32-byte Ed25519 public key. */
  publicKey: string;
  /** PKCS#8 PEM. */
  privateKey: string;
}

/** Key id → base64 raw public key: the keys a verifier trusts (pinned at connect). */
export type TrustedKeys = Readonly<Record<string, string>>;

/** What a bundle signature is checked against: its integrity (set and version name it in reasons). */
export interface SignedBundleRef {
  readonly integrity: string;
  readonly set?: string | undefined;
  readonly version?: string | undefined;
}

export type SignatureFailureCode = 'signature.malformed' | 'signature.missing' | 'signature.untrusted-key' | 'signature.invalid';

export type SignatureVerification =
  | { ok: true }
  | { ok: false; code: SignatureFailureCode; reason: string; integrity?: string };

export type WebhookFailureCode = 'webhook.headers' | 'webhook.signature' | 'webhook.window';

export type WebhookVerification =
  | { ok: true; timestamp: number }
  | { ok: false; status: 401 | 403; code: WebhookFailureCode; reason: string };

/** A header as Node reports it: absent, once, or repeated. */
export type HeaderValue = string | readonly string[] | undefined;

export interface WebhookToSign {
  /** `webhook-id`: the same on every retry of one delivery. */
  id: string;
  /** `webhook-timestamp`: unix seconds of this attempt. */
  timestamp: number;
  /** The exact request body bytes (a string is taken as UTF-8). */
  body: string | Uint8Array;
}

export interface WebhookToVerify {
  id: HeaderValue;
  timestamp: HeaderValue | number;
  /** `webhook-signature`: space-separated `version,signature` entries; only `v1a` ones count. */
  signature: HeaderValue;
  /** The raw body as received: a re-serialised JSON body would not verify. */
  body: string | Uint8Array;
}

export interface WebhookVerifyOptions {
  /** Current time in milliseconds (default `Date.now()`). */
  now?: number;
  /** Accepted clock difference either way, in seconds (default 300, DESIGN §8). */
  toleranceSeconds?: number;
}

export const WEBHOOK_SIGNATURE_VERSION = 'v1a';
export const WEBHOOK_TOLERANCE_SECONDS = 300;

const KEY_ID_PREFIX = 'ed25519:';
const PUBLIC_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
// DER SubjectPublicKeyInfo header for an Ed25519 key (RFC 8410); the raw key follows it.
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const MAX_WEBHOOK_SIGNATURES = 8;
const WEBHOOK_ID_PATTERN = /^[\x21-\x7e]{1,256}$/;
const TIMESTAMP_PATTERN = /^[0-9]{1,12}$/;
const integrityPattern = new RegExp(INTEGRITY_PATTERN);

/** A fresh Ed25519 key pair. */
export function generateSigningKey(): SigningKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = rawPublicKey(publicKey);
  return {
    keyId: keyIdOf(raw.toString('base64')),
    publicKey: raw.toString('base64'),
    privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

/** The base64 raw public key of a PKCS#8 PEM Ed25519 private key. */
export function publicKeyOf(privateKeyPem: string): string {
  return rawPublicKey(createPublicKey(privateKeyObject(privateKeyPem))).toString('base64');
}

/** The key id of a base64 raw public key. */
export function keyIdOf(publicKey: string): string {
  const raw = decodeBase64(publicKey, PUBLIC_KEY_BYTES);
  if (!raw) {
    throw new AnvilError('signing.key', 'not an Ed25519 public key: expected base64 of 32 bytes', {
      hint: 'use the `publicKey` of a key made by generateSigningKey(), as published in /.well-known/anvil.json',
    });
  }
  return `${KEY_ID_PREFIX}${createHash('sha256').update(raw).digest('base64url').slice(0, 16)}`;
}

/** Signs a bundle's integrity string: the signature an envelope carries for that bundle. */
export function signIntegrity(key: Pick<SigningKey, 'keyId' | 'privateKey'>, integrity: string): EnvelopeSignature {
  if (typeof integrity !== 'string' || !integrityPattern.test(integrity)) {
    throw new AnvilError('signing.integrity', `not an integrity string: ${JSON.stringify(integrity)}`, {
      hint: 'sign the bundle\'s `integrity` field ("sha256-" + 44 base64 characters)',
    });
  }
  const signature = sign(null, Buffer.from(integrity, 'utf8'), privateKeyObject(key.privateKey)).toString('base64');
  return { keyId: key.keyId, integrity, signature };
}

/**
 * Checks that every bundle's integrity carries at least one valid signature by a trusted key.
 * Answers with the first bundle that does not, and why: no signature at all, signatures only
 * by keys not trusted, or a trusted key's signature that does not verify.
 */
export function verifyBundleSignatures(
  bundles: readonly SignedBundleRef[],
  signatures: readonly EnvelopeSignature[],
  trusted: TrustedKeys,
): SignatureVerification {
  if (!Array.isArray(bundles)) return { ok: false, code: 'signature.malformed', reason: 'bundles is not a list' };
  if (!Array.isArray(signatures)) return { ok: false, code: 'signature.malformed', reason: 'signatures is not a list' };
  const byIntegrity = new Map<string, unknown[]>();
  for (const entry of signatures as unknown[]) {
    const integrity = stringField(entry, 'integrity');
    if (integrity === undefined) continue;
    const list = byIntegrity.get(integrity);
    if (list) list.push(entry);
    else byIntegrity.set(integrity, [entry]);
  }

  for (const bundle of bundles as unknown[]) {
    const integrity = stringField(bundle, 'integrity');
    if (integrity === undefined) return { ok: false, code: 'signature.malformed', reason: 'a bundle has no integrity string' };
    const name = describeBundle(bundle, integrity);
    const candidates = byIntegrity.get(integrity) ?? [];
    if (candidates.length === 0) {
      return { ok: false, code: 'signature.missing', reason: `bundle ${name} is not signed`, integrity };
    }
    let trustedTried: string | undefined;
    let verified = false;
    for (const candidate of candidates) {
      const keyId = stringField(candidate, 'keyId');
      if (keyId === undefined || !trustedKey(trusted, keyId)) continue;
      trustedTried = keyId;
      if (verifyDetached(trusted[keyId], Buffer.from(integrity, 'utf8'), stringField(candidate, 'signature'))) {
        verified = true;
        break;
      }
    }
    if (verified) continue;
    if (trustedTried !== undefined) {
      return { ok: false, code: 'signature.invalid', reason: `bundle ${name}: the signature by key ${trustedTried} does not verify`, integrity };
    }
    const keyIds = candidates.map((c) => stringField(c, 'keyId') ?? '?').join(', ');
    return {
      ok: false,
      code: 'signature.untrusted-key',
      reason: `bundle ${name} is signed only by keys not trusted here (${keyIds})`,
      integrity,
    };
  }
  return { ok: true };
}

/** Tells an envelope statement apart from every other message a forge key signs. */
export const ENVELOPE_STATEMENT = 'anvil.envelope-statement/1';

/** What an envelope statement is made of: an envelope without its prompts and signatures. */
export interface EnvelopeStatementSource {
  readonly format: string;
  readonly forge: string;
  readonly id?: string | undefined;
  readonly project: string;
  readonly channel: string;
  readonly bundles: readonly { readonly integrity: string; readonly set: string; readonly version: string; readonly stage: string; readonly mode: string }[];
  readonly rollouts: Readonly<Record<string, { readonly version: string; readonly percent: number }>>;
}

/**
 * The statement the forge signs for a whole envelope: canonical JSON of its format, forge, id,
 * project, channel, each bundle's integrity (with its set, version, stage and mode, in envelope
 * order) and rollouts. A bundle's own signature says "the forge built this"; this one says
 * "the forge sends these, to this project's `channel`, with these rollouts", so a bundle signed
 * for staging cannot be re-wrapped into a production envelope, nor a rollout added or dropped.
 * Prompts are not in it: the integrities cover them.
 */
export function envelopeStatement(source: EnvelopeStatementSource): string {
  const rollouts: Record<string, { version: string; percent: number }> = {};
  for (const [set, r] of Object.entries(source.rollouts)) rollouts[set] = { version: r.version, percent: r.percent };
  return canonicalJson({
    statement: ENVELOPE_STATEMENT,
    format: source.format,
    forge: source.forge,
    ...(source.id !== undefined ? { id: source.id } : {}),
    project: source.project,
    channel: source.channel,
    bundles: source.bundles.map((b) => ({ integrity: b.integrity, set: b.set, version: b.version, stage: b.stage, mode: b.mode })),
    rollouts,
  });
}

/** Signs an envelope's statement with one key: an entry of the envelope's `envelopeSignatures`. */
export function signEnvelopeStatement(key: Pick<SigningKey, 'keyId' | 'privateKey'>, source: EnvelopeStatementSource): EnvelopeStatementSignature {
  const statement = Buffer.from(envelopeStatement(source), 'utf8');
  return { keyId: key.keyId, signature: sign(null, statement, privateKeyObject(key.privateKey)).toString('base64') };
}

/**
 * Checks that the envelope statement carries a valid signature by a trusted key. One Ed25519
 * verification when the forge signed with a key the receiver pinned (stops at the first that
 * verifies); a trusted key's signature that does not verify means the envelope was changed
 * after signing: another channel, project, bundle list or rollouts than the forge sent.
 */
export function verifyEnvelopeStatement(
  source: EnvelopeStatementSource,
  signatures: readonly EnvelopeStatementSignature[],
  trusted: TrustedKeys,
): SignatureVerification {
  if (!Array.isArray(signatures)) return { ok: false, code: 'signature.malformed', reason: 'envelopeSignatures is not a list' };
  if (signatures.length === 0) return { ok: false, code: 'signature.missing', reason: 'the envelope carries no envelope signature' };
  let statement: Buffer;
  try {
    statement = Buffer.from(envelopeStatement(source), 'utf8');
  } catch {
    return { ok: false, code: 'signature.malformed', reason: 'the envelope has no statement to verify (fields missing or not JSON)' };
  }
  let trustedTried: string | undefined;
  for (const candidate of (signatures as unknown[]).slice(0, MAX_WEBHOOK_SIGNATURES)) {
    const keyId = stringField(candidate, 'keyId');
    if (keyId === undefined || !trustedKey(trusted, keyId)) continue;
    trustedTried = keyId;
    if (verifyDetached(trusted[keyId], statement, stringField(candidate, 'signature'))) return { ok: true };
  }
  const where = `for project ${source.project}, channel ${source.channel}`;
  if (trustedTried !== undefined) {
    return {
      ok: false,
      code: 'signature.invalid',
      reason: `the envelope signature by key ${trustedTried} does not verify: this envelope (${where}) is not what the forge signed — its channel, project, bundles or rollouts were changed`,
    };
  }
  const keyIds = (signatures as unknown[]).map((c) => stringField(c, 'keyId') ?? '?').join(', ');
  return { ok: false, code: 'signature.untrusted-key', reason: `the envelope (${where}) is signed only by keys not trusted here (${keyIds})` };
}

/**
 * An envelope signed as a forge signs it: every bundle's integrity and the envelope statement,
 * each by every key (the active one and retiring ones during a rotation).
 */
export function signEnvelope(
  keys: readonly Pick<SigningKey, 'keyId' | 'privateKey'>[],
  unsigned: Omit<Envelope, 'signatures' | 'envelopeSignatures'>,
): Envelope {
  return {
    ...unsigned,
    signatures: unsigned.bundles.flatMap((b) => keys.map((key) => signIntegrity(key, b.integrity))),
    envelopeSignatures: keys.map((key) => signEnvelopeStatement(key, unsigned)),
  };
}

/**
 * The `webhook-signature` header value for a push: `v1a,<base64 Ed25519 over "id.timestamp.body">`.
 */
export function signWebhook(key: Pick<SigningKey, 'privateKey'>, message: WebhookToSign): string {
  if (typeof message.id !== 'string' || !WEBHOOK_ID_PATTERN.test(message.id)) {
    throw new AnvilError('signing.webhook-id', 'a webhook id is 1 to 256 printable ASCII characters without spaces');
  }
  if (!Number.isSafeInteger(message.timestamp) || message.timestamp < 0) {
    throw new AnvilError('signing.webhook-timestamp', `webhook timestamp ${String(message.timestamp)} is not unix seconds`, {
      hint: 'pass Math.floor(Date.now() / 1000)',
    });
  }
  const content = signedContent(message.id, String(message.timestamp), message.body);
  return `${WEBHOOK_SIGNATURE_VERSION},${sign(null, content, privateKeyObject(key.privateKey)).toString('base64')}`;
}

/**
 * Checks a push's Standard Webhooks headers against the trusted keys (any of them may have
 * signed: rotation) and the clock window. Missing or garbled headers and a signature that does
 * not verify answer 401; an authentic request outside the window answers 403. The signature is
 * checked before the window so that 403 always means "authentic, but the clocks disagree or it
 * is a replay", which is what the forge's alert needs to say.
 */
export function verifyWebhook(trusted: TrustedKeys, request: WebhookToVerify, options: WebhookVerifyOptions = {}): WebhookVerification {
  const id = singleHeader(request.id);
  if (id === undefined || !WEBHOOK_ID_PATTERN.test(id)) {
    return headerFailure('webhook-id is missing or not 1 to 256 printable characters');
  }
  const timestampText = typeof request.timestamp === 'number' ? String(request.timestamp) : singleHeader(request.timestamp);
  if (timestampText === undefined || !TIMESTAMP_PATTERN.test(timestampText)) {
    return headerFailure('webhook-timestamp is missing or not unix seconds');
  }
  const header = typeof request.signature === 'string' ? request.signature : Array.isArray(request.signature) ? request.signature.join(' ') : undefined;
  if (header === undefined || header.trim() === '') return headerFailure('webhook-signature is missing');
  if (!(typeof request.body === 'string' || request.body instanceof Uint8Array)) {
    return headerFailure('the request body is not text or bytes');
  }

  const offered: string[] = [];
  for (const entry of header.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma > 0 && entry.slice(0, comma) === WEBHOOK_SIGNATURE_VERSION) offered.push(entry.slice(comma + 1));
  }
  // A sender offers one signature per key it is rotating through; a header stuffed with
  // hundreds would only make each request cost hundreds of verifications.
  offered.splice(MAX_WEBHOOK_SIGNATURES);
  if (offered.length === 0) {
    return { ok: false, status: 401, code: 'webhook.signature', reason: `webhook-signature holds no ${WEBHOOK_SIGNATURE_VERSION} signature` };
  }
  const content = signedContent(id, timestampText, request.body);
  const keys = trustedKeyIds(trusted);
  const authentic = offered.some((signature) => keys.some((keyId) => verifyDetached(trusted[keyId], content, signature)));
  if (!authentic) {
    return {
      ok: false,
      status: 401,
      code: 'webhook.signature',
      reason: keys.length === 0 ? 'no forge key is trusted' : 'the request signature does not verify with any trusted forge key',
    };
  }

  const timestamp = Number(timestampText);
  const tolerance = options.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS;
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (timestamp < now - tolerance || timestamp > now + tolerance) {
    const skew = timestamp - now;
    return {
      ok: false,
      status: 403,
      code: 'webhook.window',
      reason: `webhook-timestamp is ${Math.abs(skew)} s in the ${skew < 0 ? 'past' : 'future'}, outside the ±${tolerance} s window`,
    };
  }
  return { ok: true, timestamp };
}

function headerFailure(reason: string): WebhookVerification {
  return { ok: false, status: 401, code: 'webhook.headers', reason };
}

function singleHeader(value: HeaderValue | number): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function signedContent(id: string, timestamp: string, body: string | Uint8Array): Buffer {
  const bodyBytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), bodyBytes]);
}

/** Ed25519 verification; crypto.verify compares in constant time, and bad input is just `false`. */
function verifyDetached(publicKey: unknown, message: Buffer, signature: unknown): boolean {
  const key = publicKeyObject(publicKey);
  const bytes = decodeBase64(signature, SIGNATURE_BYTES);
  if (!key || !bytes) return false;
  try {
    return verify(null, message, key, bytes);
  } catch {
    return false;
  }
}

function trustedKey(trusted: TrustedKeys, keyId: string): boolean {
  return typeof trusted === 'object' && trusted !== null && Object.hasOwn(trusted, keyId);
}

function trustedKeyIds(trusted: TrustedKeys): string[] {
  return typeof trusted === 'object' && trusted !== null ? Object.keys(trusted) : [];
}

function stringField(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
  const found = (value as Record<string, unknown>)[key];
  return typeof found === 'string' ? found : undefined;
}

function describeBundle(bundle: unknown, integrity: string): string {
  const set = stringField(bundle, 'set');
  const version = stringField(bundle, 'version');
  return set !== undefined && version !== undefined ? `${set}@${version} (${integrity})` : integrity;
}

/** Strict base64: exactly `bytes` long and written canonically (Buffer.from skips junk silently). */
function decodeBase64(text: unknown, bytes: number): Buffer | undefined {
  if (typeof text !== 'string' || text.length !== 4 * Math.ceil(bytes / 3)) return undefined;
  const decoded = Buffer.from(text, 'base64');
  return decoded.length === bytes && decoded.toString('base64') === text ? decoded : undefined;
}

function rawPublicKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length);
}

// Parsing a key costs more than an Ed25519 operation; a forge signs for every receiver and a
// receiver verifies every bundle with the same few keys.
const KEY_CACHE_LIMIT = 64;
const publicKeys = new Map<string, KeyObject>();
const privateKeys = new Map<string, KeyObject>();

function remember(cache: Map<string, KeyObject>, text: string, key: KeyObject): KeyObject {
  if (cache.size >= KEY_CACHE_LIMIT) cache.clear();
  cache.set(text, key);
  return key;
}

function publicKeyObject(publicKey: unknown): KeyObject | undefined {
  if (typeof publicKey !== 'string') return undefined;
  const cached = publicKeys.get(publicKey);
  if (cached) return cached;
  const raw = decodeBase64(publicKey, PUBLIC_KEY_BYTES);
  if (!raw) return undefined;
  try {
    return remember(publicKeys, publicKey, createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' }));
  } catch {
    return undefined;
  }
}

function privateKeyObject(pem: string): KeyObject {
  const cached = typeof pem === 'string' ? privateKeys.get(pem) : undefined;
  if (cached) return cached;
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new AnvilError('signing.key', 'the signing key is not a PKCS#8 PEM private key', { cause, hint: 'use the `privateKey` of generateSigningKey()' });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AnvilError('signing.key', `the signing key is ${String(key.asymmetricKeyType)}, not Ed25519`, { hint: 'use the `privateKey` of generateSigningKey()' });
  }
  return remember(privateKeys, pem, key);
}
