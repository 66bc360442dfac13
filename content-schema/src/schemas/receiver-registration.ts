/**
 * What a LIVE receiver sends the forge when it registers (`POST …/receivers`) and on every
 * heartbeat (`PUT …/receivers`), DESIGN §8: where to push to, what it accepts and what it
 * serves. `DELETE …/receivers` (leaving) carries only the instance id.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ChannelName, LIMITS, MapOf, SemverRange, SemverVersion, SetName, StringEnum, schemaHeader } from './common.ts';
import { RECEPTION_MODES } from './receiver-state.ts';

export const RECEIVER_REGISTRATION_LIMITS = {
  /** The same bound as a receiver's state: a receiver cannot serve more sets than it can keep. */
  sets: LIMITS.lockedSets,
} as const;

/** Visible ASCII, no spaces: the id is shown in tables and logs, and used in URLs. */
export const INSTANCE_ID_PATTERN = '^[!-~]+$';

function InstanceId() {
  return Type.String({
    minLength: 1,
    maxLength: LIMITS.shortText,
    pattern: INSTANCE_ID_PATTERN,
    patternErrorMessage: 'An instance id is visible ASCII without spaces (e.g. "anvil-3f2a…" or "web-1").',
    title: 'Instance id',
    description: 'The receiver\'s id, stable across restarts (kept in its state.json): registrations and heartbeats with the same id update one receiver.',
  });
}

export const ReceiverRegistrationSchema = Type.Object(
  {
    instanceId: InstanceId(),
    url: Type.String({
      minLength: 1,
      maxLength: LIMITS.url,
      title: 'Push URL',
      description: 'Where the forge pushes envelopes to (http or https), e.g. "https://app.example.com/anvil".',
    }),
    channel: ChannelName({ description: 'The channel this receiver accepts: "production", "staging" or "development".' }),
    mode: StringEnum(RECEPTION_MODES, {
      title: 'Reception mode',
      description: '"accepting" applies pushes; "frozen" answers 409 and changes only by a manual sync. The forge skips frozen receivers.',
    }),
    ranges: MapOf(SetName(), SemverRange({ title: 'Version range' }), {
      maxProperties: RECEIVER_REGISTRATION_LIMITS.sets,
      title: 'Ranges',
      description: 'Set → semver range the receiver pins it to (`{onboarding: "^1.2.0"}`); the forge never pushes a version outside it. Empty: every set, any version.',
    }),
    versions: MapOf(SetName(), SemverVersion({ title: 'Version' }), {
      maxProperties: RECEIVER_REGISTRATION_LIMITS.sets,
      title: 'Versions',
      description: 'Set → the exact version the receiver serves now.',
    }),
  },
  {
    ...schemaHeader('receiver-registration.schema.json'),
    title: 'Anvil receiver registration',
    description: 'The body of POST and PUT /api/v1/projects/:project/receivers: a LIVE receiver\'s push URL, channel, mode, ranges and served versions.',
    additionalProperties: false,
  },
);

/** The body of `DELETE …/receivers`: the receiver leaves. */
export const ReceiverLeaveSchema = Type.Object(
  { instanceId: InstanceId() },
  { title: 'Anvil receiver leave', additionalProperties: false },
);

/** A receiver's registration or heartbeat, as sent to the forge. */
export type ReceiverRegistration = Static<typeof ReceiverRegistrationSchema>;
/** A receiver leaving. */
export type ReceiverLeave = Static<typeof ReceiverLeaveSchema>;
