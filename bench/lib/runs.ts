/**
 * measure() (measure.ts) times batches of many short calls; a build takes seconds, so here
 * each candidate runs once per round instead, the candidates interleaved and their order
 * rotated each round, as there. Results are CandidateResults (µs per run), so ratioOfMedians
 * works on them unchanged.
 */
import { median, type CandidateResult } from './measure.ts';

export interface RunCandidate {
  name: string;
  /**
   * One run. Returns its own duration in milliseconds when it must leave out set-up or
   * clean-up (an empty folder to extract into, say); otherwise the whole call is timed.
   */
  run: () => Promise<number | void>;
}

export interface RunOptions {
  rounds?: number;
  /** Called after each round, e.g. to print progress. */
  onRound?: (round: number, results: CandidateResult[]) => void;
}

export async function measureRuns(candidates: RunCandidate[], options: RunOptions = {}): Promise<CandidateResult[]> {
  const rounds = options.rounds ?? 5;
  const samples = candidates.map(() => [] as number[]);
  const results = () => candidates.map((c, i) => ({ name: c.name, samples: samples[i]!, medianUs: median(samples[i]!) }));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < candidates.length; k++) {
      const i = (k + r) % candidates.length;
      const start = process.hrtime.bigint();
      const own = await candidates[i]!.run();
      const ms = typeof own === 'number' ? own : Number(process.hrtime.bigint() - start) / 1e6;
      samples[i]!.push(ms * 1000);
    }
    options.onRound?.(r + 1, results());
  }
  return results();
}

/** A result built from samples taken elsewhere (e.g. reported by a child process), in ms. */
export function resultOf(name: string, samplesMs: number[]): CandidateResult {
  const samples = samplesMs.map((ms) => ms * 1000);
  return { name, samples, medianUs: median(samples) };
}
