import { expect } from 'chai';
import { validateLockFile } from '../src/index.ts';
import { codes, mutable, sampleLockFile } from './support/samples.ts';

describe('validateLockFile', () => {
  it('accepts a lock file closed over its dependencies', () => {
    const lock = sampleLockFile();
    const result = validateLockFile(lock);
    expect(result.ok, JSON.stringify(result.errors)).to.equal(true);
    expect(result.value).to.equal(lock);
  });

  it('refuses a dependency that is not locked, or locked at another version', () => {
    const lock = mutable(sampleLockFile());
    lock.sets.onboarding.dependencies = { core: '2.0.0', style: '1.0.0' };
    const result = validateLockFile(lock);
    expect(codes(result.errors)).to.have.members([
      'lock.dependency-mismatch@/sets/onboarding/dependencies/core',
      'lock.missing-dependency@/sets/onboarding/dependencies/style',
    ]);
    expect(result.errors[0]?.hint).to.match(/anvil-live install/);
  });

  it('reports format, ranges where versions belong, and bad URLs', () => {
    const lock = mutable(sampleLockFile());
    lock.format = 'anvil.lock/0';
    lock.channel = 'canary';
    lock.sets.core.version = '^2.0.1';
    lock.sets.core.resolved = 'not a url';
    lock.sets.core.integrity = 'sha256-short';
    const result = validateLockFile(lock);
    expect(codes(result.errors)).to.have.members([
      'schema.const@/format',
      'schema.enum@/channel',
      'schema.pattern@/sets/core/version',
      'lock.resolved-url@/sets/core/resolved',
      'schema.pattern@/sets/core/integrity',
    ]);
  });
});
