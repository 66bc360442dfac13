/**
 * A fake GitHub REST API on loopback, for tests of everything the forge asks or posts through
 * Octokit (see `src/github/github-api.ts` for the endpoints). It answers with GitHub's status
 * codes, headers and JSON shapes (from `@octokit/openapi-types`), keeps its state in plain maps
 * that tests read and set, records every request, and can play GitHub's failures: primary and
 * secondary rate limits, 5xx answers, bad credentials, a token without `checks: write`.
 *
 * State is kept in the forge's terms (camelCase models); the JSON GitHub would send is rendered
 * from it on each answer, so a test that changes a pull's head or a permission sees it at once.
 */
import { createPublicKey, randomBytes, verify as verifySignature } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';

export type RepoRole = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';
export type ReviewState = 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED';
export type CheckRunStatus = 'queued' | 'in_progress' | 'completed' | 'waiting' | 'requested' | 'pending';
export type CheckRunConclusion = 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required';
export type CommitState = 'error' | 'failure' | 'pending' | 'success';

export interface RecordedRequest {
  method: string;
  /** Without the query string. */
  path: string;
  query: Record<string, string>;
  /** The parsed JSON body; undefined when there was none. */
  body: unknown;
  /** Lower-case names. */
  headers: Record<string, string>;
}

export interface FakePull {
  /** `owner/repo`. */
  repo: string;
  number: number;
  /** GitHub's database id, deliberately unlike `number`. */
  id: number;
  nodeId: string;
  title: string;
  body: string | null;
  author: string;
  state: 'open' | 'closed';
  draft: boolean;
  headSha: string;
  headRef: string;
  baseSha: string;
  baseRef: string;
  merged: boolean;
  mergedAt: string | null;
  mergeCommitSha: string | null;
  closedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface FakeReview {
  id: number;
  nodeId: string;
  repo: string;
  pullNumber: number;
  reviewer: string;
  state: ReviewState;
  commitId: string;
  body: string;
  submittedAt: string;
}

export interface FakeComment {
  id: number;
  nodeId: string;
  repo: string;
  issueNumber: number;
  author: string;
  body: string;
  createdAt: string;
  updatedAt: string;
}

export interface FakeAnnotation {
  path: string;
  startLine: number;
  endLine: number;
  startColumn: number | null;
  endColumn: number | null;
  level: 'notice' | 'warning' | 'failure';
  message: string;
  title: string | null;
  rawDetails: string | null;
}

export interface FakeCheckRun {
  id: number;
  nodeId: string;
  repo: string;
  name: string;
  headSha: string;
  status: CheckRunStatus;
  conclusion: CheckRunConclusion | null;
  startedAt: string | null;
  completedAt: string | null;
  detailsUrl: string | null;
  externalId: string | null;
  output: { title: string | null; summary: string | null; text: string | null; annotations: FakeAnnotation[] };
  checkSuiteId: number;
}

export interface FakeStatus {
  id: number;
  nodeId: string;
  repo: string;
  sha: string;
  state: CommitState;
  description: string | null;
  targetUrl: string | null;
  context: string;
  creator: string;
  createdAt: string;
  updatedAt: string;
}

export interface AddPullOptions {
  number: number;
  headSha: string;
  headRef: string;
  baseRef: string;
  baseSha: string;
  author: string;
  state?: 'open' | 'closed';
  merged?: boolean;
  mergeCommitSha?: string;
  title?: string;
  body?: string;
  draft?: boolean;
}

export interface RateLimitOptions {
  kind: 'primary' | 'secondary';
  count: number;
  resetSeconds: number;
  status?: 403 | 429;
  /** Tested against `METHOD /path` (no query); absent: every request. */
  match?: RegExp;
}

export interface FailNextOptions {
  status: number;
  count: number;
  match?: RegExp;
  message?: string;
}

export interface FakeGitHub {
  /** Base URL, for Octokit's `baseUrl`. */
  url: string;
  /** Every request received, in order, including the ones no route answers. */
  requests: RecordedRequest[];
  /** Key `${owner}/${repo}#${number}`. */
  pulls: Map<string, FakePull>;
  reviews: Map<string, FakeReview[]>;
  /**
   * Issue comments per `${owner}/${repo}#${number}`. Comments may be posted to a pull in `pulls`
   * or to any key present here (set `[]` for a plain issue); other numbers answer 404.
   */
  comments: Map<string, FakeComment[]>;
  /** All check runs created, updated in place by PATCH. */
  checkRuns: FakeCheckRun[];
  /** All commit statuses created, in order. */
  statuses: FakeStatus[];
  /** `${org}/${team_slug}` → logins with active membership. */
  teams: Map<string, Set<string>>;
  /** `${org}/${team_slug}` → logins invited but not yet members (membership state `pending`). */
  teamInvites: Map<string, Set<string>>;
  /** `${owner}/${repo}:${login}` → role; absent: `none` (`read` on a public repo, `admin` for the owner). */
  permissions: Map<string, RepoRole>;
  /** Repositories anyone may read: a non-collaborator's permission there is `read`, as on GitHub. */
  publicRepos: Set<string>;
  /** Logins that do not exist on GitHub: the permission endpoint answers 404 for them. */
  missingUsers: Set<string>;
  /** The login of the comments, statuses and check runs the fake creates (a Bot). */
  botLogin: string;
  /** Refuse check-run writes (403 "Resource not accessible by integration"), like a token without `checks: write`. */
  denyCheckRuns: boolean;
  /** Accept only these tokens (and installation tokens handed out); empty: accept anything. */
  tokens: Set<string>;
  /** The GitHub App whose RS256 JWTs may exchange installation tokens. */
  app?: { appId: number; publicKeyPem: string };
  /** installationId → the token POST /app/installations/:id/access_tokens hands out. */
  installations: Map<number, string>;
  addPull(repo: string, pull: AddPullOptions): FakePull;
  /** Closes the pull as merged by `mergeCommitSha`. */
  mergePull(repo: string, number: number, mergeCommitSha: string): void;
  addReview(repo: string, number: number, review: { reviewer: string; state: Exclude<ReviewState, 'DISMISSED'>; commitId: string; submittedAt?: string; body?: string }): FakeReview;
  dismissReview(repo: string, number: number, reviewId: number): void;
  /** Seeds a comment without a request (e.g. many, to test pagination). */
  addComment(repo: string, number: number, comment: { author: string; body: string; createdAt?: string }): FakeComment;
  /** The next `count` matching requests are answered with a primary or secondary rate limit. */
  rateLimit(options: RateLimitOptions): void;
  /** The next `count` matching requests fail with `status` (message: GitHub's usual one for it). */
  failNext(options: FailNextOptions): void;
  close(): Promise<void>;
}

/** Starts a fake GitHub on 127.0.0.1 at a free port. */
export async function startFakeGitHub(): Promise<FakeGitHub> {
  const fake = new FakeGitHubState();
  const server = createApp(fake).listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.server = server;
  return fake;
}

const HOUR = 3600;
const RATE_LIMIT = 5000;
const DOCS = 'https://docs.github.com/rest';
const RATE_LIMIT_DOCS = `${DOCS}/overview/rate-limits-for-the-rest-api`;
/** GitHub's per-request limit on check-run annotations (https://docs.github.com/rest/checks/runs#update-a-check-run). */
const MAX_ANNOTATIONS = 50;
const MAX_COMMENT_CHARS = 65536;
const MAX_OUTPUT_CHARS = 65535;
const MAX_STATUS_DESCRIPTION_CHARS = 140;
const DEFAULT_INSTALLATION_PERMISSIONS = {
  checks: 'write', statuses: 'write', pull_requests: 'write', issues: 'write', contents: 'read', members: 'read', metadata: 'read',
};

interface Fault {
  remaining: number;
  match: RegExp | undefined;
  answer: (fake: FakeGitHubState, requestId: string, token: string | undefined) => Reply;
}

class FakeGitHubState implements FakeGitHub {
  url = '';
  server: Server | undefined;
  requests: RecordedRequest[] = [];
  pulls = new Map<string, FakePull>();
  reviews = new Map<string, FakeReview[]>();
  comments = new Map<string, FakeComment[]>();
  checkRuns: FakeCheckRun[] = [];
  statuses: FakeStatus[] = [];
  teams = new Map<string, Set<string>>();
  teamInvites = new Map<string, Set<string>>();
  permissions = new Map<string, RepoRole>();
  publicRepos = new Set<string>();
  missingUsers = new Set<string>();
  botLogin = 'anvil-bot';
  denyCheckRuns = false;
  tokens = new Set<string>();
  app?: { appId: number; publicKeyPem: string };
  installations = new Map<number, string>();

