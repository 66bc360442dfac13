import type { TypesManifest } from '../schemas/types-manifest.ts';
import type { ValidationResult } from './issues.ts';
import { joinPointer } from './issues.ts';
import { entriesOf, fieldAt, stringAt } from './read-data.ts';
import { runValidation } from './run-validation.ts';

/**
 * Validates a parsed types manifest (`anvil.types-manifest/1`): its shape, and that each prompt
 * is filed under its own `set/id`, since `anvil-live check` looks prompts up by that key.
 */
export function validateTypesManifest(input: unknown): ValidationResult<TypesManifest> {
  return runValidation<TypesManifest>(input, {
    validator: 'types-manifest',
    check(data, { error, faulted }) {
      for (const [key, prompt] of entriesOf(fieldAt(data, 'prompts'))) {
        const base = joinPointer('/prompts', key);
        const set = stringAt(prompt, 'set');
        const id = stringAt(prompt, 'id');
        // A missing or malformed set or id is reported by the schema already.
        if (set === undefined || id === undefined || faulted(`${base}/set`) || faulted(`${base}/id`)) continue;
        if (key !== `${set}/${id}`) {
          error(base, 'types-manifest.key-mismatch', `prompt "${key}" names set "${set}" and id "${id}": its key must be "${set}/${id}"`);
        }
      }
    },
  });
}
