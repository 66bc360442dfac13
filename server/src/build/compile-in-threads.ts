/**
 * Compiles prompt files on every core: the main thread and `threads - 1` worker threads
 * (compile-worker.ts) take batches from one queue until it is empty, so a worker that starts
 * late (loading its modules takes 0.1–1 s) or a core that is busy elsewhere only means fewer
 * batches for it. Outcomes land at their job's index, so the result is in job order whatever
 * thread compiled what — the same outcomes, in the same order, as one thread gives.
 *
 * A worker that cannot start, crashes or exits hands its batch back, and the main thread
 * compiles it: a failure costs time, never a different result. An error in a prompt is an
 * outcome like any other (a Problem, with its file, line and column), not a failure.
 *
 * Workers outlive a build for POOL_IDLE_MS, so that a process that builds again (the forge, on
 * every push) finds them loaded and warmed up; idle, they never keep the process alive.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PromptEnvironment } from '@anvil/client';
import { compilePromptFile, scopeEnvironment, type PromptOutcome } from './compile-prompt.ts';
import type { CompileWorkerReply, CompileWorkerRequest } from './compile-worker.ts';
import type { PartialScope } from './partial-scope.ts';
import { packageFile } from '../package-root.ts';

export interface PromptJob {
  file: string;
  source: string;
}

/**
 * The worker module: beside this one when running from source (tests, bench); in a built
 * package, its own entry point, dist/build/compile-worker.js (this module is then in a shared
 * chunk elsewhere in dist/).
 */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('./compile-worker.ts', import.meta.url)
  : pathToFileURL(packageFile('dist', 'build', 'compile-worker.js'));

/** How long workers wait for the next build before they end. */
export const POOL_IDLE_MS = 60_000;

export interface CompileInThreadsOptions {
  /** Starts a worker (tests start failing ones, which are never kept); default: a compile-worker.ts thread. */
  startWorker?: (() => Worker) | undefined;
  /**
   * The main thread only hands out batches, and compiles only what failed workers hand back
   * (tests: so that workers surely compile, however fast the main thread would be alone).
   */
  workersOnly?: boolean | undefined;
}

export interface CompiledInThreads {
  /** One per job, in job order. */
  outcomes: PromptOutcome[];
  /** The threads that compiled at least one batch (the main thread counts). */
  threads: number;
  /** Of those, the worker threads. */
  workers: number;
}

/**
 * `threads` ≤ 1 compiles here, in order, in one environment. `jobs` may still be coming (the
 * prompt texts being read): workers start first, so that they load while the texts are read.
 */
export async function compileInThreads(
  scope: PartialScope,
  pendingJobs: readonly PromptJob[] | Promise<readonly PromptJob[]>,
  threads: number,
  options: CompileInThreadsOptions = {},
): Promise<CompiledInThreads> {
  let jobs: readonly PromptJob[] = [];
  let outcomes: PromptOutcome[] = [];
  let env: PromptEnvironment | undefined;
  const compileHere = (start: number, end: number) => {
    env ??= scopeEnvironment(scope);
    for (let i = start; i < end; i++) outcomes[i] = compilePromptFile(env, scope, jobs[i]!.file, jobs[i]!.source);
  };
  if (threads <= 1) {
    jobs = await pendingJobs;
    outcomes = new Array<PromptOutcome>(jobs.length);
    compileHere(0, jobs.length);
    return { outcomes, threads: jobs.length === 0 ? 0 : 1, workers: 0 };
  }

  // Batches are numbered by their first job; none is handed out before the jobs are known.
  let size = 1;
  const queue: number[] = [];
  const endOf = (start: number) => Math.min(jobs.length, start + size);
  /** Batches a failed worker had: the main thread compiles them. */
  const handedBack: number[] = [];
  let inFlight = 0;
  let mainCompiled = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const helpers: Helper[] = [];
  const scopeMessage: CompileWorkerRequest = { kind: 'scope', partials: [...scope] };
  for (let n = 1; n < threads; n++) {
    const kept = options.startWorker ? undefined : takeFromPool();
    let worker: Worker;
    try {
      worker = kept ?? (options.startWorker ?? startWorker)();
    } catch {
      break; // no worker threads here: the main thread does it all
    }
    const helper: Helper = { worker, kept: options.startWorker === undefined, ready: kept !== undefined, busy: undefined, dead: false, compiled: false, detach: () => {} };
    helpers.push(helper);
    worker.ref();
    const assign = () => {
      if (!helper.ready || helper.dead || helper.busy !== undefined) return;
      const start = queue.shift();
      if (start === undefined) return;
      helper.busy = start;
      inFlight++;
      const request: CompileWorkerRequest = { kind: 'batch', start, jobs: jobs.slice(start, endOf(start)).map((j) => [j.file, j.source]) };
      worker.postMessage(request);
    };
    const fail = () => {
      if (helper.dead) return;
      helper.dead = true;
      if (helper.busy !== undefined) {
        handedBack.push(helper.busy);
        helper.busy = undefined;
        inFlight--;
      }
      notify();
    };
    const onMessage = (reply: CompileWorkerReply) => {
      if (helper.dead) return;
      if ('ready' in reply) {
        helper.ready = true;
      } else {
        if (reply.start !== helper.busy || reply.outcomes.length !== endOf(reply.start) - reply.start) {
          fail();
          return;
        }
        for (let i = 0; i < reply.outcomes.length; i++) outcomes[reply.start + i] = reply.outcomes[i]!;
        helper.busy = undefined;
        helper.compiled = true;
        inFlight--;
      }
      assign();
      notify();
    };
    worker.on('message', onMessage);
    worker.on('error', fail);
    worker.on('messageerror', fail);
    worker.on('exit', fail);
    helper.detach = () => {
      worker.off('message', onMessage);
      worker.off('error', fail);
      worker.off('messageerror', fail);
      worker.off('exit', fail);
    };
    helper.assign = assign;
    worker.postMessage(scopeMessage);
  }

  try {
    jobs = await pendingJobs;
    outcomes = new Array<PromptOutcome>(jobs.length);
    // Small enough that every thread gets several (so the last ones end together), large enough
    // that messages cost little; the main thread answers workers between two of its batches.
    size = Math.max(16, Math.min(128, Math.ceil(jobs.length / (threads * 8))));
    for (let start = 0; start < jobs.length; start += size) queue.push(start);
    for (const helper of helpers) helper.assign?.();
    while (queue.length > 0 || handedBack.length > 0 || inFlight > 0) {
      const alone = helpers.every((h) => h.dead);
      const start = handedBack.shift() ?? (options.workersOnly && !alone ? undefined : queue.shift());
      if (start !== undefined) {
        mainCompiled = true;
        compileHere(start, endOf(start));
        // Let workers' answers in, and hand them their next batch.
        await nextTurn();
      } else {
        await new Promise<void>((resolve) => (wake = resolve));
      }
    }
  } finally {
    for (const helper of helpers) {
      helper.detach();
      if (helper.kept && !helper.dead && helper.busy === undefined) returnToPool(helper.worker);
      else void helper.worker.terminate().catch(() => undefined);
    }
  }
  const workers = helpers.filter((h) => h.compiled).length;
  return { outcomes, threads: workers + (mainCompiled ? 1 : 0), workers };
}

