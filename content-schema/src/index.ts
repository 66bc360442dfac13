export * from './errors.ts';
export * from './picoschema.ts';

export * from './names.ts';
export * from './versions.ts';
export * from './address.ts';
export * from './canonical-json.ts';
export * from './integrity.ts';
export * from './signing.ts';
export * from './stream-event.ts';
export * from './latency-histogram.ts';
export * from './usage-sums.ts';
export { closest } from './did-you-mean.ts';

export {
  EXTENSION_KEY_PATTERN,
  GIT_OBJECT_ID_PATTERN,
  INTEGRITY_PATTERN,
  ISO_DATE_TIME_PATTERN,
  JSON_SCHEMA_DIALECT,
  LIMITS,
  SCHEMA_BASE_URL,
  SET_MODES,
  type RolloutEntry,
} from './schemas/common.ts';
export * from './schemas/set-config.ts';
export * from './schemas/repo-config.ts';
export * from './schemas/front-matter.ts';
export * from './schemas/prompt-metadata.ts';
export * from './schemas/bundle.ts';
export * from './schemas/envelope.ts';
export * from './schemas/lock-file.ts';
export * from './schemas/archive.ts';
export * from './schemas/receiver-state.ts';
export * from './schemas/live-config.ts';
export * from './schemas/forge-config.ts';
export * from './schemas/receiver-registration.ts';
export * from './schemas/metrics-batch.ts';
export * from './schemas/types-manifest.ts';
export * from './schemas/schema-files.ts';

export {
  escapePointerToken,
  formatIssue,
  joinPointer,
  type ValidationIssue,
  type ValidationResult,
} from './validate/issues.ts';
export * from './validate/validate-set-config.ts';
export * from './validate/validate-repo-config.ts';
export * from './validate/validate-front-matter.ts';
export { validateBundle, type BundleValidationOptions } from './validate/validate-bundle.ts';
export { validateBundlePrompt } from './validate/validate-bundle-prompt.ts';
export * from './validate/validate-envelope.ts';
export * from './validate/validate-lock-file.ts';
export * from './validate/validate-archive.ts';
export * from './validate/validate-receiver-state.ts';
export * from './validate/validate-live-config.ts';
export * from './validate/validate-forge-config.ts';
export * from './validate/validate-receiver-registration.ts';
export * from './validate/validate-metrics-batch.ts';
export * from './validate/validate-types-manifest.ts';
