/**
 * Which changes to a set were reviewed (DESIGN §6). A change is a commit on the default
 * branch's first-parent line that touches the set's folder; it is reviewed when it is the merge
 * (or squash) commit of a pull request that, at its last head, had an approval that counts for
 * the set (approvals.ts). The forge asks GitHub which pull request a commit merged, rather than
 * trusting the order webhooks arrive in, and remembers the answer in the `reviews` table.
 *
 * With a plain git remote, or a GitHub project without credentials, nothing can be approved:
 * pushes to review/locked sets are never reviewed, and their releases are not held to it
 * (they publish only from releases, and the release is the review).
 *
 * Rebase merges put several commits on the branch for one pull request; only the last is the
 * pull request's merge commit, so the others count as unreviewed. Use merge or squash merges
 * for review and locked sets.
 *
 * An approval vouches for the approved head, not for the merge commit: a merge (or squash) whose
 * content of the set differs from the approved head merged onto its first parent (an "evil
 * merge", or a conflict resolved after the approval) is not a reviewed change (issue 18). Which
 * content a release may carry is set-trust.ts.
 */
import semver from 'semver';
import { validateSetConfig } from '@anvil/content-schema';
import type { ForgeContext, ForgeProject } from '../forge/forge-context.ts';
import { canWrite, getPull, isTeamMember, listReviews, mergedPullsOf, repoRef, type PullInfo } from '../github/github-api.ts';
import { githubClientOf, type GitHubClient } from '../github/github-client.ts';
import { readYamlConfig } from '../load/read-yaml-config.ts';
import { SET_CONFIG_FILE } from '../load/load-repo.ts';
import { ensurePullHead, fileAt, firstParent, isAncestorIn, landedChanges, mergeTree, treeAt } from '../mirror/mirror-repo.ts';
import type { ReleaseTag } from '../repo/release-tags.ts';
import { storeTime } from '../store/open-store.ts';
import { allowedApprovers, currentApprovers, type WhoMayApprove } from './approvals.ts';
import { mergeMatchesApproval } from './trust-rules.ts';

export interface SetRef {
  name: string;
  /** The set's folder at the commit in question. */
  dir: string;
}

/** What the `reviews` table keeps per pull request (the `detail` column). */
export interface ReviewDetail {
  author: string;
  /** Logins whose approval of the last head stands (before any set's `reviewers` narrows them). */
  approvers: string[];
  /** Per set the merge changed: the approvers that count for it (empty: not reviewed). */
  sets: Record<string, string[]>;
  /**
   * An open pull request, as last checked (check-pull-request.ts), for the dashboard: the sets it
   * changes, the "Anvil" check posted on its head, and its page. Absent in rows from before them.
   */
  changedSets?: string[];
  check?: { conclusion: 'success' | 'failure'; title: string };
  url?: string;
}

export function reviewsEnabled(project: ForgeProject): boolean {
  return project.provider === 'github' && project.github !== undefined && project.githubRepository !== undefined;
}

export function clientFor(ctx: ForgeContext, project: ForgeProject): GitHubClient | undefined {
  return githubClientOf(project, { logger: ctx.logger, ...(ctx.github ?? {}) });
}

/** The commits up to `to` (first parent, none reachable from `after`) that change the set without an approved, merged pull request. */
export async function unreviewedChanges(ctx: ForgeContext, project: ForgeProject, mirror: string, after: readonly string[], to: string, set: SetRef): Promise<string[]> {
  const unreviewed: string[] = [];
  for (const commit of await landedChanges(mirror, after, to, set.dir)) {
    if (!(await isReviewedChange(ctx, project, mirror, commit, set))) unreviewed.push(commit);
  }
  return unreviewed;
}

/**
 * Is `commit` the merge of a pull request approved for `set`, adding nothing to the set beyond the
 * approved head? Asks GitHub when the store does not know. `set.dir` may also be a file
 * (`anvil.yaml`): its blob is compared then.
 */
export async function isReviewedChange(ctx: ForgeContext, project: ForgeProject, mirror: string, commit: string, set: SetRef): Promise<boolean> {
  if (!reviewsEnabled(project)) return false;
  const client = clientFor(ctx, project);
  let row = await ctx.db.selectFrom('reviews').select(['pull_number', 'head_sha', 'detail']).where('project', '=', project.name)
    .where('merged_commit', '=', commit).where('state', '=', 'merged').executeTakeFirst();
  if (!row) {
    if (!client) return false;
    const [pull] = await mergedPullsOf(client, repoRef(project.githubRepository!), commit);
    if (!pull) return false;
    await recordMergedPull(ctx, project, client, pull);
    row = { pull_number: pull.number, head_sha: pull.headSha, detail: await detailOf(ctx, project.name, pull.number) };
  }
  const detail = JSON.parse(row.detail) as ReviewDetail;
  let approvers = detail.sets[set.name];
  if (!approvers) {
    if (!client) return false;
    const reviewers = await reviewersAt(mirror, commit, set);
    approvers = await allowedApprovers(detail.approvers, reviewers, whoMayApprove(client, project));
    detail.sets[set.name] = approvers;
    await ctx.db.updateTable('reviews').set({ detail: JSON.stringify(detail), updated_at: storeTime() })
      .where('project', '=', project.name).where('pull_number', '=', row.pull_number).execute();
  }
  if (approvers.length === 0) return false;
  if (await mergeAddsToApproval(mirror, commit, row.pull_number, row.head_sha, set.dir)) {
    ctx.logger.warn({ project: project.name, commit, pull: row.pull_number, set: set.name },
      `the merge commit of pull request #${row.pull_number} changes ${set.dir} beyond the approved head ${row.head_sha.slice(0, 7)}: counted as unreviewed`);
    return false;
  }
  return true;
}

