import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createAppAuth } from '@octokit/auth-app';
import { expect } from 'chai';
import { Octokit, RequestError } from 'octokit';
import { unspacedGroup } from '../../src/github/github-client.ts';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.ts';

const repo = { owner: 'acme', repo: 'widgets' };
const SHA = 'a'.repeat(40);
const BASE_SHA = 'b'.repeat(40);
const MERGE_SHA = 'c'.repeat(40);

interface LimitHit {
  kind: 'primary' | 'secondary';
  retryAfter: number;
  retryCount: number;
}


/**
 * A real Octokit (retry and throttling plugins on) pointed at the fake. Rate-limit callbacks are
 * recorded in `hits` and retried twice at most; 5xx retries wait 10 ms instead of seconds.
 */
function octokitFor(
  fake: FakeGitHub,
  hits: LimitHit[] = [],
  auth: { auth: string } | { authStrategy: typeof createAppAuth; auth: { appId: number; privateKey: string; installationId: number } } = { auth: 'tok' },
  retry: { doNotRetry?: number[] } = {},
) {
  const onLimit = (kind: LimitHit['kind']) => (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) => {
    hits.push({ kind, retryAfter, retryCount });
    return retryCount < 2;
  };
  return new Octokit({
    baseUrl: fake.url,
    ...auth,
    throttle: { id: randomUUID(), write: unspacedGroup(), notifications: unspacedGroup(), onRateLimit: onLimit('primary'), onSecondaryRateLimit: onLimit('secondary') },
    retry: { retryAfterBaseValue: 10, ...retry },
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
}

async function failureOf(promise: Promise<unknown>): Promise<RequestError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof RequestError) return err;
    throw err;
  }
  throw new Error('expected the request to fail');
}

const annotations = (count: number, from = 1) => Array.from({ length: count }, (_, i) => ({
  path: 'prompts/hello/greet.prompt', start_line: from + i, end_line: from + i, annotation_level: 'warning' as const, message: `problem ${from + i}`,
}));

