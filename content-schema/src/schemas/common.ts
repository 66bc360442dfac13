/**
 * Building blocks shared by every schema: names, versions, hashes and the size bounds that
 * untrusted input must stay within (DESIGN §9). Each is a factory so that each use can carry
 * its own title and description, which editors show on hover and completion.
 */
import { Type, type SchemaOptions, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import {
  CHANNELS,
  PARTIAL_NAME_MAX_LENGTH,
  PARTIAL_NAME_PATTERN,
  PROMPT_ID_MAX_LENGTH,
  PROMPT_ID_PATTERN,
  REPOSITORY_NAME_MAX_LENGTH,
  REPOSITORY_NAME_PATTERN,
  SET_NAME_MAX_LENGTH,
  SET_NAME_PATTERN,
  VARIANT_NAME_MAX_LENGTH,
  VARIANT_NAME_PATTERN,
} from '../names.ts';
import { SEMVER_PATTERN } from '../versions.ts';

export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';
export const SCHEMA_BASE_URL = 'https://anvil.dev/schemas/';

/** `$schema` and `$id` for a top-level schema published as `schemas/<file>`. */
export function schemaHeader(file: string): { $schema: string; $id: string } {
  return { $schema: JSON_SCHEMA_DIALECT, $id: `${SCHEMA_BASE_URL}${file}` };
}

/**
 * Size bounds. Generous on purpose: a bundle may hold 10,000 prompts and weigh 10+ MB; the
 * point is that nothing is unbounded, not that real content comes near the limits.
 */
export const LIMITS = {
  shortText: 256,
  name: 512,
  text: 10_000,
  url: 2_048,
  template: 1_048_576,
  prompts: 50_000,
  variants: 256,
  partials: 10_000,
  dependencies: 1_000,
  reviewers: 1_000,
  tags: 100,
  tools: 256,
  objectProperties: 1_000,
  frontMatterKeys: 256,
  envelopeBundles: 1_000,
  signatures: 10_000,
  lockedSets: 10_000,
  rolloutSets: 1_000,
  /** Nesting depth of any document; checked by the validators, not expressible in JSON Schema. */
  depth: 64,
  /**
   * Handlebars templates (prompt bodies and partials), checked by a linear scan before they are
   * parsed (client/src/render/template-bounds.ts): Handlebars' parser and compiler take time
   * that grows faster than the text with each of these, and recurse with nesting.
   * Tags: `{{…}}` of any kind, comments included.
   */
  templateTags: 10_000,
  /** `{{!-- … --}}` comments: Handlebars' lexer copies the rest of the template for each one. */
  templateBlockComments: 100,
  /**
   * Nesting: blocks, `{{else if}}` branches (each one nests), sub-expressions, and partials
   * included inside them, counted through every partial a template includes.
   */
  templateDepth: 100,
} as const;

/** `sha256-` + base64 of 32 bytes (always 43 characters and one `=`). */
export const INTEGRITY_PATTERN = '^sha256-[A-Za-z0-9+/]{43}=$';

/** A git object id (SHA-1, lowercase hex). */
export const GIT_OBJECT_ID_PATTERN = '^[0-9a-f]{40}$';

/** ISO 8601 date-time with an explicit offset, as git reports commit dates. */
export const ISO_DATE_TIME_PATTERN =
  '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d{1,9})?(?:Z|[+-]\\d{2}:\\d{2})$';

/** A dotted front-matter key such as `acme.owner`: namespace before the last dot, field after. */
export const EXTENSION_KEY_PATTERN = '^[^.\\s]+(?:\\.[^.\\s]+)+$';

/**
 * Options accepted by the factories below. `patternErrorMessage` is the message shown when a
 * `pattern` fails: VS Code's JSON and YAML servers read it, and so do our validators, so a
 * person sees the same sentence in the editor and in `anvil lint`.
 */
export type FieldOptions = SchemaOptions & { patternErrorMessage?: string };

/** A string restricted to `values`, written as `enum` (clearer errors than `anyOf` of consts). */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: FieldOptions = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/**
 * An object used as a map: keys checked by `key` (via `propertyNames`, which reports the bad
 * key itself) and every value by `value`.
 */
export function MapOf<V extends TSchema>(
  key: TSchema,
  value: V,
  options: FieldOptions = {},
): TUnsafe<Record<string, Static<V>>> {
  return Type.Unsafe<Record<string, Static<V>>>({
    ...options,
    type: 'object',
    propertyNames: key,
    additionalProperties: value,
  });
}

/** Any JSON object (free-form content such as model `config` or `metadata`). */
export function JsonObject(options: FieldOptions = {}): TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>({
    maxProperties: LIMITS.objectProperties,
    ...options,
    type: 'object',
  });
}

