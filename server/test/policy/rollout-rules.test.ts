import { expect } from 'chai';
import { holdForRollouts, judgeRollout, policyCeiling, rolloutServable, sameEntries, type ReleaseVerdict } from '../../src/policy/rollout-rules.ts';

const allowed = (...channels: string[]): ReleaseVerdict => ({ channels, refused: false, reason: 'ok' });
const refused: ReleaseVerdict = { channels: [], refused: true, reason: 'unreviewed change' };
const entry = (version: string, channel = 'production') => ({ set: 'legal', channel, version, percent: 10 });

describe('rollout rules (issue 18)', () => {
  const table: [string, ReturnType<typeof entry>, Parameters<typeof judgeRollout>[1], RegExp | 'ok' | 'pending'][] = [
    ['a decided release, newer than the head', entry('1.3.0'), { verdict: allowed('production', 'staging'), tagged: true, mode: 'locked', headVersion: '1.2.0' }, 'ok'],
    ['a prerelease on production', entry('1.3.0-rc.1'), { verdict: allowed('staging'), tagged: true, mode: 'locked', headVersion: '1.2.0' }, /prerelease/],
    ['a refused release', entry('1.3.0'), { verdict: refused, tagged: true, mode: 'locked', headVersion: '1.2.0' }, /refused/],
    ['a release not decided for the channel', entry('1.3.0'), { verdict: allowed('staging'), tagged: true, mode: 'review', headVersion: '1.2.0' }, /not allowed on production/],
    ['an older release', entry('1.1.0'), { verdict: allowed('production'), tagged: true, mode: 'locked', headVersion: '1.2.0' }, /only moves a channel forward/],
    ['the head itself', entry('1.2.0'), { verdict: allowed('production'), tagged: true, mode: 'locked', headVersion: '1.2.0' }, /only moves a channel forward/],
    ['a version with no tag (a head build, or nothing)', entry('1.3.0', 'staging'), { verdict: undefined, tagged: false, mode: 'locked', headVersion: '1.2.0' }, /not a release/],
    ['a tagged release still to be decided, within the ceiling', entry('1.3.0'), { verdict: undefined, tagged: true, mode: 'locked', headVersion: '1.2.0' }, 'pending'],
    ['a tagged review-set release to production', entry('1.3.0'), { verdict: undefined, tagged: true, mode: 'review', headVersion: '1.2.0' }, /never reaches production/],
    ['not a version', entry('latest'), { verdict: undefined, tagged: false, mode: 'locked', headVersion: undefined }, /not an exact version/],
  ];
  for (const [label, e, facts, expected] of table) {
    it(label, () => {
      const judged = judgeRollout(e, facts);
      if (expected === 'ok' || expected === 'pending') expect(judged).to.deep.equal({ ok: true, pending: expected === 'pending' });
      else expect(judged.ok ? 'ok' : judged.reason).to.match(expected);
    });
  }

  it('at envelope time an undecided release is not served', () => {
    expect(rolloutServable(entry('1.3.0'), undefined, '1.2.0').ok).to.equal(false);
    expect(rolloutServable(entry('1.3.0'), allowed('production'), '1.2.0').ok).to.equal(true);
    expect(rolloutServable(entry('1.3.0'), allowed('production'), '1.4.0').ok).to.equal(false);
  });

  it('the policy ceiling: a prerelease or a review set never reaches production', () => {
    expect(policyCeiling('locked', '1.0.0')).to.deep.equal(['production', 'staging', 'development']);
    expect(policyCeiling('locked', '1.0.0-rc.1')).to.deep.equal(['staging', 'development']);
    expect(policyCeiling('review', '1.0.0')).to.deep.equal(['staging', 'development']);
  });

  it('holds the channels whose rollout names the version', () => {
    expect(holdForRollouts(['production', 'staging'], '1.3.0', [entry('1.3.0')])).to.deep.equal({ now: ['staging'], held: ['production'] });
    expect(holdForRollouts(['production'], '1.3.0', [entry('1.4.0')])).to.deep.equal({ now: ['production'], held: [] });
  });

  it('compares entries whatever their order', () => {
    expect(sameEntries([entry('1.0.0', 'staging'), entry('1.0.0')], [entry('1.0.0'), entry('1.0.0', 'staging')])).to.equal(true);
    expect(sameEntries([entry('1.0.0')], [{ ...entry('1.0.0'), percent: 100 }])).to.equal(false);
  });
});
