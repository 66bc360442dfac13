/**
 * Walking canonical JSON bytes (content-schema `canonicalJson`: no insignificant space) without
 * parsing them: where each value starts and ends. A receiver uses it to find the bundles in an
 * envelope and the prompts in a bundle, so that it can keep a 10 MB bundle as its bytes and
 * parse a prompt only when it is first used (DESIGN.md §11, "apply"; bundle-bytes.ts).
 *
 * Every function returns the offset just past what it walked, or -1 when the bytes are not
 * canonical JSON there; none of them throws or loops more than once over a byte. Bytes are
 * untrusted here: what they mean is only believed once their hash is checked.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
/** Strings longer than this are crossed with native searches: one call beats a byte loop there. */
const SHORT_STRING = 32;

/** Past the string that starts (with its `"`) at `at`. */
export function skipJsonString(bytes: Buffer, at: number): number {
  if (bytes[at] !== QUOTE) return -1;
  const n = bytes.length;
  const short = Math.min(n, at + SHORT_STRING);
  let i = at + 1;
  for (; i < short; i++) {
    const c = bytes[i];
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) i++;
  }
  if (i >= n) return -1;
  // A `"` ends the string unless an odd run of backslashes escapes it.
  for (let from = i; ;) {
    const quote = bytes.indexOf(QUOTE, from);
    if (quote < 0) return -1;
    let slashes = 0;
    while (bytes[quote - 1 - slashes] === BACKSLASH && quote - 1 - slashes > at) slashes++;
    if ((slashes & 1) === 0) return quote + 1;
    from = quote + 1;
  }
}

/** Past the value (object, array, string or scalar) that starts at `at`. */
export function skipJsonValue(bytes: Buffer, at: number): number {
  const first = bytes[at];
  if (first === QUOTE) return skipJsonString(bytes, at);
  const n = bytes.length;
  if (first !== OPEN_OBJECT && first !== OPEN_ARRAY) {
    // A number, true, false or null: up to what follows a value.
    let i = at;
    for (; i < n; i++) {
      const c = bytes[i];
      if (c === COMMA || c === CLOSE_OBJECT || c === CLOSE_ARRAY || c === COLON || c === QUOTE || c === OPEN_OBJECT || c === OPEN_ARRAY) break;
    }
    return i > at && i < n ? i : -1;
  }
  let depth = 0;
  for (let i = at; i < n; i++) {
    const c = bytes[i];
    if (c === QUOTE) {
      i = skipJsonString(bytes, i) - 1;
      if (i < 0) return -1;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
    else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * Calls `member` for each member of the object at `at`, with where its key (quotes included)
 * and its value start; `member` returns where the value ends (`skipJsonValue` by default) or -1.
 */
export function walkJsonObject(
  bytes: Buffer,
  at: number,
  member: (keyStart: number, keyEnd: number, valueStart: number) => number = (_k, _e, valueStart) => skipJsonValue(bytes, valueStart),
): number {
  if (bytes[at] !== OPEN_OBJECT) return -1;
  let i = at + 1;
  if (bytes[i] === CLOSE_OBJECT) return i + 1;
  for (;;) {
    const keyEnd = skipJsonString(bytes, i);
    if (keyEnd < 0 || bytes[keyEnd] !== COLON) return -1;
    const valueEnd = member(i, keyEnd, keyEnd + 1);
    if (valueEnd < 0) return -1;
    if (bytes[valueEnd] === CLOSE_OBJECT) return valueEnd + 1;
    if (bytes[valueEnd] !== COMMA) return -1;
    i = valueEnd + 1;
  }
}

/** Calls `element` for each element of the array at `at`; like `walkJsonObject`. */
export function walkJsonArray(
  bytes: Buffer,
  at: number,
  element: (start: number) => number = (start) => skipJsonValue(bytes, start),
): number {
  if (bytes[at] !== OPEN_ARRAY) return -1;
  let i = at + 1;
  if (bytes[i] === CLOSE_ARRAY) return i + 1;
  for (;;) {
    const end = element(i);
    if (end < 0) return -1;
    if (bytes[end] === CLOSE_ARRAY) return end + 1;
    if (bytes[end] !== COMMA) return -1;
    i = end + 1;
  }
}

/** Whether the key at `keyStart..keyEnd` (quotes included) is `"name"`, compared as bytes. */
export function isJsonKey(bytes: Buffer, keyStart: number, keyEnd: number, name: Buffer): boolean {
  return keyEnd - keyStart === name.length && bytes.compare(name, 0, name.length, keyStart, keyEnd) === 0;
}

/** The key at `keyStart..keyEnd` (quotes included) as a string; undefined for a bad escape. */
export function jsonKey(bytes: Buffer, keyStart: number, keyEnd: number): string | undefined {
  const raw = bytes.toString('utf8', keyStart + 1, keyEnd - 1);
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return undefined;
  }
}