/** A `$ref` to a definition in the root schema's `$defs`, typed as `T`. */
export function RefTo<T extends TSchema>(name: string, _target: T, options: SchemaOptions = {}): TUnsafe<Static<T>> {
  return Type.Unsafe<Static<T>>({ ...options, $ref: `#/$defs/${name}` });
}

export function SetName(options: FieldOptions = {}) {
  return Type.String({
    pattern: SET_NAME_PATTERN,
    maxLength: SET_NAME_MAX_LENGTH,
    patternErrorMessage:
      'A set name is lowercase: a-z, 0-9, ".", "_" and "-", starting with a letter or digit (e.g. "onboarding").',
    ...options,
  });
}

/** Forge project names follow the same rule as set names: they appear in URLs and paths. */
export function ProjectName(options: FieldOptions = {}) {
  return SetName({
    patternErrorMessage:
      'A project name is lowercase: a-z, 0-9, ".", "_" and "-", starting with a letter or digit (e.g. "acme").',
    ...options,
  });
}

export function RepositoryName(options: FieldOptions = {}) {
  return Type.String({
    pattern: REPOSITORY_NAME_PATTERN,
    maxLength: REPOSITORY_NAME_MAX_LENGTH,
    patternErrorMessage: 'A repository scope is "@" followed by a lowercase name (e.g. "@acme").',
    ...options,
  });
}

export function PromptId(options: FieldOptions = {}) {
  return Type.String({
    pattern: PROMPT_ID_PATTERN,
    maxLength: PROMPT_ID_MAX_LENGTH,
    patternErrorMessage:
      'A prompt id is dot-separated segments of letters, digits, "_" and "-" (e.g. "welcome.message").',
    ...options,
  });
}

export function VariantName(options: FieldOptions = {}) {
  return Type.String({
    pattern: VARIANT_NAME_PATTERN,
    maxLength: VARIANT_NAME_MAX_LENGTH,
    patternErrorMessage: 'A variant name is one segment of letters, digits, "_" and "-" (e.g. "fr").',
    ...options,
  });
}

export function PartialName(options: FieldOptions = {}) {
  return Type.String({
    pattern: PARTIAL_NAME_PATTERN,
    maxLength: PARTIAL_NAME_MAX_LENGTH,
    patternErrorMessage: 'A partial name is segments joined by "." or "/" (e.g. "signature" or "core/signature").',
    ...options,
  });
}

/** An exact version: Semantic Versioning 2.0, prerelease and build metadata allowed. */
export function SemverVersion(options: FieldOptions = {}) {
  return Type.String({
    pattern: SEMVER_PATTERN,
    maxLength: LIMITS.shortText,
    patternErrorMessage: 'An exact semantic version such as "1.2.0" or "2.1.0-rc.1" (no "v" prefix).',
    ...options,
  });
}

/** A semver range (`^2.0.0`, `~1.2`, `>=1 <2`); checked with `semver.validRange` by the validators. */
export function SemverRange(options: FieldOptions = {}) {
  return Type.String({ minLength: 1, maxLength: LIMITS.shortText, ...options });
}

export function Integrity(options: FieldOptions = {}) {
  return Type.String({
    pattern: INTEGRITY_PATTERN,
    patternErrorMessage: 'An integrity string is "sha256-" followed by 44 base64 characters.',
    ...options,
  });
}

export function GitObjectId(options: FieldOptions = {}) {
  return Type.String({
    pattern: GIT_OBJECT_ID_PATTERN,
    patternErrorMessage: 'A git object id is 40 lowercase hexadecimal characters.',
    ...options,
  });
}

