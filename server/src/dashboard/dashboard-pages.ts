/**
 * The dashboard's pages as pure functions of data → HTML (issue 15). Every value goes through
 * the `html` tag, which escapes it; the pages use no inline script or style (the forge answers
 * with a Content-Security-Policy that forbids them), only /ui/assets/dashboard.{css,js}.
 */
import type { AccessTokenInfo } from '../access/access-tokens.ts';
import { describeDelivery, type ReceiverView } from '../receivers/list-receivers.ts';
import { rangeSatisfaction } from '../receivers/range-satisfaction.ts';
import type { AuditVerification } from '../store/audit-log.ts';
import type { CheckedChain } from './audit-verifier.ts';
import type { AuditRow } from '../store/database.ts';
import type { Paging, ProjectSets, SetVersionRow } from './dashboard-data.ts';
import type { PromptDiff } from '../diff/rendered-diff.ts';
import type { ContractDiff } from '../release/contract-diff.ts';
import { DASHBOARD_ROLES, may, type DashboardRole, type DashboardUser } from './dashboard-roles.ts';
export type { PageFrame } from './dashboard-layout.ts';
import { CHANNELS, layout, notice, page, pager, setPath, time, versionLink, versionPath, type PageFrame } from './dashboard-layout.ts';
import type { PromptView, RenderOutcome, SetVersionView } from './set-version-view.ts';
import { html, type Html, type HtmlValue } from './html.ts';

export interface SignInPageData {
  forgeName: string;
  csrf: string;
  error?: string | undefined;
}

export function signInPage(data: SignInPageData): Html {
  return layout({
    title: 'Sign in', forgeName: data.forgeName,
    body: html`${notice('error', data.error)}
<form class="card sign-in" method="post" action="/ui/sign-in">
  <input type="hidden" name="_csrf" value="${data.csrf}">
  <label for="token">Admin token or project access token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus spellcheck="false">
  <p class="hint" id="token-hint">The forge's admin token signs you in as admin; a project token (<code>anvil_…</code>) as a viewer of its project.</p>
  <button type="submit">Sign in</button>
</form>`,
  });
}

