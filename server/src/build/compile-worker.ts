/**
 * A worker thread of the build (compile-in-threads.ts): compiles batches of prompt files in an
 * environment over the partial scope of the set being built, and answers each batch with its
 * outcomes. Outcomes do not depend on which prompts a thread compiled before, so any split of
 * the work gives what one thread would; a worker outlives a build and serves the next one,
 * which starts by sending its own scope.
 */
import { parentPort } from 'node:worker_threads';
import type { PartialFile } from '../load/load-repo.ts';
import { compilePromptFile, scopeEnvironment, type PromptOutcome } from './compile-prompt.ts';
import type { PartialScope } from './partial-scope.ts';

export type CompileWorkerRequest =
  /** The partials of the set whose prompts come next: name included with, partial file. */
  | { kind: 'scope'; partials: [string, PartialFile][] }
  | { kind: 'batch'; start: number; jobs: [file: string, source: string][] };

export type CompileWorkerReply = { ready: true } | { start: number; outcomes: PromptOutcome[] };

const port = parentPort;
if (port === null) throw new Error('compile-worker.ts runs as a worker thread');
let scope: PartialScope = new Map();
let env = scopeEnvironment(scope);
port.on('message', (request: CompileWorkerRequest) => {
  if (request.kind === 'scope') {
    scope = new Map(request.partials);
    env = scopeEnvironment(scope);
    return;
  }
  const outcomes = request.jobs.map(([file, source]) => compilePromptFile(env, scope, file, source));
  port.postMessage({ start: request.start, outcomes } satisfies CompileWorkerReply);
});
port.postMessage({ ready: true } satisfies CompileWorkerReply);
