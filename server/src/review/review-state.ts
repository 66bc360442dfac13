/**
 * What the forge knows about reviews (DESIGN §6), as the policy needs it. With a plain git
 * remote nothing can be approved: pushes to review/locked sets are never reviewed merges, and
 * their releases are not held to reviewed content (they publish only from releases). For GitHub
 * projects, the `reviews` table is filled from pull request events (issue 6).
 */
import type { ForgeContext, ForgeProject } from '../forge/forge-context.ts';

/** Is `commit` the merge of a pull request approved for `set`? */
export async function isReviewedMerge(ctx: ForgeContext, project: ForgeProject, commit: string, set: string): Promise<boolean> {
  if (project.provider !== 'github') return false;
  const rows = await ctx.db.selectFrom('reviews').select(['detail']).where('project', '=', project.name).where('merged_commit', '=', commit).where('state', '=', 'merged-approved').execute();
  return rows.some((r) => {
    const detail = JSON.parse(r.detail) as { sets?: string[] };
    return detail.sets === undefined || detail.sets.includes(set);
  });
}

/**
 * Does the release carry a change to the set's files that no approved, merged pull request
 * covers? Only GitHub projects can answer "no"; issue 6 makes the check real.
 */
export async function releaseHasUnreviewedChange(ctx: ForgeContext, project: ForgeProject, tag: string, set: string): Promise<boolean> {
  // Plain git: the release itself is the review (DESIGN §6). GitHub: answered by issue 6's
  // check of the set's commits against approved, merged pull requests.
  void ctx; void project; void tag; void set;
  return false;
}