  /** Installation tokens handed out → their installation. */
  readonly issuedTokens = new Map<string, number>();
  readonly faults: Fault[] = [];
  /** The core rate-limit window every answer reports. */
  readonly rate = { used: 0, reset: nowSeconds() + HOUR };
  /** Separate id ranges per kind, so that a test mixing up ids (or a pull's id and number) fails. */
  private readonly ids = { pull: 1_100_000_000, review: 2_200_000_000, comment: 3_300_000_000, checkRun: 4_400_000_000, checkSuite: 5_500_000_000, status: 6_600_000_000, user: 100_000, repo: 700_000_000, team: 9_000 };
  private readonly stableIds = new Map<string, number>();

  nextId(kind: keyof FakeGitHubState['ids']): number {
    return ++this.ids[kind];
  }

  /** The same id every time for a user, repo or team name (GitHub's ids do not change). */
  idOf(kind: 'user' | 'repo' | 'team', name: string): number {
    const key = `${kind}:${name.toLowerCase()}`;
    let id = this.stableIds.get(key);
    if (id === undefined) this.stableIds.set(key, (id = this.nextId(kind)));
    return id;
  }

  addPull(repo: string, options: AddPullOptions): FakePull {
    splitRepo(repo);
    const created = isoNow();
    const merged = options.merged ?? false;
    const pull: FakePull = {
      repo, number: options.number, id: this.nextId('pull'), nodeId: nodeId('PR', this.ids.pull),
      title: options.title ?? `Pull request #${options.number}`, body: options.body ?? null, author: options.author,
      state: merged ? 'closed' : options.state ?? 'open', draft: options.draft ?? false,
      headSha: options.headSha, headRef: options.headRef, baseSha: options.baseSha, baseRef: options.baseRef,
      merged, mergedAt: merged ? created : null, mergeCommitSha: options.mergeCommitSha ?? null,
      closedAt: merged || options.state === 'closed' ? created : null, createdAt: created, updatedAt: created,
    };
    this.pulls.set(issueKey(repo, options.number), pull);
    return pull;
  }

  mergePull(repo: string, number: number, mergeCommitSha: string): void {
    const pull = this.pulls.get(issueKey(repo, number));
    if (!pull) throw new Error(`fake GitHub: no pull ${issueKey(repo, number)}`);
    const now = isoNow();
    Object.assign(pull, { state: 'closed', merged: true, mergedAt: now, closedAt: now, updatedAt: now, mergeCommitSha });
  }

  addReview(repo: string, number: number, review: { reviewer: string; state: Exclude<ReviewState, 'DISMISSED'>; commitId: string; submittedAt?: string; body?: string }): FakeReview {
    const key = issueKey(repo, number);
    if (!this.pulls.has(key)) throw new Error(`fake GitHub: no pull ${key}`);
    const id = this.nextId('review');
    const added: FakeReview = {
      id, nodeId: nodeId('PRR', id), repo, pullNumber: number, reviewer: review.reviewer, state: review.state,
      commitId: review.commitId, body: review.body ?? '', submittedAt: review.submittedAt ?? isoNow(),
    };
    listIn(this.reviews, key).push(added);
    return added;
  }

  dismissReview(repo: string, number: number, reviewId: number): void {
    const review = this.reviews.get(issueKey(repo, number))?.find((r) => r.id === reviewId);
    if (!review) throw new Error(`fake GitHub: no review ${reviewId} on ${issueKey(repo, number)}`);
    review.state = 'DISMISSED';
  }

  addComment(repo: string, number: number, comment: { author: string; body: string; createdAt?: string }): FakeComment {
    const id = this.nextId('comment');
    const createdAt = comment.createdAt ?? isoNow();
    const added: FakeComment = { id, nodeId: nodeId('IC', id), repo, issueNumber: number, author: comment.author, body: comment.body, createdAt, updatedAt: createdAt };
    listIn(this.comments, issueKey(repo, number)).push(added);
    return added;
  }

  rateLimit(options: RateLimitOptions): void {
    const { kind, resetSeconds } = options;
    const status = options.status ?? 403;
    this.faults.push({
      remaining: options.count, match: options.match,
      answer: (fake, requestId, token) => {
        if (kind === 'secondary') {
          return {
            status, headers: { 'retry-after': String(resetSeconds) },
            body: errorBody(status, `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`, `${RATE_LIMIT_DOCS}#about-secondary-rate-limits`),
          };
        }
        const installation = token === undefined ? undefined : fake.issuedTokens.get(token);
        const who = installation === undefined ? `user ID ${fake.idOf('user', 'token-owner')}` : `installation ID ${installation}`;
        return {
          status,
          headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-used': String(RATE_LIMIT), 'x-ratelimit-reset': String(nowSeconds() + resetSeconds) },
          body: errorBody(status, `API rate limit exceeded for ${who}.`, `${RATE_LIMIT_DOCS}#about-the-primary-rate-limit`),
        };
      },
    });
  }

