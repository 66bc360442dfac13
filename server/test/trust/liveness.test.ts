/**
 * Issue 18, liveness: after an unreviewed change U to a locked set, a refused release is no
 * baseline, so every later release would be refused for good. The reviewed way forward: an
 * approved pull request that brings the set back to content the forge trusts (review/trust-rules.ts).
 * A reviewed pull request merged on top of U does not vouch for U, for releases and for the head
 * builds of review sets alike.
 */
import { expect } from 'chai';
import type { AnvilClient } from '@anvil/client';
import { cleanupGitdirs } from '../support/gitdir.ts';
import { until } from '../support/until.ts';
import { startGitHubForge, type GitHubForge } from '../support/github-forge.ts';

const FILES = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/legal/set.yaml': 'mode: locked\n',
  'prompts/legal/terms.md': 'These are the terms.',
  'prompts/onboarding/set.yaml': 'mode: review\n',
  'prompts/onboarding/welcome.md': 'Welcome!',
};

describe('liveness: a reviewed way back after an unreviewed change (issue 18)', function () {
  this.timeout(60_000);
  let f: GitHubForge;
  let production: AnvilClient;
  let staging: AnvilClient;
  let unreviewed: string;
  const versionOf = (client: AnvilClient, set: string) => client.status().sets[set]?.version;
  const decisionOf = async (subject: string) => (await f.audit()).find((r) => r.subject === subject);

  before(async () => {
    f = await startGitHubForge(FILES, { tags: ['legal@1.0.0', 'onboarding@1.0.0'] });
    production = await f.receiver('prod-1', 'production');
    staging = await f.receiver('staging-1', 'staging');
    await f.sync();
    await until('production took legal 1.0.0', () => versionOf(production, 'legal') === '1.0.0');
  });

  after(async () => {
    await f?.close();
    await cleanupGitdirs();
  });

  it('an unreviewed commit U to a locked set: audited, and its release is refused', async () => {
    unreviewed = await f.pushCommit('quick fix, straight to main', { 'prompts/legal/terms.md': 'These are the terms. Unreviewed clause.' });
    await f.settle();
    expect((await decisionOf(`legal main@${unreviewed.slice(0, 7)}`))?.kind).to.equal('decision.unreviewed-change');
    await f.release('legal@1.1.0');
    await f.settle();
    expect((await decisionOf('legal legal@1.1.0'))?.kind).to.equal('decision.unreviewed-release');
    expect(versionOf(production, 'legal')).to.equal('1.0.0');
  });

  it('a reviewed pull request on top of U, not reverting it: the next release is still refused', async () => {
    await f.openPull(1, { 'prompts/legal/privacy.md': 'We keep your data safe.' });
    await f.approve(1);
    await f.merge(1);
    const commit = await f.release('legal@1.2.0');
    await f.settle();
    const refusal = await decisionOf('legal legal@1.2.0');
    expect(refusal?.kind).to.equal('decision.unreviewed-release');
    expect(JSON.parse(refusal!.detail).unreviewedCommits).to.include(unreviewed);
    expect(JSON.parse(refusal!.detail).untrusted).to.match(/reverts/);
    await until('a failing status on the release', () => (f.failingStatus(commit)?.description ?? '').includes('legal@1.2.0'));
    expect(versionOf(production, 'legal')).to.equal('1.0.0');
    expect(production.prompt('terms', {})).to.equal('These are the terms.');
  });

  it('a reviewed pull request that reverts U (and what was merged on it) makes the next release reach production', async () => {
    // Back to the files of legal@1.0.0, as `anvil rollback legal --to 1.0.0` would commit them, through review.
    await f.openPull(2, { 'prompts/legal/terms.md': 'These are the terms.', 'prompts/legal/privacy.md': null });
    await f.approve(2);
    await f.merge(2);
    await f.release('legal@1.3.0');
    await f.settle();
    expect((await decisionOf('legal legal@1.3.0'))?.kind).to.equal('decision.publish');
    await until('production took legal 1.3.0', () => versionOf(production, 'legal') === '1.3.0');
    expect(production.prompt('terms', {})).to.equal('These are the terms.');
  });

  it('from trusted content, reviewed changes release as usual again', async () => {
    await f.openPull(3, { 'prompts/legal/privacy.md': 'We keep your data safe.' });
    await f.approve(3);
    await f.merge(3);
    await f.release('legal@1.4.0');
    await f.settle();
    await until('production took legal 1.4.0', () => versionOf(production, 'legal') === '1.4.0');
    expect(production.prompt('privacy', {})).to.equal('We keep your data safe.');
  });

  it('a review set: a reviewed merge on top of U does not carry U to staging; a reviewed revert is published', async () => {
    const u = await f.pushCommit('unreviewed onboarding edit', { 'prompts/onboarding/welcome.md': 'Welcome! Unreviewed line.' });
    await f.openPull(4, { 'prompts/onboarding/tips.md': 'Tip: ask us anything.' });
    await f.approve(4);
    const onTop = await f.merge(4);
    await f.settle();
    expect((await decisionOf(`onboarding main@${u.slice(0, 7)}`))?.kind).to.equal('decision.unreviewed-change');
    const held = await decisionOf(`onboarding main@${onTop.slice(0, 7)}`);
    expect(held?.kind).to.equal('decision.unreviewed-change');
    expect(JSON.parse(held!.detail).untrusted).to.match(/approved pull request/);
    expect(versionOf(staging, 'onboarding')).to.equal('1.0.0');
    expect(staging.prompt('welcome', {})).to.equal('Welcome!');

    await f.openPull(5, { 'prompts/onboarding/welcome.md': 'Welcome!', 'prompts/onboarding/tips.md': null });
    await f.approve(5);
    const revert = await f.merge(5);
    await f.settle();
    expect((await decisionOf(`onboarding main@${revert.slice(0, 7)}`))?.kind).to.equal('decision.publish');
    await until('staging took the reverted head build', () => /^1\.0\.1-head\./.test(versionOf(staging, 'onboarding') ?? ''));
    expect(staging.prompt('welcome', {})).to.equal('Welcome!');
  });
});
