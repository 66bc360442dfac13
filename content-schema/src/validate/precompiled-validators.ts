/**
 * The validators the build compiled ahead of time. From source there are none (each is compiled
 * on first use); `npm run build` bundles the generated module (scripts/write-validators.ts) in
 * this file's place.
 */
import type { CompiledValidator, ValidatorName } from './validators.ts';

export const PRECOMPILED_VALIDATORS: Partial<Record<ValidatorName, CompiledValidator>> | undefined = undefined;
