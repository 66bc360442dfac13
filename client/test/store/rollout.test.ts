import { expect } from 'chai';
import { inRollout, instanceRolloutSeed, rolloutBucket } from '../../src/store/rollout.ts';

describe('rollouts (DESIGN.md §6)', function () {
  it('puts a key in the same bucket every time, in every process', function () {
    // Pinned values: a change here would move users between versions on upgrade.
    expect(rolloutBucket('user-1', 'onboarding', '1.3.0')).to.equal(rolloutBucket('user-1', 'onboarding', '1.3.0'));
    expect([rolloutBucket('user-1', 'onboarding', '1.3.0'), rolloutBucket('user-2', 'onboarding', '1.3.0')]).to.deep.equal([6134, 7880]);
  });

  it('gives buckets from 0 to 9,999', function () {
    for (let i = 0; i < 2000; i++) {
      const b = rolloutBucket(`k${i}`, 's', '1.0.0');
      expect(b).to.be.within(0, 9999);
      expect(Number.isInteger(b)).to.equal(true);
    }
  });

  it('serves the rollout to about the given share of keys', function () {
    let hits = 0;
    for (let i = 0; i < 10_000; i++) if (inRollout(`user-${i}`, 'onboarding', '1.3.0', 10)) hits++;
    // Binomial(10000, 0.1): sd = 30, so ±150 is five standard deviations.
    expect(hits).to.be.within(850, 1150);
  });

  it('is sticky: raising the percent only adds keys', function () {
    const at10 = new Set<number>();
    for (let i = 0; i < 5000; i++) if (inRollout(`u${i}`, 'onboarding', '1.3.0', 10)) at10.add(i);
    let at25 = 0;
    for (let i = 0; i < 5000; i++) {
      const inNow = inRollout(`u${i}`, 'onboarding', '1.3.0', 25);
      if (at10.has(i)) expect(inNow, `u${i}`).to.equal(true);
      if (inNow) at25++;
    }
    expect(at25).to.be.greaterThan(at10.size);
  });

  it('draws a different cohort for each set and version', function () {
    const cohort = (set: string, version: string) => Array.from({ length: 2000 }, (_, i) => inRollout(`u${i}`, set, version, 50));
    const a = cohort('onboarding', '1.3.0');
    const differ = (b: boolean[]) => b.filter((x, i) => x !== a[i]).length;
    expect(differ(cohort('onboarding', '1.4.0'))).to.be.greaterThan(700);
    expect(differ(cohort('billing', '1.3.0'))).to.be.greaterThan(700);
  });

  it('honours 0 and 100 exactly, and fractions of a percent', function () {
    for (let i = 0; i < 500; i++) {
      expect(inRollout(`u${i}`, 's', '1.0.0', 0)).to.equal(false);
      expect(inRollout(`u${i}`, 's', '1.0.0', 100)).to.equal(true);
      expect(inRollout(`u${i}`, 's', '1.0.0', 0.5)).to.equal(rolloutBucket(`u${i}`, 's', '1.0.0') < 50);
    }
  });

  it('draws one seed per process for calls without a key', function () {
    expect(instanceRolloutSeed()).to.be.a('string').with.length.greaterThan(10);
    expect(instanceRolloutSeed()).to.equal(instanceRolloutSeed());
  });
});