export function projectsPage(frame: PageFrame, projects: readonly ProjectSets[], options: { single?: boolean } = {}): Html {
  type Row = ProjectSets['sets'][number];
  const publisher = may(frame.user, 'publish');
  // A dash with the reason for those who hover or use a screen reader.
  const none = (why: string) => html`<span class="muted" title="${why}"><span aria-hidden="true">—</span><span class="sr-only">${why}</span></span>`;
  const review = (s: Row): Html => {
    const r = s.review;
    if (!r) return none('not known yet: the forge records it when the default branch next moves');
    if (r.state === 'not-needed') return none('no review needed: a live set publishes every change');
    if (r.state === 'no-reviews') return none('no review on this project (no GitHub review): its releases are the review');
    if (r.state === 'reviewed') return html`<span class="badge review-reviewed">reviewed</span>`;
    const n = r.unreviewed.length;
    if (n === 0) {
      return html`<span class="badge review-pending" title="its content carries a change no approved pull request covered">unreviewed content</span>`;
    }
    const shown = r.unreviewed.slice(0, 20);
    return html`<details class="unreviewed"><summary><span class="badge review-pending">${n} ${n === 1 ? 'commit' : 'commits'} pending review</span></summary>
<ul class="shas">${shown.map((c) => html`<li><code title="${c}">${c.slice(0, 7)}</code></li>`)}${n > shown.length ? html`<li class="muted">and ${n - shown.length} more</li>` : ''}</ul></details>`;
  };
  const pulls = (s: Row): Html => {
    const open = s.pulls ?? [];
    if (open.length === 0) return html`<span class="muted">none</span>`;
    return html`<ul class="pulls">${open.map((pr) => html`<li>${pr.url !== undefined ? html`<a href="${pr.url}">#${pr.number}</a>` : html`#${pr.number}`}
  <span class="badge check-${pr.conclusion}"${pr.title !== undefined ? html` title="${pr.title}"` : ''}>${pr.conclusion}</span>${pr.title !== undefined ? html`<span class="sr-only">: ${pr.title}</span>` : ''}</li>`)}</ul>`;
  };
  const body = projects.length === 0
    ? html`<p>This forge has no projects you can see.</p>`
    : projects.map((p) => html`<section class="project" aria-labelledby="project-${p.project}">
<h2 id="project-${p.project}">${options.single ? p.project : html`<a href="/ui/projects/${encodeURIComponent(p.project)}">${p.project}</a>`}</h2>
${p.sets.length === 0 ? html`<p class="muted">Nothing built yet.</p>` : html`<table>
<caption class="sr-only">Sets of ${p.project}</caption>
<thead><tr><th scope="col">Set</th><th scope="col">Mode</th>${CHANNELS.map((c) => html`<th scope="col">${c}</th>`)}<th scope="col">Last release</th><th scope="col">Unreviewed</th><th scope="col">Pull requests</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>
${p.sets.map((s) => html`<tr>
  <th scope="row">${s.name}</th>
  <td><span class="badge mode-${s.mode ?? 'unknown'}">${s.mode ?? '?'}</span></td>
  ${CHANNELS.map((c) => html`<td>${s.channels[c] ? versionLink(p.project, s.name, s.channels[c]) : html`<span class="muted">—</span>`}</td>`)}
  <td>${s.lastRelease ? html`${versionLink(p.project, s.name, s.lastRelease.version)} <span class="muted">(${s.lastRelease.at.slice(0, 10)})</span>` : html`<span class="muted">none</span>`}${
    Object.entries(s.aliases ?? {}).map(([alias, version]) => html`<br><span class="alias">@${alias} → ${versionLink(p.project, s.name, version)}</span>`)}</td>
  <td class="review">${review(s)}</td>
  <td class="pull-requests">${pulls(s)}</td>
  <td class="actions"><a href="${setPath(p.project, s.name)}/compare" aria-label="Compare versions of ${s.name}">Compare</a> · <a href="${setPath(p.project, s.name)}/analytics" aria-label="Usage analytics of ${s.name}">Analytics</a>${
    publisher && s.lastRelease ? html` · <a href="${setPath(p.project, s.name)}/publish" aria-label="Publish ${s.name} to LIVE">Publish</a>` : ''}</td>
</tr>`)}
</tbody>
</table>`}
${pager(p.paging, `/ui/projects/${encodeURIComponent(p.project)}`, {})}
</section>`);
  return page(frame, 'projects', options.single && projects[0] ? `Project ${projects[0].project}` : 'Projects', html`${body}`);
}

export interface ReceiversPageData {
  receivers: readonly ReceiverView[];
  paging: Paging;
  channel: string | undefined;
  /** The `set@version` filter as typed. */
  serves?: string | undefined;
  /** Only receivers serving a version outside a range they declared (issue 17). */
  unsatisfied?: boolean | undefined;
  error?: string | undefined;
  now: number;
}

/** A receiver's declared ranges and whether what it serves satisfies each, in words (issue 17). */
function rangesCell(r: ReceiverView): Html {
  const status = Object.entries(r.rangeStatus ?? rangeSatisfaction(r.ranges, r.versions));
  if (status.length === 0) return html`<span class="muted">any version</span>`;
  return html`${status.map(([set, s]) => html`<span class="mono">${set} ${s.range}</span> ${
    s.satisfied === null ? html`<span class="muted">none served</span>` : s.satisfied ? html`<span class="badge status-active">satisfied</span>` : html`<span class="badge status-stale">unsatisfied: serves ${s.serving}</span>`}<br>`) as HtmlValue[]}`;
}

