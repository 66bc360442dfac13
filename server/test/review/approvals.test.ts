import { expect } from 'chai';
import type { ReviewInfo } from '../../src/github/github-api.ts';
import { allowedApprovers, currentApprovers, type WhoMayApprove } from '../../src/review/approvals.ts';

const HEAD = 'h'.repeat(40);
const OLD = 'o'.repeat(40);
let id = 0;
const review = (reviewer: string, state: string, commitId = HEAD, minute = ++id): ReviewInfo =>
  ({ id: minute, reviewer, state, commitId, submittedAt: `2026-01-01T00:${String(minute).padStart(2, '0')}:00Z` });

describe('review: whose approval counts', () => {
  const pull = { headSha: HEAD, author: 'alice' };

  it('an approval of the current head counts', () => {
    expect(currentApprovers([review('bob', 'APPROVED')], pull)).to.deep.equal(['bob']);
  });

  it('an approval of an earlier head is stale', () => {
    expect(currentApprovers([review('bob', 'APPROVED', OLD)], pull)).to.deep.equal([]);
  });

  it('the author\'s own approval never counts, whatever the case of the login', () => {
    expect(currentApprovers([review('Alice', 'APPROVED'), review('alice', 'APPROVED')], pull)).to.deep.equal([]);
  });

  it('a later "changes requested" or a dismissal cancels an approval; a later comment does not', () => {
    expect(currentApprovers([review('bob', 'APPROVED'), review('bob', 'CHANGES_REQUESTED')], pull)).to.deep.equal([]);
    expect(currentApprovers([review('bob', 'DISMISSED'), review('carol', 'APPROVED'), review('carol', 'COMMENTED')], pull)).to.deep.equal(['carol']);
    expect(currentApprovers([review('bob', 'CHANGES_REQUESTED'), review('bob', 'APPROVED')], pull)).to.deep.equal(['bob']);
  });

  it('reviews are read in the order they were submitted, not the order listed', () => {
    const late = review('bob', 'APPROVED', HEAD, 50);
    const early = review('bob', 'CHANGES_REQUESTED', HEAD, 10);
    expect(currentApprovers([late, early], pull)).to.deep.equal(['bob']);
  });

  describe('set.yaml reviewers', () => {
    const asked: string[] = [];
    const who: WhoMayApprove = {
      isTeamMember: async (org, team, login) => {
        asked.push(`team ${org}/${team} ${login}`);
        return org === 'acme' && team === 'prompt-owners' && login === 'dave';
      },
      canWrite: async (login) => {
        asked.push(`write ${login}`);
        return login !== 'eve';
      },
    };

    it('without reviewers, anyone with write access counts', async () => {
      expect(await allowedApprovers(['bob', 'eve'], undefined, who)).to.deep.equal(['bob']);
    });

    it('with reviewers, only the named logins and members of the named teams count', async () => {
      asked.length = 0;
      expect(await allowedApprovers(['bob', 'Carol', 'dave'], ['carol', 'acme/prompt-owners'], who)).to.deep.equal(['Carol', 'dave']);
      expect(asked, 'write access is not what counts here').to.not.include('write bob');
    });

    it('an empty list lets nobody approve', async () => {
      expect(await allowedApprovers(['bob', 'dave'], [], who)).to.deep.equal([]);
    });
  });
});
