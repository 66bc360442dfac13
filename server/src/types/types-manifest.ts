/**
 * The prompt manifest `anvil types` ends its declarations with (issue 17): each prompt's
 * contract — variables, which are required, their schemas, variant names — as `anvil-live
 * check` reads it back to compare with what the app is served. The format and the contract
 * rule are the client's (client/src/compat/), so writer and reader cannot disagree. Pure.
 */
import { promptContract, typesManifest, typesManifestComment, type ManifestPrompt } from '@anvil/client';
import type { TypedSet } from './generate-types.ts';

export function promptManifestComment(from: string, sets: readonly TypedSet[]): string {
  const prompts: ManifestPrompt[] = [];
  for (const set of sets) {
    const byId = new Map<string, TypedSet['prompts'][number][]>();
    for (const p of set.prompts) byId.set(p.file.id, [...(byId.get(p.file.id) ?? []), p]);
    for (const [id, all] of byId) {
      // Variants share the base prompt's id; its variables are the contract, as in the declarations.
      const base = all.find((p) => p.file.variant === undefined);
      if (!base) continue;
      const variants = all.flatMap((p) => (p.file.variant === undefined ? [] : [p.file.variant]));
      prompts.push({ set: set.name, id, ...promptContract(base.compiled.metadata.input, variants) });
    }
  }
  return typesManifestComment(typesManifest(from, prompts));
}
