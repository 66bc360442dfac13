/**
 * "Publish to LIVE" (`anvil publish <set>@<version>`, `POST …/publish`): a release pushed again
 * to the channels the forge decided for it when it processed the tag (release-decisions.ts), to
 * every matching receiver, including those that already have it (they answer 200 and change
 * nothing). The decision is read, never recomputed: recomputing without the review state of the
 * time would publish a release the forge refused as unreviewed (issue 18).
 *
 * A refused (or never decided) release is not published, unless the admin overrides the refusal
 * on purpose, with a reason; that is audited as `publish.override`, recorded on the decision, and
 * still never goes beyond the channels the policy gives a reviewed release of that mode: a
 * prerelease never reaches production, nor a review set's release.
 */
import { AnvilError, type Bundle } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import { policyCeiling } from '../policy/rollout-rules.ts';
import { findBundle } from './bundle-store.ts';
import { publishBundle, type PublishOutcome } from './publish-bundle.ts';
import { readReleaseDecision, recordOverride, refusedError } from './release-decisions.ts';

export interface RepublishOptions {
  /** Publish a release the forge refused; needs `reason`. */
  overrideRefusal?: boolean | undefined;
  reason?: string | undefined;
}

export async function republishRelease(ctx: ForgeContext, project: string, set: string, version: string, actor: string, options: RepublishOptions = {}): Promise<PublishOutcome> {
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
  const reason = options.reason?.trim() ?? '';
  if (options.overrideRefusal && reason === '') {
    throw new AnvilError('request.invalid', 'overriding a refusal needs a reason', { hint: `anvil publish ${set}@${version} --override-refusal --reason "<why>"` });
  }

  const decision = await readReleaseDecision(ctx, project, set, version);
  if (decision && !decision.refused) {
    if (decision.channels.length === 0) throw new AnvilError('release.not-publishable', `${set}@${version} is not published: ${decision.reason}`);
    return publishBundle(ctx, { project, bundle, channels: decision.channels, reason: `published again by ${actor}`, actor, again: true });
  }
  if (!options.overrideRefusal) throw refusedError(set, version, decision);

  const channels = policyCeiling(bundle.mode, version);
  if (channels.length === 0) throw new AnvilError('release.not-publishable', `${set}@${version} has no channel even as a reviewed release`);
  await recordOverride(ctx, { project, set, version, tag: `${set}@${version}`, integrity: bundle.integrity, mode: bundle.mode }, decision, channels, actor, reason);
  ctx.logger.warn({ project, set, version, actor, channels }, `refusal overridden: ${reason}`);
  return publishBundle(ctx, { project, bundle, channels, reason: `refusal overridden by ${actor}: ${reason}`, actor, again: true });
}
