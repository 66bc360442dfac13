/**
 * Issue 18, hole 1: rollouts go through review and the channel rules like any change. A real
 * repository reviewed through (fake) GitHub, the forge as `anvil serve` runs it, and LIVE
 * receivers on production and staging: what each serves after every push is the assertion.
 */
import { expect } from 'chai';
import type { AnvilClient } from '@anvil/client';
import { listAudit, verifyAuditChain } from '../../src/store/audit-log.ts';
import { cleanupGitdirs } from '../support/gitdir.ts';
import { until } from '../support/until.ts';
import { startGitHubForge, type GitHubForge } from '../support/github-forge.ts';

const FILES = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/legal/set.yaml': 'mode: locked\n',
  'prompts/legal/terms.md': 'Terms v1.',
  'prompts/policy/set.yaml': 'mode: locked\n',
  'prompts/policy/refund.md': 'Refunds within 30 days.',
};

const rollout = (entries: Record<string, Record<string, { version: string; percent: number }>>) =>
  `name: "@acme"\nrollouts:\n${Object.entries(entries).map(([set, channels]) => `  ${set}:\n${Object.entries(channels)
    .map(([channel, r]) => `    ${channel}:\n      version: "${r.version}"\n      percent: ${r.percent}\n`).join('')}`).join('')}`;

