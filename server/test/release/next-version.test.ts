import { expect } from 'chai';
import { isAnvilError } from '@anvil/content-schema';
import type { Impact } from '../../src/release/contract-diff.ts';
import { chooseVersion, declaredImpact } from '../../src/release/next-version.ts';

const impact = (i: Impact) => () => i;

function refusal(fn: () => unknown): { code: string; message: string; hint?: string | undefined } {
  try {
    fn();
  } catch (err) {
    if (isAnvilError(err)) return { code: err.code, message: err.message, hint: err.hint };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('the semver guard', function () {
  it('reads bumps as caret ranges do, below 1.0.0 too', function () {
    expect(declaredImpact('1.2.3', '2.0.0')).to.equal('major');
    expect(declaredImpact('1.2.3', '1.3.0')).to.equal('minor');
    expect(declaredImpact('1.2.3', '1.2.4')).to.equal('patch');
    expect(declaredImpact('0.2.3', '0.3.0')).to.equal('major');
    expect(declaredImpact('0.2.3', '0.2.4')).to.equal('minor');
    expect(declaredImpact('0.0.3', '0.0.4')).to.equal('major');
    expect(declaredImpact('1.2.3', '2.0.0-rc.0')).to.equal('major');
  });

  it('auto picks the smallest bump that declares the change', function () {
    expect(chooseVersion(['1.2.0'], { request: 'auto' }, impact('patch')).version).to.equal('1.2.1');
    expect(chooseVersion(['1.2.0'], { request: 'auto' }, impact('minor')).version).to.equal('1.3.0');
    expect(chooseVersion(['1.2.0', '1.1.0'], { request: 'auto' }, impact('major')).version).to.equal('2.0.0');
    expect(chooseVersion(['0.2.0'], { request: 'auto' }, impact('major')).version).to.equal('0.3.0');
    expect(chooseVersion([], { request: 'auto' }, impact('none')).version).to.equal('1.0.0');
  });

  it('refuses auto when nothing changed', function () {
    expect(refusal(() => chooseVersion(['1.2.0'], { request: 'auto' }, impact('none'))).code).to.equal('release.no-changes');
  });

  it('refuses a bump or version that under-declares a breaking change, and says what would do', function () {
    const r = refusal(() => chooseVersion(['1.2.0'], { request: 'minor', set: 'onboarding' }, impact('major')));
    expect(r.code).to.equal('release.under-declared');
    expect(r.message).to.equal('1.3.0 declares a minor change after 1.2.0, but the changes are major');
    expect(r.hint).to.contain('2.0.0').and.contain('anvil release onboarding major');
    expect(refusal(() => chooseVersion(['1.2.0'], { request: '1.2.1' }, impact('minor'))).code).to.equal('release.under-declared');
    expect(refusal(() => chooseVersion(['1.2.0'], { request: '1.3.0-rc.0' }, impact('major'))).code).to.equal('release.under-declared');
  });

  it('accepts over-declaring, and exact versions with prerelease and build metadata', function () {
    expect(chooseVersion(['1.2.0'], { request: 'major' }, impact('patch')).version).to.equal('2.0.0');
    expect(chooseVersion(['2.0.0'], { request: '2.1.0-gpt4+tokens.1500' }, impact('minor')).version).to.equal('2.1.0-gpt4+tokens.1500');
  });

  it('numbers prereleases of a bump one after another', function () {
    expect(chooseVersion(['1.2.0'], { request: 'minor', preid: 'rc' }, impact('minor')).version).to.equal('1.3.0-rc.0');
    expect(chooseVersion(['1.2.0', '1.3.0-rc.0'], { request: 'minor', preid: 'rc' }, impact('minor')).version).to.equal('1.3.0-rc.1');
    // The final release after its release candidates is compared with 1.2.0, not with the rc.
    expect(chooseVersion(['1.2.0', '1.3.0-rc.1'], { request: 'minor' }, impact('minor'))).to.deep.equal({ version: '1.3.0', base: '1.2.0', declared: 'minor' });
  });

  it('refuses versions that exist, that only differ in build metadata, or that go backwards', function () {
    expect(refusal(() => chooseVersion(['1.2.0'], { request: '1.2.0' }, impact('patch'))).code).to.equal('release.exists');
    expect(refusal(() => chooseVersion(['1.2.0'], { request: '1.2.0+build.2' }, impact('patch'))).code).to.equal('release.exists');
    expect(refusal(() => chooseVersion(['1.2.0'], { request: '1.1.9' }, impact('patch'))).code).to.equal('release.backwards');
    expect(refusal(() => chooseVersion(['1.2.0'], { request: 'huge' }, impact('patch'))).code).to.equal('release.bad-request');
  });

  it('has no guard before the first stable release', function () {
    expect(chooseVersion(['1.0.0-rc.0'], { request: '1.0.0-rc.1' }, impact('major')).base).to.equal(undefined);
  });
});