export function receiversPage(frame: PageFrame, data: ReceiversPageData): Html {
  const showProject = frame.user.project === null;
  const rows = data.receivers.map((r) => html`<tr class="status-${r.status}">
  ${showProject ? html`<td>${r.project}</td>` : ''}
  <th scope="row" class="mono">${r.instanceId}</th>
  <td>${r.channel}</td>
  <td>${r.mode}</td>
  <td>${r.transport}</td>
  <td><span class="badge status-${r.status}">${r.status}</span></td>
  <td>${Object.entries(r.versions).map(([set, version]) => html`<span class="mono">${set}@${version}</span> `) as HtmlValue[]}${Object.keys(r.versions).length === 0 ? html`<span class="muted">—</span>` : ''}</td>
  <td>${time(r.lastSeenAt, data.now)}</td>
  <td>${describeDelivery(r.lastDelivery, data.now)}</td>
  <td>${rangesCell(r)}</td>
</tr>`);
  return page(frame, 'receivers', 'Receivers', html`<form class="filters" method="get" action="/ui/receivers">
  <label for="channel">Channel</label>
  <select id="channel" name="channel">
    <option value="">all channels</option>
    ${CHANNELS.map((c) => html`<option value="${c}"${data.channel === c ? html` selected` : ''}>${c}</option>`)}
  </select>
  <label for="serves">Serves</label>
  <input id="serves" name="serves" type="text" maxlength="150" placeholder="set@version" value="${data.serves ?? ''}" aria-describedby="serves-hint" spellcheck="false">
  <label><input type="checkbox" name="ranges" value="unsatisfied"${data.unsatisfied ? html` checked` : ''}> Unsatisfied ranges only</label>
  <button type="submit">Filter</button>
  <span class="hint" id="serves-hint">e.g. <code>core@1.2.0</code>: only receivers serving that version</span>
</form>
${notice('error', data.error)}
${data.receivers.length === 0 ? html`<p>No receivers${data.channel ? html` on ${data.channel}` : ''}${data.serves && !data.error ? html` serving ${data.serves}` : ''}${data.unsatisfied ? ' serving a version outside a declared range' : ''}.</p>` : html`<table>
<caption class="sr-only">Receivers</caption>
<thead><tr>${showProject ? html`<th scope="col">Project</th>` : ''}<th scope="col">Instance</th><th scope="col">Channel</th><th scope="col">Mode</th><th scope="col">Transport</th><th scope="col">Status</th><th scope="col">Versions</th><th scope="col">Last seen</th><th scope="col">Last delivery</th><th scope="col">Ranges</th></tr></thead>
<tbody>${rows}</tbody>
</table>`}
${pager(data.paging, '/ui/receivers', { channel: data.channel, serves: data.serves, ranges: data.unsatisfied ? 'unsatisfied' : undefined })}`);
}

export interface TokensPageData {
  tokens: readonly AccessTokenInfo[];
  projects: readonly string[];
  now: number;
  /** A token just created: shown this once. */
  created?: { token: string; project: string; label: string } | undefined;
  error?: string | undefined;
  message?: string | undefined;
  /** What the create form had, when it is shown again with an error. */
  form?: { project: string; label: string } | undefined;
  /** Token id → its dashboard role, for tokens with a grant (the others sign in as viewers). */
  grants?: ReadonlyMap<string, DashboardRole> | undefined;
}

