/**
 * A receiver's `<cacheDir>/state.json` (`anvil.receiver-state/1`, DESIGN §10): what it serves
 * (a version per set, and rollouts), every bundle those need with the forge's signatures, the
 * forge keys pinned at connect, and what it needs to answer pushes (mode, seen webhook ids).
 * Bundles themselves live beside it, one file each, named by integrity.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ChannelName, Integrity, LIMITS, MapOf, ProjectName, SemverVersion, SetName, StringEnum, schemaHeader } from './common.ts';
import { EnvelopeSchema } from './envelope.ts';

export const RECEIVER_STATE_FORMAT = 'anvil.receiver-state/1';
export const RECEPTION_MODES = ['accepting', 'frozen'] as const;

export const RECEIVER_STATE_LIMITS = {
  forgeKeys: 64,
  /** Enough to recognise any retry of a push within the forge's retry horizon. */
  seenWebhookIds: 1_000,
  /** A current version and a rollout for every set. */
  bundles: 2 * LIMITS.lockedSets,
} as const;

/** Base64 of a raw 32-byte Ed25519 public key, written canonically. */
export const ED25519_PUBLIC_KEY_PATTERN = '^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$';

// The envelope's signature entry, so that what a receiver keeps is exactly what it received.
const Signature = EnvelopeSchema.properties.signatures.items;

/** Pinned forge keys: key id → base64 Ed25519 public key (the state and the app config share it). */
export function ForgeKeys(description: string) {
  return MapOf(
    Type.String({ minLength: 1, maxLength: LIMITS.shortText }),
    Type.String({
      pattern: ED25519_PUBLIC_KEY_PATTERN,
      patternErrorMessage: 'An Ed25519 public key is 32 bytes: 44 base64 characters ending in "=".',
    }),
    { minProperties: 1, maxProperties: RECEIVER_STATE_LIMITS.forgeKeys, title: 'Forge keys', description },
  );
}

export const ReceiverStateSchema = Type.Object(
  {
    format: Type.Literal(RECEIVER_STATE_FORMAT, { title: 'Format', description: 'Always "anvil.receiver-state/1".' }),
    forge: Type.String({ minLength: 1, maxLength: LIMITS.url, title: 'Forge', description: 'Base URL of the forge this receiver is connected to.' }),
    project: ProjectName({ title: 'Project' }),
    channel: ChannelName({ description: 'The channel this receiver accepts.' }),
    mode: StringEnum(RECEPTION_MODES, {
      title: 'Reception mode',
      description: '"accepting" applies pushes; "frozen" answers 409 and changes only by a manual sync.',
    }),
    forgeKeys: ForgeKeys('Key id → base64 public key: the forge keys pinned at connect (trust on first use). Only bundles they signed are served.'),
    etag: Type.Optional(
      Type.String({ maxLength: LIMITS.name, title: 'ETag', description: 'ETag of the envelope last pulled, sent as If-None-Match.' }),
    ),
    sets: MapOf(
      SetName(),
      Type.Object(
        {
          version: SemverVersion({ title: 'Version', description: 'The version served.' }),
          integrity: Integrity({ title: 'Integrity', description: 'Integrity of that version\'s bundle.' }),
          rollout: Type.Optional(
            Type.Object(
              {
                version: SemverVersion({ title: 'Version', description: 'The version rolled out.' }),
                integrity: Integrity({ title: 'Integrity', description: 'Integrity of the rolled-out bundle.' }),
                percent: Type.Number({ minimum: 0, maximum: 100, title: 'Percent', description: 'Share of keys (0 to 100) that get it.' }),
              },
              { additionalProperties: false, title: 'Rollout' },
            ),
          ),
        },
        { additionalProperties: false, title: 'Served set' },
      ),
      { maxProperties: LIMITS.lockedSets, title: 'Sets', description: 'Set → the version served, and the version rolled out beside it if any.' },
    ),
    bundles: MapOf(
      Integrity(),
      Type.Object(
        {
          set: SetName({ title: 'Set' }),
          version: SemverVersion({ title: 'Version' }),
          signatures: Type.Array(Signature, {
            minItems: 1,
            maxItems: LIMITS.signatures,
            title: 'Signatures',
            description: 'The forge\'s signatures over this integrity, as the envelope carried them.',
          }),
        },
        { additionalProperties: false, title: 'Kept bundle' },
      ),
      {
        maxProperties: RECEIVER_STATE_LIMITS.bundles,
        title: 'Bundles',
        description: 'Integrity → set, version and signatures of every bundle this state needs, dependencies included; each is the file `bundles/<integrity>.json`.',
      },
    ),
    seenWebhookIds: Type.Array(Type.String({ minLength: 1, maxLength: LIMITS.shortText }), {
      maxItems: RECEIVER_STATE_LIMITS.seenWebhookIds,
      title: 'Seen webhook ids',
      description: 'The most recent `webhook-id`s applied, oldest first: a retried push is answered 200 without applying it again.',
    }),
    instanceId: Type.String({
      minLength: 1,
      maxLength: LIMITS.shortText,
      title: 'Instance id',
      description: 'This receiver\'s id at the forge (registration, heartbeats, sticky rollouts without a key).',
    }),
  },
  {
    ...schemaHeader('receiver-state.schema.json'),
    title: 'Anvil receiver state',
    description: 'A LIVE receiver\'s `state.json`: what it serves, the bundles and signatures those need, and the forge keys it trusts.',
    additionalProperties: false,
  },
);

/** A receiver's `state.json`. */
export type ReceiverState = Static<typeof ReceiverStateSchema>;
/** One set a receiver serves. */
export type ServedSet = ReceiverState['sets'][string];
/** One bundle a receiver state needs. */
export type KeptBundle = ReceiverState['bundles'][string];
/** `accepting` or `frozen`. */
export type ReceptionMode = ReceiverState['mode'];
