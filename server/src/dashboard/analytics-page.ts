/**
 * The analytics page of a set (issue 17) as a pure function of its usage report
 * (metrics/usage-report.ts): per version the calls, success rate and latency percentiles, and
 * the two versions compared. Every value goes through `html`, which escapes it.
 */
import type { UsageReport } from '../metrics/usage-report.ts';
import { page, versionLink, type PageFrame } from './dashboard-layout.ts';
import { html, type Html } from './html.ts';

export function analyticsPath(project: string, set: string, query: { channel?: string; since?: string } = {}): string {
  const search = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined) as [string, string][]).toString();
  return `/ui/projects/${encodeURIComponent(project)}/sets/${encodeURIComponent(set)}/analytics${search ? `?${search}` : ''}`;
}

export function analyticsPage(frame: PageFrame, report: UsageReport, filter: { channel: string | undefined; since: string | undefined }): Html {
  const ms = (n: number | null) => (n === null ? '—' : n < 10 ? `${n.toFixed(1)} ms` : `${Math.round(n)} ms`);
  const pct = (n: number | null) => (n === null ? '—' : `${(n * 100).toFixed(1)}%`);
  const form = html`<form method="get" action="${analyticsPath(report.project, report.set)}" class="filters">
  <label for="analytics-channel">Channel</label>
  <select id="analytics-channel" name="channel"><option value="">all</option>${['production', 'staging', 'development'].map((c) => html`<option value="${c}"${filter.channel === c ? html` selected` : ''}>${c}</option>`)}</select>
  <label for="analytics-since">Since</label>
  <input id="analytics-since" name="since" value="${filter.since ?? ''}" placeholder="24h, 7d, 2026-01-31">
  <button type="submit">Show</button>
</form>`;
  const c = report.comparison;
  const body = report.versions.length === 0
    ? html`<p>No usage reported for ${report.set}${report.channel ? html` on ${report.channel}` : ''} yet. Receivers report calls with <code>anvil.reportMetrics(id, {success, latency_ms})</code>.</p>`
    : html`<table>
<caption>Calls per version of ${report.set}${report.channel ? html` on ${report.channel}` : ''}${report.since ? html` since ${report.since}` : ''}, newest first</caption>
<thead><tr><th scope="col">Version</th><th scope="col">Calls</th><th scope="col">Success rate</th><th scope="col">p50</th><th scope="col">p95</th><th scope="col">p99</th><th scope="col">Channels</th></tr></thead>
<tbody>${report.versions.map((v) => html`<tr><th scope="row">${versionLink(report.project, report.set, v.version)}</th><td>${String(v.events)}</td><td>${pct(v.successRate)}</td><td>${ms(v.latencyMs.p50)}</td><td>${ms(v.latencyMs.p95)}</td><td>${ms(v.latencyMs.p99)}</td><td>${v.channels.join(', ')}</td></tr>`)}</tbody>
</table>
${c ? html`<p><strong>${c.to}</strong> against <strong>${c.from}</strong>: success ${c.successRateDelta === null ? '—' : `${c.successRateDelta >= 0 ? '+' : ''}${(c.successRateDelta * 100).toFixed(1)} points`}; latency p50 ${c.latencyRatio.p50 === null ? '—' : `×${c.latencyRatio.p50.toFixed(2)}`}, p95 ${c.latencyRatio.p95 === null ? '—' : `×${c.latencyRatio.p95.toFixed(2)}`}, p99 ${c.latencyRatio.p99 === null ? '—' : `×${c.latencyRatio.p99.toFixed(2)}`}.</p>` : ''}
<p class="muted">Percentiles come from a log-scale histogram: within one bucket (~41 %) of the exact figure.</p>`;
  return page(frame, undefined, `Analytics: ${report.set}`, html`${form}${body}`);
}
