/**
 * Compiling one prompt file, the same way wherever it happens: lint, the build on the main
 * thread, and the build's worker threads. Each outcome depends only on the file's text and the
 * partials it includes (resolved through the scope), never on which prompts the environment
 * compiled before — which is what lets a build reuse cached prompts and spread the rest over
 * threads and still report exactly what a serial build reports.
 */
import { PromptEnvironment } from '@anvil/client';
import type { PromptMetadata } from '@anvil/content-schema';
import { problemFromError, type Problem } from '../lint/problem.ts';
import type { PartialFile } from '../load/load-repo.ts';
import { partialReferences } from './partial-references.ts';
import { unknownPartialHint, type PartialScope } from './partial-scope.ts';

/** What a bundle keeps of a compiled prompt, and the partials its body includes. */
export interface PromptOutput {
  template: string;
  /** Normalised metadata, keys as written (tools show input fields in that order). */
  metadata: PromptMetadata;
  /** Partial names the body includes (partial-references.ts); undefined: unknown, never cached. */
  partials: string[] | undefined;
}

/** A compiled prompt, or every problem of its file (issue 14: all of them, in one run). */
export type PromptOutcome = { output: PromptOutput; problems?: undefined } | { problems: Problem[]; output?: undefined };

/**
 * One environment for a set's templates, resolving partials through its scope. Lint and build
 * check templates and ship them as source: unless asked, nothing here is made renderable.
 */
export function scopeEnvironment(scope: PartialScope, options: { renderable?: boolean | undefined } = {}): PromptEnvironment {
  return new PromptEnvironment({
    checkOnly: options.renderable !== true,
    resolvePartial: (name) => {
      const found = scope.get(name);
      return found && { source: found.source, file: found.file };
    },
  });
}

export function compilePromptFile(env: PromptEnvironment, scope: PartialScope, file: string, source: string): PromptOutcome {
  const checked = env.check(source, { file });
  const compiled = checked.prompt;
  if (compiled === undefined) return { problems: checked.errors.map((err) => compileProblem(err, file, scope)) };
  return { output: { template: compiled.template, metadata: compiled.metadata, partials: partialReferences(compiled.template) } };
}

/** A compile error as a Problem; anything but an AnvilError is a bug and is thrown on. */
export function compileProblem(err: unknown, file: string, scope: PartialScope): Problem {
  const found = problemFromError(err, file);
  if (found.code === 'template.unknown-partial') {
    const name = /^unknown partial "(.*)"$/s.exec(found.message)?.[1];
    if (name !== undefined) found.hint = unknownPartialHint(name, scope);
  }
  return found;
}

/** Partials no compiled template included are still checked, once, each for every problem. */
export function checkPartials(env: PromptEnvironment, scope: PartialScope, partials: readonly PartialFile[]): Problem[] {
  const problems: Problem[] = [];
  for (const partial of partials) {
    if (env.hasPartial(partial.name)) continue;
    for (const err of env.tryDefinePartial(partial.name, partial.source, { file: partial.file })) {
      problems.push(compileProblem(err, partial.file, scope));
    }
  }
  return problems;
}
