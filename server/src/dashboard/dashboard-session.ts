/**
 * Dashboard sessions (issue 15): the cookie holds 256 random bits; the store keeps their SHA-256
 * with the role, the project, an expiry and the session's CSRF synchronizer token. A session of a
 * project token ends when the token is revoked (checked on every request, as the API does).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DashboardSession } from '../store/database.ts';
import { storeTime, type Store } from '../store/open-store.ts';
import { isDashboardRole, type DashboardUser } from './dashboard-roles.ts';

export const SESSION_COOKIE = 'anvil_session';
/** The sign-in form's own CSRF token (double submit): there is no session yet to bind it to. */
export const SIGN_IN_COOKIE = 'anvil_sign_in';
/** A working day: long enough not to annoy, short enough that a forgotten laptop is signed out by morning. */
export const SESSION_TTL_MS = 12 * 3_600_000;
/** 32 random bytes in base64url. */
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** 256 random bits, base64url: session ids and CSRF tokens. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSessionId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/** Constant time in the content; false for anything but two well-formed secrets. */
export function sameSecret(presented: unknown, expected: string | undefined): boolean {
  if (typeof presented !== 'string' || expected === undefined || !SECRET_PATTERN.test(presented) || !SECRET_PATTERN.test(expected)) return false;
  return timingSafeEqual(Buffer.from(presented), Buffer.from(expected));
}

/** Whether a POST form carries the session's synchronizer token. */
export function csrfValid(session: Pick<DashboardSession, 'csrf_token'>, presented: unknown): boolean {
  return sameSecret(presented, session.csrf_token);
}

export interface CookieFlags {
  httpOnly: true;
  sameSite: 'strict';
  secure: boolean;
  path: string;
  /** Milliseconds, as Express's res.cookie takes it (it writes Max-Age in seconds). */
  maxAge: number;
}

/** The flags of both dashboard cookies: Secure whenever the forge is reached over https. */
export function cookieFlags(publicUrl: string, maxAgeMs: number): CookieFlags {
  return { httpOnly: true, sameSite: 'strict', secure: publicUrl.startsWith('https:'), path: '/ui', maxAge: maxAgeMs };
}

export interface NewSession {
  user: DashboardUser;
  tokenId: string | null;
}

export interface CreatedSession {
  /** The cookie's value: never stored. */
  id: string;
  csrfToken: string;
  expiresAt: string;
}

export async function createSession(db: Store, session: NewSession, now: number = Date.now()): Promise<CreatedSession> {
  const id = newSecret();
  const csrfToken = newSecret();
  const expiresAt = storeTime(now + SESSION_TTL_MS);
  // Sweeping here keeps the table to the sessions that can still be used, without a timer.
  await db.deleteFrom('dashboard_sessions').where('expires_at', '<=', storeTime(now)).execute();
  await db.insertInto('dashboard_sessions').values({
    id_hash: hashSessionId(id), role: session.user.role, project: session.user.project, token_id: session.tokenId,
    actor: session.user.actor, csrf_token: csrfToken, created_at: storeTime(now), expires_at: expiresAt,
  }).execute();
  return { id, csrfToken, expiresAt };
}

/** The live session a cookie names, or undefined (unknown, expired, or its token revoked). */
export async function readSession(db: Store, id: string | undefined, now: number = Date.now()): Promise<DashboardSession | undefined> {
  if (id === undefined || !SECRET_PATTERN.test(id)) return undefined;
  const row = await db.selectFrom('dashboard_sessions').selectAll().where('id_hash', '=', hashSessionId(id)).executeTakeFirst();
  if (!row || row.expires_at <= storeTime(now) || !isDashboardRole(row.role)) return undefined;
  if (row.token_id !== null) {
    const token = await db.selectFrom('access_tokens').select('revoked_at').where('id', '=', row.token_id).executeTakeFirst();
    if (!token || token.revoked_at !== null) {
      await db.deleteFrom('dashboard_sessions').where('id_hash', '=', row.id_hash).execute();
      return undefined;
    }
  }
  return row;
}

export async function endSession(db: Store, id: string): Promise<void> {
  await db.deleteFrom('dashboard_sessions').where('id_hash', '=', hashSessionId(id)).execute();
}

export function userOf(session: DashboardSession): DashboardUser {
  return { role: session.role, project: session.project, actor: session.actor };
}
