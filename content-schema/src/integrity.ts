/**
 * Integrity strings (`sha256-<base64>`, the Subresource Integrity notation) over canonical
 * JSON, so that a value hashes the same wherever and however it was built or transported.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import { isAnvilError } from './errors.ts';
import type { Bundle } from './schemas/bundle.ts';

/** `sha256-` + base64 of the SHA-256 of the UTF-8 canonical JSON of `value`. */
export function integrityOf(value: unknown): string {
  return `sha256-${createHash('sha256').update(canonicalJson(value), 'utf8').digest('base64')}`;
}

/** The integrity of a bundle: of everything in it except the `integrity` field itself. */
export function bundleIntegrity(bundle: Omit<Bundle, 'integrity'> & { integrity?: string }): string {
  const { integrity: _ignored, ...content } = bundle;
  return integrityOf(content);
}

/**
 * True when `bundle.integrity` is the integrity of the rest of the bundle. False, never a
 * throw, for anything that cannot match (no integrity field, non-JSON content).
 */
export function verifyBundleIntegrity(bundle: unknown): boolean {
  if (typeof bundle !== 'object' || bundle === null || Array.isArray(bundle)) return false;
  const { integrity, ...content } = bundle as Record<string, unknown>;
  if (typeof integrity !== 'string') return false;
  try {
    return integrityOf(content) === integrity;
  } catch (err) {
    if (isAnvilError(err)) return false;
    throw err;
  }
}
