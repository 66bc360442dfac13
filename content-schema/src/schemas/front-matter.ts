/**
 * Prompt front matter as authored: Dotprompt's fields plus Anvil's `tags` (DESIGN §4).
 * Dotted keys (`acme.owner: x`) are extensions, kept under `ext` once normalised. Any other
 * key is reported as a warning, not an error, so that a file written for a newer Dotprompt
 * still builds.
 */
import { Type, type Static } from '@sinclair/typebox';
import { EXTENSION_KEY_PATTERN, JsonObject, LIMITS, TagMap, ToolDefinitions, schemaHeader } from './common.ts';

export const FrontMatterSchema = Type.Object(
  {
    name: Type.Optional(
      Type.String({ maxLength: LIMITS.name, title: 'Name', description: 'Dotprompt name of the prompt. Anvil derives the id from the file path.' }),
    ),
    variant: Type.Optional(
      Type.String({ maxLength: LIMITS.name, title: 'Variant', description: 'Dotprompt variant name. Anvil derives it from the file name (`message.fr.md` → `fr`).' }),
    ),
    version: Type.Optional(
      Type.String({ maxLength: LIMITS.shortText, title: 'Prompt version', description: 'Free-form version of this prompt. Releases are versioned per set, by tags.' }),
    ),
    description: Type.Optional(
      Type.String({ maxLength: LIMITS.text, title: 'Description', description: 'What the prompt does; shown in reviews and tooling.' }),
    ),
    model: Type.Optional(
      Type.String({ maxLength: LIMITS.name, title: 'Model', description: 'Model to use, e.g. "googleai/gemini-2.0-flash" or "openai/gpt-4o".', examples: ['openai/gpt-4o'] }),
    ),
    config: Type.Optional(
      JsonObject({ title: 'Model configuration', description: 'Model parameters (temperature, maxOutputTokens…), passed through to the app.' }),
    ),
    input: Type.Optional(
      Type.Object(
        {
          schema: Type.Optional(
            Type.Unknown({ title: 'Input schema', description: 'Variables the template expects, in Picoschema or JSON Schema.' }),
          ),
          default: Type.Optional(
            JsonObject({ title: 'Input defaults', description: 'Values used for variables the caller does not pass.' }),
          ),
        },
        { additionalProperties: false, title: 'Input', description: 'The prompt\'s variables: their schema and defaults.' },
      ),
    ),
    output: Type.Optional(
      Type.Object(
        {
          format: Type.Optional(
            Type.String({ maxLength: LIMITS.shortText, title: 'Output format', description: 'Expected output format, e.g. "text" or "json".', examples: ['json', 'text'] }),
          ),
          schema: Type.Optional(
            Type.Unknown({ title: 'Output schema', description: 'Shape of the expected output, in Picoschema or JSON Schema.' }),
          ),
        },
        { additionalProperties: false, title: 'Output', description: 'What the model is expected to return.' },
      ),
    ),
    tools: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: LIMITS.name }), {
        maxItems: LIMITS.tools,
        uniqueItems: true,
        title: 'Tools',
        description: 'Names of tools (registered by the app) the model may call.',
      }),
    ),
    toolDefs: Type.Optional(
      ToolDefinitions({ title: 'Tool definitions', description: 'Tools described inline (Dotprompt `toolDefs`).' }),
    ),
    metadata: Type.Optional(
      JsonObject({ title: 'Metadata', description: 'Free-form data kept with the prompt and passed to the app.' }),
    ),
    tags: Type.Optional(
      TagMap({
        title: 'Tags',
        description: 'Anvil: values used to choose among variants, e.g. `{locale: fr, tone: formal}`.',
      }),
    ),
  },
  {
    ...schemaHeader('prompt.schema.json'),
    title: 'Anvil prompt front matter',
    description:
      'The YAML front matter of a prompt file (Dotprompt fields plus `tags`). Dotted keys such as `acme.owner` are extensions, kept under `ext.acme.owner`.',
    patternProperties: { [EXTENSION_KEY_PATTERN]: {} },
    additionalProperties: false,
    maxProperties: LIMITS.frontMatterKeys,
  },
);

/** Front matter as written; dotted extension keys sit beside the known fields. */
export type FrontMatter = Static<typeof FrontMatterSchema> & { [extension: `${string}.${string}`]: unknown };
