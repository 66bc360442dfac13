/**
 * The canary guard (issue 17): a reviewed rollout with `guard` in anvil.yaml, a real LIVE
 * receiver on production reporting how its calls went (`anvil.reportMetrics`) to the forge as
 * `anvil serve` runs it; the canary fails more than the margin allows, the forge pauses it,
 * audits the figures, and the receiver goes back to the stable version. A commit that changes
 * the rollout clears the pause.
 */
import { expect } from 'chai';
import type { AnvilClient } from '@anvil/client';
import { judgeGuard } from '../../src/metrics/guard-rule.ts';
import { listAudit } from '../../src/store/audit-log.ts';
import { cleanupGitdirs } from '../support/gitdir.ts';
import { startGitHubForge, type GitHubForge } from '../support/github-forge.ts';
import { until } from '../support/until.ts';

const FILES = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/legal/set.yaml': 'mode: locked\n',
  'prompts/legal/terms.md': 'Terms v1.',
};

const guarded = (percent: number) => `name: "@acme"
rollouts:
  legal:
    production:
      version: "1.1.0"
      percent: ${percent}
      guard:
        margin: 0.05
        minSamples: 100
`;

describe('the canary guard (issue 17)', function () {
  it('judges only with enough calls on both sides, and only beyond the margin', function () {
    const guard = { margin: 0.05, minSamples: 100 };
    expect(judgeGuard(guard, { version: '1.1.0', events: 99, successes: 0 }, { version: '1.0.0', events: 1_000, successes: 1_000 }).pause).to.equal(false);
    expect(judgeGuard(guard, { version: '1.1.0', events: 100, successes: 95 }, { version: '1.0.0', events: 100, successes: 100 }).pause).to.equal(false);
    const paused = judgeGuard(guard, { version: '1.1.0', events: 100, successes: 94 }, { version: '1.0.0', events: 100, successes: 100 });
    expect(paused.pause).to.equal(true);
    expect(paused.reason).to.equal('1.1.0 succeeded 94.0% of 100 calls against 100.0% of 100 for 1.0.0, more than the margin of 5.0% below');
  });

  describe('end to end', function () {
    this.timeout(90_000);
    let t: GitHubForge;
    let prod: AnvilClient;
    const rolloutOf = () => prod.status().sets['legal']?.rollout;

    before(async () => {
      t = await startGitHubForge(FILES, { tags: ['legal@1.0.0'] });
      t.forge.ctx.usage = { guardEveryMs: 0 };
      prod = await t.receiver('prod-1', 'production');
      await t.sync();
      expect(prod.status().sets['legal']?.version).to.equal('1.0.0');
    });
    after(async () => {
      await t?.close();
      await cleanupGitdirs();
    });

    it('pauses a failing canary: recorded, audited with the figures, and the receiver back on the stable version', async () => {
      await t.mergedPull(1, { 'prompts/legal/terms.md': 'Terms v1.1.', 'anvil.yaml': guarded(50) }, { tags: ['legal@1.1.0'] });
      await t.settle();
      await until('production has the rollout', () => rolloutOf()?.version === '1.1.0');
      const guard = await t.forge.ctx.db.selectFrom('rollout_guards').selectAll().execute();
      expect(guard.map((g) => [g.set_name, g.channel, g.version, g.margin, g.min_samples])).to.deep.equal([['legal', 'production', '1.1.0', 0.05, 100]]);

      // The app reports: every call of the stable version succeeds, half of the canary's fail.
      const errors: unknown[] = [];
      prod.on('error', (e) => errors.push(e));
      for (let i = 0; i < 1_000; i++) {
        const key = `user-${i}`;
        const onCanary = prod.track('terms', { key }).version === '1.1.0';
        prod.reportMetrics('terms', { key, success: !onCanary || i % 2 === 0, latency_ms: 100 });
      }
      await until('the canary paused', async () => (await t.forge.ctx.db.selectFrom('rollout_pauses').selectAll().execute()).length > 0);
      const [pause] = await t.forge.ctx.db.selectFrom('rollout_pauses').selectAll().execute();
      expect(pause).to.include({ project: 'acme', set_name: 'legal', channel: 'production', version: '1.1.0', percent: 50, cleared_at: null });
      expect(pause!.reason).to.match(/^1\.1\.0 succeeded \d+\.\d% of \d+ calls against 100\.0% of \d+ for 1\.0\.0, more than the margin of 5\.0% below$/);
      const audit = (await listAudit(t.forge.ctx.db, { project: 'acme' })).find((r) => r.kind === 'rollout.paused');
      expect(audit?.subject).to.equal('legal@1.1.0 production');
      const detail = JSON.parse(audit!.detail) as { canary: { successRate: number; events: number }; stable: { successRate: number }; margin: number };
      expect(detail.stable.successRate).to.equal(1);
      expect(detail.canary.successRate).to.be.below(0.95);
      expect(detail.canary.events).to.be.at.least(100);
      expect(detail.margin).to.equal(0.05);

      // Pushed: the receiver drops the rollout and serves the stable version to every key.
      await until('the receiver back on stable', () => rolloutOf() === undefined);
      for (let i = 0; i < 200; i++) expect(prod.track('terms', { key: `user-${i}` }).version).to.equal('1.0.0');
      // And a pull says the same.
      await prod.sync();
      expect(rolloutOf()).to.equal(undefined);
      expect(errors.filter((e) => String((e as { code?: string }).code).startsWith('forge.'))).to.deep.equal([]);
    });

    it('a commit that changes the rollout clears the pause: the canary is served again', async () => {
      await t.mergedPull(2, { 'anvil.yaml': guarded(20) });
      await t.settle();
      const [pause] = await t.forge.ctx.db.selectFrom('rollout_pauses').selectAll().execute();
      expect(pause!.cleared_at).to.be.a('string');
      await until('production has the rollout again', () => rolloutOf()?.version === '1.1.0' && rolloutOf()?.percent === 20);
    });
  });
});
