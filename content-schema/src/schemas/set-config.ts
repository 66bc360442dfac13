/** `set.yaml`: what makes a folder a prompt set (DESIGN §4). */
import { Type, type Static } from '@sinclair/typebox';
import { LIMITS, MapOf, SemverRange, SetMode, SetName, schemaHeader } from './common.ts';

export const SetConfigSchema = Type.Object(
  {
    name: Type.Optional(
      SetName({
        title: 'Set name',
        description:
          'Name of the set, used in tags (`<name>@<version>`) and addresses. Defaults to the folder name.',
        examples: ['onboarding'],
      }),
    ),
    description: Type.Optional(
      Type.String({ maxLength: LIMITS.text, title: 'Description', description: 'What the prompts of this set are for.' }),
    ),
    mode: Type.Optional(
      SetMode({ default: 'review' }),
    ),
    dependencies: Type.Optional(
      MapOf(
        SetName(),
        SemverRange({ title: 'Version range', description: 'A semver range over the other set\'s releases, e.g. "^2.0.0".' }),
        {
          title: 'Dependencies',
          description:
            'Other sets of the repository whose partials this set uses, mapped to a semver range of their releases (e.g. `core: "^2.0.0"`). Must be acyclic.',
          maxProperties: LIMITS.dependencies,
          default: {},
        },
      ),
    ),
    reviewers: Type.Optional(
      Type.Array(
        Type.String({
          pattern: '^[A-Za-z0-9][A-Za-z0-9-]{0,38}(?:/[A-Za-z0-9][A-Za-z0-9_.-]{0,99})?$',
          patternErrorMessage: 'A reviewer is a GitHub login ("alice") or a team ("acme/prompt-owners"), without "@".',
        }),
        {
          title: 'Reviewers',
          description:
            'Who may approve changes to this set: GitHub logins or `org/team`. When absent, any approval the git host accepts counts.',
          uniqueItems: true,
          maxItems: LIMITS.reviewers,
        },
      ),
    ),
  },
  {
    ...schemaHeader('set.schema.json'),
    title: 'Anvil prompt set (set.yaml)',
    description: 'Configuration of one prompt set: its name, publishing mode, dependencies and reviewers.',
    additionalProperties: false,
  },
);

/** `set.yaml` as written. */
export type SetConfig = Static<typeof SetConfigSchema>;

/** The publishing mode of a set: `live`, `review` or `locked`. */
export type SetModeName = NonNullable<SetConfig['mode']>;

/** `set.yaml` after validation: defaults (`mode: review`, `dependencies: {}`) filled in. */
export type ResolvedSetConfig = SetConfig & Required<Pick<SetConfig, 'mode' | 'dependencies'>>;
