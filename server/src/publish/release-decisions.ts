/**
 * What the forge decided for each release it processed (issue 18): the channels the policy gave
 * it, or that it was refused and why. Written once, when the release tag is first processed
 * (forge/sync-project.ts), with the facts of that moment (review state, lint); read by everything
 * that later offers the release — the versions route, rollouts, "Publish to LIVE" — so that none
 * of them recomputes the policy without those facts. An admin's override is recorded on the row.
 */
import { AnvilError, type Bundle, type Channel } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import { holdForRollouts, type ReleaseVerdict } from '../policy/rollout-rules.ts';
import type { PolicyDecision } from '../policy/decide-publish.ts';
import type { ReleaseTag } from '../repo/release-tags.ts';
import { appendAudit } from '../store/audit-log.ts';
import { storeTime } from '../store/open-store.ts';
import { channelEnvelope } from './channel-state.ts';
import { enqueueDeliveries } from '../deliver/delivery-queue.ts';
import { announceEnvelope } from './announce-envelope.ts';

export interface ReleaseDecision extends ReleaseVerdict {
  project: string;
  set: string;
  version: string;
  audit: string;
  integrity: string | null;
  mode: string | null;
  override?: { actor: string; reason: string; at: string };
}

/**
 * Records the policy's decision for a release the forge processes, and returns the decision to
 * act on now: the same, except that channels where an accepted rollout names this very version
 * are held (the rollout serves it there at its percent; the head moves when the rollout ends),
 * and those channels' envelopes are pushed so receivers get the rollout bundle.
 */
export async function recordReleaseDecision(
  ctx: ForgeContext, project: string, tag: ReleaseTag, bundle: Bundle | undefined, decision: PolicyDecision,
): Promise<PolicyDecision> {
  const channels = decision.publish?.channels ?? [];
  await ctx.db.insertInto('release_decisions').values({
    project, set_name: tag.set, version: tag.version, tag: tag.name, commit: tag.commit, integrity: bundle?.integrity ?? null, mode: bundle?.mode ?? null,
    channels: JSON.stringify(channels), refused: channels.length > 0 ? 0 : 1, audit: decision.audit, reason: decision.reason, decided_at: storeTime(),
    override_actor: null, override_reason: null, overridden_at: null,
  }).onConflict((oc) => oc.columns(['project', 'set_name', 'version']).doNothing()).execute();
  if (!decision.publish || !bundle) return decision;

  const rollouts = (await ctx.db.selectFrom('rollouts').selectAll().where('project', '=', project).where('set_name', '=', tag.set).execute())
    .map((r) => ({ set: r.set_name, channel: r.channel, version: r.version, percent: r.percent }));
  const { now, held } = holdForRollouts(decision.publish.channels, tag.version, rollouts);
  if (held.length === 0) return decision;
  for (const channel of held) await pushRolloutChange(ctx, project, channel, tag.set);
  const { publish, ...rest } = decision;
  return {
    ...rest,
    ...(now.length > 0 ? { publish: { ...publish, channels: now } } : {}),
    reason: `${decision.reason}; on ${held.join(', ')} served through the rollout (anvil.yaml) until it ends`,
  };
}

export async function readReleaseDecision(ctx: ForgeContext, project: string, set: string, version: string): Promise<ReleaseDecision | undefined> {
  const row = await ctx.db.selectFrom('release_decisions').selectAll()
    .where('project', '=', project).where('set_name', '=', set).where('version', '=', version).executeTakeFirst();
  return row && toDecision(row);
}

/** Every recorded decision of a set, by version. */
export async function releaseDecisionsOf(ctx: ForgeContext, project: string, set: string): Promise<Map<string, ReleaseDecision>> {
  const rows = await ctx.db.selectFrom('release_decisions').selectAll().where('project', '=', project).where('set_name', '=', set).execute();
  return new Map(rows.map((r) => [r.version, toDecision(r)]));
}

/** An admin published a refused (or never decided) release anyway: the row says so, and to which channels. */
export async function recordOverride(
  ctx: ForgeContext, decision: { project: string; set: string; version: string; tag: string; integrity: string; mode: string },
  previous: ReleaseDecision | undefined, channels: readonly Channel[], actor: string, reason: string,
): Promise<void> {
  const at = storeTime();
  const values = { channels: JSON.stringify(channels), refused: 0, override_actor: actor, override_reason: reason, overridden_at: at };
  if (previous) {
    await ctx.db.updateTable('release_decisions').set(values)
      .where('project', '=', decision.project).where('set_name', '=', decision.set).where('version', '=', decision.version).execute();
  } else {
    await ctx.db.insertInto('release_decisions').values({
      project: decision.project, set_name: decision.set, version: decision.version, tag: decision.tag, commit: null, integrity: decision.integrity, mode: decision.mode,
      audit: 'publish.override', reason: 'never decided by the forge', decided_at: at, ...values,
    }).execute();
  }
  await appendAudit(ctx.db, {
    project: decision.project, kind: 'publish.override', subject: `${decision.set}@${decision.version}`, actor,
    detail: { reason, channels, refusal: previous ? { audit: previous.audit, reason: previous.reason } : { reason: 'never decided by the forge' } },
  });
}

/**
 * Sends a channel's receivers the set's envelope again after its rollout changed (the head is
 * the same; the rollout bundle or percent is not). Nothing to send while the channel serves
 * nothing of the set: a rollout is always beside a current release.
 */
export async function pushRolloutChange(ctx: ForgeContext, project: string, channel: string, set: string): Promise<number> {
  const head = await ctx.db.selectFrom('channel_heads').select(['version']).where('project', '=', project).where('channel', '=', channel).where('set_name', '=', set).executeTakeFirst();
  if (!head) return 0;
  const envelope = await channelEnvelope(ctx, project, channel, [set]);
  if (!envelope) return 0;
  await ctx.db.insertInto('envelopes').values({ id: envelope.id, project, channel, body: envelope.body, created_at: storeTime() })
    .onConflict((oc) => oc.column('id').doNothing()).execute();
  const queued = await enqueueDeliveries(ctx, { project, channel, envelopeId: envelope.id, set, version: head.version });
  await announceEnvelope(ctx, { project, channel, envelope: envelope.id, set, version: head.version }, envelope.body);
  return queued;
}

/** A refused release's error, for the routes and the CLI: what was decided and how to go on. */
export function refusedError(set: string, version: string, decision: ReleaseDecision | undefined): AnvilError {
  const name = `${set}@${version}`;
  const why = decision ? decision.reason : 'the forge never decided to publish it (it was not processed as a release tag)';
  return new AnvilError('release.refused', `${name} was refused by the forge: ${why}`, {
    hint: `release a reviewed change as a new version; or, as admin and on purpose, \`anvil publish ${name} --override-refusal --reason "<why>"\` (audited; still never beyond the policy's channels)`,
  });
}

function toDecision(row: {
  project: string; set_name: string; version: string; channels: string; refused: number; reason: string; audit: string; integrity: string | null; mode: string | null;
  override_actor: string | null; override_reason: string | null; overridden_at: string | null;
}): ReleaseDecision {
  const channels = JSON.parse(row.channels) as string[];
  return {
    project: row.project, set: row.set_name, version: row.version, channels, refused: row.refused !== 0, reason: row.reason, audit: row.audit,
    integrity: row.integrity, mode: row.mode,
    ...(row.override_actor !== null ? { override: { actor: row.override_actor, reason: row.override_reason ?? '', at: row.overridden_at ?? '' } } : {}),
  };
}
