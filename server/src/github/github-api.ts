/**
 * The GitHub REST endpoints the forge calls, each a small function over an Octokit client, so
 * that the rest of the forge speaks in its own terms (a review, a check, a comment) and the
 * tests' fake GitHub knows exactly which endpoints it has to answer:
 *
 * - checks:  POST /repos/{o}/{r}/check-runs, PATCH /repos/{o}/{r}/check-runs/{id}
 * - statuses: POST /repos/{o}/{r}/statuses/{sha}
 * - comments: GET/POST /repos/{o}/{r}/issues/{n}/comments, PATCH /repos/{o}/{r}/issues/comments/{id}
 * - pulls:   GET /repos/{o}/{r}/pulls/{n}, GET /repos/{o}/{r}/pulls/{n}/reviews,
 *            GET /repos/{o}/{r}/commits/{sha}/pulls
 * - who may approve: GET /orgs/{org}/teams/{team}/memberships/{user},
 *            GET /repos/{o}/{r}/collaborators/{user}/permission
 */
import { RequestError } from 'octokit';
import type { CheckAnnotation } from '../review/compose-check.ts';
import type { GitHubClient } from './github-client.ts';

export interface RepoRef {
  owner: string;
  repo: string;
}

export function repoRef(repository: string): RepoRef {
  const [owner = '', repo = ''] = repository.split('/');
  return { owner, repo };
}

export interface CheckRunInput {
  name: string;
  conclusion: 'success' | 'failure' | 'neutral';
  title: string;
  summary: string;
  text?: string;
  /** Sent 50 at a time, GitHub's limit per request; a check run keeps adding them up. */
  annotationBatches: CheckAnnotation[][];
  detailsUrl?: string;
}

/**
 * Creates the check run of `headSha`, or updates it when `existingId` is known, and sends the
 * remaining annotation batches as updates. Returns the check run's id.
 */
export async function postCheckRun(client: GitHubClient, repo: RepoRef, headSha: string, check: CheckRunInput, existingId?: number): Promise<number> {
  const [first = [], ...rest] = check.annotationBatches;
  const output = (annotations: CheckAnnotation[]) => ({
    title: check.title, summary: check.summary, ...(check.text !== undefined ? { text: check.text } : {}), annotations,
  });
  const common = {
    ...repo, name: check.name, status: 'completed' as const, conclusion: check.conclusion,
    completed_at: new Date().toISOString(), output: output(first), ...(check.detailsUrl ? { details_url: check.detailsUrl } : {}),
  };
  let id = existingId;
  if (id !== undefined) {
    try {
      await client.rest.checks.update({ ...common, check_run_id: id });
    } catch (err) {
      // The run is gone (or belongs to another app): start a new one.
      if (!(err instanceof RequestError) || err.status !== 404) throw err;
      id = undefined;
    }
  }
  if (id === undefined) id = (await client.rest.checks.create({ ...common, head_sha: headSha, external_id: headSha })).data.id;
  for (const batch of rest) await client.rest.checks.update({ ...repo, check_run_id: id, output: output(batch) });
  return id;
}

/** Is this error GitHub refusing check runs to these credentials (a token without `checks: write`)? */
export function checksNotPermitted(err: unknown): boolean {
  return err instanceof RequestError && err.status === 403 && !/rate limit/i.test(err.message);
}

export interface CommitStatusInput {
  state: 'success' | 'failure' | 'pending' | 'error';
  description: string;
  context: string;
  targetUrl?: string;
}

export async function postCommitStatus(client: GitHubClient, repo: RepoRef, sha: string, status: CommitStatusInput): Promise<void> {
  await client.rest.repos.createCommitStatus({
    ...repo, sha, state: status.state, description: status.description, context: status.context,
    ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
  });
}

/**
 * Edits the forge's comment on the pull request, or writes it once. The comment is found by its
 * id when the forge remembers it, else by `marker` among the pull request's comments (a forge
 * that lost its store still edits its own comment instead of adding a second).
 */
