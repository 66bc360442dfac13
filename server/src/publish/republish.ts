/**
 * "Publish to LIVE" (`anvil publish <set>@<version>`, `POST …/publish`): a release pushed again
 * to the channels the policy gives it, to every matching receiver, including those that already
 * have it (they answer 200 and change nothing). It never widens the policy: a review set's
 * release still does not reach production.
 */
import semver from 'semver';
import { AnvilError, type Bundle } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import { decidePublish } from '../policy/decide-publish.ts';
import { findBundle } from './bundle-store.ts';
import { publishBundle, type PublishOutcome } from './publish-bundle.ts';

export async function republishRelease(ctx: ForgeContext, project: string, set: string, version: string, actor: string): Promise<PublishOutcome> {
  if (!ctx.projects.has(project)) throw new AnvilError('project.unknown', `this forge has no project "${project}"`, { hint: `projects: ${[...ctx.projects.keys()].join(', ')}` });
  const stored = await findBundle(ctx, project, set, version);
  if (!stored) {
    const known = await ctx.db.selectFrom('bundles').select('version').where('project', '=', project).where('set_name', '=', set).where('stage', '=', 'release').execute();
    throw new AnvilError('release.unknown', `${project} has no built release ${set}@${version}`, {
      hint: known.length > 0 ? `releases: ${known.map((k) => k.version).join(', ')}` : `${set} has no release the forge has built; push a tag ${set}@<version> first`,
    });
  }
  const bundle = JSON.parse(stored.body) as Bundle;
  if (bundle.stage !== 'release') throw new AnvilError('release.not-a-release', `${set}@${version} is a head build; only releases are published again`);
  const decision = decidePublish({ event: { kind: 'release', prerelease: semver.prerelease(version) !== null, unreviewedChange: false }, mode: bundle.mode, lintErrors: false });
  if (!decision.publish) throw new AnvilError('release.not-publishable', `${set}@${version} is not published: ${decision.reason}`);
  return publishBundle(ctx, { project, bundle, channels: decision.publish.channels, reason: `published again by ${actor}`, actor, again: true });
}
