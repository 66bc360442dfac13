/**
 * Project access tokens (DESIGN §9): 256 random bits, shown once, stored only as a SHA-256
 * hash beside a short prefix to recognise them by, compared in constant time, scoped to one
 * project, revocable with immediate effect (the next request, and the next push: issue 18), last
 * use recorded. A token's scope is `full`, or `read` for a peer forge (issue 17), which the gate
 * (http/require-token.ts) lets read and nothing else.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AnvilError, SET_NAME_PATTERN } from '@anvil/content-schema';
import type { AccessToken, TokenScope } from '../store/database.ts';
import { endReceiversOfToken } from '../receivers/end-revoked-receivers.ts';
import { appendAudit, appendAuditEntries } from '../store/audit-log.ts';
import { storeTime, type Store } from '../store/open-store.ts';

/** Every token starts with this, so that secret scanners and people can tell what it is. */
export const TOKEN_SCHEME = 'anvil_';
/** 32 random bytes in base64url: 43 characters. */
export const TOKEN_PATTERN = /^anvil_[A-Za-z0-9_-]{43}$/;
/** `anvil_` and the first 8 characters of the random part: 48 of the 256 bits, enough to tell tokens apart. */
const PREFIX_LENGTH = TOKEN_SCHEME.length + 8;
const LABEL_MAX_LENGTH = 200;
/**
 * `last_used_at` is written at most this often per token: a fleet of receivers heartbeating
 * every 30 s should not turn every request into a write.
 */
export const LAST_USED_RESOLUTION_MS = 10_000;

const PROJECT_NAME = new RegExp(SET_NAME_PATTERN);

export interface CreatedAccessToken {
  /** The token itself: shown once, never stored. */
  token: string;
  id: string;
  prefix: string;
}

/** A token as listed: everything but its hash. */
export interface AccessTokenInfo {
  id: string;
  project: string;
  prefix: string;
  label: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** `full` (also when absent), or `read`: a peer forge's token, refused on every route that writes (migration 013). */
  scope?: TokenScope;
}

export type { TokenScope };
/** `full` is what every token could do before scopes; `read` lists, pulls and renders only. */
export const TOKEN_SCOPES: readonly TokenScope[] = ['full', 'read'];

export function isTokenScope(value: unknown): value is TokenScope {
  return typeof value === 'string' && (TOKEN_SCOPES as readonly string[]).includes(value);
}

export type AuthFailureCode = 'auth.missing' | 'auth.invalid' | 'auth.revoked' | 'auth.forbidden';

export type TokenCheck =
  | { ok: true; token: AccessTokenInfo }
  | { ok: false; code: AuthFailureCode; reason: string; hint?: string };

