import { findAliasNameProblem } from '../address.ts';
import type { ResolvedRepoConfig } from '../schemas/repo-config.ts';
import type { ValidationResult } from './issues.ts';
import { joinPointer } from './issues.ts';
import { entriesOf, fieldAt } from './read-data.ts';
import { runValidation } from './run-validation.ts';
import { checkVersion } from './semver-checks.ts';

/**
 * Validates a parsed `anvil.yaml`. On success `value` is a copy with `promptsDir: prompts` and
 * `rollouts: {}` and `aliases: {}` filled in when absent.
 */
export function validateRepoConfig(input: unknown): ValidationResult<ResolvedRepoConfig> {
  return runValidation<ResolvedRepoConfig>(input, {
    validator: 'repo-config',
    check(data, { error }) {
      for (const [set, channels] of entriesOf(fieldAt(data, 'rollouts'))) {
        for (const [channel, rollout] of entriesOf(channels)) {
          checkVersion(error, joinPointer('/rollouts', set, channel, 'version'), fieldAt(rollout, 'version'));
        }
      }
      for (const [set, aliases] of entriesOf(fieldAt(data, 'aliases'))) {
        for (const [alias, version] of entriesOf(aliases)) {
          const path = joinPointer('/aliases', set, alias);
          // The pattern is the schema's; what it cannot say (a channel, "latest", a range) is said here.
          const problem = /^[a-z][a-z0-9_-]*$/.test(alias) ? findAliasNameProblem(alias) : undefined;
          if (problem) error(path, 'alias.name', problem.message, problem.hint);
          checkVersion(error, path, version);
        }
      }
    },
  });
}
