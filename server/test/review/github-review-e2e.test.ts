/**
 * Review through GitHub pull requests, end to end (issue 6): a real git repository as the
 * remote (pull request heads at refs/pull/<n>/head, as GitHub keeps them), the forge started as
 * `anvil serve` starts it, GitHub's webhooks (derived from @octokit/webhooks-examples) posted
 * signed, a local fake of GitHub's REST API answering the forge's Octokit, and real LIVE
 * receivers on loopback.
 */
import { expect } from 'chai';
import type { AnvilClient } from '@anvil/client';
import type { RunningForge } from '../../src/forge/start-forge.ts';
import { REVIEW_COMMENT_MARKER } from '../../src/review/compose-review-comment.ts';
import { listAudit, verifyAuditChain } from '../../src/store/audit-log.ts';
import type { FakeGitHub } from '../support/fake-github.ts';
import { REPO, startGitHubForge, type GitHubForge } from '../support/github-forge.ts';
import { cleanupGitdirs } from '../support/gitdir.ts';
import { until } from '../support/until.ts';

const FILES = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/onboarding/set.yaml': 'mode: review\n',
  'prompts/onboarding/welcome.md': '---\ninput:\n  schema:\n    name: string\n---\nWelcome, {{name}}!',
  'prompts/policy/set.yaml': 'mode: review\nreviewers:\n  - carol\n  - acme/prompt-owners\n',
  'prompts/policy/refund.md': 'Refunds within 30 days.',
  'prompts/support/set.yaml': 'mode: live\n',
  'prompts/support/answer.md': 'Answer briefly.',
};

