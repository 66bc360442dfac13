/**
 * The Forges pages (issue 17, forge peering) as pure functions: the known forges with what each
 * shows this forge, the remote projects connected read-only (always with their source,
 * `<forge> / <project>`), a remote project's sets, a remote set's releases and a remote release
 * with its prompts rendered on demand by the peer.
 *
 * Everything here but this forge's own words came from a peer and is untrusted: it only ever
 * reaches the page through the `html` tag (escaped), never in a class name or a URL unencoded.
 */
import type { Bundle, PromptMetadata } from '@anvil/content-schema';
import type { PeerProject, PeerRelease, PeerRendering, PeerSetPage } from '../peers/peer-client.ts';
import type { PeerConnection } from '../peers/peer-connections.ts';
import { notice, page, pager, time, type PageFrame } from './dashboard-layout.ts';
import type { Paging } from './dashboard-data.ts';
import { html, type Html } from './html.ts';

/** What a peer answered, or why there is nothing: its code and a message a person can act on. */
export type Fetched<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

export interface BrowsedProject {
  project: PeerProject;
  connected: boolean;
  sets: Fetched<PeerSetPage>;
}

export interface ForgesPageData {
  now: number;
  /** May browse every known forge and connect (the forge's admin); others see connected projects only. */
  admin: boolean;
  connections: readonly PeerConnection[];
  forges: readonly { name: string; url: string; projects?: Fetched<readonly BrowsedProject[]> | undefined }[];
  message?: string | undefined;
  error?: string | undefined;
}

const MODES = new Set(['live', 'review', 'locked']);

export function forgePath(forge: string, project: string): string {
  return `/ui/forges/${encodeURIComponent(forge)}/projects/${encodeURIComponent(project)}`;
}

export function remoteSetPath(forge: string, project: string, set: string): string {
  return `${forgePath(forge, project)}/sets/${encodeURIComponent(set)}`;
}

export function remoteVersionPath(forge: string, project: string, set: string, version: string): string {
  return `${remoteSetPath(forge, project, set)}/versions/${encodeURIComponent(version)}`;
}

function source(forge: string, project: string): Html {
  return html`<span class="source"><span class="forge">${forge}</span> / <strong>${project}</strong></span>`;
}

function unavailable(f: { code: string; message: string }): Html {
  return html`<p class="notice notice-error" role="alert"><code>${f.code}</code>: ${f.message}</p>`;
}

function connectForm(frame: PageFrame, forge: string, project: string, connected: boolean): Html {
  return html`<form class="inline" method="post" action="/ui/forges/${connected ? 'disconnect' : 'connect'}">
  <input type="hidden" name="_csrf" value="${frame.csrf}">
  <input type="hidden" name="forge" value="${forge}">
  <input type="hidden" name="project" value="${project}">
  <button type="submit">${connected ? 'Disconnect' : 'Connect'}<span class="sr-only"> ${forge} / ${project}</span></button>
</form>`;
}

function setsTable(forge: string, project: string, sets: PeerSetPage, now: number): Html {
  if (sets.sets.length === 0) return html`<p class="muted">No set yet.</p>`;
  return html`<table>
<caption class="sr-only">Sets of ${forge} / ${project}</caption>
<thead><tr><th scope="col">Set</th><th scope="col">Mode</th><th scope="col">Prompts</th><th scope="col">Latest release</th><th scope="col">Last updated</th></tr></thead>
<tbody>${sets.sets.map((s) => html`<tr>
  <th scope="row"><a href="${remoteSetPath(forge, project, s.name)}">${s.name}</a></th>
  <td>${s.mode !== null && MODES.has(s.mode) ? html`<span class="badge mode-${s.mode}">${s.mode}</span>` : html`<span class="muted">?</span>`}</td>
  <td>${s.prompts === null ? html`<span class="muted">—</span>` : String(s.prompts)}</td>
  <td>${s.latest ? html`<a href="${remoteVersionPath(forge, project, s.name, s.latest.version)}">${s.latest.version}</a>` : html`<span class="muted">none</span>`}</td>
  <td>${s.updatedAt !== null && !Number.isNaN(Date.parse(s.updatedAt)) ? time(s.updatedAt, now) : html`<span class="muted">—</span>`}</td>
</tr>`)}</tbody>
</table>`;
}

