/**
 * An envelope (`anvil.envelope/1`): the body of a push and of a pull (DESIGN §7, §8). It
 * carries bundles, the rollouts that apply to them, the forge's Ed25519 signatures over each
 * bundle's integrity string, so a bundle verifies wherever it was fetched from, and the forge's
 * signatures over the envelope statement (signing.ts `envelopeStatement`), which bind the
 * bundles to this project, channel and rollouts: without them a bundle signed for one channel
 * could be re-wrapped into an envelope for another (issue 18).
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  ChannelName,
  Integrity,
  LIMITS,
  MapOf,
  ProjectName,
  RefTo,
  Rollout,
  SetName,
  schemaHeader,
} from './common.ts';
import { BundleDefinition, BundlePromptDefinition } from './bundle.ts';
import { PromptMetadataDefinition } from './prompt-metadata.ts';

export const ENVELOPE_FORMAT = 'anvil.envelope/1';
/** One envelope signature per forge signing key; a rotation has two or three at a time. */
export const MAX_ENVELOPE_SIGNATURES = 16;

export const EnvelopeSchema = Type.Object(
  {
    format: Type.Literal(ENVELOPE_FORMAT, { title: 'Format', description: 'Always "anvil.envelope/1".' }),
    id: Type.String({
      pattern: '^[A-Za-z0-9._:-]+$',
      maxLength: 128,
      patternErrorMessage: 'An envelope id is letters, digits, ".", "_", ":" and "-".',
      title: 'Id',
      description: 'Identifies this envelope (the same on every retry of a push).',
    }),
    forge: Type.String({ minLength: 1, maxLength: LIMITS.shortText, title: 'Forge', description: 'Name of the forge that signed the envelope, as in its `/.well-known/anvil.json`.' }),
    project: ProjectName({ title: 'Project' }),
    channel: ChannelName({ description: 'The channel this envelope is for.' }),
    bundles: Type.Array(RefTo('Bundle', BundleDefinition), {
      maxItems: LIMITS.envelopeBundles,
      title: 'Bundles',
      description: 'The bundles of the set(s) and the dependency bundles they need; receivers dedupe by integrity.',
    }),
    rollouts: MapOf(SetName(), Rollout(), {
      maxProperties: LIMITS.rolloutSets,
      title: 'Rollouts',
      description: 'Set → the version being rolled out and the share of keys that get it.',
    }),
    envelopeSignatures: Type.Array(
      Type.Object(
        {
          keyId: Type.String({ minLength: 1, maxLength: LIMITS.shortText, title: 'Key id', description: 'Which of the forge\'s public keys signed.' }),
          signature: Type.String({
            pattern: '^[A-Za-z0-9+/]{86}==$',
            patternErrorMessage: 'An Ed25519 signature is 64 bytes: 88 base64 characters ending in "==".',
            title: 'Signature',
            description: 'Base64 Ed25519 signature over the UTF-8 bytes of the envelope statement.',
          }),
        },
        { additionalProperties: false, title: 'Envelope signature' },
      ),
      {
        minItems: 1,
        maxItems: MAX_ENVELOPE_SIGNATURES,
        title: 'Envelope signatures',
        description:
          'The forge\'s signatures, one per signing key, over the envelope statement: the canonical JSON of {statement: "anvil.envelope-statement/1", format, forge, id, project, channel, bundles: [{integrity, set, version, stage, mode}], rollouts}.',
      },
    ),
    signatures: Type.Array(
      Type.Object(
        {
          keyId: Type.String({ minLength: 1, maxLength: LIMITS.shortText, title: 'Key id', description: 'Which of the forge\'s public keys signed.' }),
          integrity: Integrity({ title: 'Integrity', description: 'The signed bundle integrity string.' }),
          signature: Type.String({
            pattern: '^[A-Za-z0-9+/]{86}==$',
            patternErrorMessage: 'An Ed25519 signature is 64 bytes: 88 base64 characters ending in "==".',
            title: 'Signature',
            description: 'Base64 Ed25519 signature over the UTF-8 bytes of `integrity`.',
          }),
        },
        { additionalProperties: false, title: 'Signature' },
      ),
      { maxItems: LIMITS.signatures, title: 'Signatures', description: 'The forge\'s signatures, one or more per bundle.' },
    ),
  },
  {
    ...schemaHeader('envelope.schema.json'),
    title: 'Anvil envelope',
    description: 'Signed bundles and rollouts for one project and channel, as pushed to and pulled by receivers.',
    additionalProperties: false,
    $defs: { Bundle: BundleDefinition, BundlePrompt: BundlePromptDefinition, PromptMetadata: PromptMetadataDefinition },
  },
);

/** An envelope: signed bundles plus rollouts for one channel. */
export type Envelope = Static<typeof EnvelopeSchema>;
/** One signature of an envelope. */
export type EnvelopeSignature = Envelope['signatures'][number];
/** One signature over an envelope's statement. */
export type EnvelopeStatementSignature = Envelope['envelopeSignatures'][number];
