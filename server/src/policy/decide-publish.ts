/**
 * The mode/channel policy of DESIGN.md §6 as one pure function: a git event as it concerns one
 * set, and the set's mode → what to publish where, what to audit, what to report on the commit.
 * Every cell of the §6 table is a row in its test.
 */
import type { Channel, SetModeName } from '@anvil/content-schema';

export type PolicyEvent =
  /** A push to the default branch that changes the set. `reviewedMerge`: it is the merge of a
   *  pull request approved for this set (always false for a plain git remote). */
  | { kind: 'push'; reviewedMerge: boolean }
  /** A pull request opened, updated or reopened that touches the set. */
  | { kind: 'pull-request' }
  /** A release tag of the set. `unreviewedChange`: the release carries a change to the set's
   *  files that no approved, merged pull request covers. */
  | { kind: 'release'; prerelease: boolean; unreviewedChange: boolean };

export interface PolicyInput {
  event: PolicyEvent;
  mode: SetModeName;
  /** The set has lint errors at this commit. */
  lintErrors: boolean;
}

export type AuditKind =
  | 'decision.publish'
  | 'decision.nothing'
  | 'decision.lint-failed'
  | 'decision.unreviewed-change'
  | 'decision.unreviewed-release';

export interface PolicyDecision {
  /** What to build and to which channels; absent when nothing is published. */
  publish?: { stage: 'head' | 'release'; channels: Channel[] };
  /** A pull request check: lint, semver impact, rendered diff; and whether approval is needed. */
  check?: { needsApproval: boolean };
  /** A failing commit status to post, with its description. */
  failStatus?: string;
  audit: AuditKind;
  /** Why, in words for the audit log and the logs. */
  reason: string;
}

const ALL_BUT_PRODUCTION: Channel[] = ['staging', 'development'];

export function decidePublish(input: PolicyInput): PolicyDecision {
  const { event, mode } = input;
  if (event.kind === 'pull-request') {
    return {
      check: { needsApproval: mode !== 'live' },
      ...(input.lintErrors ? { failStatus: 'lint errors' } : {}),
      audit: 'decision.nothing',
      reason: `a pull request publishes nothing; it is checked${mode === 'live' ? '' : ' and needs approval'}`,
    };
  }
  if (input.lintErrors) {
    return { audit: 'decision.lint-failed', failStatus: 'lint errors: nothing published', reason: 'the set has lint errors, so nothing is published' };
  }
  if (event.kind === 'push') {
    if (mode === 'live') {
      return { publish: { stage: 'head', channels: ['development'] }, audit: 'decision.publish', reason: 'live set changed on the default branch: head build to development' };
    }
    if (!event.reviewedMerge) {
      return {
        audit: 'decision.unreviewed-change',
        failStatus: `unreviewed change to a ${mode} set: nothing published`,
        reason: `${mode} set changed on the default branch without an approved, merged pull request`,
      };
    }
    if (mode === 'review') {
      return { publish: { stage: 'head', channels: ['staging', 'development'] }, audit: 'decision.publish', reason: 'reviewed merge of a review set: head build to staging and development' };
    }
    return { audit: 'decision.nothing', reason: 'a locked set publishes only from releases' };
  }
  // A release tag.
  if (mode !== 'live' && event.unreviewedChange) {
    return {
      audit: 'decision.unreviewed-release',
      failStatus: `release of a ${mode} set carries an unreviewed change: refused`,
      reason: `the release carries a change to a ${mode} set that no approved, merged pull request covers`,
    };
  }
  if (event.prerelease) {
    return { publish: { stage: 'release', channels: ALL_BUT_PRODUCTION }, audit: 'decision.publish', reason: 'prerelease: staging and development' };
  }
  if (mode === 'locked') {
    return { publish: { stage: 'release', channels: ['production', ...ALL_BUT_PRODUCTION] }, audit: 'decision.publish', reason: 'release of a locked set: production, staging and development' };
  }
  return { publish: { stage: 'release', channels: ALL_BUT_PRODUCTION }, audit: 'decision.publish', reason: `release of a ${mode} set: staging and development (only locked sets reach production)` };
}
