/**
 * Where each bundle's bytes are inside a canonical envelope body (`{"bundles":[{…},{…}],"channel":…`:
 * keys sort, so `bundles` comes first and `channel` right after it). With them the receiver
 * checks integrity on the bytes as received and writes them to its cache as they are, instead
 * of re-serialising 10 MB twice (DESIGN.md §11, "apply").
 *
 * Two ways to find them. `bundleSpans` guesses with native searches (no JavaScript loop over the
 * bytes): the array ends at the last `],"channel":"` and canonical bundles are joined by
 * `},{"dependencies":{`; content can imitate a join, so a guess is only trusted when every span
 * hashes to its bundle's integrity (see check-push.ts). `scanBundleSpans` is exact — one
 * string-aware pass — and is the fallback when a guess does not verify. Both return undefined when
 * the body does not have the canonical shape; callers then fall back to the parsed objects.
 */
const PREFIX = Buffer.from('{"bundles":[');
const END = Buffer.from('],"channel":"');
// A `"` inside a string is always escaped, so neither of these can start inside one: `,"` and `{"`
// only occur between members, and are found in member text (free-form metadata) at worst.
const JOIN = Buffer.from('},{"dependencies":{');
// `signatures` sorts last: what follows it is the signatures, at least one per bundle.
const SIGNATURES = Buffer.from(',"signatures":[');

/** Guessed spans, to be verified by hash (all of them, or none). */
export function bundleSpans(body: Buffer): Buffer[] | undefined {
  if (!hasPrefix(body)) return undefined;
  const end = body.lastIndexOf(END);
  if (end < PREFIX.length) return undefined;
  if (end === PREFIX.length) return [];
  // One signature means at most one bundle: no need to look through it for a join.
  if (signatureCount(body, end) === 1) return body[end - 1] === 0x7d /* } */ ? [body.subarray(PREFIX.length, end)] : undefined;
  const spans: Buffer[] = [];
  let start = PREFIX.length;
  for (;;) {
    if (body[start] !== 0x7b /* { */) return undefined;
    const join = body.indexOf(JOIN, start);
    if (join < 0 || join >= end) {
      spans.push(body.subarray(start, end));
      return body[end - 1] === 0x7d /* } */ ? spans : undefined;
    }
    spans.push(body.subarray(start, join + 1));
    start = join + 2;
  }
}

/**
 * True when `spans` lie end to end in `body` (one byte apart, for the comma) from where its
 * bundles array starts, as `bundleSpans` returns them: what makes guessed spans that all hash right
 * the very text the parser read for each bundle.
 */
export function isSpanChain(body: Buffer, spans: readonly Buffer[]): boolean {
  let at = body.byteOffset + PREFIX.length;
  for (const span of spans) {
    if (span.buffer !== body.buffer || span.byteOffset !== at) return false;
    at += span.byteLength + 1;
  }
  return at - 1 <= body.byteOffset + body.byteLength;
}

/** Exact spans, found with one linear, string-aware scan. */
export function scanBundleSpans(body: Buffer): Buffer[] | undefined {
  if (!hasPrefix(body)) return undefined;
  const spans: Buffer[] = [];
  let i = PREFIX.length;
  if (body[i] === 0x5d /* ] */) return spans;
  for (;;) {
    if (body[i] !== 0x7b /* { */) return undefined;
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < body.length; i++) {
      const c = body[i];
      if (inString) {
        if (c === 0x5c /* \ */) i++;
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        depth--;
        if (depth === 0) break;
      }
    }
    if (i >= body.length) return undefined;
    spans.push(body.subarray(start, i + 1));
    i++;
    if (body[i] === 0x2c /* , */) {
      i++;
      continue;
    }
    return body[i] === 0x5d ? spans : undefined;
  }
}

/** 0, 1 or 2 (meaning "more"): the objects the signatures array after `from` seems to hold. */
function signatureCount(body: Buffer, from: number): number {
  const at = body.lastIndexOf(SIGNATURES);
  if (at < from) return -1;
  let count = 0;
  for (let i = body.indexOf(0x7b /* { */, at); i >= 0 && count < 2; i = body.indexOf(0x7b, i + 1)) count++;
  return count;
}

function hasPrefix(body: Buffer): boolean {
  return body.length >= PREFIX.length && body.subarray(0, PREFIX.length).equals(PREFIX);
}
