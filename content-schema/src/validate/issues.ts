/** The shape every validator returns: all problems at once, with locations (STYLE §5). */

/** One problem found in a document. */
export interface ValidationIssue {
  /** JSON Pointer to the offending value, e.g. `/dependencies/core` (`""` is the document). */
  path: string;
  /** Stable machine-readable code, e.g. `schema.type`, `schema.unknown-field`, `semver.range`. */
  code: string;
  /** What is wrong, in words a person can act on. */
  message: string;
  /** How to fix it, when there is something useful to say. */
  hint?: string;
}

/**
 * The outcome of a validation. `value` (a copy with defaults applied, for authored files) is
 * present exactly when `ok` is true, that is when `errors` is empty; warnings never block.
 */
export type ValidationResult<T> =
  | { ok: true; value: T; errors: ValidationIssue[]; warnings: ValidationIssue[] }
  | { ok: false; value?: undefined; errors: ValidationIssue[]; warnings: ValidationIssue[] };

/** Escapes one reference token of a JSON Pointer (RFC 6901). */
export function escapePointerToken(token: string | number): string {
  return String(token).replaceAll('~', '~0').replaceAll('/', '~1');
}

/** `base` + `/token` for each token, escaped. */
export function joinPointer(base: string, ...tokens: (string | number)[]): string {
  let out = base;
  for (const token of tokens) out += `/${escapePointerToken(token)}`;
  return out;
}

/** An issue, omitting `hint` when there is none (exact optional properties). */
export function issue(path: string, code: string, message: string, hint?: string): ValidationIssue {
  return hint === undefined ? { path, code, message } : { path, code, message, hint };
}

/** `path  code  message (hint: …)`: one line per issue, for logs and CLIs. */
export function formatIssue(found: ValidationIssue): string {
  const hint = found.hint ? ` (hint: ${found.hint})` : '';
  return `${found.path || '/'}  ${found.code}  ${found.message}${hint}`;
}
