/**
 * The partials a set's templates can include, by the name they are included with: the set's
 * own (`signature`), then each dependency's as `<dep>/<name>` — a dependency's wins over an own
 * partial of the same name. Lint, the build and the build's worker threads all resolve partials
 * through this one map, so they see the same partials.
 */
import { closest } from '@anvil/content-schema';
import type { LoadedSet, PartialFile } from '../load/load-repo.ts';

/** Name → partial file; what `{{> name}}` resolves to. */
export type PartialScope = ReadonlyMap<string, PartialFile>;

export function partialScope(set: Pick<LoadedSet, 'partials' | 'config'>, dependencyPartials: Readonly<Record<string, readonly PartialFile[]>>): PartialScope {
  const scope = new Map<string, PartialFile>();
  for (const p of set.partials) scope.set(p.name, p);
  for (const dep of Object.keys(set.config.dependencies).sort()) {
    for (const p of dependencyPartials[dep] ?? []) scope.set(`${dep}/${p.name}`, p);
  }
  return scope;
}

/**
 * The hint for `{{> name}}` when the scope has no such partial. The environment's own hint
 * names the partials it happened to have compiled so far, which depends on which prompts came
 * first — and a build that reuses cached prompts, or spreads them over threads, compiles others
 * first. This one depends on the scope alone, so every way of building says the same.
 */
export function unknownPartialHint(name: string, scope: PartialScope): string {
  const known = [...scope.keys()].sort();
  const near = closest(name, known);
  if (near !== undefined) return `did you mean "${near}"?`;
  const where = name.includes('/')
    ? `a dependency's partial is named <set>/<name> and needs that set in set.yaml dependencies`
    : `partials are files named _${name}.md in the set`;
  return known.length > 0 ? `${where}; known partials: ${known.slice(0, 10).join(', ')}` : where;
}