  failNext(options: FailNextOptions): void {
    const message = options.message ?? defaultMessage(options.status);
    this.faults.push({ remaining: options.count, match: options.match, answer: () => ({ status: options.status, body: errorBody(options.status, message, DOCS) }) });
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Octokit's fetch keeps connections alive; without this, close() waits for them to time out.
      server.closeAllConnections();
    });
  }

  /** The first pending fault matching `METHOD /path`, used up by one. */
  takeFault(target: string): Fault | undefined {
    const fault = this.faults.find((f) => f.remaining > 0 && (f.match === undefined || testFresh(f.match, target)));
    if (fault) fault.remaining -= 1;
    return fault;
  }

  // ----- rendering: the JSON GitHub sends -----

  api(path: string): string {
    return `${this.url}${path}`;
  }

  user(login: string): Record<string, unknown> {
    const id = this.idOf('user', login);
    const type = login === this.botLogin || login.endsWith('[bot]') ? 'Bot' : [...this.teams.keys()].some((k) => k.startsWith(`${login}/`)) ? 'Organization' : 'User';
    const url = this.api(`/users/${login}`);
    return {
      login, id, node_id: nodeId(type === 'Bot' ? 'BOT' : type === 'Organization' ? 'O' : 'U', id),
      avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`, gravatar_id: '', url, html_url: `https://github.com/${login}`,
      followers_url: `${url}/followers`, following_url: `${url}/following{/other_user}`, gists_url: `${url}/gists{/gist_id}`,
      starred_url: `${url}/starred{/owner}{/repo}`, subscriptions_url: `${url}/subscriptions`, organizations_url: `${url}/orgs`,
      repos_url: `${url}/repos`, events_url: `${url}/events{/privacy}`, received_events_url: `${url}/received_events`,
      type, user_view_type: 'public', site_admin: false,
    };
  }

  repository(fullName: string): Record<string, unknown> {
    const { owner, name } = splitRepo(fullName);
    const id = this.idOf('repo', fullName);
    const url = this.api(`/repos/${fullName}`);
    return {
      id, node_id: nodeId('R', id), name, full_name: fullName, private: !this.publicRepos.has(fullName), owner: this.user(owner),
      html_url: `https://github.com/${fullName}`, description: null, fork: false, url,
      pulls_url: `${url}/pulls{/number}`, issues_url: `${url}/issues{/number}`, statuses_url: `${url}/statuses/{sha}`,
      created_at: '2024-01-01T00:00:00Z', updated_at: '2024-01-01T00:00:00Z', pushed_at: '2024-01-01T00:00:00Z',
      clone_url: `https://github.com/${fullName}.git`, default_branch: 'main',
      visibility: this.publicRepos.has(fullName) ? 'public' : 'private', archived: false, disabled: false,
    };
  }

  /** How GitHub describes `login`'s relation to the repository, from the fake's teams and permissions. */
  authorAssociation(repo: string, login: string): string {
    const { owner } = splitRepo(repo);
    if (sameLogin(login, owner)) return 'OWNER';
    const orgMember = [...this.teams].some(([team, members]) => team.startsWith(`${owner}/`) && hasLogin(members, login));
    if (orgMember) return 'MEMBER';
    if (this.explicitRole(repo, login) !== undefined) return 'COLLABORATOR';
    const contributed = [...this.pulls.values()].some((p) => p.repo === repo && p.merged && sameLogin(p.author, login));
    return contributed ? 'CONTRIBUTOR' : 'NONE';
  }

  explicitRole(repo: string, login: string): RepoRole | undefined {
    for (const [key, role] of this.permissions) {
      const at = key.lastIndexOf(':');
      if (key.slice(0, at) === repo && sameLogin(key.slice(at + 1), login) && role !== 'none') return role;
    }
    return undefined;
  }

  pullJson(pull: FakePull): Record<string, unknown> {
    const api = this.api(`/repos/${pull.repo}`);
    const url = `${api}/pulls/${pull.number}`;
    const html = `https://github.com/${pull.repo}/pull/${pull.number}`;
    const { owner } = splitRepo(pull.repo);
    const side = (ref: string, sha: string) => ({ label: `${owner}:${ref}`, ref, sha, user: this.user(owner), repo: this.repository(pull.repo) });
    const link = (href: string) => ({ href });
    return {
      url, id: pull.id, node_id: pull.nodeId, html_url: html, diff_url: `${html}.diff`, patch_url: `${html}.patch`,
      issue_url: `${api}/issues/${pull.number}`, commits_url: `${url}/commits`, review_comments_url: `${url}/comments`,
      review_comment_url: `${api}/pulls/comments{/number}`, comments_url: `${api}/issues/${pull.number}/comments`,
      statuses_url: `${api}/statuses/${pull.headSha}`, number: pull.number, state: pull.state, locked: false,
      title: pull.title, user: this.user(pull.author), body: pull.body, labels: [], milestone: null, active_lock_reason: null,
      created_at: pull.createdAt, updated_at: pull.updatedAt, closed_at: pull.closedAt, merged_at: pull.mergedAt,
      merge_commit_sha: pull.mergeCommitSha, assignee: null, assignees: [], requested_reviewers: [], requested_teams: [],
      head: side(pull.headRef, pull.headSha), base: side(pull.baseRef, pull.baseSha),
      _links: {
        self: link(url), html: link(html), issue: link(`${api}/issues/${pull.number}`), comments: link(`${api}/issues/${pull.number}/comments`),
        review_comments: link(`${url}/comments`), review_comment: link(`${api}/pulls/comments{/number}`), commits: link(`${url}/commits`),
        statuses: link(`${api}/statuses/${pull.headSha}`),
      },
      author_association: this.authorAssociation(pull.repo, pull.author), auto_merge: null, draft: pull.draft,
    };
  }

  /** GET /pulls/:n adds what lists leave out: merged, mergeability and counts. */
  fullPullJson(pull: FakePull): Record<string, unknown> {
    const open = pull.state === 'open';
    return {
      ...this.pullJson(pull), merged: pull.merged, mergeable: open ? true : null, rebaseable: open ? true : null,
      mergeable_state: open ? 'clean' : 'unknown', merged_by: pull.merged ? this.user(splitRepo(pull.repo).owner) : null,
      comments: this.comments.get(issueKey(pull.repo, pull.number))?.length ?? 0, review_comments: 0, maintainer_can_modify: false,
      commits: 1, additions: 0, deletions: 0, changed_files: 0,
    };
  }

  reviewJson(review: FakeReview): Record<string, unknown> {
    const html = `https://github.com/${review.repo}/pull/${review.pullNumber}#pullrequestreview-${review.id}`;
    const pullUrl = this.api(`/repos/${review.repo}/pulls/${review.pullNumber}`);
    return {
      id: review.id, node_id: review.nodeId, user: this.user(review.reviewer), body: review.body, state: review.state,
      html_url: html, pull_request_url: pullUrl, _links: { html: { href: html }, pull_request: { href: pullUrl } },
      submitted_at: review.submittedAt, commit_id: review.commitId, author_association: this.authorAssociation(review.repo, review.reviewer),
    };
  }

  commentJson(comment: FakeComment): Record<string, unknown> {
    const api = this.api(`/repos/${comment.repo}`);
    const kind = this.pulls.has(issueKey(comment.repo, comment.issueNumber)) ? 'pull' : 'issues';
    const url = `${api}/issues/comments/${comment.id}`;
    const byBot = comment.author === this.botLogin;
    return {
      id: comment.id, node_id: comment.nodeId, url, html_url: `https://github.com/${comment.repo}/${kind}/${comment.issueNumber}#issuecomment-${comment.id}`,
      body: comment.body, user: this.user(comment.author), created_at: comment.createdAt, updated_at: comment.updatedAt,
      issue_url: `${api}/issues/${comment.issueNumber}`, author_association: byBot ? 'NONE' : this.authorAssociation(comment.repo, comment.author),
      performed_via_github_app: byBot ? this.appJson() : null,
      reactions: { url: `${url}/reactions`, total_count: 0, '+1': 0, '-1': 0, laugh: 0, hooray: 0, confused: 0, heart: 0, rocket: 0, eyes: 0 },
    };
  }

  appJson(): Record<string, unknown> {
    const id = this.app?.appId ?? 1;
    return {
      id, slug: this.botLogin, node_id: nodeId('A', id), owner: this.user('anvil'), name: this.botLogin, description: 'Anvil forge (fake)',
      external_url: 'https://anvil.invalid', html_url: `https://github.com/apps/${this.botLogin}`, created_at: '2024-01-01T00:00:00Z',
      updated_at: '2024-01-01T00:00:00Z', permissions: DEFAULT_INSTALLATION_PERMISSIONS, events: ['pull_request', 'pull_request_review', 'push'],
    };
  }

  checkRunJson(run: FakeCheckRun): Record<string, unknown> {
    const api = this.api(`/repos/${run.repo}`);
    const url = `${api}/check-runs/${run.id}`;
    const repoRef = { id: this.idOf('repo', run.repo), url: api, name: splitRepo(run.repo).name };
    const pulls = [...this.pulls.values()].filter((p) => p.repo === run.repo && p.state === 'open' && p.headSha === run.headSha);
    return {
      id: run.id, node_id: run.nodeId, head_sha: run.headSha, external_id: run.externalId, url,
      html_url: `https://github.com/${run.repo}/runs/${run.id}`, details_url: run.detailsUrl,
      status: run.status, conclusion: run.conclusion, started_at: run.startedAt, completed_at: run.completedAt,
      output: {
        title: run.output.title, summary: run.output.summary, text: run.output.text,
        annotations_count: run.output.annotations.length, annotations_url: `${url}/annotations`,
      },
      name: run.name, check_suite: { id: run.checkSuiteId }, app: this.appJson(),
      pull_requests: pulls.map((p) => ({
        id: p.id, number: p.number, url: `${api}/pulls/${p.number}`,
        head: { ref: p.headRef, sha: p.headSha, repo: repoRef }, base: { ref: p.baseRef, sha: p.baseSha, repo: repoRef },
      })),
    };
  }

  annotationJson(run: FakeCheckRun, a: FakeAnnotation): Record<string, unknown> {
    return {
      path: a.path, start_line: a.startLine, end_line: a.endLine, start_column: a.startColumn, end_column: a.endColumn,
      annotation_level: a.level, title: a.title, message: a.message, raw_details: a.rawDetails,
      blob_href: `https://github.com/${run.repo}/blob/${run.headSha}/${a.path}`,
    };
  }

  statusJson(status: FakeStatus): Record<string, unknown> {
    const creator = this.user(status.creator);
    return {
      url: this.api(`/repos/${status.repo}/statuses/${status.sha}`), avatar_url: creator['avatar_url'], id: status.id, node_id: status.nodeId,
      state: status.state, description: status.description, target_url: status.targetUrl, context: status.context,
      created_at: status.createdAt, updated_at: status.updatedAt, creator,
    };
  }
}

