/**
 * What a LIVE receiver sends the forge when it registers (`POST …/receivers`) and on every
 * heartbeat (`PUT …/receivers`), DESIGN §8: where to push to — or that it streams, with no
 * push URL (issue 16) — what it accepts and what it serves. `DELETE …/receivers` (leaving)
 * carries only the instance id; `POST …/receivers/ack` is a streaming receiver's answer to an
 * envelope the forge sent on its stream.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ChannelName, LIMITS, MapOf, SemverRange, SemverVersion, SetName, StringEnum, schemaHeader } from './common.ts';
import { RECEPTION_MODES } from './receiver-state.ts';

export const RECEIVER_REGISTRATION_LIMITS = {
  /** The same bound as a receiver's state: a receiver cannot serve more sets than it can keep. */
  sets: LIMITS.lockedSets,
} as const;

/** How envelopes reach a receiver: pushed to its URL, or sent on the stream it opened (issue 16). */
export const RECEIVER_TRANSPORTS = ['push', 'stream'] as const;
export type ReceiverTransport = (typeof RECEIVER_TRANSPORTS)[number];

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
    url: Type.Optional(Type.String({
      minLength: 1,
      maxLength: LIMITS.url,
      title: 'Push URL',
      description: 'Where the forge pushes envelopes to (http or https), e.g. "https://app.example.com/anvil". Required with the `push` transport; absent with `stream`.',
    })),
    transport: Type.Optional(StringEnum(RECEIVER_TRANSPORTS, {
      title: 'Transport',
      description: 'How envelopes reach the receiver: "push" (the default: the forge POSTs them to `url`) or "stream" (the receiver holds an outbound stream, GET …/stream, and has no push URL).',
      default: 'push',
    })),
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

/**
 * The body of `POST …/receivers/ack`: how a streaming receiver answered an envelope the forge
 * sent on its stream — the same status and code it would have answered the push with
 * (DESIGN §8's table) — and the versions it serves now.
 */
export const ReceiverAckSchema = Type.Object(
  {
    instanceId: InstanceId(),
    envelope: Type.String({ minLength: 1, maxLength: LIMITS.shortText, pattern: INSTANCE_ID_PATTERN, title: 'Envelope id', description: 'The id of the envelope answered (the stream event\'s `id`).' }),
    status: Type.Integer({ minimum: 100, maximum: 599, title: 'Status', description: 'The HTTP status the receiver would have answered the push with.' }),
    code: Type.String({ minLength: 1, maxLength: LIMITS.shortText, title: 'Code', description: 'The answer\'s code: `applied`, `unchanged`, `duplicate`, `frozen`, `stale`, `push.signature`…' }),
    reason: Type.Optional(Type.String({ maxLength: LIMITS.text, title: 'Reason' })),
    versions: MapOf(SetName(), SemverVersion({ title: 'Version' }), {
      maxProperties: RECEIVER_REGISTRATION_LIMITS.sets,
      title: 'Versions',
      description: 'Set → the exact version the receiver serves after answering.',
    }),
  },
  { title: 'Anvil receiver acknowledgement', additionalProperties: false },
);

/** A streaming receiver's answer to one envelope. */
export type ReceiverAck = Static<typeof ReceiverAckSchema>;

/** A receiver's registration or heartbeat, as sent to the forge. */
export type ReceiverRegistration = Static<typeof ReceiverRegistrationSchema>;
/** A receiver leaving. */
export type ReceiverLeave = Static<typeof ReceiverLeaveSchema>;
