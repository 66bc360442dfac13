/** The pure rules of issue 18: trusted content, evil merges, what a release tag must be. */
import { expect } from 'chai';
import { checkReleaseTag } from '../../src/policy/release-tag-rules.ts';
import { isAnnotated } from '../../src/repo/release-tags.ts';
import { isTrusted, mergeMatchesApproval, walkTrust, type TrustStep } from '../../src/review/trust-rules.ts';

const step = (commit: string, parentTree: string | undefined, tree: string | undefined, reviewed: boolean): TrustStep => ({ commit, parentTree, tree, reviewed });

describe('trust rules (issue 18)', () => {
  describe('walkTrust', () => {
    const cases: [string, string[], TrustStep[], { trees: string[]; unreviewed: string[] }][] = [
      ['a reviewed merge on trusted content is trusted', ['T0'], [step('m1', 'T0', 'T1', true)], { trees: ['T1'], unreviewed: [] }],
      ['an unreviewed commit adds nothing and is listed', ['T0'], [step('u', 'T0', 'TU', false)], { trees: [], unreviewed: ['u'] }],
      ['a reviewed merge on top of an unreviewed commit does not vouch for it', ['T0'],
        [step('u', 'T0', 'TU', false), step('m', 'TU', 'TUP', true)], { trees: [], unreviewed: ['u'] }],
      ['a chain of reviewed merges stays trusted', ['T0'],
        [step('m1', 'T0', 'T1', true), step('m2', 'T1', 'T2', true)], { trees: ['T1', 'T2'], unreviewed: [] }],
      ['after a revert back to trusted content, reviewed merges are trusted again', ['T0'],
        [step('u', 'T0', 'TU', false), step('r', 'TU', 'T0', true), step('m', 'T0', 'T3', true)], { trees: ['T3'], unreviewed: ['u'] }],
      ['a set the pull request creates is all diff: trusted', [], [step('m', undefined, 'TNEW', true)], { trees: ['TNEW'], unreviewed: [] }],
      ['a removal makes no tree trusted', ['T0'], [step('m', 'T0', undefined, true)], { trees: [], unreviewed: [] }],
    ];
    for (const [name, trusted, steps, expected] of cases) {
      it(name, () => {
        const walk = walkTrust(new Set(trusted), steps);
        expect(walk.newlyTrusted.map((t) => t.tree)).to.deep.equal(expected.trees);
        expect(walk.unreviewed).to.deep.equal(expected.unreviewed);
      });
    }

    it('names the merge that made each tree trusted, and never repeats one', () => {
      const walk = walkTrust(new Set(['T0']), [step('m1', 'T0', 'T1', true), step('m2', 'T1', 'T0', true), step('m3', 'T0', 'T1', true)]);
      expect(walk.newlyTrusted).to.deep.equal([{ tree: 'T1', commit: 'm1' }]);
    });

    it('content with no folder is trusted; other content only when known', () => {
      expect(isTrusted(new Set(), undefined)).to.equal(true);
      expect(isTrusted(new Set(['a']), 'a')).to.equal(true);
      expect(isTrusted(new Set(['a']), 'b')).to.equal(false);
    });
  });

  describe('mergeMatchesApproval', () => {
    it('matches only a clean merge with the same content', () => {
      expect(mergeMatchesApproval({ clean: true, id: 'x' }, 'x')).to.equal(true);
      expect(mergeMatchesApproval({ clean: true, id: 'x' }, 'y'), 'an evil merge').to.equal(false);
      expect(mergeMatchesApproval({ clean: false, id: 'x' }, 'x'), 'a conflict, even resolved as git left it').to.equal(false);
      expect(mergeMatchesApproval(undefined, 'x'), 'git could not merge').to.equal(false);
      expect(mergeMatchesApproval({ clean: true, id: undefined }, undefined), 'both without the folder').to.equal(true);
      expect(mergeMatchesApproval({ clean: true, id: undefined }, 'x'), 'a folder the merge commit added').to.equal(false);
    });
  });

  describe('checkReleaseTag', () => {
    it('lets an annotated tag on the branch through', () => {
      expect(checkReleaseTag({ tag: 'core@1.0.0', annotated: true, branch: 'main', onBranch: true })).to.equal(undefined);
    });

    it('refuses a lightweight tag, saying to use git tag -a', () => {
      const refusal = checkReleaseTag({ tag: 'core@1.0.0', annotated: false, branch: 'main', onBranch: true })!;
      expect(refusal.kind).to.equal('decision.tag-refused');
      expect(refusal.reason).to.include('lightweight');
      expect(refusal.hint).to.include('git tag -a');
      expect(refusal.status).to.equal('core@1.0.0: lightweight release tag refused');
    });

    it('refuses a tag off the branch, naming the branch', () => {
      const refusal = checkReleaseTag({ tag: 'core@1.0.0', annotated: true, branch: 'trunk', onBranch: false })!;
      expect(refusal.reason).to.include('not on trunk');
      expect(refusal.hint).to.include('tag a commit of trunk');
      expect(refusal.status).to.include('off the default branch');
    });

    it('gives both reasons at once, and keeps the status within GitHub\'s 140 characters', () => {
      const refusal = checkReleaseTag({ tag: `${'x'.repeat(150)}@1.0.0`, annotated: false, branch: undefined, onBranch: false })!;
      expect(refusal.reason).to.include('lightweight').and.to.include('the default branch');
      expect(refusal.status.length).to.be.at.most(140);
    });
  });

  it('isAnnotated: a tag object, not a bare ref', () => {
    expect(isAnnotated({ name: 'a@1.0.0', set: 'a', version: '1.0.0', commit: 'c', tagObject: 't' })).to.equal(true);
    expect(isAnnotated({ name: 'a@1.0.0', set: 'a', version: '1.0.0', commit: 'c' })).to.equal(false);
  });
});
