import type { ResolvedSetConfig } from '../schemas/set-config.ts';
import type { ValidationResult } from './issues.ts';
import { joinPointer } from './issues.ts';
import { entriesOf, fieldAt, stringAt } from './read-data.ts';
import { runValidation } from './run-validation.ts';
import { checkRange } from './semver-checks.ts';

/**
 * Validates a parsed `set.yaml`. On success `value` is a copy with `mode: review` and
 * `dependencies: {}` filled in when absent; `name` stays absent (it defaults to the folder
 * name, which only the loader knows).
 */
export function validateSetConfig(input: unknown): ValidationResult<ResolvedSetConfig> {
  return runValidation<ResolvedSetConfig>(input, {
    validator: 'set-config',
    check(data, { error }) {
      const name = stringAt(data, 'name');
      for (const [dependency, range] of entriesOf(fieldAt(data, 'dependencies'))) {
        const path = joinPointer('/dependencies', dependency);
        if (name !== undefined && dependency === name) {
          error(path, 'set.self-dependency', `set "${name}" depends on itself`, 'remove it from dependencies');
        }
        checkRange(error, path, range);
      }
    },
  });
}
