/**
 * Every schema data is validated against, by name, with the Ajv flavour it is checked in. The
 * build (`npm run build`) compiles each one ahead of time into standalone code
 * (scripts/write-validators.ts), so a published package never compiles a schema at run time:
 * compiling them costs an app's cold start and each CLI call 50–80 ms (DESIGN.md §11, start-up).
 * Running from source (tests, tsx), each is compiled on first use instead, with the same Ajv
 * options, so both paths check exactly the same.
 */
import type { TSchema } from '@sinclair/typebox';
import { ArchiveSchema } from '../schemas/archive.ts';
import { BundlePromptSchema, BundleSchema } from '../schemas/bundle.ts';
import { EnvelopeSchema } from '../schemas/envelope.ts';
import { ForgeConfigSchema } from '../schemas/forge-config.ts';
import { FrontMatterSchema } from '../schemas/front-matter.ts';
import { LiveConfigSchema } from '../schemas/live-config.ts';
import { LockFileSchema } from '../schemas/lock-file.ts';
import { MetricsBatchSchema } from '../schemas/metrics-batch.ts';
import { ReceiverAckSchema, ReceiverLeaveSchema, ReceiverRegistrationSchema } from '../schemas/receiver-registration.ts';
import { ReceiverStateSchema } from '../schemas/receiver-state.ts';
import { RepoConfigSchema } from '../schemas/repo-config.ts';
import { SetConfigSchema } from '../schemas/set-config.ts';
import { TypesManifestSchema } from '../schemas/types-manifest.ts';
import { compileValidator } from './ajv-instance.ts';
import { BundleOutlineSchema, EnvelopeOutlineSchema } from './deferred-prompts.ts';
import { PRECOMPILED_VALIDATORS } from './precompiled-validators.ts';

/**
 * Two flavours. Authored files (`set.yaml`, `anvil.yaml`, front matter) get their defaults
 * filled in (`useDefaults`), on a copy. Transport formats (bundle, envelope, lock file) are
 * never defaulted: what was hashed and signed is exactly what is checked, and a 10 MB bundle
 * is validated in place instead of being copied.
 */
export type AjvFlavour = 'authored' | 'transport';

/**
 * A compiled validator, as Ajv makes one (its ValidateFunction, described here so that the
 * package's declarations need no Ajv types): true when valid, else its errors.
 */
export interface CompiledValidator {
  (data: unknown): boolean;
  errors?: unknown[] | null | undefined;
}

export interface ValidatedSchema {
  schema: TSchema;
  flavour: AjvFlavour;
}

export const VALIDATED_SCHEMAS = {
  'set-config': { schema: SetConfigSchema, flavour: 'authored' },
  'repo-config': { schema: RepoConfigSchema, flavour: 'authored' },
  'front-matter': { schema: FrontMatterSchema, flavour: 'authored' },
  'live-config': { schema: LiveConfigSchema, flavour: 'authored' },
  'forge-config': { schema: ForgeConfigSchema, flavour: 'authored' },
  bundle: { schema: BundleSchema, flavour: 'transport' },
  'bundle-outline': { schema: BundleOutlineSchema, flavour: 'transport' },
  'bundle-prompt': { schema: BundlePromptSchema, flavour: 'transport' },
  envelope: { schema: EnvelopeSchema, flavour: 'transport' },
  'envelope-outline': { schema: EnvelopeOutlineSchema, flavour: 'transport' },
  'lock-file': { schema: LockFileSchema, flavour: 'transport' },
  archive: { schema: ArchiveSchema, flavour: 'transport' },
  'receiver-state': { schema: ReceiverStateSchema, flavour: 'transport' },
  'receiver-registration': { schema: ReceiverRegistrationSchema, flavour: 'transport' },
  'receiver-leave': { schema: ReceiverLeaveSchema, flavour: 'transport' },
  'receiver-ack': { schema: ReceiverAckSchema, flavour: 'transport' },
  'metrics-batch': { schema: MetricsBatchSchema, flavour: 'transport' },
  'types-manifest': { schema: TypesManifestSchema, flavour: 'transport' },
} as const satisfies Record<string, ValidatedSchema>;

export type ValidatorName = keyof typeof VALIDATED_SCHEMAS;

const compiled = new Map<ValidatorName, CompiledValidator>();

/** The validator for `name`: compiled by the build, else compiled once, on first use. */
export function validatorFor(name: ValidatorName): CompiledValidator {
  let validate = compiled.get(name) ?? PRECOMPILED_VALIDATORS?.[name];
  if (!validate) {
    const { schema, flavour } = VALIDATED_SCHEMAS[name];
    validate = compileValidator(schema, flavour);
  }
  compiled.set(name, validate);
  return validate;
}
