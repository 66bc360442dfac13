/**
 * Where each bundle's bytes are inside a canonical envelope body (`{"bundles":[{…},{…}],…}`:
 * `bundles` sorts first), found with one linear, string-aware scan. With them the receiver
 * checks integrity on the bytes as received and writes them to its cache as they are, instead
 * of re-serialising 10 MB twice (DESIGN.md §11, "apply"). Undefined when the body does not have
 * that shape; callers then fall back to the parsed objects.
 */
const PREFIX = Buffer.from('{"bundles":[');

export function bundleSpans(body: Buffer): Buffer[] | undefined {
  if (body.length < PREFIX.length || !body.subarray(0, PREFIX.length).equals(PREFIX)) return undefined;
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