/**
 * An "evil merge" (issue 18): the merge (or squash) commit carries content of its own in `dir`,
 * beyond the approved head merged onto the merge's first parent, which is what the approval
 * vouches for. Compares the folder's (or file's) id in both; an approved head the mirror cannot
 * get, or a merge git cannot redo cleanly, counts as adding: nobody reviewed that result.
 */
async function mergeAddsToApproval(mirror: string, commit: string, pull: number, headSha: string, dir: string): Promise<boolean> {
  const parent = await firstParent(mirror, commit);
  if (parent === undefined || !(await ensurePullHead(mirror, pull, headSha))) return true;
  const merged = await mergeTree(mirror, parent, headSha);
  const approved = merged && { clean: merged.clean, id: await treeAt(mirror, merged.tree, dir) };
  return !mergeMatchesApproval(approved, await treeAt(mirror, commit, dir));
}

/** Remembers a merged pull request and the approvals that stood at its last head. */
export async function recordMergedPull(ctx: ForgeContext, project: ForgeProject, client: GitHubClient, pull: PullInfo): Promise<void> {
  const reviews = await listReviews(client, repoRef(project.githubRepository!), pull.number);
  const detail: ReviewDetail = { author: pull.author, approvers: currentApprovers(reviews, pull), sets: {} };
  const values = {
    head_sha: pull.headSha, base_ref: pull.baseRef, state: 'merged', merged_commit: pull.mergeCommitSha ?? null, detail: JSON.stringify(detail), updated_at: storeTime(),
  };
  await ctx.db.insertInto('reviews').values({ project: project.name, pull_number: pull.number, ...values })
    .onConflict((oc) => oc.columns(['project', 'pull_number']).doUpdateSet(values)).execute();
}

/** A pull request closed or merged on GitHub: asks GitHub for its final state and records it. */
export async function recordClosedPull(ctx: ForgeContext, project: ForgeProject, number: number): Promise<void> {
  const client = clientFor(ctx, project);
  if (!client) return;
  const pull = await getPull(client, repoRef(project.githubRepository!), number);
  if (pull.merged) {
    await recordMergedPull(ctx, project, client, pull);
    return;
  }
  await ctx.db.updateTable('reviews').set({ state: pull.state === 'open' ? 'open' : 'closed', updated_at: storeTime() })
    .where('project', '=', project.name).where('pull_number', '=', number).execute();
}

/**
 * The release's changes to the set that no approved, merged pull request covers. The changes a
 * release carries are those since the set's previous release that the tag descends from (that
 * release was checked when it was published), and since the branch as the forge first saw it
 * (`baseline`: the state it adopted, releases at that point included).
 */
export async function unreviewedChangesOfRelease(
  ctx: ForgeContext, project: ForgeProject, mirror: string, tag: ReleaseTag, tags: readonly ReleaseTag[], set: SetRef, baseline: string | undefined,
): Promise<string[]> {
  if (!reviewsEnabled(project)) return [];
  let previous: ReleaseTag | undefined;
  for (const other of tags) {
    if (other.set !== tag.set || other.name === tag.name || !semver.lt(other.version, tag.version)) continue;
    if (previous && semver.lte(other.version, previous.version)) continue;
    // A release refused for an unreviewed change is no baseline: its change would pass unseen.
    if (await wasRefused(ctx, project.name, other)) continue;
    if (await isAncestorIn(mirror, other.commit, tag.commit)) previous = other;
  }
  const after = [previous?.commit, baseline].filter((c): c is string => c !== undefined);
  return unreviewedChanges(ctx, project, mirror, after, tag.commit, set);
}

/**
 * `set.yaml` `reviewers` as the branch had them before the change: a pull request cannot name
 * its own reviewers. A set the change creates takes them from the change itself.
 */
export async function reviewersAt(mirror: string, commit: string, set: SetRef): Promise<string[] | undefined> {
  const parent = await firstParent(mirror, commit);
  const file = `${set.dir}/${SET_CONFIG_FILE}`;
  const text = (parent && await fileAt(mirror, parent, file)) ?? (await fileAt(mirror, commit, file));
  return text === undefined ? undefined : reviewersIn(file, text);
}

export function reviewersIn(file: string, text: string): string[] | undefined {
  const read = readYamlConfig(file, text, validateSetConfig);
  // A set.yaml that does not validate narrows to nobody rather than opening to everybody.
  if (!read.value) return [];
  return read.value.reviewers;
}

export function whoMayApprove(client: GitHubClient, project: ForgeProject): WhoMayApprove {
  const repo = repoRef(project.githubRepository!);
  return {
    isTeamMember: (org, team, login) => isTeamMember(client, org, team, login),
    canWrite: (login) => canWrite(client, repo, login),
  };
}

async function detailOf(ctx: ForgeContext, project: string, number: number): Promise<string> {
  const row = await ctx.db.selectFrom('reviews').select('detail').where('project', '=', project).where('pull_number', '=', number).executeTakeFirstOrThrow();
  return row.detail;
}

async function wasRefused(ctx: ForgeContext, project: string, tag: ReleaseTag): Promise<boolean> {
  const row = await ctx.db.selectFrom('audit_log').select('seq').where('project', '=', project)
    .where('kind', 'in', ['decision.unreviewed-release', 'decision.tag-refused']).where('subject', '=', `${tag.set} ${tag.name}`).limit(1).executeTakeFirst();
  return row !== undefined;
}
