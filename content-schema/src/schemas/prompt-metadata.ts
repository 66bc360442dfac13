/**
 * Prompt metadata as stored in a bundle: the front matter normalised. Input and output
 * schemas are JSON Schema (Picoschema already expanded), extension keys are grouped under
 * `ext`, and `config`, `metadata` and `ext` are always present so a renderer never guesses.
 */
import { Type, type Static } from '@sinclair/typebox';
import { JsonObject, LIMITS, MapOf, TagMap, ToolDefinitions, schemaHeader } from './common.ts';

function JsonSchemaObject(title: string, description: string) {
  return Type.Unsafe<Record<string, unknown>>({ type: 'object', title, description });
}

const promptMetadataProperties = {
  name: Type.Optional(Type.String({ maxLength: LIMITS.name, title: 'Name' })),
  variant: Type.Optional(Type.String({ maxLength: LIMITS.name, title: 'Variant' })),
  version: Type.Optional(Type.String({ maxLength: LIMITS.shortText, title: 'Prompt version' })),
  description: Type.Optional(Type.String({ maxLength: LIMITS.text, title: 'Description' })),
  model: Type.Optional(Type.String({ maxLength: LIMITS.name, title: 'Model' })),
  config: JsonObject({ title: 'Model configuration', description: 'Model parameters; `{}` when none.' }),
  input: Type.Optional(
    Type.Object(
      {
        schema: Type.Optional(JsonSchemaObject('Input schema', 'Variables the template expects, as JSON Schema.')),
        default: Type.Optional(JsonObject({ title: 'Input defaults' })),
      },
      { additionalProperties: false, title: 'Input' },
    ),
  ),
  output: Type.Optional(
    Type.Object(
      {
        format: Type.Optional(Type.String({ maxLength: LIMITS.shortText, title: 'Output format' })),
        schema: Type.Optional(JsonSchemaObject('Output schema', 'Shape of the expected output, as JSON Schema.')),
      },
      { additionalProperties: false, title: 'Output' },
    ),
  ),
  tools: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: LIMITS.name }), { maxItems: LIMITS.tools, title: 'Tools' }),
  ),
  toolDefs: Type.Optional(ToolDefinitions({ title: 'Tool definitions' })),
  metadata: JsonObject({ title: 'Metadata', description: 'Free-form metadata; `{}` when none.' }),
  // Namespaces are whatever precedes the last dot of a key (Dotprompt's rule), so any
  // non-empty string is accepted here.
  ext: MapOf(
    Type.String({ minLength: 1, maxLength: LIMITS.name }),
    JsonObject(),
    {
      maxProperties: LIMITS.frontMatterKeys,
      title: 'Extensions',
      description: 'Dotted front-matter keys by namespace: `acme.owner: x` → `ext.acme.owner`; `{}` when none.',
    },
  ),
  tags: Type.Optional(TagMap({ title: 'Tags', description: 'Values used to choose among variants.' })),
};

const promptMetadataOptions = {
  title: 'Anvil prompt metadata',
  description: 'The normalised front matter of one prompt or variant, as stored in a bundle.',
  additionalProperties: false,
};

/** The metadata object without `$id`, for embedding in other schemas' `$defs`. */
export const PromptMetadataDefinition = Type.Object(promptMetadataProperties, promptMetadataOptions);

export const PromptMetadataSchema = Type.Object(promptMetadataProperties, {
  ...schemaHeader('prompt-metadata.schema.json'),
  ...promptMetadataOptions,
});

/** Normalised prompt metadata, as stored in a bundle. */
export type PromptMetadata = Static<typeof PromptMetadataSchema>;
