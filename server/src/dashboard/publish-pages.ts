/**
 * "Publish to LIVE" on the dashboard (issue 15), as pure page functions: choose a release, see
 * which receivers will take it, confirm; then a progress table that dashboard.js keeps current
 * from the forge's server-sent events, ending in a result line. Without script the table is
 * still right as of the page load, and reloading shows the newer state.
 */
import type { DeliveryProgress } from '../publish/publish-progress.ts';
import { notice, page, setPath, versionLink, type PageFrame } from './dashboard-layout.ts';
import type { AudienceVerdict, PublishAudience } from './publish-view.ts';
import { html, type Html } from './html.ts';

export interface ReleaseChoice {
  version: string;
  /** Channels the forge decided for it; empty when refused. */
  channels: readonly string[];
  refused: boolean;
  reason: string;
  override?: { actor: string; reason: string; at: string } | undefined;
}

export interface PublishPageData {
  project: string;
  set: string;
  releases: readonly ReleaseChoice[];
  chosen?: {
    release: ReleaseChoice;
    /** The channels a publish goes to: the decision's, or the policy's ceiling for an override. */
    channels: readonly string[];
    audience: PublishAudience;
    /** The user may override the refusal (admin). */
    mayOverride: boolean;
  } | undefined;
  error?: string | undefined;
  /** The override reason as typed, kept when the form comes back with an error. */
  reason?: string | undefined;
}

/** How many receivers the confirmation lists; the counts above cover the rest. */
export const AUDIENCE_SHOWN = 200;

export function publishPath(project: string, set: string): string {
  return `${setPath(project, set)}/publish`;
}

function verdictText(verdict: AudienceVerdict): string {
  switch (verdict) {
    case 'takes': return 'will take it';
    case 'not-pushed': return 'not pushed';
    case 'frozen': return 'frozen';
    case 'out-of-range': return 'out of range';
    case 'gone': return 'gone';
    case 'revoked': return 'revoked';
  }
}

export function publishPage(frame: PageFrame, data: PublishPageData): Html {
  const { project, set, chosen } = data;
  const action = publishPath(project, set);
  const chooser = data.releases.length === 0
    ? html`<p>${set} has no release the forge processed yet. Push a release tag <code>${set}@&lt;version&gt;</code> first.</p>`
    : html`<form class="filters" method="get" action="${action}">
  <label for="version">Release</label>
  <select id="version" name="version">
    ${data.releases.map((r) => html`<option value="${r.version}"${chosen?.release.version === r.version ? html` selected` : ''}>${r.version}${r.refused ? (r.override ? ' (refusal overridden)' : ' (refused)') : ''}</option>`)}
  </select>
  <button type="submit">Show who takes it</button>
</form>`;
  if (!chosen) return page(frame, 'projects', `Publish ${set} to LIVE`, html`${notice('error', data.error)}${chooser}`);

  const { release, audience } = chosen;
  const name = `${set}@${release.version}`;
  const counts = new Map<AudienceVerdict, number>();
  for (const r of audience.receivers) counts.set(r.verdict, (counts.get(r.verdict) ?? 0) + 1);
  const refused = release.refused && !release.override;
  const decision = refused
    ? html`<p class="notice notice-error" role="alert"><strong>The forge refused ${name}:</strong> ${release.reason}</p>`
    : html`<p>The forge decided ${name} for <strong>${release.channels.join(', ') || 'no channel'}</strong>: ${release.reason}${release.override ? html` (refusal overridden by ${release.override.actor}: ${release.override.reason})` : ''}.</p>`;
  const canPublish = !refused || chosen.mayOverride;
  const confirm = !canPublish
    ? html`<p class="notice notice-error" role="alert">Only the forge's admin can publish a refused release, with a reason for the audit log.</p>`
    : html`<form class="card" method="post" action="${action}">
  <input type="hidden" name="_csrf" value="${frame.csrf}">
  <input type="hidden" name="version" value="${release.version}">
  ${refused ? html`<p>Publishing it anyway overrides the refusal: it is audited with you as actor, and still goes only to the channels a reviewed release of its mode would reach (${chosen.channels.join(', ')}).</p>
  <input type="hidden" name="override" value="yes">
  <label for="reason">Why publish a refused release (for the audit log)</label>
  <textarea id="reason" name="reason" required maxlength="500" rows="2">${data.reason ?? ''}</textarea>` : ''}
  <button type="submit">Publish ${name} to ${String(audience.taking)} receiver${audience.taking === 1 ? '' : 's'}</button>
</form>`;
  const shown = audience.receivers.slice(0, AUDIENCE_SHOWN);
  return page(frame, 'projects', `Publish ${set} to LIVE`, html`${notice('error', data.error)}${chooser}
<h2>${versionLink(project, set, release.version)}</h2>
${decision}
<table>
<caption>Channels</caption>
<thead><tr><th scope="col">Channel</th><th scope="col">Serves now</th><th scope="col">After publishing</th></tr></thead>
<tbody>${chosen.channels.length === 0 ? html`<tr><td colspan="3" class="muted">No channel.</td></tr>` : audience.channels.map((c) => html`<tr>
  <th scope="row">${c.channel}</th><td class="mono">${c.head ?? '—'}</td>
  <td>${c.plan === 'moves' ? html`serves <span class="mono">${release.version}</span>` : c.plan === 'again' ? 'serves it already; pushed again' : html`<span class="muted">serves a newer version; nothing is pushed</span>`}</td>
</tr>`)}</tbody>
</table>
<h2>Receivers</h2>
<p>${String(audience.taking)} will take it${[...counts].filter(([v]) => v !== 'takes').map(([v, n]) => html`; ${String(n)} ${verdictText(v)}`)}.</p>
${audience.receivers.length === 0 ? html`<p class="muted">No receiver is registered on ${chosen.channels.join(', ') || 'these channels'}.</p>` : html`<table>
<caption class="sr-only">Receivers of the release's channels</caption>
<thead><tr><th scope="col">Instance</th><th scope="col">Channel</th><th scope="col">Serves</th><th scope="col">Push</th><th scope="col">Why</th></tr></thead>
<tbody>${shown.map((r) => html`<tr class="audience-${r.verdict}${r.stale ? ' status-stale' : ''}">
  <th scope="row" class="mono">${r.instanceId}</th><td>${r.channel}</td><td class="mono">${r.serves ?? '—'}</td>
  <td><span class="badge verdict-${r.verdict}">${verdictText(r.verdict)}</span></td><td class="detail">${r.note}${r.stale ? ' (stale: missed its heartbeats)' : ''}</td>
</tr>`)}</tbody>
</table>${audience.receivers.length > shown.length ? html`<p class="muted">And ${String(audience.receivers.length - shown.length)} more.</p>` : ''}`}
${confirm}`);
}

