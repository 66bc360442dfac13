/**
 * Dashboard roles of project tokens (issue 15), granted by the forge's admin on the Tokens page:
 * `viewer` is the default and keeps no row; `publisher` and `admin` are rows of dashboard_grants.
 * A change applies to the token's open sessions at once (a demoted publisher cannot keep
 * publishing until the session expires) and goes to the audit log.
 */
import { AnvilError } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import { appendAuditEntries } from '../store/audit-log.ts';
import { storeTime, type Store } from '../store/open-store.ts';
import { isDashboardRole, roleOfToken, type DashboardRole } from './dashboard-roles.ts';

/** Token id → its granted role (only tokens with a grant). */
export async function listGrants(db: Store): Promise<Map<string, DashboardRole>> {
  const rows = await db.selectFrom('dashboard_grants').select(['token_id', 'role']).execute();
  return new Map(rows.map((r) => [r.token_id, r.role]));
}

export interface GrantChange {
  tokenId: string;
  project: string;
  role: string;
  actor: string;
}

export async function setGrant(ctx: Pick<ForgeContext, 'db'>, change: GrantChange): Promise<{ prefix: string; role: DashboardRole; previous: DashboardRole }> {
  const { db } = ctx;
  if (!isDashboardRole(change.role)) throw new AnvilError('grant.invalid-role', `"${change.role.slice(0, 40)}" is not a role`, { hint: 'viewer, publisher or admin' });
  const token = await db.selectFrom('access_tokens').select(['id', 'prefix', 'revoked_at', 'scope']).where('id', '=', change.tokenId).where('project', '=', change.project).executeTakeFirst();
  if (!token) throw new AnvilError('grant.unknown-token', `${change.project} has no such token`, { hint: 'reload the Tokens page and choose one from the list' });
  if (token.scope === 'read' && change.role !== 'viewer') throw new AnvilError('grant.read-only-token', `${token.prefix}… is read-only; it signs in as a viewer only`, { hint: 'grant the role to a full token of the project' });
  if (token.revoked_at !== null) throw new AnvilError('grant.revoked-token', `${token.prefix}… is revoked; it signs nobody in`);
  const role = change.role;
  return db.transaction().execute(async (trx) => {
    const before = await trx.selectFrom('dashboard_grants').select('role').where('token_id', '=', token.id).where('project', '=', change.project).executeTakeFirst();
    const previous = roleOfToken(before?.role);
    if (role === 'viewer') {
      await trx.deleteFrom('dashboard_grants').where('token_id', '=', token.id).where('project', '=', change.project).execute();
    } else {
      const values = { role, granted_at: storeTime(), granted_by: change.actor };
      await trx.insertInto('dashboard_grants').values({ token_id: token.id, project: change.project, ...values })
        .onConflict((oc) => oc.columns(['token_id', 'project']).doUpdateSet(values)).execute();
    }
    await trx.updateTable('dashboard_sessions').set({ role }).where('token_id', '=', token.id).execute();
    await appendAuditEntries(trx, [{ project: change.project, kind: 'dashboard.grant', subject: token.prefix, actor: change.actor, detail: { id: token.id, role, previous } }]);
    return { prefix: token.prefix, role, previous };
  });
}
