import type { FrontMatter } from '../schemas/front-matter.ts';
import type { ValidationIssue, ValidationResult } from './issues.ts';
import { runValidation } from './run-validation.ts';

// Keys Dotprompt knows but fills in itself: writing them by hand has no effect.
const IGNORED_DOTPROMPT_KEYS = new Map([
  ['/ext', 'write extensions as dotted keys, e.g. "acme.owner: x"; Dotprompt builds ext from them'],
  ['/raw', 'Dotprompt fills raw with the parsed front matter itself; this key is ignored'],
]);

/**
 * Validates a prompt's parsed front matter. Unknown keys are warnings (`schema.unknown-field`),
 * not errors, so a file written for a newer Dotprompt still builds; dotted keys
 * (`acme.owner`) are extensions and always allowed.
 */
export function validateFrontMatter(input: unknown): ValidationResult<FrontMatter> {
  const result = runValidation<FrontMatter>(input, {
    validator: 'front-matter',
    demote: (found) => found.code === 'schema.unknown-field',
  });
  result.warnings = result.warnings.map(withDotpromptHint);
  return result;
}

function withDotpromptHint(found: ValidationIssue): ValidationIssue {
  const hint = IGNORED_DOTPROMPT_KEYS.get(found.path);
  return hint && found.code === 'schema.unknown-field' ? { ...found, hint } : found;
}
