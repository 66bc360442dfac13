/**
 * The request and answer pieces every dashboard router shares (issue 15): the signed-in session
 * of a request, a page's frame, form fields and bounded query values, error pages and the role
 * gate. The routers stay lists of routes.
 */
import type { NextFunction, Request, Response } from 'express';
import type { ForgeContext } from '../forge/forge-context.ts';
import type { DashboardSession } from '../store/database.ts';
import type { PageFrame } from './dashboard-layout.ts';
import { errorPage } from './dashboard-pages.ts';
import { may, seesProject, type DashboardAction } from './dashboard-roles.ts';
import { userOf } from './dashboard-session.ts';
import type { Html } from './html.ts';

export function sessionOf(res: Response): DashboardSession {
  const session = res.locals['dashboardSession'] as DashboardSession | undefined;
  if (!session) throw new Error('the dashboard route is not behind the session check');
  return session;
}

export function frameOf(ctx: Pick<ForgeContext, 'name'>, res: Response): PageFrame {
  const session = sessionOf(res);
  return { forgeName: ctx.name, user: userOf(session), csrf: session.csrf_token };
}

export function send(res: Response, status: number, page: Html): void {
  res.status(status).type('html').send(page.toString());
}

/** A form field as text ('' when absent or not text). */
export function field(req: Request, name: string): string {
  const body = req.body as Record<string, unknown> | undefined;
  const value = body?.[name];
  return typeof value === 'string' ? value : '';
}

/** A query value, bounded: nothing a page echoes back is longer than this. */
export function queryText(req: Request, name: string, max = 200): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' && value !== '' ? value.slice(0, max) : undefined;
}

/** Every value of a repeated query parameter (`?envelope=a&envelope=b`), bounded in number and length. */
export function queryList(req: Request, name: string, maxItems: number, maxLength = 200): string[] {
  return ([] as unknown[]).concat(req.query[name] ?? []).filter((v): v is string => typeof v === 'string' && v !== '').slice(0, maxItems).map((v) => v.slice(0, maxLength));
}

export type Refuse = (res: Response, status: number, title: string, message: string) => void;

/** An error page, with the navigation when someone is signed in. */
export function refusal(ctx: Pick<ForgeContext, 'name'>): Refuse {
  return (res, status, title, message) => {
    const session = res.locals['dashboardSession'] as DashboardSession | undefined;
    send(res, status, errorPage({ forgeName: ctx.name, status, title, message, signedIn: session ? { user: userOf(session), csrf: session.csrf_token } : undefined }));
  };
}

const REFUSED: Record<DashboardAction, string> = {
  'view': 'Your role does not allow this.',
  'publish': 'Publishing needs the publisher or admin role. Ask the forge\'s admin for a grant on the Tokens page.',
  'manage-tokens': 'Only the forge\'s admin can see and manage access tokens. Sign in with the admin token.',
};

/** Middleware: only a user whose role allows `action` gets through; anyone else gets a 403 page saying why. */
export function allowFor(refuse: Refuse) {
  return (action: DashboardAction) => (_req: Request, res: Response, next: NextFunction) => {
    const user = userOf(sessionOf(res));
    if (may(user, action)) return next();
    refuse(res, 403, 'Not allowed', action === 'publish' ? `${REFUSED.publish} You are signed in as ${user.role}${user.project !== null ? ` of ${user.project}` : ''}.` : REFUSED[action]);
  };
}

/** The projects the signed-in user may see, sorted. */
export function visibleProjects(ctx: Pick<ForgeContext, 'projects'>, res: Response): string[] {
  const user = userOf(sessionOf(res));
  return [...ctx.projects.keys()].filter((p) => seesProject(user, p)).sort();
}

/** An unknown project and one the user may not see answer alike. */
export const NO_SUCH_PROJECT = 'There is no such project, or you cannot see it.';
