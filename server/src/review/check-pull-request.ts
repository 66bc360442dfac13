/**
 * A pull request opened, updated or reopened, or reviewed (DESIGN §6): for every set it touches,
 * build the head, lint it, judge the release the change needs against the base, render every
 * changed prompt on both sides, and see where approvals stand at the current head. The result
 * goes to GitHub as the "Anvil" check run (a commit status when check runs are not permitted)
 * and one comment, edited in place, through the outbox: a slow or failing GitHub never holds up
 * anything else. A pull request publishes nothing.
 */
import path from 'node:path';
import { buildErrorProblem, buildTarget, type BuildContext, type BuiltTarget } from '../build/build-target.ts';
import { fileBuildCache } from '../build/file-build-cache.ts';
import { renderedDiff, type DiffSide } from '../diff/rendered-diff.ts';
import type { ForgeContext, ForgeProject } from '../forge/forge-context.ts';
import { listReviews, repoRef } from '../github/github-api.ts';
import { enqueueGitHubPost } from '../github/github-outbox.ts';
import { lintRepo } from '../lint/lint-repo.ts';
import { problemsInDir, type Problem } from '../lint/problem.ts';
import { loadRepo, type LoadedSet } from '../load/load-repo.ts';
import { branchCommit, ensurePullHead, fileAt, mergeBase, updateMirror } from '../mirror/mirror-repo.ts';
import { diffContract, type Impact } from '../release/contract-diff.ts';
import { baseVersion, chooseVersion } from '../release/next-version.ts';
import { createGitCache } from '../repo/git-cache.ts';
import { openGitSnapshot } from '../repo/git-snapshot.ts';
import { listReleaseTags, releasesBySet } from '../repo/release-tags.ts';
import { appendAudit } from '../store/audit-log.ts';
import { storeTime } from '../store/open-store.ts';
import { allowedApprovers, currentApprovers } from './approvals.ts';
import { annotationBatches, composeCheckRun, composeCommitStatus } from './compose-check.ts';
import { composeReviewComment, REVIEW_COMMENT_MARKER, REVIEW_TEMPLATE_OVERRIDE } from './compose-review-comment.ts';
import type { PullRequestReview, SetReview } from './pull-request-review.ts';
import { clientFor, reviewsEnabled, whoMayApprove, type ReviewDetail } from './review-state.ts';

export interface PullRequestRef {
  number: number;
  headSha: string;
  baseRef: string;
  baseSha: string;
  author: string;
}

export type PullRequestCheck =
  | { checked: true; review: PullRequestReview }
  | { checked: false; reason: string };

export async function checkPullRequest(ctx: ForgeContext, project: ForgeProject, pull: PullRequestRef, actor?: string): Promise<PullRequestCheck> {
  if (!reviewsEnabled(project)) return { checked: false, reason: 'the project has no GitHub credentials' };
  const startedAt = storeTime();
  const mirror = await updateMirror(ctx.dataDir, project.name, project.remote);
  if (!(await ensurePullHead(mirror, pull.number, pull.headSha))) {
    ctx.logger.warn({ project: project.name, pull: pull.number, head: pull.headSha }, 'the pull request\'s head is not in the mirror; not checked');
    return { checked: false, reason: `head ${pull.headSha.slice(0, 7)} is not in the repository` };
  }
  const baseTip = (await branchCommit(mirror, pull.baseRef)) ?? pull.baseSha;
  const base = (await mergeBase(mirror, baseTip, pull.headSha)) ?? baseTip;

  const cache = createGitCache();
  const { tags } = await listReleaseTags(mirror, { cache });
  const build: BuildContext = { root: mirror, project: project.name, cache, tags, buildCache: fileBuildCache(path.join(mirror, 'anvil', 'build-cache')) };
  const headRepo = await loadRepo(await openGitSnapshot(mirror, pull.headSha, { cache }));
  const baseRepo = await loadRepo(await openGitSnapshot(mirror, base, { cache }));
  const releases = releasesBySet(tags);
  const problems = lintRepo(headRepo, { releases });

  const client = clientFor(ctx, project);
  const reviews = client ? await listReviews(client, repoRef(project.githubRepository!), pull.number) : [];
  const approvers = currentApprovers(reviews, pull);

  const names = [...new Set([...headRepo.sets, ...baseRepo.sets].map((s) => s.name))].sort();
  const sets: SetReview[] = [];
  for (const name of names) {
    const head = headRepo.sets.find((s) => s.name === name);
    const before = baseRepo.sets.find((s) => s.name === name);
    if (head && before && head.treeId === before.treeId && head.dir === before.dir) continue;
    const review = await reviewSet(build, name, head, before, pull.headSha, base, releases[name] ?? [], problems);
    if (review.needsApproval && client) {
      const reviewers = (before ?? head)!.config.reviewers;
      review.approval = {
        approvedBy: await allowedApprovers(approvers, reviewers, whoMayApprove(client, project)),
        ...(reviewers ? { reviewers } : {}),
      };
    }
    sets.push(review);
  }
  const review: PullRequestReview = {
    project: project.name, repository: project.githubRepository!, number: pull.number, headSha: pull.headSha, baseRef: pull.baseRef, baseSha: base,
    sets, repoProblems: problems.filter((p) => !headRepo.sets.some((s) => problemsInDir([p], s.dir).length > 0)),
  };

  const check = await postReview(ctx, project, mirror, review);
  const url = pullRequestUrl(project, pull.number);
  const detail: ReviewDetail = {
    author: pull.author, approvers, sets: {}, changedSets: sets.map((s) => s.set), check, ...(url !== undefined ? { url } : {}),
  };
  const values = { head_sha: pull.headSha, base_ref: pull.baseRef, state: 'open', merged_commit: null, detail: JSON.stringify(detail), updated_at: storeTime() };
  // A pull request closed while this check ran stays closed (the dashboard lists open ones); one
  // closed before it started is being checked because it was reopened.
  await ctx.db.insertInto('reviews').values({ project: project.name, pull_number: pull.number, ...values })
    .onConflict((oc) => oc.columns(['project', 'pull_number']).doUpdateSet(values)
      .where('reviews.state', '!=', 'merged')
      .where((eb) => eb.or([eb('reviews.state', '!=', 'closed'), eb('reviews.updated_at', '<', startedAt)]))).execute();
  await appendAudit(ctx.db, {
    project: project.name, kind: 'review.checked', subject: `#${pull.number} ${pull.headSha.slice(0, 7)}`, actor,
    detail: { sets: sets.map((s) => ({ set: s.set, mode: s.mode, impact: s.impact, errors: s.problems.filter((p) => p.severity === 'error').length, approvedBy: s.approval?.approvedBy ?? [] })) },
  });
  return { checked: true, review };
}