// ----- HTTP -----

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Call {
  params: Record<string, string>;
  query: Record<string, string>;
  body: Record<string, unknown>;
  path: string;
  authorization: string | undefined;
  token: string | undefined;
}

/** An answer other than success, rendered as GitHub's error JSON by the route wrapper. */
class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly errors?: Record<string, unknown>[]) {
    super(message);
  }
}

const notFound = () => new ApiError(404, 'Not Found');
/** GitHub's answer when a body fails its JSON schema (newer endpoints: checks, statuses, comments). */
const invalidRequest = (detail: string) => new ApiError(422, `Invalid request.\n\n${detail}`);
const validationFailed = (resource: string, field: string, code: string, message?: string) =>
  new ApiError(422, 'Validation Failed', [{ resource, code, field, ...(message === undefined ? {} : { message }) }]);

function createApp(fake: FakeGitHubState): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Octokit always sends JSON; parse whatever the content type says, as GitHub does.
  app.use(express.json({ type: () => true, limit: '25mb' }));

  app.use((req, res, next) => {
    fake.requests.push({ method: req.method, path: req.path, query: queryOf(req), body: req.body as unknown, headers: headersOf(req) });
    const requestId = `${randomBytes(2).toString('hex')}:${randomBytes(3).toString('hex')}:${randomBytes(4).toString('hex')}`.toUpperCase();
    res.locals['requestId'] = requestId;
    // GitHub does not count calls to /rate_limit against the limit, nor do they fail here.
    const counted = req.path !== '/rate_limit';
    const now = nowSeconds();
    if (now >= fake.rate.reset) Object.assign(fake.rate, { used: 0, reset: now + HOUR });
    if (counted) fake.rate.used += 1;
    res.set({
      'content-type': 'application/json; charset=utf-8',
      'x-github-api-version-selected': '2022-11-28',
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': requestId,
      'x-ratelimit-limit': String(RATE_LIMIT),
      'x-ratelimit-remaining': String(Math.max(RATE_LIMIT - fake.rate.used, 1)),
      'x-ratelimit-reset': String(fake.rate.reset),
      'x-ratelimit-used': String(fake.rate.used),
      'x-ratelimit-resource': 'core',
    });

    const authorization = req.get('authorization');
    const token = tokenOf(authorization);
    if (!isTokenExchange(req.path) && fake.tokens.size > 0) {
      if (token === undefined) return reply(res, { status: 401, body: errorBody(401, 'Requires authentication', DOCS) });
      if (!fake.tokens.has(token) && !fake.issuedTokens.has(token)) return reply(res, { status: 401, body: errorBody(401, 'Bad credentials', DOCS) });
    }
    const fault = counted ? fake.takeFault(`${req.method} ${req.path}`) : undefined;
    if (fault) return reply(res, fault.answer(fake, requestId, token));
    next();
  });

  const route = (method: 'get' | 'post' | 'patch', path: string, docs: string, handler: (call: Call) => Reply) => {
    app[method](path, (req: Request, res: Response) => {
      const authorization = req.get('authorization');
      const call: Call = {
        params: Object.fromEntries(Object.entries(req.params as Record<string, string>)), query: queryOf(req),
        body: isRecord(req.body) ? req.body : {}, path: req.path, authorization, token: tokenOf(authorization),
      };
      try {
        reply(res, handler(call));
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        reply(res, { status: err.status, body: errorBody(err.status, err.message, `${DOCS}/${docs}`, err.errors) });
      }
    });
  };
  const p = (call: Call, name: string): string => call.params[name] ?? '';
  const repoOf = (call: Call) => `${p(call, 'owner')}/${p(call, 'repo')}`;

  // ----- checks -----
  route('post', '/repos/:owner/:repo/check-runs', 'checks/runs#create-a-check-run', (call) => {
    if (fake.denyCheckRuns) throw new ApiError(403, 'Resource not accessible by integration');
    const b = call.body;
    const name = requiredString(b, 'name');
    const headSha = requiredString(b, 'head_sha');
    const id = fake.nextId('checkRun');
    const run: FakeCheckRun = {
      id, nodeId: nodeId('CR', id), repo: repoOf(call), name, headSha, status: 'queued', conclusion: null,
      startedAt: isoNow(), completedAt: null, detailsUrl: null, externalId: null,
      output: { title: null, summary: null, text: null, annotations: [] }, checkSuiteId: fake.nextId('checkSuite'),
    };
    applyCheckRunChanges(run, b);
    fake.checkRuns.push(run);
    return { status: 201, body: fake.checkRunJson(run) };
  });

  route('patch', '/repos/:owner/:repo/check-runs/:check_run_id', 'checks/runs#update-a-check-run', (call) => {
    if (fake.denyCheckRuns) throw new ApiError(403, 'Resource not accessible by integration');
    const run = findCheckRun(fake, repoOf(call), p(call, 'check_run_id'));
    // Validate on a copy: a refused update changes nothing, as on GitHub.
    const updated = structuredClone(run);
    applyCheckRunChanges(updated, call.body);
    Object.assign(run, updated);
    return { status: 200, body: fake.checkRunJson(run) };
  });

  route('get', '/repos/:owner/:repo/check-runs/:check_run_id', 'checks/runs#get-a-check-run', (call) => {
    return { status: 200, body: fake.checkRunJson(findCheckRun(fake, repoOf(call), p(call, 'check_run_id'))) };
  });

  route('get', '/repos/:owner/:repo/check-runs/:check_run_id/annotations', 'checks/runs#list-check-run-annotations', (call) => {
    const run = findCheckRun(fake, repoOf(call), p(call, 'check_run_id'));
    const { items, headers } = paginate(fake, call, run.output.annotations);
    return { status: 200, body: items.map((a) => fake.annotationJson(run, a)), headers };
  });

  route('get', '/repos/:owner/:repo/commits/:ref/check-runs', 'checks/runs#list-check-runs-for-a-git-reference', (call) => {
    const repo = repoOf(call);
    const sha = resolveRef(fake, repo, p(call, 'ref'));
    const { check_name: name, status, filter = 'latest' } = call.query;
    let runs = fake.checkRuns.filter((r) => r.repo === repo && r.headSha === sha && (name === undefined || r.name === name) && (status === undefined || r.status === status));
    // `latest` (the default) keeps the most recent run of each name.
    if (filter === 'latest') runs = runs.filter((r) => !runs.some((later) => later.name === r.name && later.id > r.id));
    runs = [...runs].reverse();
    const { items, headers } = paginate(fake, call, runs);
    return { status: 200, body: { total_count: runs.length, check_runs: items.map((r) => fake.checkRunJson(r)) }, headers };
  });

  // ----- commit statuses -----
  route('post', '/repos/:owner/:repo/statuses/:sha', 'commits/statuses#create-a-commit-status', (call) => {
    const b = call.body;
    const state = requiredString(b, 'state');
    if (!isCommitState(state)) throw validationFailed('Status', 'state', 'invalid');
    const description = optionalString(b, 'description');
    if (description !== null && charCount(description) > MAX_STATUS_DESCRIPTION_CHARS) {
      throw validationFailed('Status', 'description', 'custom', `description is too long (maximum is ${MAX_STATUS_DESCRIPTION_CHARS} characters)`);
    }
    const id = fake.nextId('status');
    const now = isoNow();
    const status: FakeStatus = {
      id, nodeId: nodeId('SC', id), repo: repoOf(call), sha: p(call, 'sha'), state, description,
      targetUrl: optionalString(b, 'target_url'), context: optionalString(b, 'context') ?? 'default',
      creator: fake.botLogin, createdAt: now, updatedAt: now,
    };
    fake.statuses.push(status);
    return { status: 201, body: fake.statusJson(status) };
  });

  route('get', '/repos/:owner/:repo/commits/:ref/statuses', 'commits/statuses#list-commit-statuses-for-a-reference', (call) => {
    const repo = repoOf(call);
    const sha = resolveRef(fake, repo, p(call, 'ref'));
    const newestFirst = fake.statuses.filter((s) => s.repo === repo && s.sha === sha).reverse();
    const { items, headers } = paginate(fake, call, newestFirst);
    return { status: 200, body: items.map((s) => fake.statusJson(s)), headers };
  });

  // ----- issue comments -----
  route('get', '/repos/:owner/:repo/issues/:issue_number/comments', 'issues/comments#list-issue-comments', (call) => {
    const key = issueKey(repoOf(call), Number(p(call, 'issue_number')));
    if (!fake.pulls.has(key) && !fake.comments.has(key)) throw notFound();
    const since = call.query['since'];
    const comments = (fake.comments.get(key) ?? []).filter((c) => since === undefined || c.updatedAt >= since);
    const { items, headers } = paginate(fake, call, comments);
    return { status: 200, body: items.map((c) => fake.commentJson(c)), headers };
  });

  route('post', '/repos/:owner/:repo/issues/:issue_number/comments', 'issues/comments#create-an-issue-comment', (call) => {
    const repo = repoOf(call);
    const number = Number(p(call, 'issue_number'));
    const key = issueKey(repo, number);
    if (!fake.pulls.has(key) && !fake.comments.has(key)) throw notFound();
    const body = commentBody(call.body);
    const comment = fake.addComment(repo, number, { author: fake.botLogin, body });
    return { status: 201, body: fake.commentJson(comment), headers: { location: fake.api(`/repos/${repo}/issues/comments/${comment.id}`) } };
  });

  route('get', '/repos/:owner/:repo/issues/comments/:comment_id', 'issues/comments#get-an-issue-comment', (call) => {
    return { status: 200, body: fake.commentJson(findComment(fake, repoOf(call), p(call, 'comment_id'))) };
  });

  route('patch', '/repos/:owner/:repo/issues/comments/:comment_id', 'issues/comments#update-an-issue-comment', (call) => {
    const comment = findComment(fake, repoOf(call), p(call, 'comment_id'));
    comment.body = commentBody(call.body);
    comment.updatedAt = isoNow();
    return { status: 200, body: fake.commentJson(comment) };
  });

  // ----- pulls and reviews -----
  route('get', '/repos/:owner/:repo/pulls/:pull_number', 'pulls/pulls#get-a-pull-request', (call) => {
    const pull = fake.pulls.get(issueKey(repoOf(call), Number(p(call, 'pull_number'))));
    if (!pull) throw notFound();
    return { status: 200, body: fake.fullPullJson(pull) };
  });

  route('get', '/repos/:owner/:repo/pulls/:pull_number/reviews', 'pulls/reviews#list-reviews-for-a-pull-request', (call) => {
    const key = issueKey(repoOf(call), Number(p(call, 'pull_number')));
    if (!fake.pulls.has(key)) throw notFound();
    const chronological = [...(fake.reviews.get(key) ?? [])].sort((a, b) => a.submittedAt.localeCompare(b.submittedAt));
    const { items, headers } = paginate(fake, call, chronological);
    return { status: 200, body: items.map((r) => fake.reviewJson(r)), headers };
  });

  route('get', '/repos/:owner/:repo/commits/:commit_sha/pulls', 'commits/commits#list-pull-requests-associated-with-a-commit', (call) => {
    const repo = repoOf(call);
    const sha = p(call, 'commit_sha');
    const pulls = [...fake.pulls.values()]
      .filter((pull) => pull.repo === repo && (pull.headSha === sha || pull.mergeCommitSha === sha))
      .sort((a, b) => b.number - a.number);
    const { items, headers } = paginate(fake, call, pulls);
    return { status: 200, body: items.map((pull) => fake.pullJson(pull)), headers };
  });

  // ----- who may approve -----
  route('get', '/orgs/:org/teams/:team_slug/memberships/:username', 'teams/members#get-team-membership-for-a-user', (call) => {
    const team = `${p(call, 'org')}/${p(call, 'team_slug')}`;
    const login = p(call, 'username');
    const state = hasLogin(fake.teams.get(team), login) ? 'active' : hasLogin(fake.teamInvites.get(team), login) ? 'pending' : undefined;
    if (state === undefined) throw notFound();
    return { status: 200, body: { url: fake.api(`/teams/${fake.idOf('team', team)}/memberships/${login}`), role: 'member', state } };
  });

  route('get', '/repos/:owner/:repo/collaborators/:username/permission', 'collaborators/collaborators#get-repository-permissions-for-a-user', (call) => {
    const repo = repoOf(call);
    const login = p(call, 'username');
    if (hasLogin(fake.missingUsers, login)) throw notFound();
    const role: RepoRole = fake.explicitRole(repo, login) ?? (sameLogin(login, p(call, 'owner')) ? 'admin' : fake.publicRepos.has(repo) ? 'read' : 'none');
    const rank = ROLE_RANK[role];
    const permissions = { admin: rank >= 4, maintain: rank >= 3, push: rank >= 2, triage: rank >= 1, pull: rank >= 0.5 };
    return { status: 200, body: { permission: LEGACY_PERMISSION[role], role_name: role, user: { ...fake.user(login), permissions, role_name: role } } };
  });

  // ----- GitHub App -----
  route('post', '/app/installations/:installation_id/access_tokens', 'apps/apps#create-an-installation-access-token-for-an-app', (call) => {
    verifyAppJwt(call.authorization, fake.app);
    const installationId = Number(p(call, 'installation_id'));
    const token = fake.installations.get(installationId);
    if (token === undefined) throw notFound();
    fake.issuedTokens.set(token, installationId);
    // A request may narrow the token's permissions; the fake grants what is asked.
    const requested = call.body['permissions'];
    return {
      status: 201,
      body: {
        token, expires_at: isoAt(Date.now() + HOUR * 1000),
        permissions: isRecord(requested) ? requested : DEFAULT_INSTALLATION_PERMISSIONS, repository_selection: 'selected',
      },
    };
  });

  route('get', '/rate_limit', 'rate-limit/rate-limit#get-rate-limit-status-for-the-authenticated-user', () => {
    const core = { limit: RATE_LIMIT, used: fake.rate.used, remaining: RATE_LIMIT - fake.rate.used, reset: fake.rate.reset };
    const fresh = (limit: number, seconds: number) => ({ limit, used: 0, remaining: limit, reset: nowSeconds() + seconds });
    return {
      status: 200,
      body: {
        resources: {
          core, search: fresh(30, 60), graphql: fresh(5000, HOUR), integration_manifest: fresh(5000, HOUR),
          source_import: fresh(100, 60), code_scanning_upload: fresh(1000, HOUR), actions_runner_registration: fresh(10000, HOUR),
          scim: fresh(15000, HOUR), dependency_snapshots: fresh(100, 60), code_search: fresh(10, 60),
        },
        rate: core,
      },
    };
  });

  // Anything else: GitHub's 404 (the request is already in `requests` for tests to see).
  app.use((_req: Request, res: Response) => reply(res, { status: 404, body: errorBody(404, 'Not Found', DOCS) }));

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (isRecord(err) && err['type'] === 'entity.parse.failed') return reply(res, { status: 400, body: errorBody(400, 'Problems parsing JSON', DOCS) });
    reply(res, { status: 500, body: errorBody(500, `fake GitHub failed: ${err instanceof Error ? err.message : String(err)}`, DOCS) });
  });
  return app;
}

