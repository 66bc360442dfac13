/**
 * A forge on a GitHub project, for the end-to-end tests of review (issue 6) and of the trust
 * chain (issue 18): a real git repository as the remote (pull request heads at
 * refs/pull/<n>/head, as GitHub keeps them), the forge started as `anvil serve` starts it,
 * GitHub's webhooks (from @octokit/webhooks-examples) posted signed, the local fake of GitHub's
 * REST API answering the forge's Octokit, and real LIVE receivers on loopback. Merges are made
 * with git as GitHub's merge button makes them, or with a change of the merger's own in the
 * merge commit (an "evil merge").
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type AnvilClient } from '@anvil/client';
import { createAccessToken } from '../../src/access/access-tokens.ts';
import { createLogger } from '../../src/forge/logger.ts';
import { startForge, type RunningForge } from '../../src/forge/start-forge.ts';
import type { SyncReport } from '../../src/forge/sync-project.ts';
import { formatReleaseMessage } from '../../src/release/release-record.ts';
import { listAudit } from '../../src/store/audit-log.ts';
import type { AuditRow } from '../../src/store/database.ts';
import { githubExample, type Json } from '../webhooks/webhook-support.ts';
import { startFakeGitHub, type FakeGitHub, type FakeStatus, type ReviewState } from './fake-github.ts';
import { gitdir, type FileMap, type GitDir } from './gitdir.ts';
import { createTestSchema, testStoreKind } from './test-postgres.ts';
import type { ReceiverReport } from './receiver-process.ts';
import { until } from './until.ts';

/** A receiver process's reports, in the order it sent them (the first is `ready`). */
export interface ReceiverProcess {
  readonly reports: readonly ReceiverReport[];
  /** The last report, once the reports sent so far have arrived (asks the process for one). */
  latest(): Promise<ReceiverReport>;
}

export const REPO = 'acme/prompts';
export const PROJECT = 'acme';
const SECRET = 'github-forge-webhook-secret-0123456789';
const TOKEN = 'ghs_forge_installation_token_for_tests';
/** Everyone the tests let open, review or merge pull requests. */
const WRITERS = ['alice', 'bob', 'carol'];

export type Channel = 'production' | 'staging' | 'development';

export interface GitHubForgeOptions {
  /** Release tags (`<set>@<version>`, annotated, as `anvil release` makes them) on the first commit. */
  tags?: string[] | undefined;
  /** Turns on the admin API (`ANVIL_ADMIN_TOKEN`) with this token. */
  adminToken?: string | undefined;
  /**
   * `git`: the same repository as a plain git remote, without GitHub review, to show that the
   * forge holds a rule for both. The fake GitHub still runs, but the forge never calls it.
   */
  provider?: 'github' | 'git' | undefined;
}

export interface TagOptions {
  /** What to tag; defaults to HEAD. */
  at?: string | undefined;
  /** A bare ref, which the forge refuses as a release. */
  lightweight?: boolean | undefined;
}

export interface MergeOptions {
  /** A squash merge (one parent) instead of a merge commit. */
  squash?: boolean | undefined;
  /** Files the merger changes in the merge commit itself, beyond the pull request: no reviewer saw them. */
  extra?: FileMap | undefined;
  /** Release tags on the merge, made before the forge hears of it, so that one sync sees both. */
  tags?: string[] | undefined;
  /** `false`: the `pull_request` closed webhook is lost, only the push arrives. */
  closedEvent?: boolean | undefined;
}

