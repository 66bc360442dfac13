/**
 * DESIGN §1/§5: "a release is an annotated tag `<set>@<semver>` on a commit of the default
 * branch". The forge holds every provider to it before any policy decision (issue 18): with a
 * plain git remote nothing else stands between a tag and production, and with GitHub a tag on a
 * side branch would otherwise be refused only by accident (its commits happen to be unreviewed).
 * Pure: whether the tag is annotated and whether its commit is on the branch are read by the caller.
 */

export interface ReleaseTagFacts {
  tag: string;
  /** An annotated tag object, not a bare ref. */
  annotated: boolean;
  /** The default branch the forge publishes from; undefined when the mirror has none. */
  branch: string | undefined;
  /** The tag's commit is the branch's head as synced, or one of its ancestors. */
  onBranch: boolean;
}

export interface TagRefusal {
  kind: 'decision.tag-refused';
  /** For the audit log and the logs. */
  reason: string;
  /** What to do instead. */
  hint: string;
  /** The failing commit status's description (GitHub caps it at 140 characters). */
  status: string;
}

/** Why the tag cannot be a release, or undefined when it may go on to the policy. */
export function checkReleaseTag(facts: ReleaseTagFacts): TagRefusal | undefined {
  const problems: string[] = [];
  const hints: string[] = [];
  if (!facts.annotated) {
    problems.push('is a lightweight tag (releases are annotated tags)');
    hints.push('create release tags with git tag -a (anvil release does)');
  }
  if (!facts.onBranch) {
    const branch = facts.branch ?? 'the default branch';
    problems.push(`marks a commit that is not on ${branch}`);
    hints.push(`tag a commit of ${branch}`);
  }
  if (problems.length === 0) return undefined;
  const what = [!facts.annotated ? 'lightweight' : undefined, !facts.onBranch ? 'off the default branch' : undefined].filter(Boolean).join(', ');
  return {
    kind: 'decision.tag-refused',
    reason: `release tag ${facts.tag} ${problems.join(' and ')}: nothing published`,
    // The forge remembers the tag as seen, so re-creating it changes nothing: the next version is the way on.
    hint: `${hints.join('; ')}; this version stays refused, release the next one`,
    status: `${facts.tag}: ${what} release tag refused`.slice(0, 140),
  };
}
