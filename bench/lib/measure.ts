/**
 * A small, honest micro-benchmark harness for noisy shared machines: candidates run
 * interleaved in the same process, in several rounds, each round timing a batch of calls;
 * we report the median per candidate and the median of the per-round ratios (a ratio taken
 * inside one round cancels most of the machine's drift).
 */
import os from 'node:os';

export interface Candidate {
  name: string;
  /** One call. Sync or async; async candidates are awaited one by one. */
  fn: () => unknown;
}

export interface MeasureOptions {
  rounds?: number;
  /** Target duration of one timed batch, in milliseconds. */
  batchMs?: number;
  warmupMs?: number;
}

export interface CandidateResult {
  name: string;
  /** Microseconds per call, one entry per round. */
  samples: number[];
  medianUs: number;
}

let sink = 0;
/** Keeps results alive so that the optimiser cannot drop the work. */
export function consume(value: unknown): void {
  if (typeof value === 'string') sink += value.length;
  else if (Array.isArray(value)) sink += value.length;
  else if (value) sink += 1;
}
export function sinkValue(): number {
  return sink;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

async function timeBatch(fn: () => unknown, iterations: number, isAsync: boolean): Promise<number> {
  const start = process.hrtime.bigint();
  if (isAsync) {
    for (let i = 0; i < iterations; i++) consume(await fn());
  } else {
    for (let i = 0; i < iterations; i++) consume(fn());
  }
  return Number(process.hrtime.bigint() - start) / 1000 / iterations;
}

/** Measures every candidate, interleaved, and returns one result per candidate. */
export async function measure(candidates: Candidate[], options: MeasureOptions = {}): Promise<CandidateResult[]> {
  const rounds = options.rounds ?? 9;
  const batchMs = options.batchMs ?? 150;
  const warmupMs = options.warmupMs ?? 300;

  // Warm up each candidate and size its batch so that one batch takes about batchMs.
  const plan = [];
  for (const c of candidates) {
    const isAsync = c.fn() instanceof Promise;
    let iterations = 100;
    let elapsed = 0;
    const warmStart = Date.now();
    while (Date.now() - warmStart < warmupMs) {
      const us = await timeBatch(c.fn, iterations, isAsync);
      elapsed = us * iterations / 1000;
      if (elapsed < batchMs / 4) iterations *= 2;
    }
    plan.push({ c, isAsync, iterations: Math.max(10, Math.round(iterations * batchMs / Math.max(elapsed, 0.001))) });
  }

  const samples = candidates.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so that no candidate always runs first (or last).
    for (let k = 0; k < plan.length; k++) {
      const i = (k + r) % plan.length;
      const p = plan[i]!;
      samples[i]!.push(await timeBatch(p.c.fn, p.iterations, p.isAsync));
    }
  }
  return candidates.map((c, i) => ({ name: c.name, samples: samples[i]!, medianUs: median(samples[i]!) }));
}

/** Median over rounds of (a / b), both measured in the same round. */
export function ratioOfMedians(a: CandidateResult, b: CandidateResult): number {
  return median(a.samples.map((s, i) => s / b.samples[i]!));
}

export function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.arch()}`;
}
