/**
 * Which files of a loaded set go into an archive (pure), by path inside the set folder:
 *
 * - `all`: set.yaml, every prompt and variant, every partial;
 * - `prompt`: set.yaml, the prompt with its variants, and the set's partials it includes,
 *   directly or through other partials;
 * - `partials`: set.yaml and the partials — all a set that depends on this one can use of it.
 */
import { AnvilError, closest, type ArchiveContents } from '@anvil/content-schema';
import { parsePromptSource } from '@anvil/client';
import { partialReferences } from '../build/partial-references.ts';
import { SET_CONFIG_FILE, type LoadedSet } from '../load/load-repo.ts';

export function selectSetFiles(set: LoadedSet, contents: ArchiveContents, prompt?: string): Record<string, string> {
  const rel = (file: string) => file.slice(set.dir.length + 1);
  const files: Record<string, string> = { [SET_CONFIG_FILE]: set.configText };
  if (contents === 'all') {
    for (const p of [...set.prompts, ...set.partials]) files[rel(p.file)] = p.source;
    return files;
  }
  if (contents === 'partials') {
    for (const p of set.partials) files[rel(p.file)] = p.source;
    return files;
  }

  const chosen = set.prompts.filter((p) => p.id === prompt);
  if (chosen.length === 0) {
    const ids = [...new Set(set.prompts.map((p) => p.id))].sort();
    const near = prompt === undefined ? undefined : closest(prompt, ids);
    throw new AnvilError('export.unknown-prompt', `set "${set.name}" has no prompt "${prompt ?? ''}"`, {
      hint: near ? `did you mean ${set.name}/${near}?` : `prompts of ${set.name}: ${ids.join(', ') || 'none'}`,
    });
  }
  for (const p of chosen) files[rel(p.file)] = p.source;

  // The own partials the prompt needs, followed through partials that include others. A template
  // whose includes cannot be read (it does not parse) takes every partial: too many is harmless.
  const byName = new Map(set.partials.map((p) => [p.name, p]));
  const queue = chosen.map((p) => p.source);
  const taken = new Set<string>();
  while (queue.length > 0) {
    const names = includes(queue.pop()!) ?? [...byName.keys()];
    for (const name of names) {
      const partial = byName.get(name);
      if (!partial || taken.has(name)) continue;
      taken.add(name);
      files[rel(partial.file)] = partial.source;
      queue.push(partial.source);
    }
  }
  return files;
}

function includes(source: string): string[] | undefined {
  let template = source;
  try {
    template = parsePromptSource(source).template;
  } catch {
    // Front matter that does not parse: read the whole file for includes.
  }
  return partialReferences(template);
}
