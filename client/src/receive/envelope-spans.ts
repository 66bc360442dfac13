/**
 * Where each bundle's bytes are inside a canonical envelope body (`{"bundles":[{…},{…}],"channel":…`:
 * keys sort, so `bundles` comes first and `channel` right after it). With them the receiver
 * checks integrity on the bytes as received and writes them to its cache as they are, instead
 * of re-serialising 10 MB twice (DESIGN.md §11, "apply").
 *
 * `readEnvelopeBytes` is exact: one walk (bundle/json-bytes.ts) locates every bundle and every
 * prompt entry, and only the rest is parsed; check-push.ts reads every canonical body so.
 * `bundleSpans` guesses with native searches alone (no JavaScript loop over the bytes), to start
 * writing bundles to temp files before the body is even walked: the array ends at the last
 * `],"channel":"` and canonical bundles are joined by `},{"dependencies":{`; content can imitate
 * a join, so a guess is only trusted when every span hashes to its bundle's integrity.
 * `scanBundleSpans` is exact, for a body parsed whole. All return undefined when the body does
 * not have the canonical shape; callers then fall back to the parsed objects.
 */
import { indexBundleBytes, standInPrompts, textWithoutPrompts, type BundleBytesIndex } from '../bundle/bundle-bytes.ts';
import { isJsonKey, skipJsonValue, walkJsonArray, walkJsonObject } from '../bundle/json-bytes.ts';

const PREFIX = Buffer.from('{"bundles":[');
const BUNDLES_KEY = Buffer.from('"bundles"');
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

/** Exact spans, found with one linear, string-aware walk (bundle/json-bytes.ts). */
export function scanBundleSpans(body: Buffer): Buffer[] | undefined {
  if (!hasPrefix(body)) return undefined;
  const spans: Buffer[] = [];
  const end = walkJsonArray(body, PREFIX.length - 1, (start) => {
    const spanEnd = body[start] === 0x7b /* { */ ? skipJsonValue(body, start) : -1;
    if (spanEnd > 0) spans.push(body.subarray(start, spanEnd));
    return spanEnd;
  });
  return end < 0 ? undefined : spans;
}

/** A canonical envelope body, its bundles located down to their prompt entries (bundle/bundle-bytes.ts). */
export interface EnvelopeBytes {
  /** The envelope as parsed, except that each bundle's prompts are stand-ins (`standInPrompts`). */
  outline: unknown;
  /** Where each bundle of `outline.bundles` lies in the body, in the same order. */
  bundles: BundleBytesIndex[];
}

/**
 * Parses an envelope body without its prompt entries: one walk locates every bundle and every
 * prompt entry, and what is left (names, versions, signatures, rollouts) is parsed. Undefined
 * when the body is not canonical JSON of that shape; the caller then parses it whole.
 */
export function readEnvelopeBytes(body: Buffer): EnvelopeBytes | undefined {
  const bundles: BundleBytesIndex[] = [];
  let seen = false;
  const end = walkJsonObject(body, 0, (keyStart, keyEnd, valueStart) => {
    if (!isJsonKey(body, keyStart, keyEnd, BUNDLES_KEY)) return skipJsonValue(body, valueStart);
    if (seen) return -1; // two `bundles`: not canonical
    seen = true;
    return walkJsonArray(body, valueStart, (start) => {
      const index = indexBundleBytes(body, start);
      if (index === undefined) return -1;
      bundles.push(index);
      return index.end;
    });
  });
  if (end !== body.length || !seen) return undefined;
  let outline: unknown;
  try {
    outline = JSON.parse(textWithoutPrompts(body, 0, body.length, bundles.map((b) => [b.promptsStart, b.promptsEnd] as const)));
  } catch {
    return undefined;
  }
  const parsed = (outline as { bundles?: unknown } | null)?.bundles;
  if (!Array.isArray(parsed) || parsed.length !== bundles.length) return undefined;
  parsed.forEach((bundle: { prompts?: unknown }, i) => {
    bundle.prompts = standInPrompts(bundles[i]!);
  });
  return { outline, bundles };
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
