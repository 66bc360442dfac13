/**
 * What every dashboard page shares (issue 15): the layout with its navigation and sign-out form,
 * and the small pieces pages are made of (times, pagers, notices, links to sets and versions).
 */
import { ago } from '../receivers/list-receivers.ts';
import type { Paging } from './dashboard-data.ts';
import { may, type DashboardUser } from './dashboard-roles.ts';
import { html, type Html } from './html.ts';

export type Section = 'projects' | 'receivers' | 'rollouts' | 'forges' | 'tokens' | 'audit';

export interface LayoutData {
  title: string;
  /** Who is signed in, with the session's CSRF token for the sign-out form; absent on the sign-in page. */
  signedIn?: { user: DashboardUser; csrf: string } | undefined;
  section?: Section | undefined;
  forgeName: string;
  body: Html;
}

export function layout(data: LayoutData): Html {
  const nav: { section: Section; label: string; show: boolean }[] = [
    { section: 'projects', label: 'Projects', show: true },
    { section: 'receivers', label: 'Receivers', show: true },
    { section: 'rollouts', label: 'Rollouts', show: true },
    { section: 'tokens', label: 'Tokens', show: data.signedIn ? may(data.signedIn.user, 'manage-tokens') : false },
    { section: 'audit', label: 'Audit', show: true },
    // Last: other forges' projects, after this forge's own (issue 17).
    { section: 'forges', label: 'Forges', show: true },
  ];
  const who = data.signedIn?.user;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${data.title} · ${data.forgeName} · Anvil</title>
<link rel="stylesheet" href="/ui/assets/dashboard.css">
<script src="/ui/assets/dashboard.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <span class="brand">Anvil · ${data.forgeName}</span>
  ${data.signedIn && who ? html`<nav aria-label="Sections"><ul>
    ${nav.filter((n) => n.show).map((n) => html`<li><a href="/ui/${n.section}"${n.section === data.section ? html` aria-current="page"` : ''}>${n.label}</a></li>`)}
  </ul></nav>
  <form class="who" method="post" action="/ui/sign-out">
    <span>${who.actor} · ${who.role}${who.project !== null ? html` of <strong>${who.project}</strong>` : ''}</span>
    <input type="hidden" name="_csrf" value="${data.signedIn.csrf}">
    <button type="submit">Sign out</button>
  </form>` : ''}
</header>
<main id="main">
<h1>${data.title}</h1>
${data.body}
</main>
</body>
</html>
`;
}

export function time(iso: string | null, now: number): Html {
  if (iso === null) return html`<span class="muted">—</span>`;
  return html`<time datetime="${iso}" title="${iso}">${ago(iso, now)}</time>`;
}

/** Previous / next links that keep the page's other query parameters. */
export function pager(p: Paging, base: string, params: Record<string, string | undefined>): Html {
  if (p.pages <= 1) return html``;
  const href = (page: number) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
    q.set('page', String(page));
    return `${base}?${q.toString()}`;
  };
  return html`<nav class="pager" aria-label="Pages">
  ${p.page > 1 ? html`<a href="${href(p.page - 1)}" rel="prev">← Previous</a>` : ''}
  <span>Page ${p.page} of ${p.pages} (${p.total})</span>
  ${p.page < p.pages ? html`<a href="${href(p.page + 1)}" rel="next">Next →</a>` : ''}
</nav>`;
}

export function notice(kind: 'error' | 'ok', text: string | undefined): Html {
  if (!text) return html``;
  return html`<p class="notice notice-${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${text}</p>`;
}

export interface PageFrame {
  forgeName: string;
  user: DashboardUser;
  csrf: string;
}

export function page(frame: PageFrame, section: Section | undefined, title: string, body: Html): Html {
  return layout({ title, forgeName: frame.forgeName, section, signedIn: { user: frame.user, csrf: frame.csrf }, body });
}

export const CHANNELS = ['production', 'staging', 'development'] as const;

export function setPath(project: string, set: string): string {
  return `/ui/projects/${encodeURIComponent(project)}/sets/${encodeURIComponent(set)}`;
}

export function versionPath(project: string, set: string, version: string): string {
  return `${setPath(project, set)}/versions/${encodeURIComponent(version)}`;
}

export function versionLink(project: string, set: string, version: string): Html {
  return html`<a href="${versionPath(project, set, version)}">${version}</a>`;
}