export const SET_MODES = ['live', 'review', 'locked'] as const;

/** How a set publishes (DESIGN §6). */
export function SetMode(options: FieldOptions = {}) {
  return StringEnum(SET_MODES, {
    title: 'Mode',
    description:
      'Which git events publish the set: "live" (every change on the default branch), "review" (only reviewed changes), "locked" (only releases; the only mode that reaches production).',
    ...options,
  });
}

export function ChannelName(options: FieldOptions = {}) {
  return StringEnum(CHANNELS, {
    title: 'Channel',
    description: 'What a receiver accepts: "production", "staging" or "development".',
    ...options,
  });
}

/** A rollout: serve `version` to a stable `percent` of keys beside the current release. */
export function Rollout(options: FieldOptions = {}) {
  return Type.Object(
    {
      version: SemverVersion({ title: 'Version', description: 'The version rolled out (an existing release).' }),
      percent: Type.Number({
        minimum: 0,
        maximum: 100,
        title: 'Percent',
        description: 'Share of keys (0 to 100) that get this version; the rest keep the current release.',
      }),
      guard: Type.Optional(Type.Object(
        {
          margin: Type.Number({ minimum: 0, maximum: 1, title: 'Margin', description: 'Success-rate points (0 to 1) the rolled-out version may trail the current release by before the forge pauses it.' }),
          minSamples: Type.Optional(Type.Integer({ minimum: 1, title: 'Minimum samples', description: 'Calls of each version (reported with anvil.reportMetrics) before the guard judges (default 100).' })),
        },
        {
          additionalProperties: false,
          title: 'Canary guard',
          description: 'Pause the rollout automatically when its reported success rate falls below the current release\'s by more than `margin` (issue 17).',
        },
      )),
    },
    { additionalProperties: false, ...options },
  );
}

/** One rollout entry: `{version, percent}`. */
export type RolloutEntry = Static<ReturnType<typeof Rollout>>;

/** A Dotprompt tool definition (`toolDefs`): a tool described inline rather than by name. */
export function ToolDefinitions(options: FieldOptions = {}) {
  return Type.Array(
    Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: LIMITS.name, title: 'Tool name' }),
        description: Type.Optional(Type.String({ maxLength: LIMITS.text, title: 'Description' })),
        inputSchema: Type.Unknown({ title: 'Input schema', description: 'Arguments of the tool, as JSON Schema.' }),
        outputSchema: Type.Optional(Type.Unknown({ title: 'Output schema' })),
      },
      { additionalProperties: false, title: 'Tool definition' },
    ),
    { maxItems: LIMITS.tools, ...options },
  );
}

/** Tag values: what `tags` maps to (`locale: fr`, `formal: true`, `tier: 2`). */
export function TagMap(options: FieldOptions = {}) {
  return MapOf(
    Type.String({
      pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$',
      maxLength: 64,
      patternErrorMessage: 'A tag name is letters, digits, "_", "." and "-" (e.g. "locale").',
    }),
    Type.Unsafe<string | number | boolean>({ type: ['string', 'number', 'boolean'], maxLength: LIMITS.shortText }),
    { maxProperties: LIMITS.tags, ...options },
  );
}

export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

/**
 * `{env: NAME}`: where a secret is read from. Config files name the environment variable and
 * never hold the secret itself (twelve-factor).
 */
export function SecretFromEnv(options: { title: string; description: string; variable: string; defaultEnv?: string }) {
  return Type.Object(
    {
      env: Type.String({
        pattern: ENV_NAME_PATTERN,
        maxLength: LIMITS.shortText,
        patternErrorMessage: 'An environment variable name: letters, digits and "_", not starting with a digit.',
        title: 'Environment variable',
        description: options.variable,
        ...(options.defaultEnv ? { default: options.defaultEnv } : {}),
      }),
    },
    {
      additionalProperties: false,
      title: options.title,
      description: options.description,
      ...(options.defaultEnv ? { default: { env: options.defaultEnv } } : {}),
    },
  );
}
