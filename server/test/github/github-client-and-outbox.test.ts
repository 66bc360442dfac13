/**
 * The forge's own GitHub client (token or App installation, rate limits honoured) and its outbox
 * (posts retried with backoff, given up with an audit entry), against the local fake GitHub.
 */
import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import type { ForgeProject } from '../../src/forge/forge-context.ts';
import { createLogger } from '../../src/forge/logger.ts';
import { postCommitStatus, repoRef } from '../../src/github/github-api.ts';
import { createGitHubClient } from '../../src/github/github-client.ts';
import { enqueueGitHubPost, startGitHubPoster } from '../../src/github/github-outbox.ts';
import { listAudit } from '../../src/store/audit-log.ts';
import { createTestForge, type TestForge } from '../support/forge-context.ts';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.ts';
import { until } from '../support/until.ts';

const REPO = 'acme/prompts';
const SHA = 'a'.repeat(40);
const logger = createLogger({ level: 'silent' });

describe('GitHub: the forge\'s client and outbox', () => {
  let github: FakeGitHub;
  beforeEach(async () => { github = await startFakeGitHub(); });
  afterEach(async () => { await github.close(); });

  it('as a GitHub App: signs a JWT, takes an installation token, and posts with it', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    github.app = { appId: 77, publicKeyPem: publicKey };
    github.installations.set(88, 'ghs_from_installation_88');
    github.tokens.add('unrelated');
    const client = createGitHubClient({ apiUrl: github.url, auth: { kind: 'app', appId: 77, installationId: 88, privateKey } }, { logger, spaceWrites: false });
    await postCommitStatus(client, repoRef(REPO), SHA, { state: 'success', description: 'ok', context: 'anvil' });
    const [exchange, post] = github.requests;
    expect(exchange).to.include({ method: 'POST', path: '/app/installations/88/access_tokens' });
    expect(post).to.include({ method: 'POST', path: `/repos/${REPO}/statuses/${SHA}` });
    expect(post!.headers['authorization']).to.equal('token ghs_from_installation_88');
    expect(github.statuses).to.have.length(1);
  });

  it('a primary rate limit: waits until x-ratelimit-reset, then retries', async () => {
    github.rateLimit({ kind: 'primary', count: 1, resetSeconds: 1, match: /statuses/ });
    const client = createGitHubClient({ apiUrl: github.url, auth: { kind: 'token', token: 't' } }, { logger, spaceWrites: false });
    const started = Date.now();
    await postCommitStatus(client, repoRef(REPO), SHA, { state: 'success', description: 'ok', context: 'anvil' });
    expect(Date.now() - started).to.be.at.least(900);
    expect(github.requests.filter((r) => r.path.includes('/statuses/'))).to.have.length(2);
    expect(github.statuses).to.have.length(1);
  });

  it('a 429 with retry-after goes to the throttling plugin, which honours it', async () => {
    github.rateLimit({ kind: 'secondary', status: 429, count: 1, resetSeconds: 1, match: /statuses/ });
    const client = createGitHubClient({ apiUrl: github.url, auth: { kind: 'token', token: 't' } }, { logger, spaceWrites: false, retryBaseMs: 1 });
    const started = Date.now();
    await postCommitStatus(client, repoRef(REPO), SHA, { state: 'success', description: 'ok', context: 'anvil' });
    expect(Date.now() - started, 'waited retry-after (1 s), not the retry plugin\'s 1 ms').to.be.at.least(900);
    expect(github.statuses).to.have.length(1);
  });

  describe('outbox', () => {
    let forge: TestForge;
    let project: ForgeProject;
    beforeEach(async () => {
      forge = await createTestForge();
      project = { name: 'acme', remote: '/nowhere', provider: 'github', githubRepository: REPO, webhookSecret: 's', github: { apiUrl: github.url, auth: { kind: 'token', token: 't' } } };
      forge.ctx.projects.set('acme', project);
    });
    afterEach(async () => { await forge.close(); });

    const clientOf = () => createGitHubClient(project.github!, { logger, spaceWrites: false, retryBaseMs: 1 });

    it('a newer post for the same thing replaces an unsent one: GitHub sees only the latest', async () => {
      await enqueueGitHubPost(forge.ctx.db, 'acme', { kind: 'comment', number: 1, body: '<!-- m -->\nfirst', marker: '<!-- m -->' });
      await enqueueGitHubPost(forge.ctx.db, 'acme', { kind: 'comment', number: 1, body: '<!-- m -->\nsecond', marker: '<!-- m -->' });
      github.addPull(REPO, { number: 1, headSha: SHA, headRef: 'x', baseRef: 'main', baseSha: 'b'.repeat(40), author: 'alice' });
      const poster = startGitHubPoster(forge.ctx, { clientOf, pollMs: 50 });
      await poster.drain();
      await poster.stop();
      expect(github.comments.get(`${REPO}#1`)!.map((c) => c.body)).to.deep.equal(['<!-- m -->\nsecond']);
    });

    it('retries a failing post with backoff, then gives up after maxAttempts with an audit entry', async () => {
      github.failNext({ status: 500, count: 1000, match: /statuses/ });
      await enqueueGitHubPost(forge.ctx.db, 'acme', { kind: 'status', sha: SHA, status: { state: 'failure', description: 'x', context: 'anvil/review' } });
      const poster = startGitHubPoster(forge.ctx, { clientOf, pollMs: 20, maxAttempts: 3, backoff: { baseMs: 10, maxMs: 40 } });
      await until('given up', async () => (await forge.ctx.db.selectFrom('github_posts').select('state').executeTakeFirstOrThrow()).state === 'failed', 15_000);
      await poster.stop();
      const row = await forge.ctx.db.selectFrom('github_posts').selectAll().executeTakeFirstOrThrow();
      expect(row.attempts).to.equal(3);
      expect(row.last_error).to.match(/^500/);
      const audit = await listAudit(forge.ctx.db, { project: 'acme' });
      expect(audit.find((r) => r.kind === 'github.post-failed')).to.include({ subject: `status ${SHA} anvil/review` });
    });
  });
});
