/**
 * Canonical JSON (RFC 8785, JCS): object keys sorted by UTF-16 code units, no insignificant
 * whitespace, strings and numbers as ECMAScript's JSON.stringify writes them. The same value
 * gives the same bytes whatever the key order it was built with, which is what bundle
 * integrity hashes.
 *
 * Written here rather than taken from the `canonicalize` package: that one follows JSON in
 * silently dropping functions and symbols (we must refuse them, with the path), its current
 * major needs Node 22 (we support 20), and our own walk lets input whose keys are already in
 * order (any bundle parsed from canonical bytes) go through the native JSON.stringify, which
 * matters for 10 MB bundles (DESIGN §11, "apply").
 */
import { AnvilError } from './errors.ts';

/** Nesting beyond this is refused rather than risking a stack overflow. */
const MAX_DEPTH = 1_000;

/**
 * The canonical JSON text of `value`. Undefined object members are dropped, as JSON does.
 * Throws AnvilError `json.not-json` for anything else JSON cannot hold exactly: NaN,
 * ±Infinity, BigInt, functions, symbols, undefined as a value or array item, non-plain
 * objects (Date, Map, class instances) and cycles.
 */
export function canonicalJson(value: unknown): string {
  if (isSortedJson(value, [], new Set())) {
    // Keys already in canonical order everywhere: the native serialiser writes exactly the
    // canonical form (same string escaping, same number formatting).
    return JSON.stringify(value);
  }
  return serialize(value);
}

/**
 * Checks that `value` is JSON (throwing where it is not) and says whether all keys are sorted.
 * `trail` holds the keys down to `value`; the JSON Pointer is only built for an error, as
 * building one per node would double the cost on a large bundle.
 */
function isSortedJson(value: unknown, trail: (string | number)[], ancestors: Set<object>): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      if (!Number.isFinite(value)) throw notJson(`${String(value)} is not a JSON number`, trail);
      return true;
    case 'object':
      break;
    default:
      throw notJson(`${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`} is not a JSON value`, trail);
  }
  if (value === null) return true;
  if (trail.length >= MAX_DEPTH) throw notJson(`nested more than ${MAX_DEPTH} levels deep`, trail);
  if (ancestors.has(value)) throw notJson('circular reference', trail);
  ancestors.add(value);
  let sorted = true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'string') continue;
      trail.push(i);
      if (!isSortedJson(item, trail, ancestors)) sorted = false;
      trail.pop();
    }
  } else {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      throw notJson(`${value instanceof Date ? 'a Date' : 'a non-plain object'} is not a JSON value`, trail);
    }
    const record = value as Record<string, unknown>;
    let previous: string | undefined;
    for (const key in record) {
      if (!Object.hasOwn(record, key)) continue;
      if (previous !== undefined && !(previous < key)) sorted = false;
      previous = key;
      const member = record[key];
      // Strings are most of a bundle's bytes and need no check: skip the call.
      if (typeof member === 'string') continue;
      if (member === undefined) {
        // Dropped, as JSON does; the slow path is the one that knows to skip it.
        sorted = false;
        continue;
      }
      trail.push(key);
      if (!isSortedJson(member, trail, ancestors)) sorted = false;
      trail.pop();
    }
  }
  ancestors.delete(value);
  return sorted;
}

/**
 * Whether two JSON values have the same canonical JSON, without writing either: key order does
 * not matter and undefined object members count as absent, as in `canonicalJson`. It stops at
 * the first difference, so comparing the prompts of two releases (most of them untouched) costs
 * a walk instead of two serialisations each. Values are assumed to be JSON (bundles, metadata);
 * it does not validate them.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  let defined = 0;
  for (const key in left) {
    if (!Object.hasOwn(left, key) || left[key] === undefined) continue;
    defined++;
    if (!Object.hasOwn(right, key) || !jsonEqual(left[key], right[key])) return false;
  }
  for (const key in right) if (Object.hasOwn(right, key) && right[key] !== undefined) defined--;
  return defined === 0;
}

/** Serialises already-checked JSON with sorted keys. */
function serialize(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += serialize(value[i]);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  // Default sort compares UTF-16 code units, the order RFC 8785 §3.2.3 prescribes.
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${serialize(member)}`;
    first = false;
  }
  return `${out}}`;
}

function notJson(what: string, trail: readonly (string | number)[]): AnvilError {
  const path = trail.map((token) => `/${String(token).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
  return new AnvilError('json.not-json', `${what} (at ${path || '/'})`, {
    hint: 'only plain objects, arrays, strings, finite numbers, booleans and null can be hashed',
    details: { path },
  });
}