describe('fake GitHub', () => {
  let fake: FakeGitHub;
  let octokit: Octokit;
  beforeEach(async () => {
    fake = await startFakeGitHub();
    octokit = octokitFor(fake);
  });
  afterEach(async () => fake.close());

  const requestsTo = (method: string, path: string) => fake.requests.filter((r) => r.method === method && r.path === path);

  describe('check runs', () => {
    it('creates a run, updates it in place and adds annotations up across updates', async () => {
      fake.addPull('acme/widgets', { number: 7, headSha: SHA, headRef: 'feature', baseRef: 'main', baseSha: BASE_SHA, author: 'alice' });
      const created = await octokit.rest.checks.create({
        ...repo, name: 'anvil', head_sha: SHA, status: 'in_progress', external_id: SHA, details_url: 'https://forge.test/runs/1',
        output: { title: 'Checking', summary: 'Linting 3 sets', annotations: annotations(2) },
      });
      expect(created.status).to.equal(201);
      expect(created.data).to.include({ name: 'anvil', head_sha: SHA, status: 'in_progress', conclusion: null, external_id: SHA, details_url: 'https://forge.test/runs/1' });
      expect(created.data.node_id).to.be.a('string');
      expect(created.data.output).to.include({ title: 'Checking', summary: 'Linting 3 sets', annotations_count: 2 });
      expect(created.data.app?.slug).to.equal('anvil-bot');
      expect(created.data.pull_requests.map((p) => p.number)).to.deep.equal([7]);

      const id = created.data.id;
      const updated = await octokit.rest.checks.update({
        ...repo, check_run_id: id, conclusion: 'failure', output: { title: '2 problems', summary: 'See annotations', annotations: annotations(50, 3) },
      });
      expect(updated.status).to.equal(200);
      expect(updated.data).to.include({ id, status: 'completed', conclusion: 'failure' });
      expect(updated.data.completed_at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(updated.data.output.annotations_count).to.equal(52);

      const tooMany = await failureOf(octokit.rest.checks.update({ ...repo, check_run_id: id, output: { title: 't', summary: 's', annotations: annotations(51) } }));
      expect(tooMany.status).to.equal(422);
      expect(tooMany.message).to.include('No more than 50 items are allowed; 51 were supplied.');
      expect(fake.checkRuns).to.have.length(1);
      expect(fake.checkRuns[0]!.output.annotations).to.have.length(52);
      expect(fake.checkRuns[0]!.output.annotations[51]).to.include({ startLine: 52, level: 'warning', message: 'problem 52' });

      const listed = await octokit.paginate(octokit.rest.checks.listAnnotations, { ...repo, check_run_id: id, per_page: 100 });
      expect(listed).to.have.length(52);
      expect(listed[0]).to.include({ path: 'prompts/hello/greet.prompt', start_line: 1, annotation_level: 'warning' });
    });

    it('refuses more than 50 annotations on create, and unknown runs on update', async () => {
      const refused = await failureOf(octokit.rest.checks.create({ ...repo, name: 'anvil', head_sha: SHA, output: { title: 't', summary: 's', annotations: annotations(51) } }));
      expect(refused.status).to.equal(422);
      expect(fake.checkRuns).to.deep.equal([]);
      const unknown = await failureOf(octokit.rest.checks.update({ ...repo, check_run_id: 1, conclusion: 'success' }));
      expect(unknown.status).to.equal(404);
      expect(unknown.response?.data).to.deep.include({ message: 'Not Found', status: '404' });
    });

    it('lists the latest run of each name for a ref, filtered by check_name', async () => {
      await octokit.rest.checks.create({ ...repo, name: 'anvil', head_sha: SHA, conclusion: 'failure' });
      const second = await octokit.rest.checks.create({ ...repo, name: 'anvil', head_sha: SHA, conclusion: 'success' });
      await octokit.rest.checks.create({ ...repo, name: 'other', head_sha: SHA, status: 'queued' });
      await octokit.rest.checks.create({ ...repo, name: 'anvil', head_sha: BASE_SHA, conclusion: 'success' });

      const { data } = await octokit.rest.checks.listForRef({ ...repo, ref: SHA, check_name: 'anvil' });
      expect(data.total_count).to.equal(1);
      expect(data.check_runs.map((r) => r.id)).to.deep.equal([second.data.id]);
      const all = await octokit.rest.checks.listForRef({ ...repo, ref: SHA, filter: 'all' });
      expect(all.data.total_count).to.equal(3);
    });

    it('answers 403 to a token without checks: write, and does not retry', async () => {
      fake.denyCheckRuns = true;
      const denied = await failureOf(octokit.rest.checks.create({ ...repo, name: 'anvil', head_sha: SHA, conclusion: 'success' }));
      expect(denied.status).to.equal(403);
      expect(denied.message).to.include('Resource not accessible by integration');
      expect(requestsTo('POST', '/repos/acme/widgets/check-runs')).to.have.length(1);
    });
  });

  describe('commit statuses', () => {
    it('creates statuses with descriptions of at most 140 characters, and lists them newest first', async () => {
      const created = await octokit.rest.repos.createCommitStatus({ ...repo, sha: SHA, state: 'pending', context: 'anvil', description: 'Checking', target_url: 'https://forge.test/1' });
      expect(created.status).to.equal(201);
      expect(created.data).to.include({ state: 'pending', context: 'anvil', description: 'Checking', target_url: 'https://forge.test/1' });
      expect(created.data.creator).to.include({ login: 'anvil-bot', type: 'Bot' });
      expect(created.data.created_at).to.match(/Z$/);

      // 140 characters that are 280 UTF-16 code units: GitHub counts characters.
      await octokit.rest.repos.createCommitStatus({ ...repo, sha: SHA, state: 'success', context: 'anvil', description: '🔨'.repeat(140) });
      const tooLong = await failureOf(octokit.rest.repos.createCommitStatus({ ...repo, sha: SHA, state: 'success', context: 'anvil', description: 'x'.repeat(141) }));
      expect(tooLong.status).to.equal(422);
      expect(tooLong.response?.data).to.deep.include({
        message: 'Validation Failed',
        errors: [{ resource: 'Status', code: 'custom', field: 'description', message: 'description is too long (maximum is 140 characters)' }],
      });
      const badState = await failureOf(octokit.request(`POST /repos/acme/widgets/statuses/${SHA}`, { state: 'done', context: 'anvil' }));
      expect(badState.status).to.equal(422);

      const { data } = await octokit.rest.repos.listCommitStatusesForRef({ ...repo, ref: SHA });
      expect(data.map((s) => s.state)).to.deep.equal(['success', 'pending']);
      expect(fake.statuses.map((s) => s.state)).to.deep.equal(['pending', 'success']);
    });
  });

  describe('issue comments', () => {
    beforeEach(() => {
      fake.addPull('acme/widgets', { number: 7, headSha: SHA, headRef: 'feature', baseRef: 'main', baseSha: BASE_SHA, author: 'alice' });
    });

    it('creates a comment as the bot, edits it, and refuses bodies over 65536 characters', async () => {
      const created = await octokit.rest.issues.createComment({ ...repo, issue_number: 7, body: '<!-- anvil -->\nAll good' });
      expect(created.status).to.equal(201);
      expect(created.data).to.include({ body: '<!-- anvil -->\nAll good', author_association: 'NONE' });
      expect(created.data.user).to.include({ login: 'anvil-bot', type: 'Bot' });
      expect(created.data.html_url).to.equal(`https://github.com/acme/widgets/pull/7#issuecomment-${created.data.id}`);
      expect(created.data.issue_url).to.equal(`${fake.url}/repos/acme/widgets/issues/7`);

      const edited = await octokit.rest.issues.updateComment({ ...repo, comment_id: created.data.id, body: '<!-- anvil -->\nOne problem' });
      expect(edited.data).to.include({ id: created.data.id, body: '<!-- anvil -->\nOne problem' });
      expect(fake.comments.get('acme/widgets#7')!.map((c) => c.body)).to.deep.equal(['<!-- anvil -->\nOne problem']);

      await octokit.rest.issues.createComment({ ...repo, issue_number: 7, body: 'x'.repeat(65536) });
      const tooLong = await failureOf(octokit.rest.issues.createComment({ ...repo, issue_number: 7, body: 'x'.repeat(65537) }));
      expect(tooLong.status).to.equal(422);
      expect(tooLong.response?.data).to.deep.include({
        message: 'Validation Failed',
        errors: [{ resource: 'IssueComment', code: 'custom', field: 'body', message: 'body is too long (maximum is 65536 characters)' }],
      });

      expect((await failureOf(octokit.rest.issues.updateComment({ ...repo, comment_id: 1, body: 'x' }))).status).to.equal(404);
      expect((await failureOf(octokit.rest.issues.createComment({ ...repo, issue_number: 8, body: 'x' }))).status).to.equal(404);
    });

    it('pages comments with a Link header that octokit.paginate follows', async () => {
      for (let i = 1; i <= 130; i++) fake.addComment('acme/widgets', 7, { author: 'alice', body: `comment ${i}` });
      const all = await octokit.paginate(octokit.rest.issues.listComments, { ...repo, issue_number: 7, per_page: 100 });
      expect(all).to.have.length(130);
      expect(all[129]!.body).to.equal('comment 130');
      expect(requestsTo('GET', '/repos/acme/widgets/issues/7/comments').map((r) => r.query)).to.deep.equal([
        { per_page: '100' }, { per_page: '100', page: '2' },
      ]);

      const first = await octokit.rest.issues.listComments({ ...repo, issue_number: 7 });
      expect(first.data).to.have.length(30);
      expect(first.headers.link).to.include('rel="next"').and.include('page=5>; rel="last"');
    });
  });

  describe('pull requests and reviews', () => {
    it('answers a pull request as GitHub does, before and after its merge', async () => {
      fake.addPull('acme/widgets', { number: 7, headSha: SHA, headRef: 'feature', baseRef: 'main', baseSha: BASE_SHA, author: 'alice', title: 'Greet in French' });
      const open = await octokit.rest.pulls.get({ ...repo, pull_number: 7 });
      expect(open.data).to.include({ number: 7, state: 'open', title: 'Greet in French', merged: false, merged_at: null, merge_commit_sha: null, draft: false });
      expect(open.data.id).to.not.equal(7);
      expect(open.data.user).to.include({ login: 'alice', type: 'User' });
      expect(open.data.head).to.include({ sha: SHA, ref: 'feature' });
      expect(open.data.base).to.include({ sha: BASE_SHA, ref: 'main' });
      expect(open.data.head.repo.full_name).to.equal('acme/widgets');
      expect(open.data.html_url).to.equal('https://github.com/acme/widgets/pull/7');

      fake.mergePull('acme/widgets', 7, MERGE_SHA);
      const merged = await octokit.rest.pulls.get({ ...repo, pull_number: 7 });
      expect(merged.data).to.include({ state: 'closed', merged: true, merge_commit_sha: MERGE_SHA });
      expect(merged.data.merged_at).to.be.a('string');

      expect((await failureOf(octokit.rest.pulls.get({ ...repo, pull_number: 8 }))).status).to.equal(404);
    });

    it('lists reviews in order, dismissed ones included', async () => {
      fake.addPull('acme/widgets', { number: 7, headSha: SHA, headRef: 'feature', baseRef: 'main', baseSha: BASE_SHA, author: 'alice' });
      fake.permissions.set('acme/widgets:bob', 'write');
      const first = fake.addReview('acme/widgets', 7, { reviewer: 'bob', state: 'APPROVED', commitId: BASE_SHA, submittedAt: '2024-05-01T10:00:00Z' });
      fake.addReview('acme/widgets', 7, { reviewer: 'carol', state: 'CHANGES_REQUESTED', commitId: SHA, submittedAt: '2024-05-01T11:00:00Z' });
      fake.dismissReview('acme/widgets', 7, first.id);

      const reviews = await octokit.paginate(octokit.rest.pulls.listReviews, { ...repo, pull_number: 7, per_page: 100 });
      expect(reviews.map((r) => [r.user?.login, r.state, r.commit_id, r.submitted_at])).to.deep.equal([
        ['bob', 'DISMISSED', BASE_SHA, '2024-05-01T10:00:00Z'],
        ['carol', 'CHANGES_REQUESTED', SHA, '2024-05-01T11:00:00Z'],
      ]);
      expect(reviews[0]).to.include({ id: first.id, author_association: 'COLLABORATOR', pull_request_url: `${fake.url}/repos/acme/widgets/pulls/7` });
      expect(reviews[1]!.author_association).to.equal('NONE');
    });

    it('lists the pull requests of a commit: by head, and by merge commit', async () => {
      fake.addPull('acme/widgets', { number: 7, headSha: SHA, headRef: 'feature', baseRef: 'main', baseSha: BASE_SHA, author: 'alice' });
      fake.addPull('acme/widgets', { number: 5, headSha: 'd'.repeat(40), headRef: 'old', baseRef: 'main', baseSha: BASE_SHA, author: 'bob', merged: true, mergeCommitSha: MERGE_SHA });

      const byHead = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ ...repo, commit_sha: SHA });
      expect(byHead.data.map((p) => [p.number, p.state, p.merged_at])).to.deep.equal([[7, 'open', null]]);
      const byMerge = await octokit.paginate(octokit.rest.repos.listPullRequestsAssociatedWithCommit, { ...repo, commit_sha: MERGE_SHA, per_page: 100 });
      expect(byMerge.map((p) => [p.number, p.merge_commit_sha])).to.deep.equal([[5, MERGE_SHA]]);
      expect(byMerge[0]!.merged_at).to.be.a('string');
      expect((await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ ...repo, commit_sha: 'e'.repeat(40) })).data).to.deep.equal([]);
    });
  });

  describe('who may approve', () => {
    it('answers team membership: 200 active or pending, 404 for others', async () => {
      fake.teams.set('acme/reviewers', new Set(['alice']));
      fake.teamInvites.set('acme/reviewers', new Set(['bob']));
      const member = await octokit.rest.teams.getMembershipForUserInOrg({ org: 'acme', team_slug: 'reviewers', username: 'Alice' });
      expect(member.data).to.include({ role: 'member', state: 'active' });
      expect(member.data.url).to.match(/\/teams\/\d+\/memberships\/Alice$/);
      const invited = await octokit.rest.teams.getMembershipForUserInOrg({ org: 'acme', team_slug: 'reviewers', username: 'bob' });
      expect(invited.data.state).to.equal('pending');
      expect((await failureOf(octokit.rest.teams.getMembershipForUserInOrg({ org: 'acme', team_slug: 'reviewers', username: 'carol' }))).status).to.equal(404);
      expect((await failureOf(octokit.rest.teams.getMembershipForUserInOrg({ org: 'acme', team_slug: 'nobody', username: 'alice' }))).status).to.equal(404);
    });

    it('answers collaborator permissions with legacy permission and role name', async () => {
      fake.permissions.set('acme/widgets:alice', 'write');
      fake.permissions.set('acme/widgets:mona', 'maintain');
      fake.permissions.set('acme/widgets:tom', 'triage');
      fake.missingUsers.add('ghost');
      const permission = async (username: string) => {
        const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ ...repo, username });
        return [data.permission, data.role_name, data.user?.login];
      };
      expect(await permission('alice')).to.deep.equal(['write', 'write', 'alice']);
      expect(await permission('mona')).to.deep.equal(['write', 'maintain', 'mona']);
      expect(await permission('tom')).to.deep.equal(['read', 'triage', 'tom']);
      expect(await permission('eve')).to.deep.equal(['none', 'none', 'eve']);
      expect(await permission('acme')).to.deep.equal(['admin', 'admin', 'acme']);
      fake.publicRepos.add('acme/widgets');
      expect(await permission('eve')).to.deep.equal(['read', 'read', 'eve']);
      const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: 'mona' });
      expect(data.user?.permissions).to.deep.equal({ admin: false, maintain: true, push: true, triage: true, pull: true });
      expect((await failureOf(octokit.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: 'ghost' }))).status).to.equal(404);
    });
  });

  describe('authentication', () => {
    it('refuses tokens it does not know with 401 Bad credentials', async () => {
      fake.tokens.add('tok');
      fake.addPull('acme/widgets', { number: 7, headSha: SHA, headRef: 'feature', baseRef: 'main', baseSha: BASE_SHA, author: 'alice' });
      expect((await octokit.rest.pulls.get({ ...repo, pull_number: 7 })).status).to.equal(200);
      expect(fake.requests[0]!.headers['authorization']).to.equal('token tok');
      const refused = await failureOf(octokitFor(fake, [], { auth: 'stolen' }).rest.pulls.get({ ...repo, pull_number: 7 }));
      expect(refused.status).to.equal(401);
      expect(refused.response?.data).to.deep.include({ message: 'Bad credentials', status: '401' });
    });

    it('exchanges an App JWT for an installation token, then accepts that token', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
      fake.app = { appId: 123, publicKeyPem: publicKey };
      fake.installations.set(42, 'ghs_installation42');
      fake.tokens.add('some-other-token');
      fake.addPull('acme/widgets', { number: 7, headSha: SHA, headRef: 'feature', baseRef: 'main', baseSha: BASE_SHA, author: 'alice' });

      const asApp = octokitFor(fake, [], { authStrategy: createAppAuth, auth: { appId: 123, privateKey, installationId: 42 } });
      expect((await asApp.rest.pulls.get({ ...repo, pull_number: 7 })).data.number).to.equal(7);
      const [exchange, call] = fake.requests;
      expect(exchange).to.include({ method: 'POST', path: '/app/installations/42/access_tokens' });
      expect(exchange!.headers['authorization']).to.match(/^bearer [\w-]+\.[\w-]+\.[\w-]+$/);
      expect(call).to.include({ method: 'GET', path: '/repos/acme/widgets/pulls/7' });
      expect(call!.headers['authorization']).to.equal('token ghs_installation42');

      const token = await asApp.auth({ type: 'installation' }) as { token: string; expiresAt: string; permissions: Record<string, string> };
      expect(token.token).to.equal('ghs_installation42');
      expect(Date.parse(token.expiresAt) - Date.now()).to.be.within(3500_000, 3600_000);
      expect(token.permissions).to.include({ checks: 'write', pull_requests: 'write' });
    });

    it('refuses a JWT signed by another key, and unknown installations', async () => {
      const key = () => generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
      const app = key();
      const impostor = key();
      fake.app = { appId: 123, publicKeyPem: app.publicKey };
      fake.installations.set(42, 'ghs_installation42');

      const forged = octokitFor(fake, [], { authStrategy: createAppAuth, auth: { appId: 123, privateKey: impostor.privateKey, installationId: 42 } });
      const refused = await failureOf(forged.rest.pulls.get({ ...repo, pull_number: 7 }));
      expect(refused.status).to.equal(401);
      expect(refused.message).to.include('A JSON web token could not be decoded');

      const otherInstallation = octokitFor(fake, [], { authStrategy: createAppAuth, auth: { appId: 123, privateKey: app.privateKey, installationId: 43 } });
      expect((await failureOf(otherInstallation.rest.pulls.get({ ...repo, pull_number: 7 }))).status).to.equal(404);
    });
  });

  describe('rate limits and failures', () => {
    beforeEach(() => {
      fake.addPull('acme/widgets', { number: 7, headSha: SHA, headRef: 'feature', baseRef: 'main', baseSha: BASE_SHA, author: 'alice' });
    });

    it('a secondary rate limit (403) is waited out and retried by the throttling plugin', async () => {
      const hits: LimitHit[] = [];
      fake.rateLimit({ kind: 'secondary', count: 1, resetSeconds: 1, match: /^GET \/repos\/acme\/widgets\/pulls\/7$/ });
      const started = Date.now();
      expect((await octokitFor(fake, hits).rest.pulls.get({ ...repo, pull_number: 7 })).status).to.equal(200);
      expect(Date.now() - started).to.be.at.least(900);
      expect(hits).to.deep.equal([{ kind: 'secondary', retryAfter: 1, retryCount: 0 }]);
      expect(requestsTo('GET', '/repos/acme/widgets/pulls/7')).to.have.length(2);
    });

    it('a secondary rate limit answered with 429 is retried too, by the retry plugin unless 429 is in its doNotRetry', async () => {
      // Octokit's retry plugin does not list 429 in doNotRetry, so it retries on its own backoff
      // (not retry-after) before the throttling plugin ever sees the answer.
      const hits: LimitHit[] = [];
      fake.rateLimit({ kind: 'secondary', count: 1, resetSeconds: 1, status: 429 });
      expect((await octokitFor(fake, hits).rest.pulls.get({ ...repo, pull_number: 7 })).status).to.equal(200);
      expect(hits).to.deep.equal([]);
      expect(requestsTo('GET', '/repos/acme/widgets/pulls/7')).to.have.length(2);

      fake.rateLimit({ kind: 'secondary', count: 1, resetSeconds: 1, status: 429 });
      const throttled = octokitFor(fake, hits, { auth: 'tok' }, { doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] });
      expect((await throttled.rest.pulls.get({ ...repo, pull_number: 7 })).status).to.equal(200);
      expect(hits).to.deep.equal([{ kind: 'secondary', retryAfter: 1, retryCount: 0 }]);
    });

    it('a primary rate limit is waited out until x-ratelimit-reset and retried', async () => {
      const hits: LimitHit[] = [];
      fake.rateLimit({ kind: 'primary', count: 1, resetSeconds: 1 });
      expect((await octokitFor(fake, hits).rest.pulls.get({ ...repo, pull_number: 7 })).status).to.equal(200);
      expect(hits).to.have.length(1);
      expect(hits[0]!.kind).to.equal('primary');
      // The plugin waits until the reset second has passed: one or two seconds from now.
      expect(hits[0]!.retryAfter).to.be.within(1, 2);
      expect(fake.requests).to.have.length(2);
    });

    it('answers rate limits with GitHub\'s headers and messages', async () => {
      fake.rateLimit({ kind: 'primary', count: 1, resetSeconds: 30 });
      fake.rateLimit({ kind: 'secondary', count: 1, resetSeconds: 60, status: 429 });
      const primary = await fetch(`${fake.url}/repos/acme/widgets/pulls/7`);
      expect(primary.status).to.equal(403);
      expect(primary.headers.get('x-ratelimit-remaining')).to.equal('0');
      expect(Number(primary.headers.get('x-ratelimit-reset')) - Date.now() / 1000).to.be.within(28, 31);
      expect(primary.headers.get('x-ratelimit-resource')).to.equal('core');
      expect(((await primary.json()) as { message: string }).message).to.match(/^API rate limit exceeded for /);
      const secondary = await fetch(`${fake.url}/repos/acme/widgets/pulls/7`);
      expect(secondary.status).to.equal(429);
      expect(secondary.headers.get('retry-after')).to.equal('60');
      expect(((await secondary.json()) as { message: string }).message).to.match(/^You have exceeded a secondary rate limit/);
      const normal = await fetch(`${fake.url}/repos/acme/widgets/pulls/7`);
      expect(normal.status).to.equal(200);
      expect(Number(normal.headers.get('x-ratelimit-remaining'))).to.be.greaterThan(0);
    });

    it('5xx answers are retried by the retry plugin', async () => {
      fake.failNext({ status: 502, count: 2 });
      expect((await octokit.rest.pulls.get({ ...repo, pull_number: 7 })).status).to.equal(200);
      expect(requestsTo('GET', '/repos/acme/widgets/pulls/7')).to.have.length(3);
    });

    it('failures hit only the requests they match, and 403s are not retried', async () => {
      fake.failNext({ status: 403, count: 1, match: /^POST .*\/statuses\// });
      expect((await octokit.rest.pulls.get({ ...repo, pull_number: 7 })).status).to.equal(200);
      const refused = await failureOf(octokit.rest.repos.createCommitStatus({ ...repo, sha: SHA, state: 'success', context: 'anvil' }));
      expect(refused.status).to.equal(403);
      expect(refused.message).to.include('Resource not accessible by integration');
      expect(fake.statuses).to.deep.equal([]);
      expect((await octokit.rest.repos.createCommitStatus({ ...repo, sha: SHA, state: 'success', context: 'anvil' })).status).to.equal(201);
    });
  });

  describe('every answer', () => {
    it('carries GitHub\'s headers, and unknown endpoints answer 404 and are recorded', async () => {
      const answer = await fetch(`${fake.url}/repos/acme/widgets/branches/main/protection?x=1`, { headers: { authorization: 'token tok' } });
      expect(answer.status).to.equal(404);
      expect(answer.headers.get('content-type')).to.equal('application/json; charset=utf-8');
      expect(answer.headers.get('x-github-api-version-selected')).to.equal('2022-11-28');
      expect(answer.headers.get('x-github-request-id')).to.be.a('string');
      for (const name of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-ratelimit-used']) expect(Number(answer.headers.get(name)), name).to.be.greaterThan(0);
      expect(await answer.json()).to.deep.equal({ message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
      expect(fake.requests).to.have.length(1);
      expect(fake.requests[0]).to.deep.include({ method: 'GET', path: '/repos/acme/widgets/branches/main/protection', query: { x: '1' }, body: undefined });
      expect(fake.requests[0]!.headers['authorization']).to.equal('token tok');
    });

    it('reports the rate limit at /rate_limit without counting that call', async () => {
      await octokit.rest.rateLimit.get();
      const { data, headers } = await octokit.rest.rateLimit.get();
      expect(data.rate).to.include({ limit: 5000, used: 0, remaining: 5000 });
      expect(data.resources.core).to.deep.equal(data.rate);
      expect(headers['x-ratelimit-remaining']).to.equal('5000');
      await fetch(`${fake.url}/nowhere`);
      expect((await octokit.rest.rateLimit.get()).data.rate.used).to.equal(1);
    });
  });
});
