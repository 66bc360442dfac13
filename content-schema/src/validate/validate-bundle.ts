import semver from 'semver';
import type { Bundle } from '../schemas/bundle.ts';
import { isBundlePrompts } from './deferred-prompts.ts';
import type { ValidationResult } from './issues.ts';
import { joinPointer } from './issues.ts';
import { entriesOf, fieldAt, stringAt } from './read-data.ts';
import { runValidation, type CheckContext } from './run-validation.ts';
import { checkVersion } from './semver-checks.ts';
import { isExactVersion } from '../versions.ts';

export interface BundleValidationOptions {
  /**
   * Check everything but the content of each prompt's entry, which is only required to be an
   * object; the caller checks each entry with `validateBundlePrompt` before serving its prompt.
   */
  deferPrompts?: boolean;
}

/**
 * Validates a bundle's shape and internal consistency (versions, release tag, dates). It does
 * not check `integrity` against the content: that is `verifyBundleIntegrity`, kept apart so a
 * caller that already verified the bytes does not pay for hashing twice. The input is not
 * copied: on success `value` is the input itself.
 */
export function validateBundle(input: unknown, options: BundleValidationOptions = {}): ValidationResult<Bundle> {
  const deferred = options.deferPrompts === true;
  return runValidation<Bundle>(input, {
    validator: deferred ? 'bundle-outline' : 'bundle',
    ...(deferred ? { opaque: isBundlePrompts } : {}),
    check: (data, context) => checkBundle(data, '', context),
  });
}

/** The checks of one bundle at `base` (also used for each bundle of an envelope). */
export function checkBundle(data: unknown, base: string, { error, faulted }: CheckContext): void {
  const set = faulted(`${base}/set`) ? undefined : stringAt(data, 'set');
  const version = faulted(`${base}/version`) ? undefined : stringAt(data, 'version');
  const stage = stringAt(data, 'stage');
  checkVersion(error, `${base}/version`, version);

  const source = fieldAt(data, 'source');
  const tag = stringAt(source, 'tag');
  if (set !== undefined && version !== undefined) {
    const expected = `${set}@${version}`;
    if (tag !== undefined && tag !== expected) {
      error(`${base}/source/tag`, 'bundle.tag-mismatch', `tag "${tag}" does not match set and version "${expected}"`);
    } else if (tag === undefined && stage === 'release' && source !== undefined) {
      error(`${base}/source/tag`, 'bundle.tag-missing', `a release bundle names its tag ("${expected}")`);
    }
  }
  if (stage === 'head' && version !== undefined && isExactVersion(version) && semver.prerelease(version) === null) {
    error(
      `${base}/version`,
      'bundle.head-version',
      `head build version "${version}" is not a prerelease`,
      'a head build is versioned like "1.2.1-head.42+abc1234" so it sorts below the next release',
    );
  }

  const committedAt = stringAt(source, 'committedAt');
  if (committedAt !== undefined && Number.isNaN(Date.parse(committedAt))) {
    error(`${base}/source/committedAt`, 'bundle.committed-at', `"${committedAt}" is not a real date`);
  }

  for (const [dependency, exact] of entriesOf(fieldAt(data, 'dependencies'))) {
    const path = joinPointer(`${base}/dependencies`, dependency);
    if (dependency === set) error(path, 'bundle.self-dependency', `set "${set}" depends on itself`);
    checkVersion(error, path, exact);
  }
}
