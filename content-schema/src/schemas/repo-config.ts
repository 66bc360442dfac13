/** `anvil.yaml`: repository-wide configuration (DESIGN §4, §6). */
import { Type, type Static } from '@sinclair/typebox';
import { LIMITS, MapOf, RepositoryName, Rollout, SetName, schemaHeader } from './common.ts';

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
  },
  {
    ...schemaHeader('anvil.schema.json'),
    title: 'Anvil repository (anvil.yaml)',
    description: 'Configuration of a prompt repository: its scope, where the sets live, and rollouts.',
    additionalProperties: false,
  },
);

/** `anvil.yaml` as written. */
export type RepoConfig = Static<typeof RepoConfigSchema>;

/** `anvil.yaml` after validation: defaults (`promptsDir: prompts`, `rollouts: {}`) filled in. */
export type ResolvedRepoConfig = RepoConfig & Required<Pick<RepoConfig, 'promptsDir' | 'rollouts'>>;