export function tokensPage(frame: PageFrame, data: TokensPageData): Html {
  const created = data.created ? html`<section class="card created" aria-labelledby="created-title">
<h2 id="created-title">New token for ${data.created.project}</h2>
<p>Copy it now: the forge keeps only its hash and cannot show it again.</p>
<label for="new-token">Token${data.created.label ? html` “${data.created.label}”` : ''}</label>
<div class="copy-row">
  <input id="new-token" class="mono" type="text" readonly value="${data.created.token}">
  <button type="button" data-copy="new-token">Copy</button>
</div>
</section>` : '';
  const rows = data.tokens.map((t) => html`<tr class="${t.revokedAt ? 'revoked' : ''}">
  <td>${t.project}</td>
  <th scope="row" class="mono">${t.prefix}…</th>
  <td>${t.label || html`<span class="muted">—</span>`}</td>
  <td>${time(t.createdAt, data.now)}</td>
  <td>${time(t.lastUsedAt, data.now)}</td>
  <td><span class="badge ${t.revokedAt ? 'status-revoked' : 'status-active'}">${t.revokedAt ? 'revoked' : 'active'}</span></td>
  <td>${t.revokedAt ? html`<span class="muted">—</span>` : html`<form class="inline" method="post" action="/ui/tokens/role">
    <input type="hidden" name="_csrf" value="${frame.csrf}">
    <input type="hidden" name="project" value="${t.project}">
    <input type="hidden" name="id" value="${t.id}">
    <label class="sr-only" for="role-${t.id}">Dashboard role of ${t.prefix}…</label>
    <select id="role-${t.id}" name="role">
      ${DASHBOARD_ROLES.map((r) => html`<option value="${r}"${(data.grants?.get(t.id) ?? 'viewer') === r ? html` selected` : ''}>${r}</option>`)}
    </select>
    <button type="submit" class="secondary" aria-label="Set role of ${t.prefix}…">Set role</button>
  </form>`}</td>
  <td>${t.revokedAt ? '' : html`<form method="post" action="/ui/tokens/revoke">
    <input type="hidden" name="_csrf" value="${frame.csrf}">
    <input type="hidden" name="project" value="${t.project}">
    <input type="hidden" name="id" value="${t.id}">
    <button type="submit" class="danger" aria-label="Revoke ${t.prefix}… (${t.label})">Revoke</button>
  </form>`}</td>
</tr>`);
  return page(frame, 'tokens', 'Access tokens', html`${notice('error', data.error)}${notice('ok', data.message)}${created}
<form class="card create" method="post" action="/ui/tokens">
  <h2>Create a token</h2>
  <input type="hidden" name="_csrf" value="${frame.csrf}">
  <div class="field">
    <label for="project">Project</label>
    <select id="project" name="project" required>
      ${data.projects.map((p) => html`<option value="${p}"${data.form?.project === p ? html` selected` : ''}>${p}</option>`)}
    </select>
  </div>
  <div class="field">
    <label for="label">Label</label>
    <input id="label" name="label" type="text" maxlength="200" value="${data.form?.label ?? ''}" aria-describedby="label-hint">
    <p class="hint" id="label-hint">Where it is used, e.g. “web app production”.</p>
  </div>
  <button type="submit">Create token</button>
</form>
${data.tokens.length === 0 ? html`<p>No tokens yet.</p>` : html`<table>
<caption class="sr-only">Access tokens</caption>
<thead><tr><th scope="col">Project</th><th scope="col">Prefix</th><th scope="col">Label</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">State</th><th scope="col">Dashboard role</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${rows}</tbody>
</table>`}`);
}

export interface AuditPageData {
  rows: readonly AuditRow[];
  kind: string | undefined;
  verification: AuditVerification | CheckedChain;
  /** The `before` of the next (older) page; absent on the last one. */
  older?: number | undefined;
  /** Whether this is not the newest page. */
  paged: boolean;
  now: number;
}

