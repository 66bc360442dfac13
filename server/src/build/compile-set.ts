/**
 * Compiles every prompt of a set in one environment holding the set's partials and its
 * dependencies' (as `<dep>/<name>`), collecting problems instead of stopping at the first.
 * Lint and build compile each prompt through the same code (compile-prompt.ts), so what lint
 * accepts is exactly what build ships; the build's own step, with its cache and worker
 * threads, is compile-for-build.ts.
 */
import type { CompiledPrompt, PromptParts } from '@anvil/client';
import { dedupeProblems, type Problem } from '../lint/problem.ts';
import type { LoadedSet, PartialFile, PromptFile } from '../load/load-repo.ts';
import { checkPartials, compileProblem, scopeEnvironment } from './compile-prompt.ts';
import { partialScope } from './partial-scope.ts';

export interface CompiledSetPrompt {
  file: PromptFile;
  compiled: CompiledPrompt;
}

/** A prompt file as far as it was read, compiled or not: for lint's own checks of the body. */
export interface CheckedSetPrompt {
  file: PromptFile;
  parts: PromptParts;
}

export interface CompiledSet {
  prompts: CompiledSetPrompt[];
  /** Every prompt whose front matter parsed, whether it compiled or not. */
  checked: CheckedSetPrompt[];
  problems: Problem[];
}

/**
 * @param dependencyPartials the partials of each dependency set, by set name (from the
 *   dependency's resolved release, or from the same snapshot when linting).
 * @param options.renderable generate render functions too (checking alone is cheaper).
 */
export function compileSet(set: LoadedSet, dependencyPartials: Record<string, PartialFile[]> = {}, options: { renderable?: boolean } = {}): CompiledSet {
  const scope = partialScope(set, dependencyPartials);
  const env = scopeEnvironment(scope, { renderable: options.renderable });
  const problems: Problem[] = [];
  const prompts: CompiledSetPrompt[] = [];
  const checked: CheckedSetPrompt[] = [];
  for (const file of set.prompts) {
    const result = env.check(file.source, { file: file.file });
    if (result.prompt) prompts.push({ file, compiled: result.prompt });
    if (result.parts) checked.push({ file, parts: result.parts });
    for (const err of result.errors) problems.push(compileProblem(err, file.file, scope));
  }
  problems.push(...checkPartials(env, scope, set.partials));
  return { prompts, checked, problems: dedupeProblems(problems) };
}
