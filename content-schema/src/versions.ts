/** Exact versions and ranges, as Anvil writes them (DESIGN §5: Semantic Versioning 2.0 in full). */
import semver from 'semver';

/**
 * Semantic Versioning 2.0.0, from semver.org. Stricter than `semver.valid()`, which also
 * accepts a `v` prefix and surrounding space: tags, bundles and addresses need one spelling.
 */
export const SEMVER_PATTERN =
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)' +
  '(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?' +
  '(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$';

const SEMVER_RE = new RegExp(SEMVER_PATTERN, 'u');

/** True for an exact version written canonically: `1.2.0`, `2.1.0-gpt4+tokens.1500`; not `v1.2.0`. */
export function isExactVersion(value: unknown): boolean {
  // semver.valid adds what the pattern cannot: numbers within Number.MAX_SAFE_INTEGER.
  return typeof value === 'string' && value.length <= 256 && SEMVER_RE.test(value) && semver.valid(value) !== null;
}

/** True for a semver range: `^2.0.0`, `~1.2`, `>=1 <2`, `1.x`, `*` (an exact version is one too). */
export function isVersionRange(value: unknown): boolean {
  return typeof value === 'string' && value.trim() !== '' && semver.validRange(value) !== null;
}