export function auditPage(frame: PageFrame, data: AuditPageData): Html {
  const v = data.verification;
  const chain = v.ok
    ? html`<p class="notice notice-ok" role="status">Chain verified: all ${v.rows} rows link and hash correctly${'wholeChainAt' in v
      ? html` (walked from its start ${time(new Date(v.wholeChainAt).toISOString(), data.now)}; newer rows on every view)` : ''}.</p>`
    : html`<p class="notice notice-error" role="alert">Chain broken at row ${v.seq}: ${v.reason}</p>`;
  const q = (extra: Record<string, string>) => {
    const params = new URLSearchParams();
    if (data.kind) params.set('kind', data.kind);
    for (const [k, value] of Object.entries(extra)) params.set(k, value);
    const s = params.toString();
    return s ? `/ui/audit?${s}` : '/ui/audit';
  };
  return page(frame, 'audit', 'Audit log', html`${chain}
<form class="filters" method="get" action="/ui/audit">
  <label for="kind">Kind starts with</label>
  <input id="kind" name="kind" type="text" value="${data.kind ?? ''}" placeholder="e.g. token. or dashboard." maxlength="100">
  <button type="submit">Filter</button>
</form>
${data.rows.length === 0 ? html`<p>No entries.</p>` : html`<table>
<caption class="sr-only">Audit entries, newest first</caption>
<thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">Project</th><th scope="col">Kind</th><th scope="col">Subject</th><th scope="col">Actor</th><th scope="col">Detail</th></tr></thead>
<tbody>${data.rows.map((r) => html`<tr>
  <td>${r.seq}</td>
  <td>${time(r.at, data.now)}</td>
  <td>${r.project ?? html`<span class="muted">—</span>`}</td>
  <td class="mono">${r.kind}</td>
  <td class="mono">${r.subject}</td>
  <td>${r.actor}</td>
  <td class="mono detail">${r.detail === '{}' ? '' : r.detail}</td>
</tr>`)}</tbody>
</table>`}
<nav class="pager" aria-label="Pages">
  ${data.paged ? html`<a href="${q({})}">← Newest</a>` : ''}
  ${data.older !== undefined ? html`<a href="${q({ before: String(data.older) })}" rel="next">Older →</a>` : ''}
</nav>`);
}

export interface ErrorPageData {
  forgeName: string;
  status: number;
  title: string;
  message: string;
  signedIn?: { user: DashboardUser; csrf: string } | undefined;
}

export function errorPage(data: ErrorPageData): Html {
  return layout({
    title: data.title, forgeName: data.forgeName, signedIn: data.signedIn,
    body: html`<p class="notice notice-error" role="alert">${data.message}</p>
<p><a href="/ui/projects">Back to the projects</a></p>`,
  });
}

/** An element id for a prompt or variant: ids and variant names are `[a-z0-9._-]`, escaped anyway. */
function promptKey(p: { id: string; variant?: string | undefined }): string {
  return p.variant === undefined ? p.id : `${p.id}--${p.variant}`;
}

function promptName(p: { id: string; variant?: string | undefined }): string {
  return p.variant === undefined ? p.id : `${p.id} (${p.variant})`;
}

function outcome(o: RenderOutcome, label: string): Html {
  if (!o.ok) return html`<p class="notice notice-error" role="alert"><code>${o.code}</code>: ${o.reason}</p>`;
  return html`${o.missing.length > 0 ? html`<p class="notice notice-warn">Required but not given: ${o.missing.join(', ')}</p>` : ''}
<pre class="rendered" aria-label="${label}">${o.text}</pre>`;
}

export interface SetVersionPageData {
  project: string;
  view: SetVersionView;
}

