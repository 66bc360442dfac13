/** `anvil.yaml`: repository-wide configuration (DESIGN §4, §6). */
import { Type, type Static } from '@sinclair/typebox';
import { ALIAS_NAME_MAX_LENGTH, ALIAS_NAME_PATTERN } from '../address.ts';
import { LIMITS, MapOf, RepositoryName, Rollout, SemverVersion, SetName, schemaHeader } from './common.ts';

/** How many aliases one set may have; a handful is the norm. */
export const ALIASES_PER_SET_MAX = 100;

/**
 * A relative path that stays inside the repository: not absolute, no drive letter, no `..`
 * segment. Backslashes count as separators so a Windows-style path cannot slip through.
 */
export const RELATIVE_PATH_PATTERN = '^(?![/\\\\])(?![A-Za-z]:)(?!(?:.*[/\\\\])?\\.\\.(?:[/\\\\]|$))[^\\u0000]+$';

export const RepoConfigSchema = Type.Object(
  {
    name: Type.Optional(
      RepositoryName({
        title: 'Repository scope',
        description: 'The scope that addresses use for this repository, e.g. "@acme" in `@acme/onboarding@1.2.0/welcome.message`.',
        examples: ['@acme'],
      }),
    ),
    promptsDir: Type.Optional(
      Type.String({
        pattern: RELATIVE_PATH_PATTERN,
        maxLength: 1_024,
        patternErrorMessage: 'promptsDir is a path relative to the repository root that stays inside it (e.g. "prompts").',
        default: 'prompts',
        title: 'Prompts folder',
        description: 'Folder, relative to the repository root, that holds the prompt sets.',
      }),
    ),
    defaultBranch: Type.Optional(
      Type.String({
        pattern: '^[^\\s~^:?*\\[\\\\]+$',
        maxLength: 255,
        patternErrorMessage: 'A branch name has no spaces and none of ~ ^ : ? * [ or backslash.',
        title: 'Default branch',
        description: 'Branch that head builds come from and releases must be on. Defaults to the remote\'s HEAD.',
        examples: ['main'],
      }),
    ),
    rollouts: Type.Optional(
      MapOf(
        SetName(),
        Type.Object(
          {
            production: Type.Optional(Rollout({ title: 'Production rollout' })),
            staging: Type.Optional(Rollout({ title: 'Staging rollout' })),
            development: Type.Optional(Rollout({ title: 'Development rollout' })),
          },
          { additionalProperties: false, title: 'Rollouts of one set, by channel' },
        ),
        {
          title: 'Rollouts',
          description:
            'Gradual rollouts: set → channel → `{version, percent}`. Receivers of that channel get both the current release and `version`, and serve `version` to a stable `percent` of keys.',
          maxProperties: LIMITS.rolloutSets,
          default: {},
        },
      ),
    ),
    aliases: Type.Optional(
      MapOf(
        SetName(),
        MapOf(
          Type.String({
            pattern: ALIAS_NAME_PATTERN,
            maxLength: ALIAS_NAME_MAX_LENGTH,
            patternErrorMessage: 'An alias name is a lowercase word: letters, digits, "_" and "-", starting with a letter (e.g. "stable").',
          }),
          SemverVersion({ title: 'Release', description: 'The exact version the alias names; a release tag <set>@<version> must exist.' }),
          { title: 'Aliases of one set', maxProperties: ALIASES_PER_SET_MAX },
        ),
        {
          title: 'Aliases',
          description:
            'Named versions: set → alias → exact release (`{onboarding: {stable: 1.2.0}}`), addressed as `@acme/onboarding@stable/welcome.message`. An alias cannot be a channel name, "latest" or anything that reads as a version range. Changing one is a commit, reviewed like content.',
          maxProperties: LIMITS.rolloutSets,
          default: {},
        },
      ),
    ),
  },
  {
    ...schemaHeader('anvil.schema.json'),
    title: 'Anvil repository (anvil.yaml)',
    description: 'Configuration of a prompt repository: its scope, where the sets live, rollouts and aliases.',
    additionalProperties: false,
  },
);

/** `anvil.yaml` as written. */
export type RepoConfig = Static<typeof RepoConfigSchema>;

/** `anvil.yaml` after validation: defaults (`promptsDir: prompts`, `rollouts: {}`, `aliases: {}`) filled in. */
export type ResolvedRepoConfig = RepoConfig & Required<Pick<RepoConfig, 'promptsDir' | 'rollouts' | 'aliases'>>;
