/**
 * The types manifest (`anvil.types-manifest/1`, issue 17): what an app was compiled against, in
 * a form a program can read. `anvil types` ends the declaration file it writes with a comment
 * holding it, and `anvil-live check` reads it back to compare each prompt's contract with the
 * bundles the app would be served (client/src/compat/).
 */
import { Type, type Static } from '@sinclair/typebox';
import { LIMITS, MapOf, PromptId, SetName, VariantName, schemaHeader } from './common.ts';
import { PROMPT_ID_MAX_LENGTH, SET_NAME_MAX_LENGTH } from '../names.ts';

export const TYPES_MANIFEST_FORMAT = 'anvil.types-manifest/1';

export const ManifestPromptSchema = Type.Object(
  {
    set: SetName({ title: 'Set' }),
    id: PromptId({ title: 'Prompt', description: 'The prompt id within the set (e.g. "welcome.message").' }),
    variants: Type.Array(VariantName(), {
      maxItems: LIMITS.variants,
      uniqueItems: true,
      title: 'Variants',
      description: 'The variant names the app may ask for, sorted.',
    }),
    // Any JSON Schema object: the contract keeps the prompt's own schema (annotations left out).
    input: Type.Unsafe<Record<string, unknown> | null>({
      type: ['object', 'null'],
      title: 'Input',
      description:
        'The variables object as a JSON Schema whose `required` lists exactly what a caller must pass; null when the prompt declares no object schema, so any variables are accepted.',
    }),
  },
  { additionalProperties: false, title: 'Prompt contract' },
);

export const TypesManifestSchema = Type.Object(
  {
    format: Type.Literal(TYPES_MANIFEST_FORMAT, { title: 'Format', description: 'Always "anvil.types-manifest/1".' }),
    from: Type.String({
      minLength: 1,
      maxLength: LIMITS.text,
      title: 'From',
      description: 'Where the prompts came from, as the declarations\' header says (e.g. "@acme at main (a1b2c3d)").',
    }),
    // Not bounded by LIMITS.prompts: it spans every set of a repository, and `anvil types`
    // writes it into the app's own tree, so it is not input from the network.
    prompts: MapOf(
      Type.String({ minLength: 3, maxLength: SET_NAME_MAX_LENGTH + 1 + PROMPT_ID_MAX_LENGTH }),
      ManifestPromptSchema,
      { title: 'Prompts', description: 'Each prompt\'s contract, by `set/id` (e.g. "onboarding/welcome.message").' },
    ),
  },
  {
    ...schemaHeader('types-manifest.schema.json'),
    title: 'Anvil types manifest',
    description:
      'The prompt contracts an app was compiled against, written by `anvil types` as a comment at the end of the declarations and read by `anvil-live check`.',
    additionalProperties: false,
  },
);

/** One prompt's contract, as the manifest records it. */
export type ManifestPrompt = Static<typeof ManifestPromptSchema>;
/** The manifest at the end of the declarations `anvil types` writes. */
export type TypesManifest = Static<typeof TypesManifestSchema>;