export function setVersionPage(frame: PageFrame, data: SetVersionPageData): Html {
  const v = data.view;
  const base = versionPath(data.project, v.set, v.version);
  const section = (p: PromptView) => {
    const key = promptKey(p);
    const name = promptName(p);
    const previewed = v.preview && v.preview.prompt === p.id && (v.preview.variant ?? undefined) === p.variant ? v.preview : undefined;
    return html`<section class="prompt" id="prompt-${key}" aria-labelledby="title-${key}">
<h2 id="title-${key}">${name}</h2>
${p.description ? html`<p class="muted">${p.description}</p>` : ''}
<h3>Rendered with sample inputs</h3>
${outcome(p.sample, `${name} rendered with sample inputs`)}
<details><summary>Sample inputs</summary><pre>${p.sampleInputs}</pre></details>
<details><summary>Template</summary><pre class="template">${p.template}</pre></details>
<details><summary>Input schema</summary>${p.inputSchema ? html`<pre>${p.inputSchema}</pre>` : html`<p class="muted">This prompt declares no input schema.</p>`}</details>
<form class="preview" method="get" action="${base}#prompt-${key}">
  <input type="hidden" name="prompt" value="${p.id}">
  ${p.variant !== undefined ? html`<input type="hidden" name="variant" value="${p.variant}">` : ''}
  <label for="vars-${key}">Preview ${name} with inputs (JSON)</label>
  <textarea id="vars-${key}" name="vars" rows="5" spellcheck="false" aria-describedby="vars-hint-${key}">${previewed ? previewed.vars : p.sampleInputs}</textarea>
  <p class="hint" id="vars-hint-${key}">One JSON object of variables, e.g. <code>{"name": "Ada"}</code>. Rendered on the forge by the same renderer as the receivers; nothing is saved.</p>
  <button type="submit">Preview</button>
</form>
${previewed ? html`<div class="preview-result" id="preview-${key}"><h3>Preview</h3>${outcome(previewed.outcome, `${name} preview`)}</div>` : ''}
</section>`;
  };
  const unknownPreview = v.preview && !v.prompts.some((p) => p.id === v.preview!.prompt && p.variant === (v.preview!.variant ?? undefined))
    ? html`<p class="notice notice-error" role="alert"><code>preview.unknown-prompt</code>: ${v.set}@${v.version} has no prompt ${promptName({ id: v.preview.prompt, variant: v.preview.variant })}.</p>`
    : '';
  // One page of prompts at a time (set-version-view.ts); every page can be reached by the
  // name of its first prompt, ids being sorted, without paging through the ones before it.
  const g = v.paging;
  const pages = g.pages <= 1 ? '' : html`<p class="muted">Prompts ${g.offset + 1}–${Math.min(g.offset + g.pageSize, g.total)} of ${g.total}, page ${g.page} of ${g.pages}.</p>
<details><summary>All ${g.pages} pages, by their first prompt</summary>
<ol class="toc">${v.pageStarts.map((id, i) => html`<li><a href="${base}?page=${i + 1}"${i + 1 === g.page ? html` aria-current="page"` : ''}>${id}</a></li>`)}</ol>
</details>`;
  return page(frame, 'projects', `${v.set}@${v.version}`, html`<p><a href="/ui/projects/${encodeURIComponent(data.project)}">← ${data.project}</a> · <a href="${setPath(data.project, v.set)}/compare?to=${encodeURIComponent(v.version)}">Compare with another version</a></p>
<dl class="facts">
  <dt>Stage</dt><dd>${v.stage}</dd>
  <dt>Mode</dt><dd><span class="badge mode-${v.mode}">${v.mode}</span></dd>
  <dt>Commit</dt><dd class="mono">${v.commit}</dd>
  <dt>Integrity</dt><dd class="mono">${v.integrity}</dd>
</dl>
${unknownPreview}
${v.prompts.length === 0 ? html`<p>This version has no prompts.</p>` : html`${pages}
<nav aria-label="Prompts"><ul class="toc">${v.prompts.map((p) => html`<li><a href="#prompt-${promptKey(p)}">${promptName(p)}</a></li>`)}</ul></nav>
${v.prompts.map(section)}
${pager(g, base, {})}`}`);
}

export interface ComparePageData {
  project: string;
  set: string;
  versions: readonly SetVersionRow[];
  from?: string | undefined;
  to?: string | undefined;
  error?: string | undefined;
  /** Branches and release tags of the project's mirror, offered for typing a ref. */
  refs?: { branches: readonly string[]; tags: readonly string[] } | undefined;
  /** `labels`: what each side turned out to be (`main (3f2c1a9)`), for the heading. */
  result?: { contract: ContractDiff; prompts: readonly PromptDiff[]; labels?: { from: string; to: string } | undefined } | undefined;
}

