/**
 * Prompt ids inside one receiver (DESIGN.md §4): `set/id` always resolves; the bare `id` does
 * when exactly one set has it. Anything else is an error that names the candidates.
 */
import { AnvilError, closest } from '@anvil/content-schema';

/** A prompt of one set. */
export interface PromptRef {
  readonly set: string;
  readonly id: string;
}

export interface PromptIndex<T extends PromptRef = PromptRef> {
  /** Every name that resolves: `set/id`, and `id` when it is unique among the sets. */
  readonly names: ReadonlyMap<string, T>;
  /** Bare ids found in more than one set, with every prompt that has them. */
  readonly ambiguous: ReadonlyMap<string, readonly T[]>;
  /** Set names, for suggestions. */
  readonly sets: ReadonlySet<string>;
}

/** `onboarding/welcome.message`. */
export function qualifiedId(ref: PromptRef): string {
  return `${ref.set}/${ref.id}`;
}

export function buildPromptIndex<T extends PromptRef>(refs: Iterable<T>): PromptIndex<T> {
  const names = new Map<string, T>();
  const bare = new Map<string, T>();
  const ambiguous = new Map<string, T[]>();
  const sets = new Set<string>();
  for (const ref of refs) {
    sets.add(ref.set);
    names.set(qualifiedId(ref), ref);
    const first = bare.get(ref.id);
    if (first === undefined) {
      bare.set(ref.id, ref);
      continue;
    }
    const several = ambiguous.get(ref.id);
    if (several) several.push(ref);
    else ambiguous.set(ref.id, [first, ref]);
  }
  for (const [id, ref] of bare) if (!ambiguous.has(id)) names.set(id, ref);
  for (const found of ambiguous.values()) found.sort((a, b) => (a.set < b.set ? -1 : 1));
  return { names, ambiguous, sets };
}

/** The prompt `id` names; throws `prompt.ambiguous` or `prompt.unknown` with the candidates. */
export function resolvePromptId<T extends PromptRef>(index: PromptIndex<T>, id: string): T {
  const found = index.names.get(id);
  if (found !== undefined) return found;

  const several = index.ambiguous.get(id);
  if (several !== undefined) {
    const candidates = several.map(qualifiedId);
    throw new AnvilError('prompt.ambiguous', `prompt id "${id}" is in more than one set: ${candidates.join(', ')}`, {
      hint: `name the set, e.g. prompt("${candidates[0]}")`,
      details: { id, candidates },
    });
  }
  throw unknownPrompt(index, id);
}

function unknownPrompt(index: PromptIndex, id: string): AnvilError {
  const names = [...index.names.keys()];
  const qualified = names.filter((n) => n.includes('/')).sort();
  const slash = id.indexOf('/');
  let near: string | undefined;
  if (slash < 0) {
    near = closest(id, [...names.filter((n) => !n.includes('/')), ...index.ambiguous.keys()]);
  } else {
    near = closest(id, qualified);
    // A set name too far off for the whole string to be a near miss ("onbording/…").
    const set = id.slice(0, slash);
    const nearSet = near === undefined && !index.sets.has(set) ? closest(set, [...index.sets]) : undefined;
    if (nearSet !== undefined) near = closest(`${nearSet}${id.slice(slash)}`, qualified.filter((n) => n.startsWith(`${nearSet}/`)));
  }
  const nearAmbiguous = near === undefined ? undefined : index.ambiguous.get(near);
  const candidates = near === undefined ? qualified : nearAmbiguous ? nearAmbiguous.map(qualifiedId) : [near];

  let hint: string;
  if (near !== undefined) hint = `did you mean ${candidates.map((c) => `"${c}"`).join(' or ')}?`;
  else if (index.sets.size === 0) hint = 'this receiver has no prompt sets yet';
  else hint = `prompts: ${candidates.slice(0, 10).join(', ')}${candidates.length > 10 ? ` … (${candidates.length} in all)` : ''}`;
  return new AnvilError('prompt.unknown', `there is no prompt "${id}"`, {
    hint,
    details: { id, ...(near === undefined ? {} : { suggestion: near }), candidates: candidates.slice(0, 100) },
  });
}
