/**
 * OpenTelemetry span attributes for a call (issue 17), as a plain object so that the client
 * needs no OpenTelemetry package: `span.setAttributes(anvil.spanAttributes(id, options))`.
 * `gen_ai.prompt.name` / `gen_ai.prompt.version` follow the GenAI semantic conventions' naming;
 * `anvil.*` say which set, bundle (integrity), variant and channel served the call.
 */
import type { PromptTrack } from '../store/store-snapshot.ts';

/** Attribute values OpenTelemetry takes: no null, so an absent variant is left out. */
export type SpanAttributes = Record<string, string | boolean>;

export function spanAttributesOf(track: PromptTrack, channel: string): SpanAttributes {
  return {
    'gen_ai.prompt.name': `${track.set}/${track.id}`,
    'gen_ai.prompt.version': track.version,
    'anvil.set': track.set,
    'anvil.prompt': track.id,
    'anvil.integrity': track.integrity,
    'anvil.rollout': track.rollout,
    'anvil.channel': channel,
    ...(track.variant !== null ? { 'anvil.variant': track.variant } : {}),
  };
}
