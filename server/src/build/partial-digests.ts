/**
 * What a partial name stands for, as one digest: the partial's file and text, and those of every
 * partial it includes, transitively (a name that resolves to nothing counts too — `{{#> x}}`
 * renders its fallback until an `_x.md` appears). Two builds in which a name has the same digest
 * compile a template that includes it to the same result, and report the same problems.
 */
import { createHash } from 'node:crypto';
import { partialReferences } from './partial-references.ts';
import type { PartialScope } from './partial-scope.ts';

/** The digest of a name that resolves to no partial. */
export const NO_PARTIAL = '-';

/** Digests of the names of `scope`, computed on first use and kept for the scope's build. */
export function partialDigests(scope: PartialScope): (name: string) => string {
  const references = new Map<string, string[] | undefined>();
  const digests = new Map<string, string>();
  const referencesOf = (name: string) => {
    if (!references.has(name)) references.set(name, partialReferences(scope.get(name)!.source));
    return references.get(name);
  };
  return (name) => {
    let digest = digests.get(name);
    if (digest !== undefined) return digest;
    if (!scope.has(name)) return NO_PARTIAL;
    // Everything reachable from the name, cycles included (they fail to compile, never cached).
    const reached = new Set<string>([name]);
    const queue = [name];
    while (queue.length > 0) {
      const next = queue.pop()!;
      if (!scope.has(next)) continue;
      for (const ref of referencesOf(next) ?? []) {
        if (!reached.has(ref)) {
          reached.add(ref);
          queue.push(ref);
        }
      }
    }
    const hash = createHash('sha256');
    for (const reachedName of [...reached].sort()) {
      const partial = scope.get(reachedName);
      hash.update(JSON.stringify(partial === undefined
        ? [reachedName]
        : [reachedName, partial.file, partial.source, referencesOf(reachedName) === undefined]));
    }
    digest = hash.digest('base64');
    digests.set(name, digest);
    return digest;
  };
}
