import type { LockFile } from '../schemas/lock-file.ts';
import type { ValidationResult } from './issues.ts';
import { joinPointer } from './issues.ts';
import { entriesOf, fieldAt, stringAt } from './read-data.ts';
import { runValidation } from './run-validation.ts';
import { checkVersion } from './semver-checks.ts';

/**
 * Validates a parsed `anvil.lock.json`: its shape, that versions are exact, that `resolved`
 * is a URL, and that every dependency is itself locked at the version depended on (a lock
 * file that is not closed over its dependencies cannot be installed frozen).
 */
export function validateLockFile(input: unknown): ValidationResult<LockFile> {
  return runValidation<LockFile>(input, {
    validator: 'lock-file',
    check(data, { error, faulted }) {
      const sets = fieldAt(data, 'sets');
      for (const [name, locked] of entriesOf(sets)) {
        const base = joinPointer('/sets', name);
        checkVersion(error, `${base}/version`, fieldAt(locked, 'version'));
        const resolved = stringAt(locked, 'resolved');
        if (resolved !== undefined && !URL.canParse(resolved)) {
          error(`${base}/resolved`, 'lock.resolved-url', `"${resolved}" is not an absolute URL`);
        }
        for (const [dependency, version] of entriesOf(fieldAt(locked, 'dependencies'))) {
          const path = joinPointer(`${base}/dependencies`, dependency);
          checkVersion(error, path, version);
          if (typeof version !== 'string' || faulted(joinPointer('/sets', dependency, 'version'))) continue;
          const lockedVersion = stringAt(fieldAt(sets, dependency), 'version');
          if (lockedVersion === undefined) {
            error(path, 'lock.missing-dependency', `${name} depends on ${dependency}@${version}, which is not locked`, 'run `anvil-live install` to update the lock file');
          } else if (lockedVersion !== version) {
            error(
              path,
              'lock.dependency-mismatch',
              `${name} depends on ${dependency}@${version}, but ${dependency} is locked at ${lockedVersion}`,
              'run `anvil-live install` to update the lock file',
            );
          }
        }
      }
    },
  });
}
