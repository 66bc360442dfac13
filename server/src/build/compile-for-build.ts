/**
 * The build's compile step (issue 13): every prompt file of a set, either reused from the build
 * cache (build-cache.ts says when that is safe) or compiled — on every core when there are many
 * (compile-in-threads.ts). Prompt texts are read only for the files that are compiled, and the
 * partials of dependencies only when something must be compiled or checked against them.
 *
 * Problems come out exactly as from compiling every prompt in order on one thread: a prompt is
 * reused only if it compiled cleanly with the same text and the same partials, compile outcomes
 * do not depend on what else was compiled before (compile-prompt.ts), problems are collected in
 * prompt order, and the set's partials are then checked as compileSet checks them.
 */
import os from 'node:os';
import { dedupeProblems, type Problem } from '../lint/problem.ts';
import type { LoadedSet, PartialFile, PromptFile } from '../load/load-repo.ts';
import { gitBlobId } from '../repo/git-blob-id.ts';
import type { RepoSnapshot } from '../repo/snapshot.ts';
import { isCachedPrompt, isRecord, type CachedPack, type CachedPrompt, type CachedSet } from './build-cache.ts';
import { checkPartials, scopeEnvironment, type PromptOutput } from './compile-prompt.ts';
import { compileInThreads, type PromptJob } from './compile-in-threads.ts';
import { partialDigests } from './partial-digests.ts';
import type { PartialScope } from './partial-scope.ts';

/**
 * Below this many prompts to compile, one thread: starting a worker costs ~0.1 s built (1–2 s
 * from source, where each worker transpiles its modules), about what one thread needs for a
 * few hundred prompts (workers are then kept for the next build: compile-in-threads.ts). Above,
 * the main thread starts compiling at once and workers join when ready, so a late worker only
 * means it does less.
 */
export const PARALLEL_MIN_PROMPTS = 1_000;

export interface CompileForBuildOptions {
  set: LoadedSet;
  /**
   * The partials the set's templates can include, and the set's own (loaded); asked for only
   * when something has to be compiled or checked against them.
   */
  scope: () => Promise<{ scope: PartialScope; partials: readonly PartialFile[] }>;
  /**
   * Where prompt texts are read when `set` was loaded without them (withoutPromptTexts), and
   * their blob ids; undefined when each prompt's `source` is its text.
   */
  promptTexts?: RepoSnapshot | undefined;
  /**
   * A cached build to reuse prompts from; `exact` when it is this very set (same tree and
   * dependency versions), whose prompts are reused without checking their partials.
   */
  previous?: { entry: CachedSet; exact: boolean } | undefined;
  /** Reads a pack of the cache (memoised by the caller). */
  pack: (key: string) => CachedPack | undefined;
  /** Threads to compile on; default: every core when there are PARALLEL_MIN_PROMPTS or more. */
  threads?: number | undefined;
}

/** A prompt file, compiled or reused. */
export interface BuiltPrompt {
  file: PromptFile;
  blob: string;
  compiled: PromptOutput;
  /** The record it was reused from; undefined when compiled by this build. */
  reused: CachedPrompt | undefined;
}

export interface CompiledForBuild {
  /** The prompt files (in the set's order) that compiled or were reused: all of them, unless problems. */
  prompts: BuiltPrompt[];
  problems: Problem[];
  /** Digests of partial names, for the records of compiled prompts; undefined when none was compiled. */
  digestOf: ((name: string) => string) | undefined;
  /** How many prompt files were compiled (the rest were reused). */
  compiled: number;
  /** How many threads compiled them (0 when none was; fewer than asked when workers could not help). */
  threads: number;
}

export async function compileForBuild(options: CompileForBuildOptions): Promise<CompiledForBuild> {
  const { set, promptTexts, previous } = options;
  const files = set.prompts;
  const readText = async (file: PromptFile) => (promptTexts ? (await promptTexts.readText(file.file)) ?? '' : file.source);

  // Blob ids come with the tree; only files outside git need their text read to get one.
  const known = promptTexts?.blobId ? await Promise.all(files.map((f) => promptTexts.blobId!(f.file))) : [];
  const texts = new Map<number, string>();
  const blobs: string[] = [];
  for (let i = 0; i < files.length; i++) {
    let blob = known[i];
    if (blob === undefined) {
      const text = await readText(files[i]!);
      texts.set(i, text);
      blob = gitBlobId(text);
    }
    blobs.push(blob);
  }

  let digestOf: ((name: string) => string) | undefined;
  const digests = async () => (digestOf ??= partialDigests((await options.scope()).scope));

  const records = new Map<string, CachedPrompt>();
  for (const record of previous?.entry.prompts ?? []) {
    if (isCachedPrompt(record) && !records.has(record.blob)) records.set(record.blob, record);
  }
  const check = previous && !previous.exact && records.size > 0 ? await digests() : undefined;
  const built: (BuiltPrompt | undefined)[] = new Array<BuiltPrompt | undefined>(files.length);
  const toCompile: number[] = [];
  for (let i = 0; i < files.length; i++) {
    const record = records.get(blobs[i]!);
    const compiled = record && (check === undefined || partialsUnchanged(record, check)) ? fromPack(options.pack, record) : undefined;
    if (record && compiled) built[i] = { file: files[i]!, blob: blobs[i]!, compiled, reused: record };
    else toCompile.push(i);
  }
  if (toCompile.length === 0 && previous?.exact) {
    // This very set, compiled cleanly before: nothing to compile, nothing to check again.
    return { prompts: built as BuiltPrompt[], problems: [], digestOf, compiled: 0, threads: 0 };
  }

  const { scope, partials } = await options.scope();
  // Read in the set's order (the git snapshot reads ahead along a folder), while workers start.
  const reading = (async () => {
    const jobs: PromptJob[] = [];
    for (const i of toCompile) jobs.push({ file: files[i]!.file, source: texts.get(i) ?? (await readText(files[i]!)) });
    return jobs;
  })();
  const wanted = options.threads ?? (toCompile.length >= PARALLEL_MIN_PROMPTS ? os.availableParallelism() : 1);
  const { outcomes, threads } = await compileInThreads(scope, reading, wanted);

  const problems: Problem[] = [];
  for (let j = 0; j < toCompile.length; j++) {
    const outcome = outcomes[j]!;
    const i = toCompile[j]!;
    if (outcome.problems) problems.push(...outcome.problems);
    else built[i] = { file: files[i]!, blob: blobs[i]!, compiled: outcome.output, reused: undefined };
  }
  problems.push(...checkPartials(scopeEnvironment(scope), scope, partials));
  return {
    prompts: built.filter((b) => b !== undefined),
    problems: dedupeProblems(problems),
    digestOf: await digests(),
    compiled: toCompile.length,
    threads,
  };
}

function partialsUnchanged(record: CachedPrompt, digestOf: (name: string) => string): boolean {
  return record.partials.every(([name, digest]) => digestOf(name) === digest);
}

/** The compiled form a record points to, or undefined when its pack is gone or does not hold it. */
function fromPack(pack: (key: string) => CachedPack | undefined, record: CachedPrompt): PromptOutput | undefined {
  const prompts = pack(record.pack)?.prompts;
  const compiled: unknown = prompts && Object.hasOwn(prompts, record.blob) ? prompts[record.blob] : undefined;
  if (!isRecord(compiled) || typeof compiled['template'] !== 'string' || !isRecord(compiled['metadata'])) return undefined;
  return {
    template: compiled['template'],
    metadata: compiled['metadata'] as PromptOutput['metadata'],
    partials: record.partials.map(([name]) => name),
  };
}
