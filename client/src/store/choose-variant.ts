/**
 * Which body of a prompt a call gets (DESIGN.md §4): the variant it names; else the variant
 * whose tags best match the requested ones; else the base prompt.
 */
import { AnvilError, closest, type BundlePrompt } from '@anvil/content-schema';

type TagValues = Readonly<Record<string, string | number | boolean>>;

export interface VariantRequest {
  variant?: string | undefined;
  tags?: Readonly<Record<string, string>> | undefined;
}

/**
 * The variant name to serve, or undefined for the base prompt.
 *
 * Tags: a variant qualifies when none of its tags contradicts a requested one (a tag it does not
 * have is no contradiction); among those, the one matching the most requested tags wins, then
 * the one with fewer tags (the least specific beyond what was asked), then the first by name. The
 * base prompt's own tags count too: a variant is chosen only if it matches more than the base.
 * An unknown variant name is a programming error and throws `prompt.unknown-variant`.
 *
 * @param label how messages name the prompt, e.g. `onboarding/welcome.message@1.2.0`
 */
export function chooseVariant(
  prompt: Pick<BundlePrompt, 'variants' | 'metadata'>,
  request: VariantRequest,
  label = 'the prompt',
): string | undefined {
  const variants = prompt.variants;
  if (request.variant !== undefined) {
    if (Object.hasOwn(variants, request.variant)) return request.variant;
    throw unknownVariant(variants, request.variant, label);
  }
  const wanted = request.tags;
  if (wanted === undefined) return undefined;

  let bestName: string | undefined;
  let bestScore = Math.max(0, matchScore(prompt.metadata.tags, wanted));
  let bestSize = 0;
  for (const name in variants) {
    const tags = variants[name]!.tags;
    const score = matchScore(tags, wanted);
    if (score <= 0 || score < bestScore) continue;
    const size = countKeys(tags);
    // A tie with the base prompt keeps the base.
    if (score === bestScore && (bestName === undefined || size > bestSize || (size === bestSize && name > bestName))) continue;
    bestName = name;
    bestScore = score;
    bestSize = size;
  }
  return bestName;
}

/** How many requested tags `tags` has with the same value; -1 when one has another value. */
function matchScore(tags: TagValues | undefined, wanted: Readonly<Record<string, string>>): number {
  if (tags === undefined) return 0;
  let score = 0;
  for (const name in wanted) {
    if (!Object.hasOwn(tags, name)) continue;
    const have = tags[name];
    const want = wanted[name];
    if (have === want || (typeof have !== 'string' && String(have) === want)) score++;
    else return -1;
  }
  return score;
}

function countKeys(tags: TagValues): number {
  let n = 0;
  for (const _ in tags) n++;
  return n;
}

function unknownVariant(variants: BundlePrompt['variants'], name: string, label: string): AnvilError {
  const names = Object.keys(variants).sort();
  const near = closest(name, names);
  const hint = names.length === 0
    ? `${label} has no variants; leave out "variant" to get the base prompt`
    : `${near ? `did you mean "${near}"? ` : ''}variants: ${names.join(', ')}`;
  return new AnvilError('prompt.unknown-variant', `${label} has no variant "${name}"`, {
    hint,
    details: { variant: name, candidates: names, ...(near === undefined ? {} : { suggestion: near }) },
  });
}
