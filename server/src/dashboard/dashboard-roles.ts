/**
 * Who may do what on the dashboard (issue 15), as pure rules. The admin token signs in as
 * `admin` of every project; a project token as `viewer` of its own project, unless a grant in
 * the store (dashboard_grants) makes it a `publisher` or an `admin` of it.
 */
import type { DashboardRole } from '../store/database.ts';

export type { DashboardRole };

export const DASHBOARD_ROLES: readonly DashboardRole[] = ['viewer', 'publisher', 'admin'];

/** Who is signed in, as the pages need it. */
export interface DashboardUser {
  role: DashboardRole;
  /** The one project a project token's session sees; null: every project (the admin token). */
  project: string | null;
  /** `admin` or `token:<prefix>`: what the audit log names. */
  actor: string;
}

/**
 * What a page or form does. `manage-tokens` is the forge admin's alone: a token is a credential
 * for receivers and tools, and one project's admin grant does not reach the forge's token list.
 */
export type DashboardAction = 'view' | 'publish' | 'manage-tokens';

const RANK: Record<DashboardRole, number> = { viewer: 0, publisher: 1, admin: 2 };

export function may(user: DashboardUser, action: DashboardAction): boolean {
  switch (action) {
    case 'view': return true;
    case 'publish': return RANK[user.role] >= RANK.publisher;
    case 'manage-tokens': return user.role === 'admin' && user.project === null;
  }
}

/** Whether the user sees this project at all. */
export function seesProject(user: DashboardUser, project: string | null): boolean {
  return user.project === null || user.project === project;
}

/** The role a project token signs in with: its grant's, or `viewer`. */
export function roleOfToken(grant: DashboardRole | undefined): DashboardRole {
  return grant ?? 'viewer';
}

export function isDashboardRole(value: unknown): value is DashboardRole {
  return typeof value === 'string' && (DASHBOARD_ROLES as readonly string[]).includes(value);
}