export function forgesPage(frame: PageFrame, data: ForgesPageData): Html {
  const connected = data.connections.length === 0
    ? html`<p>No project of another forge is connected.${data.admin && data.forges.length > 0 ? ' Connect one below: it is shown here read-only, fetched from its forge on every view, never copied.' : ''}</p>`
    : html`<table>
<caption class="sr-only">Projects of other forges shown here read-only</caption>
<thead><tr><th scope="col">Source</th><th scope="col">Connected</th><th scope="col">By</th>${data.admin ? html`<th scope="col"><span class="sr-only">Actions</span></th>` : ''}</tr></thead>
<tbody>${data.connections.map((c) => html`<tr>
  <th scope="row"><a href="${forgePath(c.forge, c.project)}">${source(c.forge, c.project)}</a>${c.known ? '' : html` <span class="badge status-stale">forge no longer known</span>`}</th>
  <td>${time(c.connectedAt, data.now)}</td>
  <td>${c.actor}</td>
  ${data.admin ? html`<td class="actions">${connectForm(frame, c.forge, c.project, true)}</td>` : ''}
</tr>`)}</tbody>
</table>`;

  const forges = data.forges.length === 0
    ? html`<p>No other forge is known. Add one under <code>knownForges</code> in anvil-forge.yaml, with the read-only token its operator made for this forge in the environment.</p>`
    // Ids by position, not by name: a peer's project name may hold spaces or anything else, which
    // in an id would break the aria-labelledby naming each section (or make two sections' ids one).
    : data.forges.map((f, i) => html`<section class="forge" aria-labelledby="forge-${String(i)}">
<h2 id="forge-${String(i)}">${f.name}</h2>
<p class="muted mono">${f.url}</p>
${f.projects === undefined ? html`<p class="muted">Browsing other forges is the forge admin's; connected projects are listed above.</p>`
    : !f.projects.ok ? unavailable(f.projects)
    : f.projects.value.length === 0 ? html`<p>This forge shows no project to this one.</p>`
    : f.projects.value.map((b, j) => html`<section class="remote-project" aria-labelledby="remote-${String(i)}-${String(j)}">
<h3 id="remote-${String(i)}-${String(j)}"><a href="${forgePath(f.name, b.project.name)}">${source(f.name, b.project.name)}</a>${b.connected ? html` <span class="badge">connected</span>` : ''}</h3>
${data.admin ? connectForm(frame, f.name, b.project.name, b.connected) : ''}
${b.sets.ok ? setsTable(f.name, b.project.name, b.sets.value, data.now) : unavailable(b.sets)}
${b.sets.ok && b.sets.value.paging.pages > 1 ? html`<p><a href="${forgePath(f.name, b.project.name)}?page=2">More sets →</a></p>` : ''}
</section>`)}
</section>`);

  return page(frame, 'forges', 'Forges', html`${notice('ok', data.message)}${notice('error', data.error)}
<p>Projects of other forges, shown read-only: each view asks the forge it comes from, and nothing of theirs is stored here.</p>
<section aria-labelledby="connected"><h2 id="connected">Connected projects</h2>${connected}</section>
${forges}`);
}

export interface RemoteProjectPageData {
  forge: string;
  project: string;
  connected: boolean;
  admin: boolean;
  now: number;
  sets: Fetched<PeerSetPage>;
}

export function remoteProjectPage(frame: PageFrame, data: RemoteProjectPageData): Html {
  const base = forgePath(data.forge, data.project);
  const g = data.sets.ok ? data.sets.value.paging : undefined;
  const paging: Paging | undefined = g ? { page: g.page, pages: g.pages, total: g.total, offset: 0, pageSize: 0 } : undefined;
  return page(frame, 'forges', `${data.forge} / ${data.project}`, html`<p><a href="/ui/forges">← Forges</a></p>
<dl class="facts"><dt>Source</dt><dd>${source(data.forge, data.project)}</dd><dt>Connected</dt><dd>${data.connected ? 'yes (read-only)' : 'no'}</dd></dl>
${data.admin ? connectForm(frame, data.forge, data.project, data.connected) : ''}
${data.sets.ok ? setsTable(data.forge, data.project, data.sets.value, data.now) : unavailable(data.sets)}
${paging ? pager(paging, base, {}) : ''}`);
}

export interface RemoteSetPageData {
  forge: string;
  project: string;
  set: string;
  releases: Fetched<readonly PeerRelease[]>;
}

export function remoteSetPage(frame: PageFrame, data: RemoteSetPageData): Html {
  const body = !data.releases.ok ? unavailable(data.releases)
    : data.releases.value.length === 0 ? html`<p>No release is published.</p>`
    : html`<table>
<caption class="sr-only">Releases of ${data.set}</caption>
<thead><tr><th scope="col">Release</th><th scope="col">Channels</th></tr></thead>
<tbody>${data.releases.value.map((r) => html`<tr><th scope="row"><a href="${remoteVersionPath(data.forge, data.project, data.set, r.version)}">${r.version}</a></th><td>${r.channels.join(', ') || html`<span class="muted">none</span>`}</td></tr>`)}</tbody>
</table>`;
  return page(frame, 'forges', `${data.set} · ${data.forge} / ${data.project}`, html`<p><a href="${forgePath(data.forge, data.project)}">← ${data.forge} / ${data.project}</a></p>
${body}`);
}

export interface RemotePrompt {
  id: string;
  variant?: string | undefined;
  description?: string | undefined;
  template: string;
}

export interface RemoteRendering {
  prompt: string;
  variant?: string | undefined;
  /** What the person typed (empty: the peer's sample inputs). */
  vars: string;
  outcome: Fetched<PeerRendering>;
}

export interface RemoteVersionPageData {
  forge: string;
  project: string;
  set: string;
  version: string;
  /** The release, or why the peer did not give it. */
  release: Fetched<{ bundle: Pick<Bundle, 'mode' | 'integrity' | 'source'>; prompts: readonly RemotePrompt[]; paging: Paging }>;
  rendering?: RemoteRendering | undefined;
}

/** A prompt's (or variant's) entries of a bundle, sorted, variants after their prompt. */
export function remotePrompts(bundle: Bundle): RemotePrompt[] {
  const out: RemotePrompt[] = [];
  for (const id of Object.keys(bundle.prompts).sort()) {
    const prompt = bundle.prompts[id]!;
    const entry = (variant: string | undefined, body: { template: string; metadata: PromptMetadata }): RemotePrompt => ({
      id, ...(variant !== undefined ? { variant } : {}), template: body.template,
      ...(typeof body.metadata.description === 'string' ? { description: body.metadata.description } : {}),
    });
    out.push(entry(undefined, prompt));
    for (const v of Object.keys(prompt.variants).sort()) out.push(entry(v, prompt.variants[v]!));
  }
  return out;
}

export function remoteVersionPage(frame: PageFrame, data: RemoteVersionPageData): Html {
  const base = remoteVersionPath(data.forge, data.project, data.set, data.version);
  const back = html`<p><a href="${remoteSetPath(data.forge, data.project, data.set)}">← ${data.set}</a> · from ${source(data.forge, data.project)}</p>`;
  const title = `${data.set}@${data.version} · ${data.forge} / ${data.project}`;
  if (!data.release.ok) return page(frame, 'forges', title, html`${back}${unavailable(data.release)}`);
  const r = data.release.value;
  const section = (p: RemotePrompt, i: number) => {
    const name = p.variant !== undefined ? `${p.id} (variant ${p.variant})` : p.id;
    const key = `p${r.paging.offset + i}`;
    const rendered = data.rendering && data.rendering.prompt === p.id && data.rendering.variant === p.variant ? data.rendering : undefined;
    return html`<section class="prompt" id="prompt-${key}" aria-labelledby="title-${key}">
<h2 id="title-${key}">${name}</h2>
${p.description !== undefined ? html`<p class="muted">${p.description}</p>` : ''}
<details><summary>Template</summary><pre class="template">${p.template}</pre></details>
<form class="preview" method="get" action="${base}#prompt-${key}">
  <input type="hidden" name="prompt" value="${p.id}">
  ${p.variant !== undefined ? html`<input type="hidden" name="variant" value="${p.variant}">` : ''}
  <input type="hidden" name="page" value="${String(r.paging.page)}">
  <label for="vars-${key}">Render ${name} with inputs (JSON; empty: the peer's sample inputs)</label>
  <textarea id="vars-${key}" name="vars" rows="4" spellcheck="false">${rendered ? rendered.vars : ''}</textarea>
  <button type="submit">Render on ${data.forge}</button>
</form>
${rendered ? html`<div class="preview-result"><h3>Rendered by ${data.forge}</h3>${rendered.outcome.ok
    ? html`<pre class="rendered">${rendered.outcome.value.text}</pre>${rendered.outcome.value.missing.length > 0 ? html`<p class="notice notice-error">Missing required inputs: ${rendered.outcome.value.missing.join(', ')}</p>` : ''}${rendered.outcome.value.sampleVars ? html`<details><summary>Sample inputs used</summary><pre>${JSON.stringify(rendered.outcome.value.sampleVars, null, 2)}</pre></details>` : ''}`
    : unavailable(rendered.outcome)}</div>` : ''}
</section>`;
  };
  return page(frame, 'forges', title, html`${back}
<p>Read-only, from ${data.forge}: not stored on this forge. Prompts are rendered by ${data.forge} when you ask.</p>
<dl class="facts">
  <dt>Mode</dt><dd>${MODES.has(r.bundle.mode) ? html`<span class="badge mode-${r.bundle.mode}">${r.bundle.mode}</span>` : ''}</dd>
  <dt>Commit</dt><dd class="mono">${r.bundle.source.commit}</dd>
  <dt>Integrity</dt><dd class="mono">${r.bundle.integrity}</dd>
</dl>
${r.prompts.length === 0 ? html`<p>This version has no prompts.</p>` : html`${r.prompts.map(section)}${pager(r.paging, base, {})}`}`);
}
