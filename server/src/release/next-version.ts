/**
 * The semver guard (DESIGN.md §5), pure: given the versions a set has released, what was asked
 * for (`auto`, a bump or an exact version) and the impact of the changes, the version to
 * release — or an AnvilError that says why not and what would do.
 *
 * Bumps are judged the way dependency ranges see them, because ranges are what a release has
 * to respect: `^0.2.3` takes 0.2.x but not 0.3.0, so below 1.0.0 a minor bump is what breaks
 * and a patch bump may add (and in 0.0.x every bump breaks). `auto` takes the smallest bump
 * that declares the change.
 *
 * The base a new version is compared with is the highest stable release below it (so 1.3.0
 * after 1.3.0-rc.2 is compared with 1.2.x, what `^1.2.0` users have). With no stable release
 * yet, there is nothing a range depends on and any higher version is accepted.
 */
import semver from 'semver';
import { AnvilError, isExactVersion } from '@anvil/content-schema';
import { bumpCovers, type Bump, type Impact } from './contract-diff.ts';

export const BUMPS: readonly Bump[] = ['major', 'minor', 'patch'];

export interface VersionRequest {
  /** `auto`, `major`, `minor`, `patch`, or an exact version (`2.1.0-gpt4+tokens.1500`). */
  request: string;
  /** Prerelease identifier for a bump: `minor` + `rc` → 1.3.0-rc.0, then 1.3.0-rc.1. */
  preid?: string | undefined;
  /** For messages. */
  set?: string | undefined;
}

/** The stable release a version would be compared with (see the module comment). */
export function baseVersion(existing: readonly string[], below?: string): string | undefined {
  const candidates = existing.filter((v) => !semver.prerelease(v) && (below === undefined || semver.lt(v, below)));
  return semver.rsort([...candidates])[0];
}

export function highestVersion(existing: readonly string[]): string | undefined {
  return semver.rsort([...existing])[0];
}

/** What a move from `from` to `to` declares, as caret ranges see it. */
export function declaredImpact(from: string, to: string): Bump {
  const a = semver.parse(from)!;
  const b = semver.parse(to)!;
  if (a.major !== b.major) return 'major';
  if (a.major === 0) {
    if (a.minor !== b.minor || a.minor === 0) return 'major';
    return a.patch !== b.patch ? 'minor' : 'patch';
  }
  if (a.minor !== b.minor) return 'minor';
  return 'patch';
}

/** The version to release; `required` is the impact of the changes against the base release. */
export function chooseVersion(existing: readonly string[], want: VersionRequest, required: (base: string | undefined) => Impact): { version: string; base: string | undefined; declared: Bump | undefined } {
  const highest = highestVersion(existing);
  const { request, preid } = want;
  let version: string;

  if (request === 'auto' || (BUMPS as readonly string[]).includes(request)) {
    const base = baseVersion(existing);
    let bump: Bump;
    if (request === 'auto') {
      const impact = required(base);
      if (impact === 'none' && base !== undefined) {
        throw new AnvilError('release.no-changes', `nothing changed since ${base}`, {
          hint: 'commit a change to the set first, or name a version to release the same content again',
        });
      }
      bump = base === undefined ? 'major' : smallestBumpFor(base, impact);
    } else {
      bump = request as Bump;
    }
    version = bumpFrom(base, bump, existing, preid);
  } else if (isExactVersion(request)) {
    if (preid !== undefined) throw new AnvilError('release.bad-request', '--preid goes with a bump (major, minor, patch or auto), not with an exact version', { hint: `write the prerelease into the version instead, e.g. ${request}-${preid}.0` });
    version = request;
  } else {
    throw new AnvilError('release.bad-request', `"${request}" is neither a bump nor a version`, {
      hint: 'use auto (the default), major, minor, patch, or an exact semver version such as 1.4.0 or 2.0.0-rc.1',
    });
  }

  const same = existing.find((v) => semver.compare(v, version) === 0);
  if (same !== undefined) {
    throw new AnvilError('release.exists', same === version ? `${version} is already released` : `${version} has the same precedence as the release ${same} (build metadata does not count)`, {
      hint: highest ? `the highest release is ${highest}` : undefined,
    });
  }
  if (highest !== undefined && semver.lt(version, highest)) {
    throw new AnvilError('release.backwards', `${version} is lower than the release ${highest}; releases only move forward`, {
      hint: `release a version above ${highest}; to go back to old content use \`npx anvil rollback --to <version>\``,
    });
  }

  const base = baseVersion(existing, version);
  if (base === undefined) return { version, base, declared: undefined };
  const impact = required(base);
  const declared = declaredImpact(base, version);
  if (!bumpCovers(declared, impact)) {
    const bump = smallestBumpFor(base, impact);
    throw new AnvilError('release.under-declared', `${version} declares a ${declared} change after ${base}, but the changes are ${impact}`, {
      hint: `release ${semver.inc(base, bump)} or higher (\`npx anvil release ${want.set ?? '<set>'} ${bump}\`)`,
      details: { base, declared, required: impact },
    });
  }
  return { version, base, declared };
}

function smallestBumpFor(base: string, impact: Impact): Bump {
  for (const bump of ['patch', 'minor', 'major'] as const) {
    const next = semver.inc(base, bump)!;
    if (bumpCovers(declaredImpact(base, next), impact)) return bump;
  }
  return 'major';
}

function bumpFrom(base: string | undefined, bump: Bump, existing: readonly string[], preid: string | undefined): string {
  const target = base === undefined ? { major: '1.0.0', minor: '0.1.0', patch: '0.0.1' }[bump] : semver.inc(base, bump)!;
  if (preid === undefined) return target;
  // The next free prerelease of that version with this identifier: rc.0, then rc.1…
  const taken = existing
    .filter((v) => semver.prerelease(v)?.[0] === preid && `${semver.major(v)}.${semver.minor(v)}.${semver.patch(v)}` === target)
    .sort(semver.compare);
  const last = taken.at(-1);
  return last ? semver.inc(last, 'prerelease', preid)! : `${target}-${preid}.0`;
}