async function reviewSet(
  build: BuildContext, name: string, head: LoadedSet | undefined, before: LoadedSet | undefined, headSha: string, base: string,
  released: readonly string[], problems: readonly Problem[],
): Promise<SetReview> {
  const mode = (head ?? before)!.config.mode;
  const review: SetReview = {
    set: name, dir: (head ?? before)!.dir, mode, needsApproval: mode !== 'live', change: !before ? 'added' : !head ? 'removed' : 'changed',
    impact: 'none', contractChanges: [], problems: head ? problemsInDir(problems, head.dir) : [], prompts: [],
  };
  const latest = baseVersion(released);
  if (latest) review.latestRelease = latest;
  const headBuilt = head ? await tryBuild(build, name, headSha) : undefined;
  const baseBuilt = before ? await tryBuild(build, name, base) : undefined;
  const failed = [headBuilt, baseBuilt].find((b) => b && !b.bundle);
  if (failed) {
    const error = failed.problems.find((p) => p.severity === 'error');
    review.buildError = `${failed === headBuilt ? 'the head' : 'the base'} does not build: ${error ? `${error.code} ${error.message}` : 'unknown error'}`;
    return review;
  }
  const empty = { prompts: {}, partials: {}, mode, dependencies: {} };
  const contract = diffContract(baseBuilt?.bundle ?? empty, headBuilt?.bundle ?? empty);
  review.impact = contract.impact;
  review.contractChanges = contract.changes;
  review.prompts = renderedDiff(side('base', baseBuilt), side('head', headBuilt)).filter((p) => p.status !== 'unchanged');
  if (headBuilt?.bundle) {
    let sinceRelease: Impact = contract.impact;
    if (latest) {
      const release = await tryBuild(build, name, `${name}@${latest}`);
      if (release.bundle) sinceRelease = diffContract(release.bundle, headBuilt.bundle).impact;
    }
    try {
      review.nextVersion = chooseVersion(released, { request: 'auto', set: name }, () => sinceRelease).version;
    } catch {
      // Nothing changed since the last release: no release needed.
    }
  }
  return review;
}

async function tryBuild(build: BuildContext, set: string, ref: string): Promise<BuiltTarget> {
  try {
    return await buildTarget(build, set, { kind: 'ref', ref }, { preview: true });
  } catch (err) {
    return { problems: [buildErrorProblem(err)], reused: false, compiled: 0, threads: 0, label: ref, dependencyPartials: {} };
  }
}

function side(label: string, built: BuiltTarget | undefined): DiffSide | undefined {
  return built?.bundle ? { label, bundle: built.bundle, dependencyPartials: built.dependencyPartials } : undefined;
}

/**
 * The check run (or status) and the comment, into the outbox. The comment template may be the
 * repository's own, read from the base. Returns the check's verdict as posted.
 */
async function postReview(ctx: ForgeContext, project: ForgeProject, mirror: string, review: PullRequestReview): Promise<NonNullable<ReviewDetail['check']>> {
  const check = composeCheckRun(review);
  const verdict = { conclusion: check.conclusion, title: check.title };
  await enqueueGitHubPost(ctx.db, project.name, {
    kind: 'check', headSha: review.headSha,
    check: { name: check.name, conclusion: check.conclusion, title: check.title, summary: check.summary, ...(check.text !== undefined ? { text: check.text } : {}), annotationBatches: annotationBatches(check.annotations) },
    fallback: composeCommitStatus(review),
  });
  if (review.sets.length === 0 && review.repoProblems.length === 0) return verdict;
  const template = await fileAt(mirror, review.baseSha, REVIEW_TEMPLATE_OVERRIDE);
  const comment = composeReviewComment(review, template === undefined ? {} : { template });
  await enqueueGitHubPost(ctx.db, project.name, { kind: 'comment', number: review.number, body: comment.body, marker: REVIEW_COMMENT_MARKER });
  return verdict;
}

/**
 * The pull request's page on GitHub (github.com for api.github.com, the server's host for GitHub
 * Enterprise Server's `/api/v3`); undefined for an API URL whose site cannot be told from it.
 */
export function pullRequestUrl(project: ForgeProject, number: number): string | undefined {
  const api = project.github?.apiUrl.replace(/\/+$/, '');
  if (api === undefined || project.githubRepository === undefined) return undefined;
  const site = api === 'https://api.github.com' ? 'https://github.com' : /^https:\/\/[^/]+\/api\/v3$/.test(api) ? api.slice(0, -'/api/v3'.length) : undefined;
  return site === undefined ? undefined : `${site}/${project.githubRepository}/pull/${number}`;
}
