/**
 * Which content of a set the forge trusts (issue 18), as pure functions over tree ids; the git
 * and store reads are set-trust.ts and review-state.ts.
 *
 * An approval vouches for a diff, not for a whole folder: reviewers of a pull request see its
 * change against the branch, never what the branch already carried. So a set's content (the tree
 * id of its folder) is trusted when
 *  - it is content the forge already trusts: the branch as the forge adopted it (its baseline),
 *    or an accepted release; or
 *  - it is the result of a reviewed merge (whose merge commit adds nothing the approved head did
 *    not have) whose first parent's content was trusted, or had no such folder (a set the pull
 *    request creates is all diff: the reviewers saw every file).
 * A release (and a head build of a review set) is published only when its content is trusted.
 * This also gives a way back after an unreviewed change U: a reviewed pull request that reverts U
 * brings the folder back to a trusted tree, while one merged on top of U does not vouch for U.
 */

/** One change on the branch's first-parent line, as trust needs it. */
export interface TrustStep {
  commit: string;
  /** The set's tree in the change's first parent (undefined: no such folder there). */
  parentTree: string | undefined;
  /** The set's tree after the change (undefined: the change removed the folder). */
  tree: string | undefined;
  /** The change is the merge of a pull request approved for the set, and adds nothing of its own. */
  reviewed: boolean;
}

export interface TrustWalk {
  /** Trees that became trusted along the walk, in order, with the merge that made each (no repeats, none already trusted). */
  newlyTrusted: { tree: string; commit: string }[];
  /** The commits that changed the set without a review (those the old rule audited). */
  unreviewed: string[];
}

/** Content with no folder is trusted: there is nothing in it to vouch for. */
export function isTrusted(trusted: ReadonlySet<string>, tree: string | undefined): boolean {
  return tree === undefined || trusted.has(tree);
}

/** Walks the changes oldest first, growing the trusted trees as reviewed merges on trusted content add to them. */
export function walkTrust(trusted: ReadonlySet<string>, steps: readonly TrustStep[]): TrustWalk {
  const known = new Set(trusted);
  const newlyTrusted: TrustWalk['newlyTrusted'] = [];
  const unreviewed: string[] = [];
  for (const step of steps) {
    if (!step.reviewed) {
      unreviewed.push(step.commit);
      continue;
    }
    if (step.tree === undefined || known.has(step.tree) || !isTrusted(known, step.parentTree)) continue;
    known.add(step.tree);
    newlyTrusted.push({ tree: step.tree, commit: step.commit });
  }
  return { newlyTrusted, unreviewed };
}

/**
 * Does the merge commit's content of the set equal what was approved, the approved head merged
 * onto the merge's first parent? A conflicted merge never matches: its resolution was made after
 * the approval, and no reviewer saw it. The ids are of the set's folder (or file, for
 * `anvil.yaml`) in the merged tree and in the merge commit; undefined when it is absent there.
 */
export function mergeMatchesApproval(approved: { clean: boolean; id: string | undefined } | undefined, merged: string | undefined): boolean {
  if (!approved || !approved.clean) return false;
  return approved.id === merged;
}
