/**
 * Issue 18, hole 3: an "evil merge". The merge commit of an approved pull request carries a change
 * of its own, which no reviewer saw; it must not count as reviewed. The forge redoes the merge
 * (the approved head onto the merge's first parent, `git merge-tree`) and compares the set's folder.
 */
import { expect } from 'chai';
import type { AnvilClient } from '@anvil/client';
import { mirrorPath } from '../../src/mirror/mirror-repo.ts';
import { isReviewedChange } from '../../src/review/review-state.ts';
import { cleanupGitdirs } from '../support/gitdir.ts';
import { until } from '../support/until.ts';
import { startGitHubForge, type GitHubForge } from '../support/github-forge.ts';

const WELCOME = (text: string) => `---\ninput:\n  schema:\n    name: string\n---\n${text}`;

const FILES = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/onboarding/set.yaml': 'mode: review\n',
  'prompts/onboarding/welcome.md': WELCOME('Welcome, {{name}}!'),
  'prompts/legal/set.yaml': 'mode: locked\n',
  'prompts/legal/terms.md': 'These are the terms.',
};

describe('evil merges: a merge commit that adds its own change is not reviewed (issue 18)', function () {
  this.timeout(60_000);
  let f: GitHubForge;
  let production: AnvilClient;
  let staging: AnvilClient;
  let development: AnvilClient;
  const versionOf = (client: AnvilClient, set: string) => client.status().sets[set]?.version;

  before(async () => {
    f = await startGitHubForge(FILES, { tags: ['onboarding@1.0.0', 'legal@1.0.0'] });
    production = await f.receiver('prod-1', 'production');
    staging = await f.receiver('staging-1', 'staging');
    development = await f.receiver('dev-1', 'development');
    await f.sync();
    await until('production took legal 1.0.0', () => versionOf(production, 'legal') === '1.0.0');
    expect(versionOf(staging, 'onboarding')).to.equal('1.0.0');
  });

  after(async () => {
    await f?.close();
    await cleanupGitdirs();
  });

  it('an approved pull request merged with an extra change in the merge commit: nothing published, audited, a failing status', async () => {
    await f.openPull(1, { 'prompts/onboarding/welcome.md': WELCOME('Welcome aboard, {{name}}!') });
    await f.approve(1);
    const merge = await f.merge(1, { extra: { 'prompts/onboarding/welcome.md': WELCOME('Welcome aboard, {{name}}! Send us your card number.') } });
    await f.settle();

    for (const receiver of [staging, development]) {
      expect(versionOf(receiver, 'onboarding'), 'the receivers keep what they had').to.equal('1.0.0');
      expect(receiver.prompt('welcome', { name: 'Ada' })).to.equal('Welcome, Ada!');
    }
    const audit = await f.audit();
    const entry = audit.find((r) => r.subject === `onboarding main@${merge.slice(0, 7)}`);
    expect(entry?.kind).to.equal('decision.unreviewed-change');
    expect(JSON.parse(entry!.detail).unreviewedCommits).to.deep.equal([merge]);
    await until('the failing status was posted', () => f.failingStatus(merge) !== undefined);
    expect(f.failingStatus(merge)!.description).to.include('onboarding');
  });

  it('the same kind of pull request merged cleanly is published as reviewed', async () => {
    // Back to trusted content first: the evil merge's content is not trusted, and an approval
    // covers only its own diff (liveness.test.ts).
    await f.openPull(2, { 'prompts/onboarding/welcome.md': WELCOME('Welcome, {{name}}!') });
    await f.approve(2);
    await f.merge(2);
    await f.openPull(3, { 'prompts/onboarding/welcome.md': WELCOME('Welcome aboard, {{name}}!') });
    await f.approve(3);
    const merge = await f.merge(3);
    await f.settle();
    await until('staging took the head build', () => staging.prompt('welcome', { name: 'Ada' }) === 'Welcome aboard, Ada!');
    expect(versionOf(staging, 'onboarding')).to.match(/^1\.0\.1-head\.\d+\+/);
    expect(versionOf(development, 'onboarding')).to.equal(versionOf(staging, 'onboarding'));
    const audit = await f.audit();
    expect(audit.find((r) => r.subject === `onboarding main@${merge.slice(0, 7)}`)?.kind).to.equal('decision.publish');
    expect(f.failingStatus(merge)).to.equal(undefined);
  });

  it('squash merges: a clean one is reviewed, one with an extra change is not', async () => {
    await f.openPull(4, { 'prompts/onboarding/welcome.md': WELCOME('Welcome aboard, dear {{name}}!') });
    await f.approve(4);
    const clean = await f.merge(4, { squash: true });
    await f.settle();
    await until('staging took the squash merge', () => staging.prompt('welcome', { name: 'Ada' }) === 'Welcome aboard, dear Ada!');
    expect((await f.repo.git('rev-list', '--parents', '-n1', clean)).split(' '), 'a squash commit has one parent').to.have.length(2);

    await f.openPull(5, { 'prompts/onboarding/welcome.md': WELCOME('Hello, {{name}}!') });
    await f.approve(5);
    const evil = await f.merge(5, { squash: true, extra: { 'prompts/onboarding/extra.md': 'Not reviewed.' } });
    await f.settle();
    expect(staging.prompt('welcome', { name: 'Ada' })).to.equal('Welcome aboard, dear Ada!');
    expect((await f.audit()).find((r) => r.subject === `onboarding main@${evil.slice(0, 7)}`)?.kind).to.equal('decision.unreviewed-change');
    await until('the failing status was posted', () => f.failingStatus(evil) !== undefined);
  });

  it('a change the merger makes outside the set leaves the set reviewed', async () => {
    // #6 also reverts #5 (back to #4's reviewed content), so that only the merger's README is in question.
    const was = versionOf(staging, 'onboarding');
    await f.openPull(6, { 'prompts/onboarding/welcome.md': WELCOME('Welcome aboard, dear {{name}}!'), 'prompts/onboarding/extra.md': null });
    await f.approve(6);
    const merge = await f.merge(6, { extra: { 'README.md': 'Notes by the merger.' } });
    await f.settle();
    expect((await f.audit()).find((r) => r.subject === `onboarding main@${merge.slice(0, 7)}`)?.kind).to.equal('decision.publish');
    await until('staging took the new head build', () => versionOf(staging, 'onboarding') !== was);
    expect(staging.prompt('welcome', { name: 'Ada' })).to.equal('Welcome aboard, dear Ada!');
  });

  it('a locked set: the release after an evil merge is refused and production keeps what it had', async () => {
    await f.openPull(7, { 'prompts/legal/terms.md': 'These are the new terms.' });
    await f.approve(7);
    await f.merge(7, { extra: { 'prompts/legal/terms.md': 'These are the new terms. We may sell your data.' } });
    const commit = await f.release('legal@1.1.0');
    await f.settle();
    expect(versionOf(production, 'legal')).to.equal('1.0.0');
    expect(production.prompt('terms', {})).to.equal('These are the terms.');
    const audit = await f.audit();
    expect(audit.some((r) => r.kind === 'decision.unreviewed-release' && r.subject === 'legal legal@1.1.0')).to.equal(true);
    await until('the failing status on the release', () => (f.failingStatus(commit)?.description ?? '').includes('legal@1.1.0'));
  });

  it('a conflict resolved in the merge commit counts as unreviewed: nobody reviewed the resolution', async () => {
    // Two approved pull requests change the same line; the second is merged with a resolution.
    await f.openPull(8, { 'prompts/onboarding/welcome.md': WELCOME('Hi there, {{name}}!') });
    await f.openPull(9, { 'prompts/onboarding/welcome.md': WELCOME('Greetings, {{name}}!') });
    await f.approve(8);
    await f.approve(9);
    await f.merge(8);
    await f.settle();
    await until('staging took #8', () => staging.prompt('welcome', { name: 'Ada' }) === 'Hi there, Ada!');
    const pull = f.github.pulls.get('acme/prompts#9')!;
    await f.repo.git('merge', '--no-ff', '--no-commit', pull.headRef).catch(() => undefined);
    const merge = await f.repo.commit('Merge pull request #9', { 'prompts/onboarding/welcome.md': WELCOME('Hi there and greetings, {{name}}!') });
    f.github.mergePull('acme/prompts', 9, merge);
    await f.sync();
    expect(staging.prompt('welcome', { name: 'Ada' })).to.equal('Hi there, Ada!');
    expect((await f.audit()).find((r) => r.subject === `onboarding main@${merge.slice(0, 7)}`)?.kind).to.equal('decision.unreviewed-change');
  });

  it('anvil.yaml as the "set" (rollout changes): a clean merge is reviewed, an evil one is not', async () => {
    const project = f.forge.ctx.projects.get('acme')!;
    const mirror = mirrorPath(f.forge.ctx.dataDir, 'acme');
    const ref = { name: 'anvil.yaml', dir: 'anvil.yaml' };
    const rollout = 'name: "@acme"\nrollouts:\n  legal:\n    production:\n      version: 1.0.0\n      percent: 10\n';
    await f.openPull(10, { 'anvil.yaml': rollout });
    await f.approve(10);
    const clean = await f.merge(10);
    await f.openPull(11, { 'anvil.yaml': rollout.replace('10\n', '20\n') });
    await f.approve(11);
    const evil = await f.merge(11, { extra: { 'anvil.yaml': rollout.replace('10\n', '100\n') } });
    await f.settle();
    expect(await isReviewedChange(f.forge.ctx, project, mirror, clean, ref)).to.equal(true);
    expect(await isReviewedChange(f.forge.ctx, project, mirror, evil, ref)).to.equal(false);
  });
});
