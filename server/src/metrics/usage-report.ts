/**
 * "How did version X do against version Y" (issue 17): a set's usage per version, summed over
 * the chosen channel(s) and period, with latency percentiles from the summed histograms and a
 * comparison of two versions — by default the two newest. What `anvil analytics` prints and
 * the dashboard's analytics page shows.
 */
import semver from 'semver';
import { AnvilError } from '@anvil/content-schema';
import type { Store } from '../store/open-store.ts';
import { queryUsage } from './usage-store.ts';
import { addTotals, compareVersions, emptyTotals, summarise, type UsageSummary, type UsageTotals, type VersionComparison } from './usage-summary.ts';

export interface UsageReportQuery {
  project: string;
  set: string;
  channel?: string | undefined;
  /** From this instant (ms since the epoch); absent: everything the store holds. */
  since?: number | undefined;
  /** Versions to compare, `[from, to]`; absent: the two newest with calls. */
  compare?: readonly [string, string] | undefined;
}

export interface UsageReport {
  project: string;
  set: string;
  channel: string | null;
  since: string | null;
  /** Newest first. */
  versions: (UsageSummary & { version: string; channels: string[] })[];
  comparison: VersionComparison | null;
}

export async function usageReport(db: Store, query: UsageReportQuery): Promise<UsageReport> {
  const rows = await queryUsage(db, query);
  const byVersion = new Map<string, { totals: UsageTotals; channels: Set<string> }>();
  for (const row of rows) {
    const entry = byVersion.get(row.version) ?? { totals: emptyTotals(), channels: new Set<string>() };
    addTotals(entry.totals, row.totals);
    entry.channels.add(row.channel);
    byVersion.set(row.version, entry);
  }
  const versions = [...byVersion.entries()]
    .map(([version, { totals, channels }]) => ({ version, channels: [...channels].sort(), ...summarise(totals) }))
    .sort((a, b) => newestFirst(a.version, b.version));
  let comparison: VersionComparison | null = null;
  const pair = query.compare ?? (versions.length >= 2 ? [versions[1]!.version, versions[0]!.version] as const : undefined);
  if (pair) {
    const side = (version: string) => versions.find((v) => v.version === version) ?? summarise(emptyTotals());
    comparison = compareVersions(pair[0], side(pair[0]), pair[1], side(pair[1]));
  }
  return {
    project: query.project, set: query.set, channel: query.channel ?? null,
    since: query.since !== undefined ? new Date(query.since).toISOString() : null, versions, comparison,
  };
}

function newestFirst(a: string, b: string): number {
  const va = semver.valid(a);
  const vb = semver.valid(b);
  if (va && vb) return semver.rcompare(va, vb);
  return a < b ? 1 : a > b ? -1 : 0;
}

/** `24h`, `7d`, `30m`, `90s`, or an ISO date/time → an instant (ms), relative to `now`. */
export function parseSince(text: string, now: number = Date.now()): number {
  const relative = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (relative) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[relative[2] as 's' | 'm' | 'h' | 'd' | 'w'];
    return now - Number(relative[1]) * unit;
  }
  const at = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && Number.isFinite(at)) return at;
  throw new AnvilError('cli.bad-arguments', `--since takes a duration (24h, 7d, 30m) or a date (2026-01-31), not "${text}"`);
}
