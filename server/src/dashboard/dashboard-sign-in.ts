/**
 * Exchanging a token for a dashboard session (issue 15). The admin token signs in as `admin`;
 * a project token as its grant's role (default `viewer`) of its own project. Sign-ins, and
 * refusals of a token the forge knows (revoked, or of a project no longer configured), go to
 * the audit log; anything else is anonymous garbage and only counted and logged at a bounded
 * rate (issue 14: a caller must not be able to fill the audit log).
 */
import { findAccessToken, verifyAccessToken } from '../access/access-tokens.ts';
import type { ForgeContext } from '../forge/forge-context.ts';
import type { RateLimitedLog } from '../forge/rate-limited-log.ts';
import { isAdminToken } from '../http/require-token.ts';
import { appendAudit } from '../store/audit-log.ts';
import { roleOfToken, type DashboardUser } from './dashboard-roles.ts';
import { createSession, type CreatedSession } from './dashboard-session.ts';

export type SignInResult =
  | { ok: true; session: CreatedSession; user: DashboardUser }
  | { ok: false; reason: string };

/** One message for every token that does not sign in, so the form tells an attacker nothing. */
export const SIGN_IN_REFUSED = 'That token does not sign in to this forge. Check it, or ask the forge\'s operator for a new one.';

export async function signIn(
  ctx: Pick<ForgeContext, 'db' | 'adminToken' | 'projects' | 'metrics'>,
  presented: string,
  refusals: RateLimitedLog,
  now: number = Date.now(),
): Promise<SignInResult> {
  const token = presented.trim();
  if (token !== '' && isAdminToken(ctx, token)) {
    const user: DashboardUser = { role: 'admin', project: null, actor: 'admin' };
    const session = await createSession(ctx.db, { user, tokenId: null }, now);
    ctx.metrics.dashboardSignIns.inc({ outcome: 'admin' });
    await appendAudit(ctx.db, { kind: 'dashboard.sign-in', subject: 'admin', actor: 'admin', detail: { role: 'admin' } }, now);
    return { ok: true, session, user };
  }
  const known = token === '' ? undefined : await findAccessToken(ctx.db, token);
  if (!known) {
    ctx.metrics.dashboardSignIns.inc({ outcome: 'invalid' });
    refusals.log('warn', 'dashboard:sign-in-invalid', {}, 'dashboard sign-in refused: not a token of this forge');
    return { ok: false, reason: SIGN_IN_REFUSED };
  }
  const actor = `token:${known.prefix}`;
  const refuse = async (why: string): Promise<SignInResult> => {
    ctx.metrics.dashboardSignIns.inc({ outcome: 'revoked' });
    await appendAudit(ctx.db, { project: known.project, kind: 'dashboard.sign-in-refused', subject: known.prefix, actor, detail: { id: known.id, reason: why } }, now);
    return { ok: false, reason: SIGN_IN_REFUSED };
  };
  if (known.revokedAt !== null) return refuse('revoked');
  if (!ctx.projects.has(known.project)) return refuse('project-unknown');
  // Records the token's last use, as an API call with it would.
  const check = await verifyAccessToken(ctx.db, known.project, token, now);
  if (!check.ok) return refuse(check.code);
  const grant = await ctx.db.selectFrom('dashboard_grants').select('role').where('token_id', '=', known.id).where('project', '=', known.project).executeTakeFirst();
  // A read-only token (a peer forge's, issue 17) views, whatever a grant says.
  const user: DashboardUser = { role: known.scope === 'read' ? 'viewer' : roleOfToken(grant?.role), project: known.project, actor };
  const session = await createSession(ctx.db, { user, tokenId: known.id }, now);
  ctx.metrics.dashboardSignIns.inc({ outcome: 'project' });
  await appendAudit(ctx.db, { project: known.project, kind: 'dashboard.sign-in', subject: known.prefix, actor, detail: { id: known.id, role: user.role } }, now);
  return { ok: true, session, user };
}
