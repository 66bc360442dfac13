/** `anvil analytics <set>` on a forge's data dir (issue 17): per version, and X against Y. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { MetricsEvent } from '@anvil/content-schema';
import { recordUsageBatch } from '../../src/metrics/usage-store.ts';
import { openStore } from '../../src/store/open-store.ts';
import { anvil } from '../cli/cli-support.ts';

const INTEGRITY = `sha256-${'B'.repeat(43)}=`;

describe('anvil analytics', function () {
  this.timeout(60_000);
  let dir: string;
  let dataDir: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'anvil-analytics-'));
    dataDir = path.join(dir, 'data');
    mkdirSync(dataDir);
    const db = await openStore({ file: path.join(dataDir, 'forge.db') });
    try {
      await db.insertInto('projects').values({ name: 'acme', remote: '/nowhere', provider: 'git', created_at: new Date().toISOString() }).execute();
      const now = Date.now();
      const event = (version: string, success: boolean, latencyMs: number, at = now): MetricsEvent => ({
        set: 'legal', version, integrity: INTEGRITY, prompt: 'terms', variant: null, rollout: version === '1.1.0', success, latencyMs, at,
      });
      // 1.0.0: 100 calls, 90 % success, ~100 ms. 1.1.0: 50 calls, 80 %, ~200 ms. An old day of 0.9.0.
      const events = [
        ...Array.from({ length: 100 }, (_, i) => event('1.0.0', i % 10 !== 0, 100)),
        ...Array.from({ length: 50 }, (_, i) => event('1.1.0', i % 5 !== 0, 200)),
      ];
      await recordUsageBatch(db, 'acme', { channel: 'production', events: events.slice(0, 120) }, { now });
      await recordUsageBatch(db, 'acme', { channel: 'staging', events: events.slice(120) }, { now });
      await recordUsageBatch(db, 'acme', { channel: 'production', events: [event('0.9.0', true, 50, now - 3 * 86_400_000)] }, { now: now - 3 * 86_400_000 });
    } finally {
      await db.destroy();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--json: per version, newest first, with the two newest compared', async () => {
    const run = await anvil(dir, 'analytics', 'legal', '--json', '--since', '24h', '--data-dir', dataDir);
    expect(run.code, run.stderr).to.equal(0);
    const report = JSON.parse(run.stdout) as { project: string; versions: { version: string; events: number; successRate: number; channels: string[]; latencyMs: { p50: number; p95: number; p99: number } }[]; comparison: { from: string; to: string; successRateDelta: number; latencyRatio: { p50: number } } };
    expect(report.project).to.equal('acme');
    expect(report.versions.map((v) => [v.version, v.events, v.successRate])).to.deep.equal([['1.1.0', 50, 0.8], ['1.0.0', 100, 0.9]]);
    expect(report.versions[0]!.channels).to.deep.equal(['production', 'staging']);
    // Every call of 1.0.0 took 100 ms: the percentiles are within its bucket (90.5–128 ms), bounded by the max.
    for (const p of ['p50', 'p95', 'p99'] as const) expect(report.versions[1]!.latencyMs[p]).to.be.within(90, 100);
    expect(report.comparison).to.deep.include({ from: '1.0.0', to: '1.1.0', successRateDelta: -0.1 });
    expect(report.comparison.latencyRatio.p50).to.be.within(1.8, 2.2);
  });

  it('--channel, --compare X Y, and everything kept without --since', async () => {
    const run = await anvil(dir, 'analytics', 'legal', '--json', '--channel', 'production', '--compare', '0.9.0', '1.0.0', '--data-dir', dataDir);
    expect(run.code, run.stderr).to.equal(0);
    const report = JSON.parse(run.stdout) as { versions: { version: string; events: number }[]; comparison: { from: string; to: string; successRateDelta: number } };
    expect(report.versions.map((v) => [v.version, v.events])).to.deep.equal([['1.1.0', 20], ['1.0.0', 100], ['0.9.0', 1]]);
    expect(report.comparison).to.deep.include({ from: '0.9.0', to: '1.0.0', successRateDelta: -0.1 });
  });

  it('prints a table for people', async () => {
    const run = await anvil(dir, 'analytics', 'legal', '--since', '7d', '--data-dir', dataDir);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/version\s+calls\s+success\s+p50\s+p95\s+p99\s+channels/);
    expect(run.stdout).to.match(/1\.0\.0\s+100\s+90\.0%/);
    expect(run.stdout).to.contain('1.1.0 against 1.0.0: success -10.0 points');
  });

  it('bad arguments are one clear line with a code, not a stack', async () => {
    const noSet = await anvil(dir, 'analytics', '--data-dir', dataDir);
    expect(noSet.code).to.equal(1);
    expect(noSet.stderr).to.contain('which set?');
    const since = await anvil(dir, 'analytics', 'legal', '--since', 'yesterday', '--data-dir', dataDir);
    expect(since.code).to.equal(1);
    expect(since.stderr).to.contain('--since takes a duration');
    expect(since.stderr).to.not.contain('    at ');
    const none = await anvil(dir, 'analytics', 'nothing', '--data-dir', dataDir);
    expect(none.code).to.equal(0);
    expect(none.stderr).to.contain('no usage reported for acme/nothing');
  });
});
