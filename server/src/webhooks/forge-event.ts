/**
 * The one shape every webhook source produces (DESIGN §2: webhooks → mirror → …). GitHub's
 * events (github-event.ts) and the git hook's ref updates (git-webhook.ts) both come out as
 * `ForgeEvent`s, so what follows (mirror, build, review, policy) never looks at a source's
 * payload. Fields are GitHub's, renamed to camelCase; optional ones are there when the source
 * knows them.
 */

export interface PingEvent {
  kind: 'ping';
  project: string;
  deliveryId: string;
}

/** A branch or tag moved, appeared or disappeared. One event per ref. */
export interface PushEvent {
  kind: 'push';
  project: string;
  deliveryId: string;
  /** `refs/heads/<branch>` or `refs/tags/<tag>`; other refs are not passed on. */
  ref: string;
  /** The ref's old object id; all zeros when `created`. */
  before: string;
  /** The ref's new object id; all zeros when `deleted`. */
  after: string;
  created: boolean;
  deleted: boolean;
  /** The old commit is not an ancestor of the new one (a force push). */
  forced: boolean;
  /** Who pushed: the GitHub login; absent for the git hook. */
  sender?: string;
}

/** A tag was created on GitHub (`create` with ref_type tag, or a published/edited `release`). */
export interface TagEvent {
  kind: 'tag';
  project: string;
  deliveryId: string;
  /** The tag's short name (`onboarding@1.2.0`), not `refs/tags/…`. */
  tag: string;
  sender?: string;
  /** Which GitHub event said so. */
  via?: 'create' | 'release';
  /** For a release: GitHub's prerelease flag (the semver prerelease part is what counts). */
  prerelease?: boolean;
}

export interface PullRequestEvent {
  kind: 'pull-request';
  project: string;
  deliveryId: string;
  /** GitHub's action: opened, synchronize, reopened, closed, edited, ready_for_review. */
  action: string;
  number: number;
  headSha: string;
  headRef: string;
  baseRef: string;
  baseSha: string;
  /** True only on `closed` when the pull request was merged. */
  merged: boolean;
  /** The merge commit on the base branch; present only when `merged`. */
  mergeCommitSha?: string;
  /** Who opened the pull request (login). */
  author: string;
  /** The author's relation to the repository: OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, NONE… */
  authorAssociation?: string;
  /** `owner/repo` the head branch lives in; another repository than the base means a fork. */
  headRepository?: string;
  draft?: boolean;
  sender?: string;
}

export interface PullRequestReviewEvent {
  kind: 'pull-request-review';
  project: string;
  deliveryId: string;
  /** submitted, dismissed or edited. */
  action: string;
  number: number;
  /** approved, changes_requested, commented or dismissed (lower case, whatever GitHub sent). */
  state: string;
  reviewer: string;
  /** The commit the review was made on; an approval counts for that commit only. */
  commitId: string;
  /** The pull request's head when the event was sent. */
  headSha: string;
  /** GitHub's review id: a later `dismissed` names the approval it cancels by this id. */
  reviewId?: number;
  /** The reviewer's relation to the repository (OWNER, MEMBER, COLLABORATOR…). */
  reviewerAssociation?: string;
  submittedAt?: string;
  sender?: string;
}

export type ForgeEvent = PingEvent | PushEvent | TagEvent | PullRequestEvent | PullRequestReviewEvent;

/**
 * What the forge does with an event. Called in the background after the webhook was answered;
 * a rejection is logged and audited (`webhook.failed`), never retried by the webhook layer.
 */
export type ForgeEventHandler = (event: ForgeEvent) => Promise<void>;

/** The all-zeros object id git uses for "no object" (SHA-1 or SHA-256 length). */
export function isZeroId(id: string): boolean {
  return /^0+$/.test(id);
}