export interface TokenActionOptions {
  /** Who did it, for the audit log (`cli`, `admin`). */
  actor?: string | undefined;
  now?: number | undefined;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function tokenPrefix(token: string): string {
  return token.slice(0, PREFIX_LENGTH);
}

export function checkProjectName(project: string): void {
  if (!PROJECT_NAME.test(project) || project.length > 128) {
    throw new AnvilError('token.project', `"${project.slice(0, 100)}" is not a project name`, { hint: 'a project name is lowercase: a-z, 0-9, ".", "_" and "-"' });
  }
}

function infoOf(row: AccessToken): AccessTokenInfo {
  return {
    id: row.id, project: row.project, prefix: row.prefix, label: row.label,
    createdAt: row.created_at, lastUsedAt: row.last_used_at, revokedAt: row.revoked_at,
    // Only a read token says so: a full token is listed as every token was before scopes.
    ...(row.scope === 'read' ? { scope: 'read' as const } : {}),
  };
}

/** Makes a token for `project`. The caller shows `token` once; the store keeps its hash. */
export async function createAccessToken(db: Store, request: { project: string; label?: string | undefined; scope?: TokenScope | undefined } & TokenActionOptions): Promise<CreatedAccessToken> {
  checkProjectName(request.project);
  const scope = request.scope ?? 'full';
  if (!isTokenScope(scope)) throw new AnvilError('token.scope', `"${String(scope).slice(0, 40)}" is not a token scope`, { hint: '`full` (the default) or `read` (a peer forge: list, pull and render only)' });
  const label = (request.label ?? '').trim();
  if (label.length > LABEL_MAX_LENGTH || /[\u0000-\u001f\u007f]/.test(label)) {
    throw new AnvilError('token.label', `a token label is at most ${LABEL_MAX_LENGTH} characters on one line`, { hint: 'say where the token is used, e.g. "web app production"' });
  }
  const token = `${TOKEN_SCHEME}${randomBytes(32).toString('base64url')}`;
  const id = `tok_${randomBytes(6).toString('hex')}`;
  const prefix = tokenPrefix(token);
  const now = request.now ?? Date.now();
  await db.insertInto('access_tokens').values({
    id, project: request.project, prefix, hash: hashToken(token), label, created_at: storeTime(now), last_used_at: null, revoked_at: null,
    // Written only when not the column's default, so that a full token is inserted as before.
    ...(scope === 'read' ? { scope } : {}),
  }).execute();
  await appendAudit(db, { project: request.project, kind: 'token.created', subject: prefix, actor: request.actor ?? 'forge', detail: { id, label, ...(scope === 'read' ? { scope } : {}) } }, now);
  return { token, id, prefix };
}

/** Tokens of one project (or all), oldest first; never their hashes. */
export async function listAccessTokens(db: Store, project?: string): Promise<AccessTokenInfo[]> {
  let q = db.selectFrom('access_tokens').selectAll().orderBy('created_at').orderBy('id');
  if (project !== undefined) q = q.where('project', '=', project);
  return (await q.execute()).map(infoOf);
}

/** What a revocation ended (issue 18): the receivers registered with the token, and their pending deliveries. */
export interface RevocationResult {
  token: AccessTokenInfo;
  alreadyRevoked: boolean;
  /** Instance ids of the receivers that get no more pushes (none when it was already revoked). */
  receivers: string[];
  /** Deliveries to them that were cancelled (superseded, code `token.revoked`). */
  cancelledDeliveries: number;
}

export interface RevokeOptions extends TokenActionOptions {
  /**
   * Opens the receivers' sealed push tokens (the forge's secret box). With it, receivers that
   * registered before tokens were linked to them (migration 005) are found too; without it
   * (a data dir whose forge never sealed a token) the push worker finds them before it would push.
   */
  secrets?: { open(sealed: string): string } | undefined;
}

/**
 * Revokes a token of `project`, named by id (`tok_…`) or prefix (`anvil_AbCdEfGh`), with
 * immediate effect (DESIGN §9): every request checks the store, and in the same transaction the
 * receivers that registered with it are marked revoked and their pending deliveries, those being
 * pushed included, are cancelled (receivers/end-revoked-receivers.ts); the push worker checks
 * the token again just before each push. Revoking a revoked token changes nothing.
 */
export async function revokeAccessToken(db: Store, project: string, idOrPrefix: string, options: RevokeOptions = {}): Promise<RevocationResult> {
  const wanted = idOrPrefix.trim();
  const rows = await db.selectFrom('access_tokens').selectAll()
    .where('project', '=', project)
    .where((eb) => eb.or([eb('id', '=', wanted), eb('prefix', '=', wanted)]))
    .execute();
  if (rows.length === 0) {
    throw new AnvilError('token.unknown', `${project} has no token "${wanted.slice(0, 100)}"`, { hint: `list them with \`npx anvil token list --project ${project}\`` });
  }
  if (rows.length > 1) {
    throw new AnvilError('token.ambiguous', `"${wanted}" names ${rows.length} tokens of ${project}`, { hint: `revoke by id: ${rows.map((r) => r.id).join(', ')}` });
  }
  const row = rows[0]!;
  const already = { token: infoOf(row), alreadyRevoked: true, receivers: [], cancelledDeliveries: 0 };
  if (row.revoked_at !== null) return already;
  const now = options.now ?? Date.now();
  const revokedAt = storeTime(now);
  const effect = await db.transaction().execute(async (trx) => {
    // The first statement writes: SQLite takes the write lock here, so no registration with this
    // token and no enqueue can come between the revocation and the end of its receivers.
    const changed = await trx.updateTable('access_tokens').set({ revoked_at: revokedAt }).where('id', '=', row.id).where('revoked_at', 'is', null).executeTakeFirst();
    if (Number(changed.numUpdatedRows) === 0) return undefined;
    if (options.secrets) await linkSealedReceivers(trx, options.secrets, project, row);
    const ended = await endReceiversOfToken(trx, { project, tokenId: row.id, prefix: row.prefix, at: revokedAt });
    await appendAuditEntries(trx, [{
      project, kind: 'token.revoked', subject: row.prefix, actor: options.actor ?? 'forge',
      detail: {
        id: row.id, label: row.label, receivers: ended.receivers.length, cancelledDeliveries: ended.deliveries,
        ...(ended.receivers.length > 0 ? { receiverIds: ended.receivers.slice(0, AUDITED_RECEIVER_IDS) } : {}),
      },
    }], now);
    return ended;
  });
  // Revoked by someone else in the meantime: theirs is the revocation that counts.
  if (!effect) return already;
  return { token: { ...infoOf(row), revokedAt }, alreadyRevoked: false, receivers: effect.receivers, cancelledDeliveries: effect.deliveries };
}

/** The audit row names this many receivers at most; the count is always whole. */
const AUDITED_RECEIVER_IDS = 100;

/** Links the project's not-yet-linked receivers whose sealed push token is this token. */
async function linkSealedReceivers(trx: Store, secrets: { open(sealed: string): string }, project: string, token: AccessToken): Promise<void> {
  const unlinked = await trx.selectFrom('receivers').select(['instance_id', 'push_token'])
    .where('project', '=', project).where('token_id', 'is', null).where('gone_at', 'is', null).execute();
  const stored = Buffer.from(token.hash, 'hex');
  for (const r of unlinked) {
    let plain: string;
    try {
      plain = secrets.open(r.push_token);
    } catch {
      continue; // Sealed under another key: the push worker cannot push to it either.
    }
    const digest = Buffer.from(hashToken(plain), 'hex');
    if (!timingSafeEqual(stored, digest)) continue;
    await trx.updateTable('receivers').set({ token_id: token.id }).where('project', '=', project).where('instance_id', '=', r.instance_id).execute();
  }
}

/**
 * The ids of the stored tokens that these tokens are (plain token → id), found as
 * verifyAccessToken finds one: by prefix, then the hash compared in constant time. For tokens
 * the forge holds sealed (the push worker linking receivers registered before migration 005).
 */
export async function storedTokenIds(db: Store, tokens: readonly string[]): Promise<Map<string, string>> {
  const wanted = [...new Set(tokens.filter((t) => TOKEN_PATTERN.test(t)))];
  const found = new Map<string, string>();
  if (wanted.length === 0) return found;
  const prefixes = [...new Set(wanted.map(tokenPrefix))];
  const candidates: AccessToken[] = [];
  for (let i = 0; i < prefixes.length; i += 500) {
    candidates.push(...await db.selectFrom('access_tokens').selectAll().where('prefix', 'in', prefixes.slice(i, i + 500)).execute());
  }
  for (const token of wanted) {
    const digest = Buffer.from(hashToken(token), 'hex');
    for (const row of candidates) {
      const stored = Buffer.from(row.hash, 'hex');
      if (row.prefix === tokenPrefix(token) && stored.length === digest.length && timingSafeEqual(stored, digest)) found.set(token, row.id);
    }
  }
  return found;
}

/**
 * The stored token that `presented` is, in any project, revoked or not (the dashboard's sign-in:
 * a token names its own project). Found as verifyAccessToken finds one: by prefix, then every
 * candidate's hash compared in constant time. Nothing is recorded.
 */
export async function findAccessToken(db: Store, presented: string): Promise<AccessTokenInfo | undefined> {
  if (!TOKEN_PATTERN.test(presented)) return undefined;
  const match = await storedTokenOf(db, presented);
  return match ? infoOf(match) : undefined;
}

/** The stored row of a well-formed token: candidates by prefix, each hash compared in constant time. */
async function storedTokenOf(db: Store, presented: string): Promise<AccessToken | undefined> {
  const digest = Buffer.from(hashToken(presented), 'hex');
  const candidates = await db.selectFrom('access_tokens').selectAll().where('prefix', '=', tokenPrefix(presented)).execute();
  let match: AccessToken | undefined;
  for (const row of candidates) {
    const stored = Buffer.from(row.hash, 'hex');
    // No early exit: each candidate costs the same whether or not an earlier one matched.
    if (stored.length === digest.length && timingSafeEqual(stored, digest) && match === undefined) match = row;
  }
  return match;
}

/**
 * Checks a presented token against `project`. Candidates are found by their prefix (not a
 * secret), then every candidate's hash is compared in constant time; a token of another project
 * is `auth.forbidden`. On success `last_used_at` is recorded.
 */
export async function verifyAccessToken(db: Store, project: string, presented: string | undefined, now: number = Date.now()): Promise<TokenCheck> {
  if (presented === undefined || presented === '') {
    return { ok: false, code: 'auth.missing', reason: 'this request needs an access token', hint: 'send `Authorization: Bearer <token>`; create one with `npx anvil token create --project …`' };
  }
  const invalid: TokenCheck = { ok: false, code: 'auth.invalid', reason: 'the access token is not valid', hint: 'check the token; a revoked or mistyped token fails the same way' };
  if (!TOKEN_PATTERN.test(presented)) return invalid;
  const match = await storedTokenOf(db, presented);
  if (!match) return invalid;
  if (match.revoked_at !== null) {
    // Not the token's project: a leaked token, revoked because it leaked, must not name it.
    return { ok: false, code: 'auth.revoked', reason: `the access token ${match.prefix}… was revoked at ${match.revoked_at}`, hint: 'ask the forge\'s operator for a new one (`npx anvil token create --project …`)' };
  }
  if (match.project !== project) {
    // The same answer whether or not the project asked for exists, and naming neither.
    return { ok: false, code: 'auth.forbidden', reason: 'this access token is for another project', hint: 'a token works for its own project only' };
  }
  let lastUsedAt = match.last_used_at;
  if (lastUsedAt === null || Date.parse(lastUsedAt) + LAST_USED_RESOLUTION_MS <= now) {
    lastUsedAt = storeTime(now);
    await db.updateTable('access_tokens').set({ last_used_at: lastUsedAt }).where('id', '=', match.id).execute();
  }
  return { ok: true, token: { ...infoOf(match), lastUsedAt } };
}
