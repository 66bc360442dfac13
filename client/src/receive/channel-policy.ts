/**
 * Which bundles a receiver's channel takes (DESIGN.md §6), as one pure function. The forge
 * publishes by the same table (server/src/policy/decide-publish.ts); the receiver checks it
 * again on what arrives, so a bundle the forge signed for one channel is refused on another
 * however it got there (issue 18), and `anvil-live install` applies the same rule to a lock.
 *
 * | channel     | a set's bundle (current or rollout)                         | a dependency         |
 * |-------------|-------------------------------------------------------------|----------------------|
 * | production  | stable releases of `locked` sets                            | stable releases      |
 * | staging     | releases (prereleases too) of any mode; head builds of `review` sets | releases     |
 * | development | anything the forge publishes                                | anything             |
 *
 * Dependencies are releases resolved when the depending set was released, and pinned by exact
 * version inside its signed bundle: they follow the stage rules (releases, stable ones on
 * production) but not the mode rule, since a `locked` set may build on a `review` set's release
 * (a locked release is the gate that reviewed which dependency versions it pins).
 */
import semver from 'semver';
import type { Bundle } from '@anvil/content-schema';

/** How a bundle is used by the receiver: served for its set, rolled out, or only depended on. */
export type BundleRole = 'set' | 'rollout' | 'dependency';

export type ChannelVerdict = { ok: true } | { ok: false; reason: string; hint: string };

export type PolicyBundle = Pick<Bundle, 'set' | 'version' | 'stage' | 'mode'>;

const OK: ChannelVerdict = { ok: true };

export function channelAccepts(channel: string, bundle: PolicyBundle, role: BundleRole = 'set'): ChannelVerdict {
  const name = `${bundle.set}@${bundle.version}`;
  const what = role === 'dependency' ? `dependency ${name}` : role === 'rollout' ? `rollout ${name}` : name;
  if (channel === 'development') return OK;
  if (channel === 'staging') {
    if (bundle.stage === 'release') return OK;
    if (role !== 'dependency' && bundle.stage === 'head' && bundle.mode === 'review') return OK;
    return {
      ok: false,
      reason: role === 'dependency'
        ? `${what} is a ${bundle.stage} build; dependencies are releases`
        : `${what} is a head build of a "${bundle.mode}" set; staging takes head builds of "review" sets only, and releases`,
      hint: 'head builds of "live" sets go to development only; "locked" sets publish only releases',
    };
  }
  if (channel === 'production') {
    if (bundle.stage !== 'release' || semver.prerelease(bundle.version) !== null) {
      return {
        ok: false,
        reason: `${what} is ${bundle.stage === 'release' ? 'a prerelease' : 'a head build'}; production takes only stable releases`,
        hint: 'use a range without prereleases, or the staging channel',
      };
    }
    if (role !== 'dependency' && bundle.mode !== 'locked') {
      return {
        ok: false,
        reason: `${what} is a release of a "${bundle.mode}" set; only releases of "locked" sets reach production`,
        hint: 'set `mode: locked` in the set\'s set.yaml and release it again, or use the staging channel',
      };
    }
    return OK;
  }
  return { ok: false, reason: `unknown channel "${channel}"`, hint: 'channels are production, staging and development' };
}
