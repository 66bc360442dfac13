/**
 * Rollouts (DESIGN.md §6): a stable share of keys gets the rolled-out version. The bucket comes
 * from SHA-256, so every process on every machine puts a key in the same bucket; raising the
 * percent for the same version only adds keys, it never moves one out.
 */
import { hash, randomUUID } from 'node:crypto';

/** Buckets per rollout: percent is honoured to 0.01. */
export const ROLLOUT_BUCKETS = 10_000;

/**
 * The bucket (0 to 9,999) of `key` for the rollout of `set@version`. The version is part of the
 * hash so that each rollout draws its own cohort instead of always hitting the same users first.
 */
export function rolloutBucket(key: string, set: string, version: string): number {
  // Set names and semver have no ":", so the fields cannot run into each other.
  const digest = hash('sha256', `${set}@${version}:${key}`, 'buffer');
  return Math.floor((digest.readUInt32BE(0) * ROLLOUT_BUCKETS) / 0x1_0000_0000);
}

/** True when `key` is among the `percent` (0–100) of keys that get `set@version`. */
export function inRollout(key: string, set: string, version: string, percent: number): boolean {
  if (!(percent > 0)) return false;
  if (percent >= 100) return true;
  return rolloutBucket(key, set, version) < Math.round(percent * (ROLLOUT_BUCKETS / 100));
}

let processSeed: string | undefined;

/**
 * The key a process uses for calls that give none, drawn once: one instance then serves one
 * version consistently, and about `percent` of instances serve the rollout.
 */
export function instanceRolloutSeed(): string {
  processSeed ??= randomUUID();
  return processSeed;
}
