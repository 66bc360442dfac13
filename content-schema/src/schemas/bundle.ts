/**
 * A bundle (`anvil.bundle/1`): the JSON snapshot of one set at one version, the unit of
 * distribution (DESIGN §7). Nothing in it depends on when it was built: same source, same
 * bytes, same `integrity`.
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  GitObjectId,
  ISO_DATE_TIME_PATTERN,
  Integrity,
  LIMITS,
  MapOf,
  PartialName,
  ProjectName,
  PromptId,
  RefTo,
  RepositoryName,
  SemverVersion,
  SetMode,
  SetName,
  StringEnum,
  TagMap,
  VariantName,
  schemaHeader,
} from './common.ts';
import { PromptMetadataDefinition } from './prompt-metadata.ts';

export const BUNDLE_FORMAT = 'anvil.bundle/1';
export const BUNDLE_STAGES = ['release', 'head'] as const;

function Template(description: string) {
  return Type.String({ maxLength: LIMITS.template, title: 'Template', description });
}

const metadata = () => RefTo('PromptMetadata', PromptMetadataDefinition);

const bundlePromptProperties = {
  template: Template('The Handlebars body of the prompt.'),
  metadata: metadata(),
  variants: MapOf(
    VariantName(),
    Type.Object(
      {
        template: Template('The Handlebars body of the variant.'),
        tags: TagMap({ title: 'Tags', description: 'Tags that select this variant; `{}` when none.' }),
        metadata: metadata(),
      },
      { additionalProperties: false, title: 'Variant' },
    ),
    { maxProperties: LIMITS.variants, title: 'Variants', description: 'Alternative bodies by variant name; `{}` when none.' },
  ),
};

const bundlePromptOptions = { additionalProperties: false, title: 'Prompt', description: 'One prompt of a bundle: its body, metadata and variants.' };

/** One prompt's entry in a bundle's `prompts`, without `$defs`, for embedding in other schemas. */
export const BundlePromptDefinition = Type.Object(bundlePromptProperties, bundlePromptOptions);

/**
 * One prompt's entry on its own. A receiver checks the rest of a bundle when it arrives and each
 * entry against this before the prompt is first served (`validateBundlePrompt`); the bundle
 * schema is composed from the same definition, so both say the same thing.
 */
export const BundlePromptSchema = Type.Object(bundlePromptProperties, {
  ...bundlePromptOptions,
  $defs: { PromptMetadata: PromptMetadataDefinition },
});

const bundleProperties = {
  format: Type.Literal(BUNDLE_FORMAT, { title: 'Format', description: 'Always "anvil.bundle/1".' }),
  project: ProjectName({ title: 'Project', description: 'The forge project the set belongs to.' }),
  repository: RepositoryName({ title: 'Repository scope', description: 'Scope of the prompt repository, as in `anvil.yaml` (e.g. "@acme").' }),
  set: SetName({ title: 'Set', description: 'Name of the prompt set.' }),
  version: SemverVersion({ title: 'Version', description: 'Release version, or a head-build version such as "1.2.1-head.42+abc1234".' }),
  stage: StringEnum(BUNDLE_STAGES, { title: 'Stage', description: '"release" (built from a tag) or "head" (built from the default branch).' }),
  mode: SetMode({ description: 'The set\'s mode at the commit the bundle was built from.' }),
  source: Type.Object(
    {
      commit: GitObjectId({ title: 'Commit', description: 'The commit the bundle was built from.' }),
      tag: Type.Optional(
        Type.String({ maxLength: LIMITS.name, title: 'Tag', description: 'The release tag `<set>@<version>`; present for releases.' }),
      ),
      tree: GitObjectId({ title: 'Tree', description: 'The git tree of the set\'s folder at that commit.' }),
      committedAt: Type.String({
        pattern: ISO_DATE_TIME_PATTERN,
        patternErrorMessage: 'An ISO 8601 date-time with an offset, e.g. "2025-03-01T12:00:00Z".',
        title: 'Committed at',
        description: 'The commit\'s committer date from git (never the build time), ISO 8601.',
      }),
    },
    { additionalProperties: false, title: 'Source', description: 'Where in git the bundle comes from.' },
  ),
  dependencies: MapOf(SetName(), SemverVersion(), {
    maxProperties: LIMITS.dependencies,
    title: 'Dependencies',
    description: 'Exact versions of the sets this one depends on, resolved at release time.',
  }),
  prompts: MapOf(PromptId(), RefTo('BundlePrompt', BundlePromptDefinition), {
    maxProperties: LIMITS.prompts,
    title: 'Prompts',
    description: 'Prompts by id (`welcome.message`).',
  }),
  partials: MapOf(PartialName(), Template('The Handlebars body of the partial.'), {
    maxProperties: LIMITS.partials,
    title: 'Partials',
    description: 'Partials by name, included with `{{> name}}`.',
  }),
  integrity: Integrity({
    title: 'Integrity',
    description: '"sha256-" + base64 SHA-256 of the canonical JSON of every other field of the bundle.',
  }),
};

const bundleOptions = {
  title: 'Anvil bundle',
  description: 'One prompt set at one version, as distributed to receivers.',
  additionalProperties: false,
};

/** The bundle object without `$id`/`$defs`, for embedding in the envelope schema. */
export const BundleDefinition = Type.Object(bundleProperties, bundleOptions);

export const BundleSchema = Type.Object(bundleProperties, {
  ...schemaHeader('bundle.schema.json'),
  ...bundleOptions,
  $defs: { BundlePrompt: BundlePromptDefinition, PromptMetadata: PromptMetadataDefinition },
});

/** A bundle: one set at one version. */
export type Bundle = Static<typeof BundleSchema>;
/** One prompt of a bundle: its template, metadata and variants. */
export type BundlePrompt = Static<typeof BundlePromptSchema>;
/** One variant of a bundle prompt. */
export type BundleVariant = BundlePrompt['variants'][string];
/** Where a bundle was built from. */
export type BundleSource = Bundle['source'];
/** `release` or `head`. */
export type BundleStage = Bundle['stage'];
