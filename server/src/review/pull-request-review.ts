/**
 * What the forge found when it checked a pull request (DESIGN §6: lint, semver impact, rendered
 * diff, needs approval), as plain data. `check-pull-request.ts` fills it from the mirror; the
 * check run, the commit status and the PR comment are composed from it by pure functions
 * (`compose-check.ts`, `compose-review-comment.ts`), so what GitHub shows is tested without
 * GitHub.
 */
import type { SetModeName } from '@anvil/content-schema';
import type { PromptDiff } from '../diff/rendered-diff.ts';
import type { Problem } from '../lint/problem.ts';
import type { ContractChange, Impact } from '../release/contract-diff.ts';

/** Where the approvals of a set stand at the pull request's current head. */
export interface SetApproval {
  /** Logins whose approval of the current head counts for this set. */
  approvedBy: string[];
  /** `set.yaml` `reviewers` (logins and `org/team`), when the set narrows who may approve. */
  reviewers?: string[];
}

export interface SetReview {
  set: string;
  /** The set's folder, repository-relative (`prompts/onboarding`). */
  dir: string;
  /** The mode at the pull request's head (at the base when the set is removed). */
  mode: SetModeName;
  /** `review` and `locked` sets need an approval before their merge counts as reviewed. */
  needsApproval: boolean;
  /** The set is new in this pull request, or removed by it. */
  change: 'added' | 'changed' | 'removed';
  /** The release the change needs, judged as `anvil release` does, against the base. */
  impact: Impact;
  /** The set's highest stable release so far, and the version a release of the head would take. */
  latestRelease?: string;
  nextVersion?: string;
  contractChanges: ContractChange[];
  /** Lint problems in the set's files (repository-relative paths, with line and column). */
  problems: Problem[];
  /** Prompts and variants whose rendering changed (unchanged ones are left out). */
  prompts: PromptDiff[];
  /** Why the head (or base) could not be built; no diff or impact then. */
  buildError?: string;
  approval?: SetApproval;
}

export interface PullRequestReview {
  project: string;
  /** `owner/repo`. */
  repository: string;
  number: number;
  headSha: string;
  baseRef: string;
  baseSha: string;
  /** Every set whose files the pull request changes, by name. */
  sets: SetReview[];
  /** Problems outside any set (anvil.yaml, unknown folders) at the head. */
  repoProblems: Problem[];
}