export async function upsertComment(client: GitHubClient, repo: RepoRef, number: number, body: string, marker: string, knownId?: number): Promise<number> {
  if (knownId !== undefined) {
    try {
      await client.rest.issues.updateComment({ ...repo, comment_id: knownId, body });
      return knownId;
    } catch (err) {
      if (!(err instanceof RequestError) || err.status !== 404) throw err;
    }
  }
  const comments = await client.paginate(client.rest.issues.listComments, { ...repo, issue_number: number, per_page: 100 });
  const mine = comments.find((c) => c.body?.startsWith(marker));
  if (mine) {
    await client.rest.issues.updateComment({ ...repo, comment_id: mine.id, body });
    return mine.id;
  }
  return (await client.rest.issues.createComment({ ...repo, issue_number: number, body })).data.id;
}

/** A pull request as the review logic needs it. */
export interface PullInfo {
  number: number;
  state: string;
  author: string;
  headSha: string;
  baseRef: string;
  baseSha: string;
  merged: boolean;
  mergeCommitSha?: string;
}

export async function getPull(client: GitHubClient, repo: RepoRef, number: number): Promise<PullInfo> {
  const { data } = await client.rest.pulls.get({ ...repo, pull_number: number });
  return pullInfo(data);
}

function pullInfo(data: {
  number: number; state: string; user: { login: string } | null; head: { sha: string }; base: { sha: string; ref: string };
  merged_at: string | null; merge_commit_sha: string | null; merged?: boolean;
}): PullInfo {
  const merged = data.merged ?? data.merged_at !== null;
  return {
    number: data.number, state: data.state, author: data.user?.login ?? '', headSha: data.head.sha, baseRef: data.base.ref, baseSha: data.base.sha,
    merged, ...(merged && data.merge_commit_sha ? { mergeCommitSha: data.merge_commit_sha } : {}),
  };
}

/** The merged pull requests whose merge (or squash) commit is `sha`. */
export async function mergedPullsOf(client: GitHubClient, repo: RepoRef, sha: string): Promise<PullInfo[]> {
  const pulls = await client.paginate(client.rest.repos.listPullRequestsAssociatedWithCommit, { ...repo, commit_sha: sha, per_page: 100 });
  return pulls.map((p) => pullInfo(p)).filter((p) => p.merged && p.mergeCommitSha === sha);
}

/** A review as GitHub lists it: the state of the reviewer's verdict on one commit. */
export interface ReviewInfo {
  id: number;
  reviewer: string;
  /** APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING. */
  state: string;
  commitId: string;
  submittedAt?: string;
}

export async function listReviews(client: GitHubClient, repo: RepoRef, number: number): Promise<ReviewInfo[]> {
  const reviews = await client.paginate(client.rest.pulls.listReviews, { ...repo, pull_number: number, per_page: 100 });
  return reviews.map((r) => ({
    id: r.id, reviewer: r.user?.login ?? '', state: r.state.toUpperCase(), commitId: r.commit_id ?? '',
    ...(r.submitted_at ? { submittedAt: r.submitted_at } : {}),
  }));
}

/** Is `login` an active member of `org/team`? (A pending invitation does not count.) */
export async function isTeamMember(client: GitHubClient, org: string, team: string, login: string): Promise<boolean> {
  try {
    const { data } = await client.rest.teams.getMembershipForUserInOrg({ org, team_slug: team, username: login });
    return data.state === 'active';
  } catch (err) {
    if (err instanceof RequestError && err.status === 404) return false;
    throw err;
  }
}

/** May `login` push to the repository (write, maintain or admin)? Whose approval GitHub itself would count. */
export async function canWrite(client: GitHubClient, repo: RepoRef, login: string): Promise<boolean> {
  try {
    const { data } = await client.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: login });
    return data.permission === 'admin' || data.permission === 'write' || data.permission === 'maintain' as string;
  } catch (err) {
    if (err instanceof RequestError && err.status === 404) return false;
    throw err;
  }
}