export interface GitHubForge {
  repo: GitDir;
  github: FakeGitHub;
  forge: RunningForge;
  dataDir: string;
  /** A LIVE receiver on `channel`, registered with its own token of the project. */
  receiver(name: string, channel: Channel): Promise<AnvilClient>;
  /**
   * A LIVE receiver in a process of its own (receiver-process.ts), as an app runs one; every
   * state it applies is reported, with `promptId` rendered.
   */
  receiverProcess(name: string, channel: Channel, promptId: string): Promise<ReceiverProcess>;
  /** A new token for the project's API. */
  token(): Promise<string>;
  /** A branch off main with `files` committed, shown on GitHub as pull request `number`; returns its head. */
  openPull(number: number, files: FileMap, author?: string): Promise<string>;
  /** A commit with `files` pushed to the pull request's branch (`synchronize`); returns the new head. */
  pushToPull(number: number, files: FileMap): Promise<string>;
  /** A review submitted on the head (a dismissal is not something a reviewer submits); returns its id. */
  review(number: number, reviewer: string, state: Exclude<ReviewState, 'DISMISSED'>): Promise<number>;
  approve(number: number, reviewer?: string): Promise<number>;
  /** Merges the pull request into main and announces it (closed, then pushed); returns the merge. */
  merge(number: number, options?: MergeOptions): Promise<string>;
  /** A pull request with `files`, opened by alice, approved by bob and merged; returns the merge. */
  mergedPull(number: number, files: FileMap, options?: MergeOptions): Promise<string>;
  /** A commit straight onto main (no pull request), with release `tags` on it, pushed. */
  pushCommit(message: string, files: FileMap, options?: { tags?: string[] | undefined }): Promise<string>;
  /** A release tag `<set>@<version>`, not announced: the next sync finds it. */
  tag(name: string, options?: TagOptions): Promise<void>;
  /** A release tag `<set>@<version>`, pushed; returns the commit it tags. */
  release(name: string, options?: TagOptions): Promise<string>;
  deliverPush(after: string, ref?: string): Promise<void>;
  /** Syncs the project now, as on start or after a lost webhook, and settles; returns what the sync did. */
  sync(): Promise<SyncReport>;
  audit(): Promise<AuditRow[]>;
  /** The last failing `anvil/review` status posted on the commit. */
  failingStatus(sha: string): FakeStatus | undefined;
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function startGitHubForge(files: FileMap, options: GitHubForgeOptions = {}): Promise<GitHubForge> {
  const github = await startFakeGitHub();
  github.tokens.add(TOKEN);
  for (const login of WRITERS) github.permissions.set(`${REPO}:${login}`, 'write');
  const repo = await gitdir({ files });
  for (const name of options.tags ?? []) await tagRelease(repo, name);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'anvil-github-forge-'));
  const cacheRoot = mkdtempSync(path.join(tmpdir(), 'anvil-github-receivers-'));
  // ANVIL_TEST_STORE=postgres: the store is a fresh schema on the test PostgreSQL server.
  const schema = testStoreKind() === 'postgres' ? await createTestSchema() : undefined;
  const forge = await startForge({
    name: 'github-forge', dataDir, host: '127.0.0.1', port: 0, keyRotationGraceDays: 7, adminToken: options.adminToken,
    projects: [options.provider === 'git'
      ? { name: PROJECT, remote: repo.dir, provider: 'git', webhookSecret: SECRET }
      : {
        name: PROJECT, remote: repo.dir, provider: 'github', githubRepository: REPO, webhookSecret: SECRET,
        github: { apiUrl: github.url, auth: { kind: 'token', token: TOKEN } },
      }],
    defaultBranches: {},
    // The receivers listen on 127.0.0.1.
    pushTargets: { allowPrivateNetworks: true },
    ...(schema ? { database: schema.url } : {}),
  }, {
    logger: createLogger({ level: process.env['LOG'] ?? 'silent' }), syncOnStart: false, worker: { backoff: { baseMs: 50, maxMs: 200 } },
    github: { spaceWrites: false, retryBaseMs: 10, poster: { backoff: { baseMs: 50, maxMs: 200 }, pollMs: 100 } },
  });
  const clients: AnvilClient[] = [];
  const children: ChildProcess[] = [];

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
    if (res.status !== 200 && res.status !== 202) throw new Error(`${event} webhook answered ${res.status}: ${await res.text()}`);
  }

  function withRepository(payload: Json): Json {
    const [owner, name] = REPO.split('/') as [string, string];
    payload['repository'] = { ...payload['repository'], full_name: REPO, name, owner: { ...payload['repository'].owner, login: owner } };
    return payload;
  }

  function pullOf(number: number) {
    const pull = github.pulls.get(`${REPO}#${number}`);
    if (!pull) throw new Error(`no pull request #${number}: open it first`);
    return pull;
  }

  function pullPayload(action: string, number: number): Json {
    const pull = pullOf(number);
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

  async function deliverPush(after: string, ref = 'refs/heads/main'): Promise<void> {
    const payload = withRepository(githubExample('push'));
    Object.assign(payload, { ref, before: '0'.repeat(40), after, created: false, deleted: false, forced: false });
    await deliver('push', payload);
  }

  async function newToken(label: string): Promise<string> {
    return (await createAccessToken(forge.ctx.db, { project: PROJECT, label })).token;
  }

  const f: GitHubForge = {
    repo, github, forge, dataDir, deliverPush,

    async receiver(name, channel) {
      const client = await createClient({
        forge: forge.url, project: PROJECT, token: await newToken(name), channel, cacheDir: path.join(cacheRoot, name), instanceId: name,
        readyTimeoutMs: 0, pollMs: 0, heartbeatMs: 3_600_000,
      });
      client.on('error', () => undefined);
      await client.listen(0);
      clients.push(client);
      await until(`${name} registered`, async () =>
        (await forge.ctx.db.selectFrom('receivers').select('instance_id').where('instance_id', '=', name).execute()).length === 1);
      return client;
    },

    async receiverProcess(name, channel, promptId) {
      const child = fork(fileURLToPath(new URL('receiver-process.ts', import.meta.url)),
        [forge.url, PROJECT, await newToken(name), channel, path.join(cacheRoot, name), name, promptId], {
          execArgv: ['--conditions=anvil-source', '--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        });
      children.push(child);
      const reports: ReceiverReport[] = [];
      const waiting: ((r: ReceiverReport) => void)[] = [];
      child.on('message', (m) => {
        reports.push(m as ReceiverReport);
        for (const w of waiting.splice(0)) w(m as ReceiverReport);
      });
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`receiver process ${name} exited (${code})`)));
      });
      await until(`${name} registered`, async () =>
        (await forge.ctx.db.selectFrom('receivers').select('instance_id').where('instance_id', '=', name).execute()).length === 1);
      return {
        reports,
        // IPC keeps order: the answer to this request comes after every update sent before it.
        latest: () => new Promise<ReceiverReport>((resolve) => {
          waiting.push(resolve);
          child.send('report');
        }),
      };
    },

    token: () => newToken(`api-${randomUUID().slice(0, 8)}`),

    async openPull(number, changes, author = 'alice') {
      const branch = `change-${number}`;
      const base = await repo.revParse('main');
      await repo.git('checkout', '--quiet', '-b', branch);
      const head = await repo.commit(`change ${number}`, changes);
      await repo.git('update-ref', `refs/pull/${number}/head`, head);
      await repo.checkout('main');
      github.addPull(REPO, { number, headSha: head, headRef: branch, baseRef: 'main', baseSha: base, author, title: `Change ${number}` });
      await deliver('pull_request', pullPayload('opened', number));
      return head;
    },

    async pushToPull(number, changes) {
      const pull = pullOf(number);
      await repo.checkout(pull.headRef);
      const head = await repo.commit(`more for ${number}`, changes);
      await repo.git('update-ref', `refs/pull/${number}/head`, head);
      await repo.checkout('main');
      pull.headSha = head;
      await deliver('pull_request', pullPayload('synchronize', number));
      return head;
    },

    async review(number, reviewer, state) {
      const pull = pullOf(number);
      const review = github.addReview(REPO, number, { reviewer, state, commitId: pull.headSha });
      const payload = withRepository(githubExample('pull_request_review', (p) => p['action'] === 'submitted'));
      Object.assign(payload['pull_request'], pullPayload('opened', number)['pull_request']);
      Object.assign(payload['review'], { id: review.id, state: state.toLowerCase(), commit_id: pull.headSha, user: { ...payload['review'].user, login: reviewer } });
      await deliver('pull_request_review', payload);
      return review.id;
    },

    approve: (number, reviewer = 'bob') => f.review(number, reviewer, 'APPROVED'),

    async merge(number, mergeOptions = {}) {
      const pull = pullOf(number);
      if (mergeOptions.squash) await repo.git('merge', '--quiet', '--squash', pull.headRef);
      else await repo.git('merge', '--quiet', '--no-ff', '--no-commit', pull.headRef);
      // What the merger adds by hand before committing: no reviewer saw it.
      if (mergeOptions.extra) await repo.write(mergeOptions.extra);
      const merge = await repo.commit(mergeOptions.squash ? `Change ${number} (#${number})` : `Merge pull request #${number}`);
      for (const name of mergeOptions.tags ?? []) await tagRelease(repo, name, { at: merge });
      github.mergePull(REPO, number, merge);
      if (mergeOptions.closedEvent ?? true) await deliver('pull_request', pullPayload('closed', number));
      await deliverPush(merge);
      return merge;
    },

    async mergedPull(number, changes, mergeOptions = {}) {
      await f.openPull(number, changes);
      await f.approve(number);
      return f.merge(number, mergeOptions);
    },

    async pushCommit(message, changes, pushOptions = {}) {
      const commit = await repo.commit(message, changes);
      for (const name of pushOptions.tags ?? []) await tagRelease(repo, name, { at: commit });
      await deliverPush(commit);
      return commit;
    },

    tag: (name, tagOptions = {}) => tagRelease(repo, name, tagOptions),

    async release(name, tagOptions = {}) {
      await tagRelease(repo, name, tagOptions);
      const commit = await repo.revParse(`refs/tags/${name}^{commit}`);
      await deliverPush(commit, `refs/tags/${name}`);
      return commit;
    },

    async sync() {
      const report = await forge.sync(PROJECT);
      await f.settle();
      return report;
    },

    audit: () => listAudit(forge.ctx.db, { project: PROJECT }),

    // The latest: a release's status on a commit replaces the push's (same context).
    failingStatus: (sha) => github.statuses.filter((s) => s.sha === sha && s.context === 'anvil/review' && s.state === 'failure').at(-1),

    settle: () => forge.settle(20_000),

    async close() {
      for (const c of clients) await c.close().catch(() => undefined);
      await Promise.all(children.map((child) => new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(undefined);
        child.once('exit', resolve);
        child.disconnect();
      })));
      await forge.close();
      await github.close();
      await schema?.drop();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(cacheRoot, { recursive: true, force: true });
    },
  };
  return f;
}

/** A release tag `<set>@<version>`: annotated with the release record, as `anvil release` makes it, unless `lightweight`. */
async function tagRelease(repo: GitDir, name: string, options: TagOptions = {}): Promise<void> {
  const [set, version] = name.split('@') as [string, string];
  await repo.tag(name, {
    ...(options.lightweight ? { lightweight: true } : { message: formatReleaseMessage({ set, version, dependencies: {} }) }),
    ...(options.at === undefined ? {} : { at: options.at }),
  });
}
