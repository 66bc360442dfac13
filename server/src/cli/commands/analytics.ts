import { AnvilError, CHANNELS } from '@anvil/content-schema';
import { parseSince, usageReport, type UsageReport } from '../../metrics/usage-report.ts';
import { colour, EXIT_OK } from '../cli-io.ts';
import type { Command } from '../command.ts';
import { FORGE_STORE_HELP, FORGE_STORE_OPTIONS, openForgeStore } from '../forge-store-options.ts';
import { textTable } from '../text-table.ts';

export const analyticsCommand: Command = {
  name: 'analytics',
  usage: 'anvil analytics <set> [--project <p>] [--channel <c>] [--since <24h|7d|date>] [--compare <X> <Y>] [--json] [--data-dir <dir>]',
  help: [
    'How each version of a set did, from the usage metrics LIVE receivers report',
    '(`anvil.reportMetrics()`): calls, success rate and p50/p95/p99 latency per version, newest',
    'first, and version X against version Y (by default the two newest).',
    '',
    'Options:',
    '  --project <p>       the project (default: the only one the forge has)',
    '  --channel <c>       only calls served on this channel (production, staging, development)',
    '  --since <when>      only calls since then: 30m, 24h, 7d, or a date (default: all the forge keeps)',
    '  --compare <X> <Y>   compare version X (before) with Y (after); also --compare X..Y',
    '  --json              print JSON',
    FORGE_STORE_HELP,
    '',
    'Latency percentiles come from a log-scale histogram (buckets ~41 % wide), not from every',
    'call: they are within one bucket of the exact figure.',
  ].join('\n'),
  options: { ...FORGE_STORE_OPTIONS, project: { type: 'string' }, channel: { type: 'string' }, since: { type: 'string' }, compare: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals }, io) {
    const [set, ...rest] = positionals;
    if (set === undefined) throw new AnvilError('cli.bad-arguments', 'which set? anvil analytics <set>', { hint: this.usage });
    let compare: [string, string] | undefined;
    const compareFlag = values['compare'] as string | undefined;
    if (compareFlag !== undefined) {
      const [x, y] = compareFlag.includes('..') ? compareFlag.split('..') : [compareFlag, rest.shift()];
      if (!x || !y) throw new AnvilError('cli.bad-arguments', '--compare takes two versions: --compare 1.0.0 1.1.0', { hint: this.usage });
      compare = [x, y];
    }
    if (rest.length > 0) throw new AnvilError('cli.bad-arguments', `unexpected argument "${rest[0]}"`, { hint: this.usage });
    const channel = values['channel'] as string | undefined;
    if (channel !== undefined && !(CHANNELS as readonly string[]).includes(channel)) {
      throw new AnvilError('cli.bad-arguments', `--channel takes ${CHANNELS.join(', ')}, not "${channel}"`);
    }
    const since = values['since'] !== undefined ? parseSince(String(values['since'])) : undefined;
    const store = await openForgeStore(values, io.cwd);
    try {
      let project = values['project'] as string | undefined;
      if (project === undefined) {
        if (store.knownProjects.length !== 1) {
          throw new AnvilError('cli.bad-arguments', store.knownProjects.length === 0 ? 'this forge has no project yet' : 'which project? the forge has several', {
            hint: store.knownProjects.length > 0 ? `--project ${store.knownProjects.join(' | ')}` : 'start the forge with a project in anvil-forge.yaml',
          });
        }
        project = store.knownProjects[0]!;
      }
      const report = await usageReport(store.db, { project, set, channel, since, compare });
      if (values['json']) io.out(JSON.stringify(report, null, 2));
      else if (report.versions.length === 0) io.err(`no usage reported for ${project}/${set}${channel ? ` on ${channel}` : ''}${since !== undefined ? ' in that period' : ''} yet (receivers report with anvil.reportMetrics())`);
      else for (const line of formatUsageReport(report, (code, text) => colour(io, code, text))) io.out(line);
      return EXIT_OK;
    } finally {
      await store.close();
    }
  },
};

export function formatUsageReport(report: UsageReport, paint: (code: number, text: string) => string = (_c, t) => t): string[] {
  const ms = (n: number | null) => (n === null ? '—' : n < 10 ? `${n.toFixed(1)} ms` : `${Math.round(n)} ms`);
  const pct = (n: number | null) => (n === null ? '—' : `${(n * 100).toFixed(1)}%`);
  const table = textTable(['version', 'calls', 'success', 'p50', 'p95', 'p99', 'channels'], report.versions.map((v) => [
    v.version, String(v.events), pct(v.successRate), ms(v.latencyMs.p50), ms(v.latencyMs.p95), ms(v.latencyMs.p99), v.channels.join(','),
  ]));
  const lines = [`${report.project}/${report.set}${report.channel ? ` on ${report.channel}` : ''}${report.since ? ` since ${report.since}` : ''}`, '', paint(1, table[0]!), ...table.slice(1)];
  const c = report.comparison;
  if (c) {
    const delta = c.successRateDelta === null ? '—' : `${c.successRateDelta >= 0 ? '+' : ''}${(c.successRateDelta * 100).toFixed(1)} points`;
    const ratio = (r: number | null) => (r === null ? '—' : `×${r.toFixed(2)}`);
    lines.push('', `${c.to} against ${c.from}: success ${delta}; latency p50 ${ratio(c.latencyRatio.p50)}, p95 ${ratio(c.latencyRatio.p95)}, p99 ${ratio(c.latencyRatio.p99)}`);
  }
  return lines;
}