function reply(res: Response, answer: Reply): void {
  res.status(answer.status);
  if (answer.headers) res.set(answer.headers);
  res.send(answer.body === undefined ? '' : JSON.stringify(answer.body));
}

function errorBody(status: number, message: string, documentationUrl: string, errors?: Record<string, unknown>[]): Record<string, unknown> {
  return { message, ...(errors ? { errors } : {}), documentation_url: documentationUrl, status: String(status) };
}

function defaultMessage(status: number): string {
  switch (status) {
    case 401: return 'Bad credentials';
    case 403: return 'Resource not accessible by integration';
    case 404: return 'Not Found';
    case 422: return 'Validation Failed';
    case 500: return 'Server Error';
    case 502: return 'Server Error';
    case 503: return 'Service Unavailable';
    default: return `HTTP ${status}`;
  }
}

// ----- check runs -----

const CHECK_STATUSES = new Set<string>(['queued', 'in_progress', 'completed', 'waiting', 'requested', 'pending']);
const CHECK_CONCLUSIONS = new Set<string>(['success', 'failure', 'neutral', 'cancelled', 'skipped', 'timed_out', 'action_required']);
const ANNOTATION_LEVELS = new Set<string>(['notice', 'warning', 'failure']);

function findCheckRun(fake: FakeGitHubState, repo: string, id: string): FakeCheckRun {
  const run = fake.checkRuns.find((r) => String(r.id) === id && r.repo === repo);
  if (!run) throw notFound();
  return run;
}