export interface ChannelResult {
  channel: string;
  outcome: string;
  deliveries: number;
}

export interface PublishProgressPageData {
  project: string;
  set: string;
  version: string;
  channels: readonly ChannelResult[];
  rows: readonly DeliveryProgress[];
  /** Where dashboard.js listens for changes (server-sent events); absent once everything settled. */
  eventsUrl?: string | undefined;
  /** The result line when every push settled (or the wait ended). */
  result?: string | undefined;
}

export function progressRow(r: DeliveryProgress): Html {
  return html`<tr data-instance="${r.instanceId}">
  <th scope="row" class="mono">${r.instanceId}</th>
  <td><span class="badge delivery-${r.state}" data-field="state">${r.state}</span></td>
  <td data-field="attempts">${String(r.attempts)}</td>
  <td class="detail" data-field="answer">${answerText(r)}</td>
</tr>`;
}

/** The receiver's answer in words; dashboard.js writes the same text from the events. */
export function answerText(r: Pick<DeliveryProgress, 'status' | 'code' | 'reason'>): string {
  return [r.status ?? '', r.code ?? '', r.reason ? `: ${r.reason}` : ''].join(' ').replace(/\s+:/, ':').trim() || '—';
}

export function publishProgressPage(frame: PageFrame, data: PublishProgressPageData): Html {
  const name = `${data.set}@${data.version}`;
  const published = data.channels.filter((c) => c.outcome === 'published');
  return page(frame, 'projects', `Publishing ${name}`, html`<ul class="plain">${data.channels.map((c) => html`<li><strong>${c.channel}</strong>: ${
    c.outcome === 'published' ? `pushed to ${c.deliveries} receiver${c.deliveries === 1 ? '' : 's'}` : c.outcome === 'newer-served' ? 'serves a newer version; nothing pushed' : c.outcome}</li>`)}</ul>
${published.length === 0 ? html`<p>Nothing was pushed.</p>` : ''}
<table id="progress"${data.eventsUrl ? html` data-events="${data.eventsUrl}"` : ''}>
<caption>Per receiver</caption>
<thead><tr><th scope="col">Receiver</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Answer</th></tr></thead>
<tbody>${data.rows.map(progressRow)}</tbody>
</table>
<p id="result" role="status" aria-live="polite">${data.result ?? (data.eventsUrl ? 'Pushing… this table follows every receiver as it answers.' : '')}</p>
<p><a href="${publishPath(data.project, data.set)}?version=${encodeURIComponent(data.version)}">Back to publishing ${name}</a> · <a href="/ui/receivers">Receivers</a></p>`);
}

/** The result line: how many pushes ended in each state. */
export function resultText(tally: Readonly<Record<string, number>>, timedOut: boolean): string {
  const parts = Object.entries(tally).sort(([a], [b]) => a.localeCompare(b)).map(([state, n]) => `${n} ${state}`);
  const total = Object.values(tally).reduce((a, b) => a + b, 0);
  if (total === 0) return 'Done: no receiver was pushed.';
  return `${timedOut ? 'Stopped following (still retrying)' : 'Done'}: ${parts.join(', ')}.`;
}