function patchLines(patch: string): HtmlValue[] {
  return patch.split('\n').map((line) => {
    const kind = line.startsWith('+++') || line.startsWith('---') ? 'file'
      : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : line.startsWith('@@') ? 'hunk' : 'same';
    return html`<span class="diff-${kind}">${line}</span>
`;
  });
}

export function comparePage(frame: PageFrame, data: ComparePageData): Html {
  const options = (chosen: string | undefined) => data.versions.map((r) => html`<option value="${r.version}"${chosen === r.version ? html` selected` : ''}>${r.version}${r.stage === 'head' ? ' (head build)' : ''}</option>`);
  // A side that is not a stored version was typed as a ref: it goes back in the text field.
  const typed = (side: string | undefined) => (side !== undefined && !data.versions.some((v) => v.version === side) ? side : '');
  const refs = data.refs ?? { branches: [], tags: [] };
  const r = data.result;
  const changed = r ? r.prompts.filter((p) => p.status !== 'unchanged') : [];
  const result = r && data.from && data.to ? html`<h2>${data.set}: ${r.labels?.from ?? data.from} → ${r.labels?.to ?? data.to}</h2>
<p>${r.contract.impact === 'none' ? 'No contract changes.' : html`Needs a <strong>${r.contract.impact}</strong> release:`}</p>
${r.contract.changes.length > 0 ? html`<ul class="changes">${r.contract.changes.map((c) => html`<li><span class="badge impact-${c.impact}">${c.impact}</span> ${c.subject === 'set' ? '' : html`<code>${c.subject}</code>: `}${c.message}</li>`)}</ul>` : ''}
<p>${changed.length} of ${r.prompts.length} prompts and variants render differently.</p>
${changed.map((p) => html`<section class="prompt-diff" aria-labelledby="diff-${promptKey(p)}">
<h3 id="diff-${promptKey(p)}">${promptName(p)} <span class="badge diff-status-${p.status}">${p.status}</span></h3>
<p class="muted">Inputs: <code>${JSON.stringify(p.inputs)}</code></p>
<pre class="patch" aria-label="Diff of ${promptName(p)}">${patchLines(p.patch)}</pre>
</section>`)}` : '';
  // The selects keep their names and come first, so a compare of two versions keeps its URL
  // (`?from=…&to=…`); the ref fields, named for the diff's before and after sides, follow.
  const refField = (id: string, name: string, label: string, value: string) => html`<label for="${id}">${label}</label>
    <input id="${id}" name="${name}" type="text" value="${value}" list="compare-refs" autocomplete="off" spellcheck="false" aria-describedby="compare-hint">`;
  return page(frame, 'projects', `Compare ${data.set}`, html`<p><a href="/ui/projects/${encodeURIComponent(data.project)}">← ${data.project}</a></p>
${notice('error', data.error)}
${data.versions.length === 0 ? html`<p>The forge has no version of ${data.set}.</p>` : html`<form method="get" action="${setPath(data.project, data.set)}/compare">
  <div class="filters">
    <label for="from">From</label>
    <select id="from" name="from" required>${options(data.from)}</select>
    <label for="to">To</label>
    <select id="to" name="to" required>${options(data.to)}</select>
  </div>
  <div class="filters">
    ${refField('from-ref', 'from_ref', 'Before (branch, tag or commit)', typed(data.from))}
    ${refField('to-ref', 'to_ref', 'After (branch, tag or commit)', typed(data.to))}
  </div>
  <datalist id="compare-refs">${refs.branches.map((b) => html`<option value="${b}">branch</option>`)}${refs.tags.map((t) => html`<option value="${t}">release tag</option>`)}</datalist>
  <p class="hint" id="compare-hint">Pick two stored versions, or type a branch (<code>main</code>), a tag (<code>${data.set}@1.0.0</code>) or a commit id (7 to 40 hex digits) in Before or After: a typed ref wins over the version picked in From or To. Refs are read from the forge's copy of the repository as of its last sync, and built on the forge.</p>
  <button type="submit">Compare</button>
</form>`}
${result}`);
}
