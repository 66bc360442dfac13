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

/**
 * The hash an export archive's manifest records for one file (`anvil.archive/1`): of the file's
 * UTF-8 bytes, not of a JSON encoding, so it can be checked on the file itself once written
 * (`openssl dgst -sha256 -binary <file> | base64`).
 */
export function archiveFileIntegrity(text: string): string {
  return `sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}`;
}

/** The integrity of an export archive: of everything in it except the `integrity` field. */
export function archiveIntegrity(archive: Record<string, unknown>): string {
  const { integrity: _ignored, ...content } = archive;
  return integrityOf(content);
}

const INTEGRITY_MEMBER = Buffer.from('"format":"anvil.bundle/1","integrity":"');

/**
 * The integrity of a bundle straight from its canonical bytes, without parsing or re-serialising
 * it: the hash of the bytes with the `"integrity":"…"` member cut out. In canonical key order that
 * member follows `format`, and only set names and versions (no quotes) come before it, so the
 * first match is the top-level one. Undefined when the bytes do not have that shape.
 *
 * A match proves the bytes are the ones the forge hashed (it hashes canonical bytes): whoever
 * holds bytes with this hash holds those bytes. Anything else falls back to `verifyBundleIntegrity`.
 */
export function integrityOfBundleBytes(bytes: Uint8Array): string | undefined {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = buf.indexOf(INTEGRITY_MEMBER);
  if (at < 0) return undefined;
  const valueStart = at + INTEGRITY_MEMBER.length;
  const valueEnd = buf.indexOf(0x22 /* " */, valueStart);
  if (valueEnd < 0 || buf[valueEnd + 1] !== 0x2c /* , */) return undefined;
  // Cut `,"integrity":"…"` — from the comma after format's value to the closing quote.
  const cutStart = at + '"format":"anvil.bundle/1"'.length;
  return `sha256-${createHash('sha256').update(buf.subarray(0, cutStart)).update(buf.subarray(valueEnd + 1)).digest('base64')}`;
}
