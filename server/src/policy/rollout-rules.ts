/**
 * The rules a rollout (anvil.yaml `rollouts`, DESIGN §6) must keep, as pure functions over plain
 * data (issue 18). A rollout only ever offers, on one channel, a release the forge decided to
 * publish to that channel, and only ahead of what the channel serves: it is a gradual way to
 * move forward, never a way around review or back in time.
 */
import semver from 'semver';
import type { Channel, SetModeName } from '@anvil/content-schema';
import { decidePublish } from './decide-publish.ts';

export interface RolloutEntryRow {
  set: string;
  channel: string;
  version: string;
  percent: number;
}

/** What the forge decided for a release (publish/release-decisions.ts), as the rules need it. */
export interface ReleaseVerdict {
  /** Channels the release may be served on; empty when refused. */
  channels: readonly string[];
  refused: boolean;
  reason: string;
}

export interface RolloutFacts {
  /** The recorded decision for `set@version`; undefined when the forge has not decided it. */
  verdict: ReleaseVerdict | undefined;
  /** A release tag `set@version` exists, so a decision is still to come in this sync. */
  tagged: boolean;
  /** The set's mode at the commit (for the policy's ceiling while the decision is pending). */
  mode: SetModeName | undefined;
  /** What the channel serves for the set now, if anything. */
  headVersion: string | undefined;
}

export type RolloutJudgement = { ok: true; pending: boolean } | { ok: false; reason: string };

/**
 * Channels a reviewed release of this mode could ever reach: the policy's ceiling, which neither
 * a rollout nor an admin's override goes beyond (a prerelease never reaches production, nor a
 * release of a review or live set).
 */
export function policyCeiling(mode: SetModeName, version: string): Channel[] {
  const decision = decidePublish({ event: { kind: 'release', prerelease: semver.prerelease(version) !== null, unreviewedChange: false }, mode, lintErrors: false });
  return decision.publish?.channels ?? [];
}

/** May `entry` be served on its channel, given what the forge knows of its version? */
export function judgeRollout(entry: RolloutEntryRow, facts: RolloutFacts): RolloutJudgement {
  const name = `${entry.set}@${entry.version}`;
  if (semver.valid(entry.version) === null) return { ok: false, reason: `${entry.version} is not an exact version` };
  if (entry.channel === 'production' && semver.prerelease(entry.version) !== null) {
    return { ok: false, reason: `${name} is a prerelease; production takes only stable releases` };
  }
  if (facts.headVersion !== undefined && !semver.gt(entry.version, facts.headVersion)) {
    return { ok: false, reason: `${entry.channel} already serves ${entry.set}@${facts.headVersion}; a rollout only moves a channel forward` };
  }
  if (facts.verdict) {
    if (facts.verdict.refused) return { ok: false, reason: `${name} was refused by the forge (${facts.verdict.reason}); it is served nowhere` };
    if (!facts.verdict.channels.includes(entry.channel)) {
      return { ok: false, reason: `${name} is not allowed on ${entry.channel} (the forge published it to ${facts.verdict.channels.join(', ') || 'no channel'})` };
    }
    return { ok: true, pending: false };
  }
  if (!facts.tagged) return { ok: false, reason: `${name} is not a release (no tag ${name}); head builds and unknown versions are never rolled out` };
  // Tagged, to be decided later in this sync: the ceiling is known now, the decision itself is
  // checked again when an envelope is composed (channel-state.ts).
  if (facts.mode === undefined || !policyCeiling(facts.mode, entry.version).includes(entry.channel as Channel)) {
    return { ok: false, reason: `a release of ${facts.mode ?? 'an unknown'} set ${entry.set} never reaches ${entry.channel}` };
  }
  return { ok: true, pending: true };
}

/** Is a rollout bundle to be sent on the channel? The envelope-time check (no pending: decided or not). */
export function rolloutServable(entry: RolloutEntryRow, verdict: ReleaseVerdict | undefined, headVersion: string): { ok: true } | { ok: false; reason: string } {
  if (!verdict) return { ok: false, reason: `the forge has not decided ${entry.set}@${entry.version} (not a release it processed)` };
  const judged = judgeRollout(entry, { verdict, tagged: true, mode: undefined, headVersion });
  return judged.ok ? { ok: true } : judged;
}

/** The entries of `set` in a rollouts map, one per channel, in a stable order. */
export function entriesOf(rollouts: Readonly<Record<string, Readonly<Record<string, { version: string; percent: number }> | undefined>>>, set: string): RolloutEntryRow[] {
  return Object.entries(rollouts[set] ?? {})
    .flatMap(([channel, r]) => (r ? [{ set, channel, version: r.version, percent: r.percent }] : []))
    .sort((a, b) => (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0));
}

/** Do two lists of one set's entries say the same? */
export function sameEntries(a: readonly RolloutEntryRow[], b: readonly RolloutEntryRow[]): boolean {
  const key = (rows: readonly RolloutEntryRow[]) => JSON.stringify([...rows].sort((x, y) => (x.channel < y.channel ? -1 : 1)).map((r) => [r.channel, r.version, r.percent]));
  return key(a) === key(b);
}

/**
 * Which of a release's decided channels it is published to as the channel's head now, and which
 * are held because an accepted rollout on that channel names exactly this version: there the
 * rollout serves it at its percent, beside the release it replaces, and the head moves when the
 * rollout ends (forge/sync-rollouts.ts).
 */
export function holdForRollouts(channels: readonly Channel[], version: string, rollouts: readonly RolloutEntryRow[]): { now: Channel[]; held: Channel[] } {
  const held = channels.filter((c) => rollouts.some((r) => r.channel === c && r.version === version));
  return { now: channels.filter((c) => !held.includes(c)), held };
}
