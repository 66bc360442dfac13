/**
 * An envelope (DESIGN.md §7) from stored bundle bytes. Pure. Bundles are kept as the canonical
 * JSON that was hashed, so the envelope is spliced from those bytes rather than re-serialised:
 * a 10 MB bundle is not stringified again per channel, and receivers check the integrity on
 * exactly the bytes the forge built. The result is itself canonical JSON (keys in order).
 *
 * Besides each bundle's integrity, every key signs the envelope statement (content-schema
 * `envelopeStatement`): project, channel, bundle list and rollouts together, so that what was
 * signed for one channel cannot be re-wrapped for another (issue 18).
 */
import { createHash } from 'node:crypto';
import {
  ENVELOPE_FORMAT,
  canonicalJson,
  signEnvelopeStatement,
  signIntegrity,
  type Bundle,
  type RolloutEntry,
  type SigningKey,
} from '@anvil/content-schema';

export interface StoredBundle {
  integrity: string;
  set: string;
  version: string;
  /** Canonical JSON of the bundle. */
  body: string;
  /** The bundle's `stage` and `mode`, when the store read them; else they are read from `body`. */
  stage?: Bundle['stage'] | undefined;
  mode?: Bundle['mode'] | undefined;
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
  const statement = {
    format: ENVELOPE_FORMAT, forge: input.forge, id, project: input.project, channel: input.channel,
    bundles: bundles.map((b) => ({ integrity: b.integrity, set: b.set, version: b.version, ...stageAndMode(b) })),
    rollouts: input.rollouts,
  };
  const envelopeSignatures = input.keys.map((key) => signEnvelopeStatement(key, statement));
  // Keys in canonical order: bundles, channel, envelopeSignatures, format, forge, id, project, rollouts, signatures.
  const body = `{"bundles":[${bundles.map((b) => b.body).join(',')}],"channel":${JSON.stringify(input.channel)},`
    + `"envelopeSignatures":${canonicalJson(envelopeSignatures)},"format":${JSON.stringify(ENVELOPE_FORMAT)},`
    + `"forge":${JSON.stringify(input.forge)},"id":${JSON.stringify(id)},"project":${JSON.stringify(input.project)},`
    + `"rollouts":${canonicalJson(input.rollouts)},"signatures":${canonicalJson(signatures)}}`;
  return { id, body };
}

// Canonical bundle JSON sorts its keys, so `mode` follows `dependencies` (a flat map of names to
// versions), `format` and `integrity` at the start, and the body ends with `stage` and `version`:
// both are read without parsing 10 MB of prompts. Anything else is parsed (and remembered).
const MODE_AT_START = /^\{"dependencies":\{[^{}]*\},"format":"[^"\\]*","integrity":"[^"\\]*","mode":"(live|review|locked)",/;
const STAGE_AT_END = /,"stage":"(release|head)","version":"[^"\\]*"\}$/;
const parsedCache = new Map<string, { stage: Bundle['stage']; mode: Bundle['mode'] }>();

function stageAndMode(bundle: StoredBundle): { stage: Bundle['stage']; mode: Bundle['mode'] } {
  if (bundle.stage !== undefined && bundle.mode !== undefined) return { stage: bundle.stage, mode: bundle.mode };
  const mode = MODE_AT_START.exec(bundle.body.slice(0, 64 * 1024))?.[1] as Bundle['mode'] | undefined;
  const stage = STAGE_AT_END.exec(bundle.body.slice(-1024))?.[1] as Bundle['stage'] | undefined;
  if (mode !== undefined && stage !== undefined) return { stage: bundle.stage ?? stage, mode: bundle.mode ?? mode };
  let found = parsedCache.get(bundle.integrity);
  if (!found) {
    const parsed = JSON.parse(bundle.body) as Bundle;
    found = { stage: parsed.stage, mode: parsed.mode };
    if (parsedCache.size > 10_000) parsedCache.clear();
    parsedCache.set(bundle.integrity, found);
  }
  return { stage: bundle.stage ?? found.stage, mode: bundle.mode ?? found.mode };
}