/** Applies a create or update body to `run`, as GitHub does; throws its 422 on what it refuses. */
function applyCheckRunChanges(run: FakeCheckRun, b: Record<string, unknown>): void {
  if ('name' in b) run.name = requiredString(b, 'name');
  if ('details_url' in b) run.detailsUrl = optionalString(b, 'details_url');
  if ('external_id' in b) run.externalId = optionalString(b, 'external_id');
  if ('started_at' in b) run.startedAt = optionalString(b, 'started_at');
  if ('status' in b) {
    const status = requiredString(b, 'status');
    if (!CHECK_STATUSES.has(status)) throw invalidRequest(`For 'properties/status', ${JSON.stringify(status)} is not a member of ${JSON.stringify([...CHECK_STATUSES])}.`);
    run.status = status as CheckRunStatus;
  }
  if ('conclusion' in b) {
    const conclusion = requiredString(b, 'conclusion');
    if (!CHECK_CONCLUSIONS.has(conclusion)) throw invalidRequest(`For 'properties/conclusion', ${JSON.stringify(conclusion)} is not a member of ${JSON.stringify([...CHECK_CONCLUSIONS])}.`);
    // "Providing conclusion will automatically set the status parameter to completed."
    run.conclusion = conclusion as CheckRunConclusion;
    run.status = 'completed';
  }
  if ('completed_at' in b) run.completedAt = optionalString(b, 'completed_at');
  if (run.status === 'completed') {
    if (run.conclusion === null) throw invalidRequest('"conclusion" wasn\'t supplied.');
    run.completedAt ??= isoNow();
  }
  if ('output' in b) {
    const output = b['output'];
    if (!isRecord(output)) throw invalidRequest(`For 'properties/output', ${JSON.stringify(output)} is not an object.`);
    run.output.title = requiredString(output, 'title');
    run.output.summary = requiredString(output, 'summary');
    if (charCount(run.output.summary) > MAX_OUTPUT_CHARS) throw invalidRequest(`Only ${MAX_OUTPUT_CHARS} characters are allowed; ${charCount(run.output.summary)} were supplied.`);
    if ('text' in output) {
      run.output.text = optionalString(output, 'text');
      if (run.output.text !== null && charCount(run.output.text) > MAX_OUTPUT_CHARS) throw invalidRequest(`Only ${MAX_OUTPUT_CHARS} characters are allowed; ${charCount(run.output.text)} were supplied.`);
    }
    const annotations = output['annotations'] ?? [];
    if (!Array.isArray(annotations)) throw invalidRequest(`For 'properties/annotations', ${JSON.stringify(annotations)} is not an array.`);
    if (annotations.length > MAX_ANNOTATIONS) throw invalidRequest(`No more than ${MAX_ANNOTATIONS} items are allowed; ${annotations.length} were supplied.`);
    // Annotations add up across updates; they are never replaced.
    run.output.annotations.push(...annotations.map(annotationOf));
  }
}

