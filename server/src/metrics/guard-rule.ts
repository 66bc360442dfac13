/**
 * The canary guard (issue 17) as a pure rule: a rollout's version is paused when, over at least
 * `minSamples` calls of each side since the rollout was accepted, its success rate trails the
 * stable version's by more than `margin` (rate points, 0..1).
 */

export const DEFAULT_GUARD_MIN_SAMPLES = 100;

export interface GuardSettings {
  margin: number;
  minSamples: number;
}

export interface SideCounts {
  version: string;
  events: number;
  successes: number;
}

export type GuardJudgement =
  | { pause: false; reason: string }
  | { pause: true; reason: string; figures: GuardFigures };

export interface GuardFigures {
  canary: SideCounts & { successRate: number };
  stable: SideCounts & { successRate: number };
  margin: number;
  minSamples: number;
}

export function judgeGuard(guard: GuardSettings, canary: SideCounts, stable: SideCounts): GuardJudgement {
  if (canary.events < guard.minSamples || stable.events < guard.minSamples) {
    return { pause: false, reason: `not enough calls yet (${canary.version}: ${canary.events}, ${stable.version}: ${stable.events}; ${guard.minSamples} each needed)` };
  }
  const canaryRate = canary.successes / canary.events;
  const stableRate = stable.successes / stable.events;
  const shown = (rate: number) => `${(rate * 100).toFixed(1)}%`;
  const gap = stableRate - canaryRate;
  // A hair of tolerance: rates are ratios of integers, the margin a decimal someone wrote.
  if (gap <= guard.margin + 1e-9) {
    return { pause: false, reason: `${canary.version} succeeds ${shown(canaryRate)} of ${canary.events} calls against ${shown(stableRate)} of ${stable.events} for ${stable.version}: within the margin of ${shown(guard.margin)}` };
  }
  return {
    pause: true,
    reason: `${canary.version} succeeded ${shown(canaryRate)} of ${canary.events} calls against ${shown(stableRate)} of ${stable.events} for ${stable.version}, more than the margin of ${shown(guard.margin)} below`,
    figures: {
      canary: { ...canary, successRate: canaryRate },
      stable: { ...stable, successRate: stableRate },
      margin: guard.margin,
      minSamples: guard.minSamples,
    },
  };
}