interface Helper {
  worker: Worker;
  /** Goes back to the pool after the build (not a test's worker). */
  kept: boolean;
  ready: boolean;
  busy: number | undefined;
  dead: boolean;
  compiled: boolean;
  assign?: () => void;
  detach: () => void;
}

/** Ready workers between builds, and the timer that ends them. */
const pool: Worker[] = [];
let poolTimer: NodeJS.Timeout | undefined;

function takeFromPool(): Worker | undefined {
  const worker = pool.pop();
  if (pool.length === 0 && poolTimer !== undefined) {
    clearTimeout(poolTimer);
    poolTimer = undefined;
  }
  return worker;
}

function returnToPool(worker: Worker): void {
  if (pool.length >= os.availableParallelism() - 1) {
    void worker.terminate().catch(() => undefined);
    return;
  }
  worker.unref();
  pool.push(worker);
  if (poolTimer !== undefined) clearTimeout(poolTimer);
  poolTimer = setTimeout(() => {
    poolTimer = undefined;
    for (const idle of pool.splice(0)) void idle.terminate().catch(() => undefined);
  }, POOL_IDLE_MS);
  poolTimer.unref();
}

/**
 * A compile worker, which leaves the pool if it ends while idle. From source, Node 20 does not
 * give a worker thread the TypeScript loader the process was started with (tsx registers its
 * hooks on the main thread only there, though the worker inherits `--import tsx`), so the
 * worker registers it itself when it has to. Whether it has to is learnt by importing a
 * TypeScript module with no imports and no side effects under a URL of its own — a failed
 * import stays failed for its URL, so it must not be the worker's.
 */
function startWorker(): Worker {
  let worker: Worker;
  if (!WORKER_URL.pathname.endsWith('.ts')) {
    worker = new Worker(WORKER_URL);
  } else {
    const tsx = JSON.stringify(tsxEsmApi());
    const probe = JSON.stringify(new URL('./sort-keys.ts?loader-probe', import.meta.url).href);
    const bootstrap = `import(${probe}).then(() => false, (err) => {
      if (err?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
      return true;
    }).then(async (needsLoader) => {
      if (needsLoader) (await import(${tsx})).register();
      return import(${JSON.stringify(WORKER_URL.href)});
    });`;
    worker = new Worker(bootstrap, { eval: true });
  }
  // While idle in the pool nobody else listens: an error must not go unhandled.
  worker.on('error', () => undefined);
  worker.once('exit', () => {
    const at = pool.indexOf(worker);
    if (at >= 0) pool.splice(at, 1);
  });
  return worker;
}

/**
 * The URL of tsx's ESM API (`tsx/esm/api`, import condition). Not through import.meta.resolve:
 * test runners may load this file as CommonJS, where tsx gives import.meta only a `url`, and a
 * require would find the CommonJS build, which cannot register ESM hooks in a worker.
 */
function tsxEsmApi(): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const exports = (JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: Record<string, { import?: { default?: string } }> }).exports;
  const target = exports?.['./esm/api']?.import?.default;
  if (target === undefined) throw new Error('tsx/esm/api has no ESM entry');
  return pathToFileURL(path.join(path.dirname(manifest), target)).href;
}