describe('GitHub review end to end: pull request → check + comment → approval → merge → receivers', function () {
  this.timeout(60_000);
  let f: GitHubForge;
  let github: FakeGitHub;
  let forge: RunningForge;
  let staging: AnvilClient;
  let dev: AnvilClient;

  const versionOf = (client: AnvilClient, set: string) => client.status().sets[set]?.version;
  const commentsOf = (number: number) => github.comments.get(`${REPO}#${number}`) ?? [];
  const checkOf = (sha: string) => github.checkRuns.filter((c) => c.headSha === sha);

  before(async () => {
    f = await startGitHubForge(FILES, { tags: ['onboarding@1.0.0', 'policy@1.0.0'] });
    ({ github, forge } = f);
    github.permissions.set(`${REPO}:dave`, 'read');
    github.teams.set('acme/prompt-owners', new Set(['dave']));
    staging = await f.receiver('staging-1', 'staging');
    dev = await f.receiver('dev-1', 'development');
    // The forge adopts the repository as it finds it: its releases publish.
    await f.sync();
    expect(versionOf(staging, 'onboarding')).to.equal('1.0.0');
    expect(versionOf(staging, 'policy')).to.equal('1.0.0');
  });

  after(async () => {
    await f?.close();
    await cleanupGitdirs();
  });

  it('opened: a check run "Anvil" on the head with mode, needs approval and the bump, and one comment with the rendered diff', async () => {
    const head = await f.openPull(1, { 'prompts/onboarding/welcome.md': '---\ninput:\n  schema:\n    name: string\n---\nWelcome aboard, {{name}}!' });
    await f.settle();
    const [check, ...more] = checkOf(head);
    expect(more).to.have.length(0);
    expect(check).to.include({ name: 'Anvil', status: 'completed', conclusion: 'success' });
    expect(check!.output.title).to.match(/onboarding: patch, needs approval/);
    expect(check!.output.summary).to.match(/review/).and.to.match(/1\.0\.1/);
    const comments = commentsOf(1);
    expect(comments).to.have.length(1);
    expect(comments[0]!.body.startsWith(REVIEW_COMMENT_MARKER)).to.equal(true);
    expect(comments[0]!.body).to.include('-Welcome, ').and.to.include('+Welcome aboard, ').and.to.include('"name"');
  });

  it('synchronize: the same comment is edited, never a second one; the new head gets its own check', async () => {
    const before = commentsOf(1)[0]!;
    const head = await f.pushToPull(1, { 'prompts/onboarding/welcome.md': '---\ninput:\n  schema:\n    name: string\n---\nWelcome aboard, dear {{name}}!' });
    await f.settle();
    const comments = commentsOf(1);
    expect(comments).to.have.length(1);
    expect(comments[0]!.id).to.equal(before.id);
    expect(comments[0]!.body).to.include('+Welcome aboard, dear ');
    expect(github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/issues/1/comments'))).to.have.length(1);
    expect(github.requests.some((r) => r.method === 'PATCH' && r.path === `/repos/${REPO}/issues/comments/${before.id}`)).to.equal(true);
    expect(checkOf(head)).to.have.length(1);
  });

  it('approved at the head, then merged: the head build goes to staging and development', async () => {
    await f.review(1, 'bob', 'APPROVED');
    await f.settle();
    const head = github.pulls.get(`${REPO}#1`)!.headSha;
    const [check] = checkOf(head);
    expect(check!.output.summary).to.match(/approved by @?bob/);

    const merge = await f.merge(1);
    await f.settle();
    await until('staging took the head build', () => /^1\.0\.1-head\.\d+\+/.test(versionOf(staging, 'onboarding') ?? ''));
    expect(versionOf(dev, 'onboarding')).to.equal(versionOf(staging, 'onboarding'));
    expect(staging.prompt('welcome', { name: 'Ada' })).to.equal('Welcome aboard, dear Ada!');
    const audit = await listAudit(forge.ctx.db, { project: 'acme' });
    expect(audit.some((r) => r.kind === 'decision.publish' && r.subject === `onboarding main@${merge.slice(0, 7)}`)).to.equal(true);
  });

  it('the merge is confirmed through the API: a lost pull_request webhook does not lose the publish', async () => {
    await f.openPull(10, { 'prompts/support/answer.md': 'Answer briefly.\n\nSign off.', 'prompts/onboarding/welcome.md': '---\ninput:\n  schema:\n    name: string\n---\nWelcome aboard, dear {{name}}! Glad you are here.' });
    await f.review(10, 'carol', 'APPROVED');
    await f.merge(10, { closedEvent: false });
    await f.settle();
    await until('staging took the merge', () => staging.prompt('welcome', { name: 'Ada' }) === 'Welcome aboard, dear Ada! Glad you are here.');
    expect(github.requests.some((r) => r.method === 'GET' && /\/commits\/[0-9a-f]{40}\/pulls$/.test(r.path))).to.equal(true);
  });

  it('lint errors: the check fails, with an annotation on the file and line', async () => {
    const head = await f.openPull(11, { 'prompts/onboarding/welcome.md': '---\ninput:\n  schema:\n    name: string\n---\nWelcome, {{#if name}}{{name}}!' });
    await f.settle();
    const [check] = checkOf(head);
    expect(check!.conclusion).to.equal('failure');
    const annotation = check!.output.annotations.find((a) => a.path === 'prompts/onboarding/welcome.md');
    expect(annotation, JSON.stringify(check!.output.annotations)).to.include({ level: 'failure' });
    expect(annotation!.startLine).to.be.greaterThan(0);
    github.pulls.get(`${REPO}#11`)!.state = 'closed';
  });

  it('credentials that may not create check runs: a commit status "anvil" instead', async () => {
    github.denyCheckRuns = true;
    try {
      const head = await f.openPull(12, { 'prompts/support/answer.md': 'Answer, then stop.' });
      await f.settle();
      expect(checkOf(head)).to.have.length(0);
      const status = github.statuses.find((s) => s.sha === head && s.context === 'anvil');
      expect(status).to.include({ state: 'success' });
      expect(commentsOf(12)).to.have.length(1);
    } finally {
      github.denyCheckRuns = false;
    }
  });

  it('a repository\'s own comment template, from the base branch, replaces the default', async () => {
    await f.pushCommit('our comment template', { '.anvil/templates/pull-request-comment.md.hbs': '{{#each sets}}Set {{name}} ({{mode}}): {{release}}{{#each prompts}} [{{title}} {{status}}]{{/each}}\n{{/each}}' });
    await f.openPull(13, { 'prompts/support/answer.md': 'Answer in one sentence.' });
    await f.settle();
    const [comment] = commentsOf(13);
    expect(comment!.body.startsWith(REVIEW_COMMENT_MARKER), 'the marker is added').to.equal(true);
    expect(comment!.body).to.match(/Set support \(live\): .*\[answer changed\]/);
    expect(comment!.body).to.not.include('Anvil: rendered changes');
  });

  it('merged without an approval: nothing published, audited as an unreviewed change, a failing status naming the set', async () => {
    const was = versionOf(staging, 'onboarding');
    await f.openPull(2, { 'prompts/onboarding/welcome.md': 'Hello {{name}}, unreviewed.' });
    await f.review(2, 'bob', 'COMMENTED');
    const merge = await f.merge(2);
    await f.settle();
    expect(versionOf(staging, 'onboarding')).to.equal(was);
    const audit = await listAudit(forge.ctx.db, { project: 'acme' });
    expect(audit.some((r) => r.kind === 'decision.unreviewed-change' && r.subject === `onboarding main@${merge.slice(0, 7)}`)).to.equal(true);
    const status = github.statuses.find((s) => s.sha === merge && s.context === 'anvil/review');
    expect(status).to.include({ state: 'failure' });
    expect(status!.description).to.include('onboarding');
  });

  it('a stale approval (given before the last push) does not count: the check says so, and the merge publishes nothing', async () => {
    const was = versionOf(staging, 'onboarding');
    await f.openPull(3, { 'prompts/onboarding/welcome.md': 'Hi {{name}}!' });
    await f.review(3, 'bob', 'APPROVED');
    const head = await f.pushToPull(3, { 'prompts/onboarding/welcome.md': 'Hi {{name}}, sneaked in after the approval.' });
    await f.settle();
    expect(checkOf(head)[0]!.output.title).to.match(/needs approval/);
    expect(checkOf(head)[0]!.output.summary).to.not.match(/approved by/);
    const merge = await f.merge(3);
    await f.settle();
    expect(versionOf(staging, 'onboarding')).to.equal(was);
    expect(github.statuses.some((s) => s.sha === merge && s.state === 'failure')).to.equal(true);
  });

  it('a dismissed approval does not count', async () => {
    const was = versionOf(staging, 'onboarding');
    await f.openPull(4, { 'prompts/onboarding/welcome.md': 'Howdy {{name}}!' });
    const id = await f.review(4, 'bob', 'APPROVED');
    github.dismissReview(REPO, 4, id);
    await f.merge(4);
    await f.settle();
    expect(versionOf(staging, 'onboarding')).to.equal(was);
  });

  it('set.yaml reviewers: a writer\'s and the author\'s approvals do not count; a member of the named team\'s does', async () => {
    await f.openPull(5, { 'prompts/policy/refund.md': 'Refunds within 14 days.' }, 'carol');
    await f.review(5, 'bob', 'APPROVED');
    await f.review(5, 'carol', 'APPROVED'); // the author, though a named reviewer
    await f.settle();
    const head5 = github.pulls.get(`${REPO}#5`)!.headSha;
    expect(checkOf(head5)[0]!.output.summary).to.match(/reviewers: @?carol, @?acme\/prompt-owners/);
    await f.merge(5);
    await f.settle();
    expect(versionOf(staging, 'policy')).to.equal('1.0.0');

    // #5's merge was not reviewed, and an approval vouches only for its own diff (issue 18): #6
    // takes the reviewed way back, a revert to the content the forge trusts.
    await f.openPull(6, { 'prompts/policy/refund.md': 'Refunds within 30 days.' });
    await f.review(6, 'dave', 'APPROVED'); // read access only, but in acme/prompt-owners
    const merge = await f.merge(6);
    await f.settle();
    await until('staging took the policy head build', () => /-head\.\d+\+/.test(versionOf(staging, 'policy') ?? ''));
    expect(staging.prompt('refund', {})).to.equal('Refunds within 30 days.');
    const row = await forge.ctx.db.selectFrom('reviews').select(['state', 'merged_commit', 'detail']).where('pull_number', '=', 6).executeTakeFirstOrThrow();
    expect(row).to.include({ state: 'merged', merged_commit: merge });
    expect(JSON.parse(row.detail).sets.policy).to.deep.equal(['dave']);
  });

  it('rate limited by GitHub: the post waits out retry-after and goes through', async () => {
    github.rateLimit({ kind: 'secondary', count: 1, resetSeconds: 1, match: /check-runs/ });
    const head = await f.openPull(7, { 'prompts/support/answer.md': 'Answer briefly and kindly.' });
    await f.settle();
    const limited = github.requests.filter((r) => r.path === `/repos/${REPO}/check-runs`);
    expect(limited.length).to.be.at.least(2);
    expect(checkOf(head)).to.have.length(1);
    expect(checkOf(head)[0]!.output.title).to.match(/support: patch/).and.not.to.match(/needs approval/);
  });

  it('GitHub failing does not hold up a publish: the push publishes, the post is retried until GitHub takes it', async () => {
    github.failNext({ status: 502, count: 6, match: /statuses|check-runs|comments/ });
    await f.pushCommit('live edit', { 'prompts/support/answer.md': 'Answer in one line.' });
    await until('development took the live head build', () => dev.prompt('answer', {}) === 'Answer in one line.');
    await f.openPull(8, { 'prompts/support/answer.md': 'Answer in two lines.' });
    await until('the check run got through', async () => checkOf(github.pulls.get(`${REPO}#8`)!.headSha).length === 1, 20_000);
    // GitHub took it a moment before the poster writes that down.
    const postOf = () => forge.ctx.db.selectFrom('github_posts').select(['state', 'attempts']).where('key', '=', `check ${github.pulls.get(`${REPO}#8`)!.headSha}`).executeTakeFirstOrThrow();
    await until('the post recorded as done', async () => (await postOf()).state === 'done');
    expect((await postOf()).attempts).to.be.at.least(2);
  });

  it('a release whose set content includes an unreviewed change is refused, audited, with a failing status', async () => {
    // onboarding's last merges (#2, #3, #4) were unreviewed.
    const commit = await f.release('onboarding@1.1.0');
    await f.settle();
    expect(versionOf(staging, 'onboarding')).to.not.equal('1.1.0');
    const audit = await listAudit(forge.ctx.db, { project: 'acme' });
    const refusal = audit.find((r) => r.kind === 'decision.unreviewed-release' && r.subject === 'onboarding onboarding@1.1.0');
    expect(refusal, 'audited').to.not.equal(undefined);
    expect(JSON.parse(refusal!.detail).unreviewedCommits).to.have.length.at.least(3);
    const status = github.statuses.find((s) => s.sha === commit && s.context === 'anvil/review' && (s.description ?? '').includes('onboarding@1.1.0'));
    expect(status).to.include({ state: 'failure' });
    expect(await verifyAuditChain(forge.ctx.db)).to.deep.include({ ok: true });
  });

  it('a release whose every change was approved is published: a locked set added through an approved pull request reaches production', async () => {
    const production = await f.receiver('prod-1', 'production');
    await f.openPull(9, { 'prompts/legal/set.yaml': 'mode: locked\n', 'prompts/legal/terms.md': 'These are the terms.' });
    await f.review(9, 'bob', 'APPROVED');
    const merge = await f.merge(9);
    await f.settle();
    const audit = await listAudit(forge.ctx.db, { project: 'acme' });
    expect(audit.some((r) => r.kind === 'decision.nothing' && r.subject === `legal main@${merge.slice(0, 7)}`), 'a locked set publishes only from releases').to.equal(true);

    await f.release('legal@1.0.0');
    await f.settle();
    await until('production took legal 1.0.0', () => versionOf(production, 'legal') === '1.0.0');
    expect(production.prompt('terms', {})).to.equal('These are the terms.');
  });
});
