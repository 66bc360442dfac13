import { LIMITS } from '../schemas/common.ts';
import type { BundlePrompt } from '../schemas/bundle.ts';
import { PROMPT_ENTRY_DEPTH } from './deferred-prompts.ts';
import type { ValidationResult } from './issues.ts';
import { runValidation } from './run-validation.ts';

/**
 * Validates one prompt's entry of a bundle (`template`, `metadata`, `variants`) against the same
 * definition the bundle schema embeds, for a bundle whose outline was checked with
 * `{ deferPrompts: true }`. Paths in the issues are relative to the entry; nesting is counted
 * from the bundle, as a whole-bundle check counts it. The input is not copied.
 */
export function validateBundlePrompt(input: unknown): ValidationResult<BundlePrompt> {
  return runValidation<BundlePrompt>(input, {
    validator: 'bundle-prompt',
    maxDepth: LIMITS.depth - PROMPT_ENTRY_DEPTH,
  });
}
