/**
 * Compiles every prompt of a set in one environment holding the set's partials and its
 * dependencies' (as `<dep>/<name>`), collecting problems instead of stopping at the first.
 * Lint and build both go through here, so what lint accepts is exactly what build ships.
 */
import { PromptEnvironment, type CompiledPrompt } from '@anvil/client';
import { dedupeProblems, problemFromError, type Problem } from '../lint/problem.ts';
import type { LoadedSet, PartialFile, PromptFile } from '../load/load-repo.ts';

export interface CompiledSetPrompt {
  file: PromptFile;
  compiled: CompiledPrompt;
}

export interface CompiledSet {
  prompts: CompiledSetPrompt[];
  problems: Problem[];
}

/**
 * @param dependencyPartials the partials of each dependency set, by set name (from the
 *   dependency's resolved release, or from the same snapshot when linting).
 * @param options.renderable generate render functions too (checking alone is cheaper).
 */
export function compileSet(set: LoadedSet, dependencyPartials: Record<string, PartialFile[]> = {}, options: { renderable?: boolean } = {}): CompiledSet {
  const available = new Map<string, PartialFile>();
  for (const p of set.partials) available.set(p.name, p);
  for (const dep of Object.keys(set.config.dependencies).sort()) {
    for (const p of dependencyPartials[dep] ?? []) available.set(`${dep}/${p.name}`, p);
  }
  // Lint and build check templates and ship them as source: unless asked, nothing here renders.
  const env = new PromptEnvironment({
    checkOnly: options.renderable !== true,
    resolvePartial: (name) => {
      const found = available.get(name);
      return found && { source: found.source, file: found.file };
    },
  });

  const problems: Problem[] = [];
  const prompts: CompiledSetPrompt[] = [];
  for (const file of set.prompts) {
    try {
      prompts.push({ file, compiled: env.compile(file.source, { file: file.file }) });
    } catch (err) {
      problems.push(problemFromError(err, file.file));
    }
  }
  // Partials no prompt uses are still checked, once.
  for (const partial of set.partials) {
    if (env.hasPartial(partial.name)) continue;
    try {
      env.definePartial(partial.name, partial.source, { file: partial.file });
    } catch (err) {
      problems.push(problemFromError(err, partial.file));
    }
  }
  return { prompts, problems: dedupeProblems(problems) };
}