function annotationOf(value: unknown): FakeAnnotation {
  if (!isRecord(value)) throw invalidRequest(`For 'items', ${JSON.stringify(value)} is not an object.`);
  const level = requiredString(value, 'annotation_level');
  if (!ANNOTATION_LEVELS.has(level)) throw invalidRequest(`For 'properties/annotation_level', ${JSON.stringify(level)} is not a member of ${JSON.stringify([...ANNOTATION_LEVELS])}.`);
  return {
    path: requiredString(value, 'path'), startLine: requiredInteger(value, 'start_line'), endLine: requiredInteger(value, 'end_line'),
    startColumn: optionalInteger(value, 'start_column'), endColumn: optionalInteger(value, 'end_column'),
    level: level as FakeAnnotation['level'], message: requiredString(value, 'message'),
    title: optionalString(value, 'title'), rawDetails: optionalString(value, 'raw_details'),
  };
}

// ----- comments, refs, users -----

function findComment(fake: FakeGitHubState, repo: string, id: string): FakeComment {
  for (const comments of fake.comments.values()) {
    const comment = comments.find((c) => String(c.id) === id && c.repo === repo);
    if (comment) return comment;
  }
  throw notFound();
}

function commentBody(b: Record<string, unknown>): string {
  const body = requiredString(b, 'body');
  if (charCount(body) > MAX_COMMENT_CHARS) throw validationFailed('IssueComment', 'body', 'custom', `body is too long (maximum is ${MAX_COMMENT_CHARS} characters)`);
  return body;
}

