/**
 * Checking a bundle in two steps, as a receiver does (DESIGN §11, "apply"): everything but the
 * prompts' entries when the bundle arrives, and each entry before its prompt is first served.
 * A 10 MB bundle then costs its receiver a check of its outline (names, versions, partials, the
 * prompt ids) up front, not a walk of 10,000 templates and metadata objects, while no entry is
 * ever used unchecked. Integrity and signatures still cover every byte when the bundle arrives.
 *
 * The outline schemas are not separate definitions: they are the published bundle and envelope
 * schemas with their one `BundlePrompt` definition replaced by "an object".
 */
import type { TSchema } from '@sinclair/typebox';
import { BundleSchema } from '../schemas/bundle.ts';
import { EnvelopeSchema } from '../schemas/envelope.ts';

const OPAQUE_PROMPT = {
  type: 'object',
  title: 'Prompt',
  description: 'Checked on its own (validateBundlePrompt) before the prompt is first served.',
};

function outline(schema: TSchema): TSchema {
  // Without `$id`: the validator registers schemas by id, and the full schema holds that one.
  const { $id: _id, ...rest } = schema;
  return { ...rest, $defs: { ...(schema['$defs'] as object), BundlePrompt: OPAQUE_PROMPT } } as TSchema;
}

export const BundleOutlineSchema = outline(BundleSchema);
export const EnvelopeOutlineSchema = outline(EnvelopeSchema);

// The data walk (inspect-data.ts) leaves a deferred bundle's whole `prompts` map to the schema:
// its keys are prompt ids, whose pattern refuses `__proto__` and the like (reported as
// `schema.invalid-key` rather than `schema.forbidden-key`), and its entries are checked later.
// Walking 10,000 keys twice for the same answer is what this saves.

/** A bundle's prompts map, reached from the bundle: `prompts`. */
export const isBundlePrompts = (trail: readonly (string | number)[]): boolean => trail.length === 1 && trail[0] === 'prompts';

/** A bundle's prompts map, reached from an envelope: `bundles/<i>/prompts`. */
export const isEnvelopeBundlePrompts = (trail: readonly (string | number)[]): boolean =>
  trail.length === 3 && trail[2] === 'prompts' && trail[0] === 'bundles';

/** How deep an entry sits in its bundle: it may nest this much less than the bundle itself. */
export const PROMPT_ENTRY_DEPTH = 2;
