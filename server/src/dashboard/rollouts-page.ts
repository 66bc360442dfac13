/**
 * The Rollouts page (issue 15) as a pure function: per set and channel, the version served, the
 * canary and its percent, and the receivers by the version they serve, each version linking to
 * the receivers page filtered to it.
 */
import { page, pager, versionLink, type PageFrame } from './dashboard-layout.ts';
import type { Paging } from './dashboard-data.ts';
import type { RolloutRow } from './rollouts-view.ts';
import { html, type Html } from './html.ts';

export interface RolloutsPageData {
  rows: readonly RolloutRow[];
  paging: Paging;
  /** Show the project column (the admin sees every project). */
  showProject: boolean;
}

export function receiversServingPath(set: string, version: string, channel: string): string {
  return `/ui/receivers?${new URLSearchParams({ channel, serves: `${set}@${version}` }).toString()}`;
}

export function rolloutsPage(frame: PageFrame, data: RolloutsPageData): Html {
  const canaries = data.rows.filter((r) => r.rollout).length;
  const body = data.rows.length === 0
    ? html`<p>Nothing is served yet: no channel has a version of any set.</p>`
    : html`<p>${data.paging.total} set and channel pairs${canaries > 0 ? html`; rollouts are listed first` : html`; no rollout is running (add one under <code>rollouts:</code> in anvil.yaml)`}. A rollout serves its version to that share of keys on every receiver of the channel that took it; the others get what the channel serves.</p>
<table>
<caption class="sr-only">What each channel serves, its rollout, and which receivers serve which version</caption>
<thead><tr>${data.showProject ? html`<th scope="col">Project</th>` : ''}<th scope="col">Set</th><th scope="col">Channel</th><th scope="col">Serves</th><th scope="col">Rollout</th><th scope="col">Receivers by version</th></tr></thead>
<tbody>${data.rows.map((r) => html`<tr${r.rollout ? html` class="has-rollout"` : ''}>
  ${data.showProject ? html`<td>${r.project}</td>` : ''}
  <th scope="row">${r.set}</th>
  <td>${r.channel}</td>
  <td>${r.head ? versionLink(r.project, r.set, r.head) : html`<span class="muted">—</span>`}</td>
  <td>${r.rollout ? html`${versionLink(r.project, r.set, r.rollout.version)} to <strong>${String(r.rollout.percent)}%</strong> of keys
    <span class="bar" aria-hidden="true"><span class="fill pct-${String(Math.round(r.rollout.percent / 5) * 5)}"></span></span>${r.rollout.paused !== undefined ? html` <span class="badge status-stale">paused</span> <span class="muted">(${r.rollout.paused})</span>` : ''}` : html`<span class="muted">none</span>`}</td>
  <td>${r.served.length === 0 && r.without === 0 ? html`<span class="muted">no receivers</span>` : html`<ul class="plain">${r.served.map((s) => html`<li>
    <a href="${receiversServingPath(r.set, s.version, r.channel)}">${s.version}</a>: ${String(s.receivers)} receiver${s.receivers === 1 ? '' : 's'}
    <span class="muted mono">${s.sample.join(', ')}${s.receivers > s.sample.length ? ', …' : ''}</span>${s.version === r.head ? '' : html` <span class="badge status-stale">behind</span>`}</li>`)}
    ${r.without > 0 ? html`<li class="muted">${String(r.without)} without ${r.set}</li>` : ''}</ul>`}</td>
</tr>`)}</tbody>
</table>`;
  return page(frame, 'rollouts', 'Rollouts', html`${body}${pager(data.paging, '/ui/rollouts', {})}`);
}
