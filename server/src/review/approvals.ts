/**
 * Whose approval of a pull request counts for a set (DESIGN §6, issue 6):
 * - each reviewer's latest verdict decides (a later "changes requested" or a dismissal cancels
 *   an approval; a plain comment does not), as GitHub itself reads reviews;
 * - an approval counts only for the commit it was given on, which must be the current head: a
 *   new push makes every earlier approval stale;
 * - the pull request's author never approves their own change;
 * - when `set.yaml` lists `reviewers`, only those logins and members of those `org/team`s
 *   count; otherwise anyone GitHub would count (write access to the repository).
 * The membership questions go through `WhoMayApprove`, so the rules are tested without GitHub.
 */
import type { ReviewInfo } from '../github/github-api.ts';

/** Logins whose latest verdict is an approval of `headSha`, the author's excluded. Pure. */
export function currentApprovers(reviews: readonly ReviewInfo[], pull: { headSha: string; author: string }): string[] {
  const latest = new Map<string, ReviewInfo>();
  const ordered = [...reviews].sort((a, b) => (a.submittedAt ?? '').localeCompare(b.submittedAt ?? '') || a.id - b.id);
  for (const review of ordered) {
    // A comment (or a pending draft) leaves the reviewer's verdict as it was.
    if (review.state !== 'APPROVED' && review.state !== 'CHANGES_REQUESTED' && review.state !== 'DISMISSED') continue;
    latest.set(review.reviewer.toLowerCase(), review);
  }
  const author = pull.author.toLowerCase();
  return [...latest.values()]
    .filter((r) => r.state === 'APPROVED' && r.commitId === pull.headSha && r.reviewer.toLowerCase() !== author)
    .map((r) => r.reviewer)
    .sort();
}

export interface WhoMayApprove {
  isTeamMember(org: string, team: string, login: string): Promise<boolean>;
  canWrite(login: string): Promise<boolean>;
}

/** Of `approvers`, those allowed to approve a set with these `reviewers` (undefined: not narrowed). */
export async function allowedApprovers(approvers: readonly string[], reviewers: readonly string[] | undefined, who: WhoMayApprove): Promise<string[]> {
  const allowed: string[] = [];
  for (const login of approvers) {
    if (await mayApprove(login, reviewers, who)) allowed.push(login);
  }
  return allowed;
}

async function mayApprove(login: string, reviewers: readonly string[] | undefined, who: WhoMayApprove): Promise<boolean> {
  if (reviewers === undefined) return who.canWrite(login);
  const lower = login.toLowerCase();
  for (const reviewer of reviewers) {
    const slash = reviewer.indexOf('/');
    if (slash < 0) {
      if (reviewer.toLowerCase() === lower) return true;
    } else if (await who.isTeamMember(reviewer.slice(0, slash), reviewer.slice(slash + 1), login)) {
      return true;
    }
  }
  return false;
}