describe('trust chain: rollouts need review and follow the channel rules (issue 18)', function () {
  this.timeout(60_000);
  let t: GitHubForge;
  let prod: AnvilClient;
  let staging: AnvilClient;
  let nextPull = 100;
  const versionOf = (client: AnvilClient, set: string) => client.status().sets[set]?.version;
  const rolloutOf = (client: AnvilClient, set: string) => client.status().sets[set]?.rollout;
  const served = (client: AnvilClient, id: string, key: string) => client.track(id, { key }).version;
  const statusOf = (sha: string) => t.github.statuses.find((s) => s.sha === sha && s.context === 'anvil/rollout');

  /** Production keeps serving only `version` of legal, also after pulling the channel's envelope itself. */
  async function productionServesOnly(set: string, version: string): Promise<void> {
    await prod.sync();
    expect(versionOf(prod, set)).to.equal(version);
    expect(rolloutOf(prod, set), 'no rollout').to.equal(undefined);
    for (const key of ['u1', 'u2', 'u3', 'u4', 'u5']) expect(served(prod, set === 'legal' ? 'terms' : 'refund', key)).to.equal(version);
  }

  before(async () => {
    t = await startGitHubForge(FILES, { tags: ['legal@1.0.0', 'policy@1.0.0'] });
    prod = await t.receiver('prod-1', 'production');
    staging = await t.receiver('staging-1', 'staging');
    await t.sync();
    expect(versionOf(prod, 'legal')).to.equal('1.0.0');
    // Reviewed releases: legal 1.1.0 reaches production; legal 1.2.0-rc.1 only staging.
    await t.mergedPull(1, { 'prompts/legal/terms.md': 'Terms v1.1.' }, { tags: ['legal@1.1.0'] });
    await t.settle();
    await until('production on legal 1.1.0', () => versionOf(prod, 'legal') === '1.1.0');
    await t.mergedPull(2, { 'prompts/legal/terms.md': 'Terms v1.2 candidate.' }, { tags: ['legal@1.2.0-rc.1'] });
    await t.settle();
    await until('staging on the candidate', () => versionOf(staging, 'legal') === '1.2.0-rc.1');
    // A release the forge refuses: policy 1.1.0 carries a change nobody reviewed.
    await t.pushCommit('direct push', { 'prompts/policy/refund.md': 'Refunds never.' }, { tags: ['policy@1.1.0'] });
    await t.settle();
    const audit = await listAudit(t.forge.ctx.db, { project: 'acme' });
    expect(audit.some((r) => r.kind === 'decision.unreviewed-release' && r.subject === 'policy policy@1.1.0'), 'policy 1.1.0 refused').to.equal(true);
    expect(versionOf(prod, 'legal')).to.equal('1.1.0');
    expect(versionOf(prod, 'policy')).to.equal('1.0.0');
  });

  after(async () => {
    await t?.close();
    await cleanupGitdirs();
  });

  for (const [label, entries, set, version] of [
    ['(a) a prerelease of a locked set to production', { legal: { production: { version: '1.2.0-rc.1', percent: 100 } } }, 'legal', '1.1.0'],
    ['(b) a release refused as unreviewed to production', { policy: { production: { version: '1.1.0', percent: 100 } } }, 'policy', '1.0.0'],
    ['(c) an older release (a downgrade) to production', { legal: { production: { version: '1.0.0', percent: 100 } } }, 'legal', '1.1.0'],
  ] as const) {
    it(`an unreviewed push rolling out ${label}: refused, audited, failing status; production serves what it did`, async () => {
      const commit = await t.pushCommit('direct push', { 'anvil.yaml': rollout(entries) });
      await t.settle();
      await productionServesOnly(set, version);
      const audit = await listAudit(t.forge.ctx.db, { project: 'acme' });
      const row = audit.find((r) => r.kind === 'decision.unreviewed-rollout' && r.subject === `${set} main@${commit.slice(0, 7)}`);
      expect(row, 'audited').to.not.equal(undefined);
      expect(JSON.parse(row!.detail).unreviewedCommits).to.include(commit);
      expect(await t.forge.ctx.db.selectFrom('rollouts').selectAll().where('set_name', '=', set).execute(), 'the previous rollouts (none) stay').to.have.length(0);
      await until('the failing status posted', () => statusOf(commit)?.state === 'failure');
      expect(statusOf(commit)!.description).to.include(set);
      // Put anvil.yaml back (reviewed), so the next case starts from no rollouts.
      await t.mergedPull(nextPull++, { 'anvil.yaml': 'name: "@acme"\n' });
      await t.settle();
    });
  }

  it('a reviewed pull request rolling out what the channel may not serve: refused by the rules, audited with the reason', async () => {
    for (const [n, entries, why] of [
      [20, { legal: { production: { version: '1.2.0-rc.1', percent: 10 } } }, /prerelease/],
      [21, { policy: { production: { version: '1.1.0', percent: 10 } } }, /refused/],
      [22, { legal: { production: { version: '1.0.0', percent: 10 } } }, /only moves a channel forward/],
      [23, { legal: { production: { version: '1.1.1-head.3+abcdef0', percent: 10 } } }, /prerelease|not a release/],
    ] as const) {
      const merge = await t.mergedPull(n, { 'anvil.yaml': rollout(entries) });
      await t.settle();
      const set = Object.keys(entries)[0]!;
      const row = (await listAudit(t.forge.ctx.db, { project: 'acme' })).find((r) => r.kind === 'decision.rollout-refused' && r.subject === `${set} main@${merge.slice(0, 7)}`);
      expect(row, `#${n} audited`).to.not.equal(undefined);
      expect(JSON.parse(row!.detail).reason).to.match(why);
      await until(`#${n} failing status`, () => statusOf(merge)?.state === 'failure');
      await productionServesOnly(set, set === 'legal' ? '1.1.0' : '1.0.0');
    }
  });

  it('the envelope leaves out a rollout whose release is not allowed on the channel, however the row got there', async () => {
    await t.forge.ctx.db.insertInto('rollouts').values({ project: 'acme', set_name: 'policy', channel: 'production', version: '1.1.0', percent: 100 }).execute();
    try {
      const res = await fetch(`${t.forge.url}/api/v1/projects/acme/envelope?channel=production`, { headers: { authorization: `Bearer ${await t.token()}` } });
      const envelope = (await res.json()) as { bundles: { set: string; version: string }[]; rollouts: Record<string, unknown> };
      expect(envelope.rollouts).to.deep.equal({});
      expect(envelope.bundles.map((b) => `${b.set}@${b.version}`)).to.have.members(['legal@1.1.0', 'policy@1.0.0']);
    } finally {
      await t.forge.ctx.db.deleteFrom('rollouts').where('set_name', '=', 'policy').execute();
    }
  });

  it('a reviewed rollout of an allowed, newer release serves it at the percent; ending the rollout makes it production\'s release', async () => {
    await t.mergedPull(30, {
      'prompts/legal/terms.md': 'Terms v1.3.',
      'anvil.yaml': rollout({ legal: { production: { version: '1.3.0', percent: 50 } } }),
    }, { tags: ['legal@1.3.0'] });
    await t.settle();
    await until('production has the rollout', () => rolloutOf(prod, 'legal')?.version === '1.3.0');
    expect(versionOf(prod, 'legal'), 'the current release stays').to.equal('1.1.0');
    const keys = Array.from({ length: 400 }, (_, i) => `user-${i}`);
    const onNew = keys.filter((k) => served(prod, 'terms', k) === '1.3.0').length;
    expect(onNew / keys.length).to.be.within(0.4, 0.6);
    expect(prod.prompt('terms', {}, { key: keys.find((k) => served(prod, 'terms', k) === '1.3.0')! })).to.equal('Terms v1.3.');
    expect(versionOf(staging, 'legal'), 'no rollout on staging: it takes the release').to.equal('1.3.0');
    const audit = await listAudit(t.forge.ctx.db, { project: 'acme' });
    expect(audit.some((r) => r.kind === 'decision.rollout' && r.subject.startsWith('legal main@'))).to.equal(true);

    await t.mergedPull(31, { 'anvil.yaml': 'name: "@acme"\n' });
    await t.settle();
    await until('production on legal 1.3.0', () => versionOf(prod, 'legal') === '1.3.0' && rolloutOf(prod, 'legal') === undefined);
    expect(await verifyAuditChain(t.forge.ctx.db)).to.deep.include({ ok: true });
  });
});