/** A commit SHA as given, or a branch the fake knows from its pulls; else GitHub's 422. */
function resolveRef(fake: FakeGitHubState, repo: string, ref: string): string {
  if (/^[0-9a-f]{7,40}$/i.test(ref)) return ref;
  const branch = ref.replace(/^(refs\/)?heads\//, '');
  const pulls = [...fake.pulls.values()].filter((pull) => pull.repo === repo).reverse();
  const sha = pulls.find((pull) => pull.headRef === branch)?.headSha ?? pulls.find((pull) => pull.baseRef === branch)?.baseSha;
  if (sha === undefined) throw new ApiError(422, `No commit found for SHA: ${ref}`);
  return sha;
}

const ROLE_RANK: Record<RepoRole, number> = { admin: 4, maintain: 3, write: 2, triage: 1, read: 0.5, none: 0 };
/** `permission` keeps GitHub's legacy base roles: maintain reads as write, triage as read. */
const LEGACY_PERMISSION: Record<RepoRole, string> = { admin: 'admin', maintain: 'write', write: 'write', triage: 'read', read: 'read', none: 'none' };

function verifyAppJwt(authorization: string | undefined, app: { appId: number; publicKeyPem: string } | undefined): void {
  const undecodable = new ApiError(401, 'A JSON web token could not be decoded');
  const jwt = /^bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  const [header, payload, signature, ...extra] = jwt?.split('.') ?? [];
  if (!app || header === undefined || payload === undefined || signature === undefined || extra.length > 0) throw undecodable;
  const claims = parseSegment(payload);
  if (parseSegment(header)?.['alg'] !== 'RS256' || !claims) throw undecodable;
  const signed = verifySignature('sha256', Buffer.from(`${header}.${payload}`), createPublicKey(app.publicKeyPem), Buffer.from(signature, 'base64url'));
  if (!signed || String(claims['iss']) !== String(app.appId)) throw undecodable;
  const now = nowSeconds();
  const { iat, exp } = claims;
  if (!Number.isInteger(iat)) throw new ApiError(401, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued.");
  if (!Number.isInteger(exp) || (exp as number) <= now) throw new ApiError(401, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires.");
  // GitHub refuses JWTs valid for more than ten minutes.
  if ((exp as number) > now + 600) throw new ApiError(401, "'Expiration time' claim ('exp') is too far in the future.");
}

function parseSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

// ----- small helpers -----

/** GitHub's pages: `per_page` (default 30, at most 100) and `page`, with a Link header Octokit's paginate follows. */
function paginate<T>(fake: FakeGitHubState, call: Call, all: T[]): { items: T[]; headers: Record<string, string> } {
  const perPage = Math.min(Math.max(Number(call.query['per_page']) || 30, 1), 100);
  const page = Math.max(Number(call.query['page']) || 1, 1);
  const last = Math.max(Math.ceil(all.length / perPage), 1);
  const items = all.slice((page - 1) * perPage, page * perPage);
  const href = (n: number) => `${fake.api(call.path)}?${new URLSearchParams({ ...call.query, per_page: String(perPage), page: String(n) }).toString()}`;
  const links = [
    ...(page > 1 ? [`<${href(page - 1)}>; rel="prev"`] : []),
    ...(page < last ? [`<${href(page + 1)}>; rel="next"`, `<${href(last)}>; rel="last"`] : []),
    ...(page > 1 ? [`<${href(1)}>; rel="first"`] : []),
  ];
  return { items, headers: links.length > 0 ? { link: links.join(', ') } : {} };
}

function requiredString(b: Record<string, unknown>, key: string): string {
  const value = b[key];
  if (value === undefined) throw invalidRequest(`${JSON.stringify(key)} wasn't supplied.`);
  if (typeof value !== 'string') throw invalidRequest(`For 'properties/${key}', ${JSON.stringify(value)} is not a string.`);
  return value;
}

function optionalString(b: Record<string, unknown>, key: string): string | null {
  const value = b[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalidRequest(`For 'properties/${key}', ${JSON.stringify(value)} is not a string.`);
  return value;
}

function requiredInteger(b: Record<string, unknown>, key: string): number {
  const value = b[key];
  if (value === undefined) throw invalidRequest(`${JSON.stringify(key)} wasn't supplied.`);
  if (!Number.isInteger(value)) throw invalidRequest(`For 'properties/${key}', ${JSON.stringify(value)} is not an integer.`);
  return value as number;
}

function optionalInteger(b: Record<string, unknown>, key: string): number | null {
  return b[key] === undefined || b[key] === null ? null : requiredInteger(b, key);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCommitState(state: string): state is CommitState {
  return state === 'error' || state === 'failure' || state === 'pending' || state === 'success';
}

/** GitHub counts characters, not UTF-16 code units. */
function charCount(text: string): number {
  return Array.from(text).length;
}

function tokenOf(authorization: string | undefined): string | undefined {
  return /^(?:token|bearer)\s+(\S+)$/i.exec(authorization ?? '')?.[1];
}

/** The token exchange authenticates with the App's JWT, not a token. */
function isTokenExchange(path: string): boolean {
  return /^\/app\/installations\/[^/]+\/access_tokens$/.test(path);
}

function queryOf(req: Request): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [key, value] of new URL(req.originalUrl, 'http://fake').searchParams) query[key] ??= value;
  return query;
}

function headersOf(req: Request): Record<string, string> {
  return Object.fromEntries(Object.entries(req.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, Array.isArray(v) ? v.join(', ') : v]])));
}

/** `RegExp.test` with a fresh start, so that a /g pattern from a test matches every time. */
function testFresh(pattern: RegExp, text: string): boolean {
  pattern.lastIndex = 0;
  return pattern.test(text);
}

function splitRepo(fullName: string): { owner: string; name: string } {
  const [owner, name, ...rest] = fullName.split('/');
  if (!owner || !name || rest.length > 0) throw new Error(`fake GitHub: expected owner/repo, got ${JSON.stringify(fullName)}`);
  return { owner, name };
}

function issueKey(repo: string, number: number): string {
  return `${repo}#${number}`;
}

function listIn<T>(map: Map<string, T[]>, key: string): T[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}

/** Logins are case-insensitive on GitHub. */
function sameLogin(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function hasLogin(logins: Set<string> | undefined, login: string): boolean {
  return [...(logins ?? [])].some((l) => sameLogin(l, login));
}

function nodeId(prefix: string, id: number): string {
  return `${prefix}_kwDO${Buffer.from(String(id)).toString('base64url')}`;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** GitHub's timestamps: ISO 8601, UTC, whole seconds. */
function isoAt(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isoNow(): string {
  return isoAt(Date.now());
}
