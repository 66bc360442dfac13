/**
 * An envelope (DESIGN.md §7) from stored bundle bytes. Pure. Bundles are kept as the canonical
 * JSON that was hashed, so the envelope is spliced from those bytes rather than re-serialised:
 * a 10 MB bundle is not stringified again per channel, and receivers check the integrity on
 * exactly the bytes the forge built. The result is itself canonical JSON (keys in order).
 */
import { createHash } from 'node:crypto';
import { ENVELOPE_FORMAT, canonicalJson, signIntegrity, type RolloutEntry, type SigningKey } from '@anvil/content-schema';

export interface StoredBundle {
  integrity: string;
  set: string;
  version: string;
  /** Canonical JSON of the bundle. */
  body: string;
}

export interface EnvelopeInput {
  forge: string;
  project: string;
  channel: string;
  /** In the order they go out; duplicates (by integrity) are dropped. */
  bundles: readonly StoredBundle[];
  rollouts: Record<string, RolloutEntry>;
  /** Each bundle is signed by every key (the active one, and retiring ones during rotation). */
  keys: readonly Pick<SigningKey, 'keyId' | 'privateKey'>[];
}

export interface ComposedEnvelope {
  /** Derived from the content, so the same channel state has the same id (and ETag). */
  id: string;
  body: string;
}

export function composeEnvelope(input: EnvelopeInput): ComposedEnvelope {
  const seen = new Set<string>();
  const bundles = input.bundles.filter((b) => !seen.has(b.integrity) && seen.add(b.integrity));
  const signatures = bundles.flatMap((b) => input.keys.map((key) => signIntegrity(key, b.integrity)));
  const digest = createHash('sha256')
    .update(canonicalJson({ forge: input.forge, project: input.project, channel: input.channel, bundles: bundles.map((b) => b.integrity), rollouts: input.rollouts, keys: input.keys.map((k) => k.keyId) }))
    .digest('base64url');
  const id = `env-${digest.slice(0, 32)}`;
  // Keys in canonical order: bundles, channel, format, forge, id, project, rollouts, signatures.
  const body = `{"bundles":[${bundles.map((b) => b.body).join(',')}],"channel":${JSON.stringify(input.channel)},"format":${JSON.stringify(ENVELOPE_FORMAT)},`
    + `"forge":${JSON.stringify(input.forge)},"id":${JSON.stringify(id)},"project":${JSON.stringify(input.project)},`
    + `"rollouts":${canonicalJson(input.rollouts)},"signatures":${canonicalJson(signatures)}}`;
  return { id, body };
}
