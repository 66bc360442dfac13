/**
 * Review through GitHub pull requests, end to end (issue 6): a real git repository as the
 * remote (pull request heads at refs/pull/<n>/head, as GitHub keeps them), the forge started as
 * `anvil serve` starts it, GitHub's webhooks (derived from @octokit/webhooks-examples) posted
 * signed, a local fake of GitHub's REST API answering the forge's Octokit, and real LIVE
 * receivers on loopback.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createClient, type AnvilClient } from '@anvil/client';
import { createAccessToken } from '../../src/access/access-tokens.ts';
import type { ResolvedForgeConfig } from '../../src/forge/forge-config.ts';
import { createLogger } from '../../src/forge/logger.ts';
import { startForge, type RunningForge } from '../../src/forge/start-forge.ts';
import { REVIEW_COMMENT_MARKER } from '../../src/review/compose-review-comment.ts';
import { formatReleaseMessage } from '../../src/release/release-record.ts';
import { listAudit, verifyAuditChain } from '../../src/store/audit-log.ts';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.ts';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';
import { until } from '../support/until.ts';
import { githubExample, type Json } from '../webhooks/webhook-support.ts';

const SECRET = 'github-review-webhook-secret-0123456789';
const REPO = 'acme/prompts';
const TOKEN = 'ghs_forge_installation_token_for_tests';

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
  let repo: GitDir;
  let github: FakeGitHub;
  let forge: RunningForge;
  let dataDir: string;
  let cacheRoot: string;
  let staging: AnvilClient;
  let dev: AnvilClient;
  const clients: AnvilClient[] = [];

  function config(): ResolvedForgeConfig {
    return {
      name: 'review-forge', dataDir, host: '127.0.0.1', port: 0, keyRotationGraceDays: 7,
      projects: [{
        name: 'acme', remote: repo.dir, provider: 'github', githubRepository: REPO, webhookSecret: SECRET,
        github: { apiUrl: github.url, auth: { kind: 'token', token: TOKEN } },
      }],
      defaultBranches: {},
      // The receivers listen on 127.0.0.1.
      pushTargets: { allowPrivateNetworks: true },
    };
  }

  async function receiver(name: string, channel: 'production' | 'staging' | 'development'): Promise<AnvilClient> {
    const token = (await createAccessToken(forge.ctx.db, { project: 'acme', label: name })).token;
    const client = await createClient({
      forge: forge.url, project: 'acme', token, channel, cacheDir: path.join(cacheRoot, name), instanceId: name,
      readyTimeoutMs: 0, pollMs: 0, heartbeatMs: 3_600_000,
    });
    client.on('error', () => undefined);
    await client.listen(0);
    clients.push(client);
    return client;
  }

  // ---- GitHub's side: webhooks, signed as GitHub signs them -------------------------------

  async function deliver(event: string, payload: Json): Promise<void> {
    const body = JSON.stringify(payload);
    const res = await fetch(`${forge.url}/webhooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': randomUUID(),
        'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      },
      body,
    });
    expect(res.status, `${event} webhook: ${await res.text()}`).to.be.oneOf([200, 202]);
  }

  function withRepository(payload: Json): Json {
    const [owner, name] = REPO.split('/') as [string, string];
    payload['repository'] = { ...payload['repository'], full_name: REPO, name, owner: { ...payload['repository'].owner, login: owner } };
    return payload;
  }

  function pullPayload(action: string, number: number): Json {
    const pull = github.pulls.get(`${REPO}#${number}`)!;
    const payload = withRepository(githubExample('pull_request', (p) => p['action'] === (action === 'closed' ? 'closed' : 'opened')));
    payload['action'] = action;
    payload['number'] = number;
    const pr = payload['pull_request'];
    Object.assign(pr, {
      number, state: pull.state, draft: false, merged: pull.merged, merge_commit_sha: pull.mergeCommitSha, user: { ...pr.user, login: pull.author },
      head: { ...pr.head, sha: pull.headSha, ref: pull.headRef, repo: { ...pr.head.repo, full_name: REPO } },
      base: { ...pr.base, sha: pull.baseSha, ref: pull.baseRef, repo: { ...pr.base.repo, full_name: REPO } },
    });
    return payload;
  }

  /** A branch off main with `files` committed, shown on GitHub as pull request `number`. */
  async function openPull(number: number, files: Record<string, string>, author = 'alice'): Promise<string> {
    const branch = `change-${number}`;
    const base = await repo.revParse('main');
    await repo.git('checkout', '--quiet', '-b', branch);
    const head = await repo.commit(`change ${number}`, files);
    await repo.git('update-ref', `refs/pull/${number}/head`, head);
    await repo.checkout('main');
    github.addPull(REPO, { number, headSha: head, headRef: branch, baseRef: 'main', baseSha: base, author, title: `Change ${number}` });
    await deliver('pull_request', pullPayload('opened', number));
    return head;
  }

  async function pushToPull(number: number, files: Record<string, string>): Promise<string> {
    const pull = github.pulls.get(`${REPO}#${number}`)!;
    await repo.checkout(pull.headRef);
    const head = await repo.commit(`more for ${number}`, files);
    await repo.git('update-ref', `refs/pull/${number}/head`, head);
    await repo.checkout('main');
    pull.headSha = head;
    await deliver('pull_request', pullPayload('synchronize', number));
    return head;
  }

  async function reviewPull(number: number, reviewer: string, state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED'): Promise<number> {
    const pull = github.pulls.get(`${REPO}#${number}`)!;
    const review = github.addReview(REPO, number, { reviewer, state, commitId: pull.headSha });
    const payload = withRepository(githubExample('pull_request_review', (p) => p['action'] === 'submitted'));
    Object.assign(payload['pull_request'], pullPayload('opened', number)['pull_request']);
    Object.assign(payload['review'], { id: review.id, state: state.toLowerCase(), commit_id: pull.headSha, user: { ...payload['review'].user, login: reviewer } });
    await deliver('pull_request_review', payload);
    return review.id;
  }

  /** Merges the pull request's branch into main (a merge commit), as GitHub's merge button does. */
  async function mergePull(number: number, options: { closedEvent?: boolean } = {}): Promise<string> {
    const pull = github.pulls.get(`${REPO}#${number}`)!;
    await repo.git('merge', '--quiet', '--no-ff', '-m', `Merge pull request #${number}`, pull.headRef);
    const merge = await repo.revParse('HEAD');
    github.mergePull(REPO, number, merge);
    if (options.closedEvent ?? true) await deliver('pull_request', pullPayload('closed', number));
    await deliverPush(merge);
    return merge;
  }

  async function deliverPush(after: string, ref = 'refs/heads/main'): Promise<void> {
    const payload = withRepository(githubExample('push'));
    Object.assign(payload, { ref, before: '0'.repeat(40), after, created: false, deleted: false, forced: false });
    await deliver('push', payload);
  }

  const versionOf = (client: AnvilClient, set: string) => client.status().sets[set]?.version;
  const commentsOf = (number: number) => github.comments.get(`${REPO}#${number}`) ?? [];
  const checkOf = (sha: string) => github.checkRuns.filter((c) => c.headSha === sha);
  const settle = () => forge.settle(20_000);

  before(async () => {
    github = await startFakeGitHub();
    github.tokens.add(TOKEN);
    for (const login of ['alice', 'bob', 'carol']) github.permissions.set(`${REPO}:${login}`, 'write');
    github.permissions.set(`${REPO}:dave`, 'read');
    github.teams.set('acme/prompt-owners', new Set(['dave']));

    repo = await gitdir({ files: FILES });
    await repo.tag('onboarding@1.0.0', { message: formatReleaseMessage({ set: 'onboarding', version: '1.0.0', dependencies: {} }) });
    await repo.tag('policy@1.0.0', { message: formatReleaseMessage({ set: 'policy', version: '1.0.0', dependencies: {} }) });
    dataDir = mkdtempSync(path.join(tmpdir(), 'anvil-review-forge-'));
    cacheRoot = mkdtempSync(path.join(tmpdir(), 'anvil-review-receivers-'));
    forge = await startForge(config(), {
      logger: createLogger({ level: process.env['LOG'] ?? 'silent' }), syncOnStart: false, worker: { backoff: { baseMs: 50, maxMs: 200 } },
      github: { spaceWrites: false, retryBaseMs: 10, poster: { backoff: { baseMs: 50, maxMs: 200 }, pollMs: 100 } },
    });
    staging = await receiver('staging-1', 'staging');
    dev = await receiver('dev-1', 'development');
    await until('receivers registered', async () => (await forge.ctx.db.selectFrom('receivers').select('instance_id').execute()).length === 2);
    // The forge adopts the repository as it finds it: its releases publish.
    await forge.sync('acme');
    await settle();
    expect(versionOf(staging, 'onboarding')).to.equal('1.0.0');
    expect(versionOf(staging, 'policy')).to.equal('1.0.0');
  });

  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await forge?.close();
    await github?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(cacheRoot, { recursive: true, force: true });
    await cleanupGitdirs();
  });

  it('opened: a check run "Anvil" on the head with mode, needs approval and the bump, and one comment with the rendered diff', async () => {
    const head = await openPull(1, { 'prompts/onboarding/welcome.md': '---\ninput:\n  schema:\n    name: string\n---\nWelcome aboard, {{name}}!' });
    await settle();
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
    const head = await pushToPull(1, { 'prompts/onboarding/welcome.md': '---\ninput:\n  schema:\n    name: string\n---\nWelcome aboard, dear {{name}}!' });
    await settle();
    const comments = commentsOf(1);
    expect(comments).to.have.length(1);
    expect(comments[0]!.id).to.equal(before.id);
    expect(comments[0]!.body).to.include('+Welcome aboard, dear ');
    expect(github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/issues/1/comments'))).to.have.length(1);
    expect(github.requests.some((r) => r.method === 'PATCH' && r.path === `/repos/${REPO}/issues/comments/${before.id}`)).to.equal(true);
    expect(checkOf(head)).to.have.length(1);
  });

  it('approved at the head, then merged: the head build goes to staging and development', async () => {
    await reviewPull(1, 'bob', 'APPROVED');
    await settle();
    const head = github.pulls.get(`${REPO}#1`)!.headSha;
    const [check] = checkOf(head);
    expect(check!.output.summary).to.match(/approved by @?bob/);

    const merge = await mergePull(1);
    await settle();
    await until('staging took the head build', () => /^1\.0\.1-head\.\d+\+/.test(versionOf(staging, 'onboarding') ?? ''));
    expect(versionOf(dev, 'onboarding')).to.equal(versionOf(staging, 'onboarding'));
    expect(staging.prompt('welcome', { name: 'Ada' })).to.equal('Welcome aboard, dear Ada!');
    const audit = await listAudit(forge.ctx.db, { project: 'acme' });
    expect(audit.some((r) => r.kind === 'decision.publish' && r.subject === `onboarding main@${merge.slice(0, 7)}`)).to.equal(true);
  });

  it('the merge is confirmed through the API: a lost pull_request webhook does not lose the publish', async () => {
    await openPull(10, { 'prompts/support/answer.md': 'Answer briefly.\n\nSign off.', 'prompts/onboarding/welcome.md': '---\ninput:\n  schema:\n    name: string\n---\nWelcome aboard, dear {{name}}! Glad you are here.' });
    await reviewPull(10, 'carol', 'APPROVED');
    await mergePull(10, { closedEvent: false });
    await settle();
    await until('staging took the merge', () => staging.prompt('welcome', { name: 'Ada' }) === 'Welcome aboard, dear Ada! Glad you are here.');
    expect(github.requests.some((r) => r.method === 'GET' && /\/commits\/[0-9a-f]{40}\/pulls$/.test(r.path))).to.equal(true);
  });

  it('lint errors: the check fails, with an annotation on the file and line', async () => {
    const head = await openPull(11, { 'prompts/onboarding/welcome.md': '---\ninput:\n  schema:\n    name: string\n---\nWelcome, {{#if name}}{{name}}!' });
    await settle();
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
      const head = await openPull(12, { 'prompts/support/answer.md': 'Answer, then stop.' });
      await settle();
      expect(checkOf(head)).to.have.length(0);
      const status = github.statuses.find((s) => s.sha === head && s.context === 'anvil');
      expect(status).to.include({ state: 'success' });
      expect(commentsOf(12)).to.have.length(1);
    } finally {
      github.denyCheckRuns = false;
    }
  });

  it('a repository\'s own comment template, from the base branch, replaces the default', async () => {
    await repo.commit('our comment template', { '.anvil/templates/pull-request-comment.md.hbs': '{{#each sets}}Set {{name}} ({{mode}}): {{release}}{{#each prompts}} [{{title}} {{status}}]{{/each}}\n{{/each}}' });
    await deliverPush(await repo.revParse('HEAD'));
    await openPull(13, { 'prompts/support/answer.md': 'Answer in one sentence.' });
    await settle();
    const [comment] = commentsOf(13);
    expect(comment!.body.startsWith(REVIEW_COMMENT_MARKER), 'the marker is added').to.equal(true);
    expect(comment!.body).to.match(/Set support \(live\): .*\[answer changed\]/);
    expect(comment!.body).to.not.include('Anvil: rendered changes');
  });

  it('merged without an approval: nothing published, audited as an unreviewed change, a failing status naming the set', async () => {
    const was = versionOf(staging, 'onboarding');
    await openPull(2, { 'prompts/onboarding/welcome.md': 'Hello {{name}}, unreviewed.' });
    await reviewPull(2, 'bob', 'COMMENTED');
    const merge = await mergePull(2);
    await settle();
    expect(versionOf(staging, 'onboarding')).to.equal(was);
    const audit = await listAudit(forge.ctx.db, { project: 'acme' });
    expect(audit.some((r) => r.kind === 'decision.unreviewed-change' && r.subject === `onboarding main@${merge.slice(0, 7)}`)).to.equal(true);
    const status = github.statuses.find((s) => s.sha === merge && s.context === 'anvil/review');
    expect(status).to.include({ state: 'failure' });
    expect(status!.description).to.include('onboarding');
  });

  it('a stale approval (given before the last push) does not count: the check says so, and the merge publishes nothing', async () => {
    const was = versionOf(staging, 'onboarding');
    await openPull(3, { 'prompts/onboarding/welcome.md': 'Hi {{name}}!' });
    await reviewPull(3, 'bob', 'APPROVED');
    const head = await pushToPull(3, { 'prompts/onboarding/welcome.md': 'Hi {{name}}, sneaked in after the approval.' });
    await settle();
    expect(checkOf(head)[0]!.output.title).to.match(/needs approval/);
    expect(checkOf(head)[0]!.output.summary).to.not.match(/approved by/);
    const merge = await mergePull(3);
    await settle();
    expect(versionOf(staging, 'onboarding')).to.equal(was);
    expect(github.statuses.some((s) => s.sha === merge && s.state === 'failure')).to.equal(true);
  });

  it('a dismissed approval does not count', async () => {
    const was = versionOf(staging, 'onboarding');
    await openPull(4, { 'prompts/onboarding/welcome.md': 'Howdy {{name}}!' });
    const id = await reviewPull(4, 'bob', 'APPROVED');
    github.dismissReview(REPO, 4, id);
    await mergePull(4);
    await settle();
    expect(versionOf(staging, 'onboarding')).to.equal(was);
  });

  it('set.yaml reviewers: a writer\'s and the author\'s approvals do not count; a member of the named team\'s does', async () => {
    await openPull(5, { 'prompts/policy/refund.md': 'Refunds within 14 days.' }, 'carol');
    await reviewPull(5, 'bob', 'APPROVED');
    await reviewPull(5, 'carol', 'APPROVED'); // the author, though a named reviewer
    await settle();
    const head5 = github.pulls.get(`${REPO}#5`)!.headSha;
    expect(checkOf(head5)[0]!.output.summary).to.match(/reviewers: @?carol, @?acme\/prompt-owners/);
    await mergePull(5);
    await settle();
    expect(versionOf(staging, 'policy')).to.equal('1.0.0');

    await openPull(6, { 'prompts/policy/refund.md': 'Refunds within 60 days.' });
    await reviewPull(6, 'dave', 'APPROVED'); // read access only, but in acme/prompt-owners
    const merge = await mergePull(6);
    await settle();
    await until('staging took the policy head build', () => /-head\.\d+\+/.test(versionOf(staging, 'policy') ?? ''));
    expect(staging.prompt('refund', {})).to.equal('Refunds within 60 days.');
    const row = await forge.ctx.db.selectFrom('reviews').select(['state', 'merged_commit', 'detail']).where('pull_number', '=', 6).executeTakeFirstOrThrow();
    expect(row).to.include({ state: 'merged', merged_commit: merge });
    expect(JSON.parse(row.detail).sets.policy).to.deep.equal(['dave']);
  });

  it('rate limited by GitHub: the post waits out retry-after and goes through', async () => {
    github.rateLimit({ kind: 'secondary', count: 1, resetSeconds: 1, match: /check-runs/ });
    const head = await openPull(7, { 'prompts/support/answer.md': 'Answer briefly and kindly.' });
    await settle();
    const limited = github.requests.filter((r) => r.path === `/repos/${REPO}/check-runs`);
    expect(limited.length).to.be.at.least(2);
    expect(checkOf(head)).to.have.length(1);
    expect(checkOf(head)[0]!.output.title).to.match(/support: patch/).and.not.to.match(/needs approval/);
  });

  it('GitHub failing does not hold up a publish: the push publishes, the post is retried until GitHub takes it', async () => {
    github.failNext({ status: 502, count: 6, match: /statuses|check-runs|comments/ });
    await repo.commit('live edit', { 'prompts/support/answer.md': 'Answer in one line.' });
    await deliverPush(await repo.revParse('HEAD'));
    await until('development took the live head build', () => dev.prompt('answer', {}) === 'Answer in one line.');
    await openPull(8, { 'prompts/support/answer.md': 'Answer in two lines.' });
    await until('the check run got through', async () => checkOf(github.pulls.get(`${REPO}#8`)!.headSha).length === 1, 20_000);
    // GitHub took it a moment before the poster writes that down.
    const postOf = () => forge.ctx.db.selectFrom('github_posts').select(['state', 'attempts']).where('key', '=', `check ${github.pulls.get(`${REPO}#8`)!.headSha}`).executeTakeFirstOrThrow();
    await until('the post recorded as done', async () => (await postOf()).state === 'done');
    expect((await postOf()).attempts).to.be.at.least(2);
  });

  it('a release whose set content includes an unreviewed change is refused, audited, with a failing status', async () => {
    // onboarding's last merges (#2, #3, #4) were unreviewed.
    const commit = await repo.revParse('HEAD');
    await repo.tag('onboarding@1.1.0', { message: formatReleaseMessage({ set: 'onboarding', version: '1.1.0', dependencies: {} }) });
    await deliverPush(commit, 'refs/tags/onboarding@1.1.0');
    await settle();
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
    const production = await receiver('prod-1', 'production');
    await openPull(9, { 'prompts/legal/set.yaml': 'mode: locked\n', 'prompts/legal/terms.md': 'These are the terms.' });
    await reviewPull(9, 'bob', 'APPROVED');
    const merge = await mergePull(9);
    await settle();
    const audit = await listAudit(forge.ctx.db, { project: 'acme' });
    expect(audit.some((r) => r.kind === 'decision.nothing' && r.subject === `legal main@${merge.slice(0, 7)}`), 'a locked set publishes only from releases').to.equal(true);

    await repo.tag('legal@1.0.0', { message: formatReleaseMessage({ set: 'legal', version: '1.0.0', dependencies: {} }) });
    await deliverPush(merge, 'refs/tags/legal@1.0.0');
    await settle();
    await until('production took legal 1.0.0', () => versionOf(production, 'legal') === '1.0.0');
    expect(production.prompt('terms', {})).to.equal('These are the terms.');
  });
});
