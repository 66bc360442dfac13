/**
 * `anvil.lock.json` (`anvil.lock/1`), kept in the app's repository: the exact version,
 * integrity and origin of every set the app uses, dependencies included (DESIGN §7).
 */
import { Type, type Static } from '@sinclair/typebox';
import { ChannelName, Integrity, LIMITS, MapOf, ProjectName, SemverVersion, SetName, schemaHeader } from './common.ts';

export const LOCK_FORMAT = 'anvil.lock/1';

export const LockFileSchema = Type.Object(
  {
    format: Type.Literal(LOCK_FORMAT, { title: 'Format', description: 'Always "anvil.lock/1".' }),
    project: ProjectName({ title: 'Project' }),
    forge: Type.String({ minLength: 1, maxLength: LIMITS.url, title: 'Forge', description: 'The forge the sets were installed from (its base URL).' }),
    channel: ChannelName({ description: 'The channel the sets were resolved against.' }),
    sets: MapOf(
      SetName(),
      Type.Object(
        {
          version: SemverVersion({ title: 'Version' }),
          integrity: Integrity({ title: 'Integrity', description: 'Integrity of the bundle, as in the bundle itself.' }),
          resolved: Type.String({ minLength: 1, maxLength: LIMITS.url, title: 'Resolved', description: 'URL the bundle was fetched from.' }),
          dependencies: MapOf(SetName(), SemverVersion(), {
            maxProperties: LIMITS.dependencies,
            title: 'Dependencies',
            description: 'Exact versions of the sets this one depends on; each is locked too.',
          }),
        },
        { additionalProperties: false, title: 'Locked set' },
      ),
      { maxProperties: LIMITS.lockedSets, title: 'Sets', description: 'Every set the app uses, dependencies included.' },
    ),
  },
  {
    ...schemaHeader('lock.schema.json'),
    title: 'Anvil lock file (anvil.lock.json)',
    description: 'The exact bundles an app installs: what `anvil-live install --frozen-lockfile` materialises.',
    additionalProperties: false,
  },
);

/** `anvil.lock.json`. */
export type LockFile = Static<typeof LockFileSchema>;
/** One set of a lock file. */
export type LockedSet = LockFile['sets'][string];
