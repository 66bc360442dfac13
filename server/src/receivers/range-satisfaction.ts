/**
 * Whether what a receiver serves satisfies the ranges it declared (DESIGN §6: a receiver pins a
 * set with a semver range such as `onboarding: ^1.2.0`; issue 17). The forge never pushes a
 * version outside a range, but a receiver can still serve one: its app was redeployed with a
 * narrower range while its cache kept the old version, or it took the version by another way.
 * Shown per receiver by `GET …/receivers`, `anvil receivers` and the dashboard. Pure.
 */
import semver from 'semver';

export interface RangeStatus {
  /** The range the receiver declared for the set. */
  range: string;
  /** The version it serves now; null when it serves none yet. */
  serving: string | null;
  /** null while nothing is served: nothing to judge yet. */
  satisfied: boolean | null;
}

/**
 * Per set with a declared range, in set order. Prereleases count as inside a range that admits
 * their version, as the delivery queue and the receiver decide it (`includePrerelease`).
 */
export function rangeSatisfaction(ranges: Readonly<Record<string, string>>, versions: Readonly<Record<string, string>>): Record<string, RangeStatus> {
  const out: Record<string, RangeStatus> = {};
  for (const set of Object.keys(ranges).sort()) {
    const range = ranges[set]!;
    const serving = Object.hasOwn(versions, set) ? versions[set]! : null;
    // An unparsable version or range is not "inside": semver.satisfies answers false for both.
    out[set] = { range, serving, satisfied: serving === null ? null : semver.satisfies(serving, range, { includePrerelease: true }) };
  }
  return out;
}

/** True when some set is served outside its range; unserved sets are not unsatisfied. */
export function hasUnsatisfiedRange(status: Readonly<Record<string, RangeStatus>>): boolean {
  return Object.values(status).some((s) => s.satisfied === false);
}

/** One set's status in words: `onboarding@1.3.0 satisfies ^1.2.0`, `… OUTSIDE ^1.2.0`, `onboarding: none served (^1.2.0)`. */
export function describeRangeStatus(set: string, status: RangeStatus): string {
  if (status.serving === null) return `${set}: none served (${status.range})`;
  return `${set}@${status.serving} ${status.satisfied ? 'satisfies' : 'OUTSIDE'} ${status.range}`;
}
