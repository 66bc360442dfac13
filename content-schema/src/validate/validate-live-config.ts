import { isAliasName } from '../address.ts';
import type { ResolvedLiveConfig } from '../schemas/live-config.ts';
import type { ValidationResult } from './issues.ts';
import { joinPointer } from './issues.ts';
import { entriesOf, fieldAt, stringAt } from './read-data.ts';
import { runValidation } from './run-validation.ts';
import { checkRange } from './semver-checks.ts';

/**
 * Validates a parsed `anvil-live.json`: its shape, that the forge is an http(s) URL and that
 * every set's range parses. On success `value` is a copy with `mode`, `cacheDir`, `sets` and
 * `token` filled in when absent.
 */
export function validateLiveConfig(input: unknown): ValidationResult<ResolvedLiveConfig> {
  return runValidation<ResolvedLiveConfig>(input, {
    validator: 'live-config',
    check(data, { error }) {
      const forge = stringAt(data, 'forge');
      if (forge !== undefined && !isHttpUrl(forge)) {
        error('/forge', 'live-config.forge-url', `"${forge}" is not an http(s) URL`, 'write the forge\'s base URL, e.g. "https://anvil.example.com"');
      }
      // A set's range may also name an alias of the set (`"onboarding": "stable"`, issue 17).
      for (const [set, range] of entriesOf(fieldAt(data, 'sets'))) if (!isAliasName(range)) checkRange(error, joinPointer('/sets', set), range);
    },
  });
}

function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const { protocol } = new URL(text);
  return protocol === 'https:' || protocol === 'http:';
}
