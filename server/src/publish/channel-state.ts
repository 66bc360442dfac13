/**
 * What a channel serves (DESIGN §6, §8): per set the current bundle, a rollout bundle when
 * anvil.yaml rolls one out on that channel, and their dependencies — as envelopes. The push of
 * one publish carries that set's part; the pull envelope carries every set's. A rollout bundle
 * is carried only when its release was decided for the channel and is newer than the head.
 */
import { AnvilError, type RolloutEntry } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import { withoutPausedRollouts } from '../metrics/rollout-guard.ts';
import { rolloutServable } from '../policy/rollout-rules.ts';
import { bundleByIntegrity, findBundle, withDependencies } from './bundle-store.ts';
import { composeEnvelope, type ComposedEnvelope, type StoredBundle } from './compose-envelope.ts';
import { readReleaseDecision } from './release-decisions.ts';

export async function channelEnvelope(ctx: ForgeContext, project: string, channel: string, sets?: readonly string[]): Promise<ComposedEnvelope | undefined> {
  let q = ctx.db.selectFrom('channel_heads').selectAll().where('project', '=', project).where('channel', '=', channel).orderBy('set_name');
  if (sets) q = q.where('set_name', 'in', sets.length > 0 ? [...sets] : ['']);
  const heads = await q.execute();
  if (heads.length === 0) return undefined;
  // A rollout its canary guard paused is left out: receivers go back to the current release (issue 17).
  const rolloutRows = await withoutPausedRollouts(ctx.db, project, channel, await ctx.db.selectFrom('rollouts').selectAll().where('project', '=', project).where('channel', '=', channel).execute());
  // A rollout is served only as the forge decided its release (issue 18): allowed on this
  // channel, and ahead of the channel's head. Rows can outlive that (a later release moved the
  // head past it; a rollout stored while its release was still to be decided), so it is checked
  // here, each time, against the recorded decision.
  const servable = new Map<string, { ok: true } | { ok: false; reason: string }>();
  for (const row of rolloutRows) {
    const head = heads.find((h) => h.set_name === row.set_name);
    if (!head || row.version === head.version) continue;
    const verdict = await readReleaseDecision(ctx, project, row.set_name, row.version);
    servable.set(row.set_name, rolloutServable({ set: row.set_name, channel, version: row.version, percent: row.percent }, verdict, head.version));
  }
  // Receivers pull often and the state changes only on a publish: the same heads, rollouts and
  // signing keys give the same envelope, so it is composed (bundles read, signed) once.
  const key = JSON.stringify([heads.map((h) => h.integrity), rolloutRows.map((r) => [r.set_name, r.version, r.percent, servable.get(r.set_name)?.ok]), ctx.keys.signers.map((k) => k.keyId)]);
  const cache = composedCache.get(ctx) ?? new Map<string, { key: string; envelope: ComposedEnvelope }>();
  composedCache.set(ctx, cache);
  const slot = `${project}\u0000${channel}\u0000${sets?.join(',') ?? '*'}`;
  const cached = cache.get(slot);
  if (cached?.key === key) return cached.envelope;
  const chosen: StoredBundle[] = [];
  const rollouts: Record<string, RolloutEntry> = {};
  for (const head of heads) {
    const current = await bundleByIntegrity(ctx, head.integrity);
    if (!current) throw new AnvilError('publish.bundle-missing', `the store has no bundle ${head.integrity} for ${head.set_name}@${head.version}`);
    chosen.push(current);
    const rollout = rolloutRows.find((r) => r.set_name === head.set_name);
    const allowed = servable.get(head.set_name);
    if (rollout && allowed && !allowed.ok) {
      ctx.logger.warn({ project, channel, set: head.set_name, version: rollout.version }, `rollout left out: ${allowed.reason}`);
    } else if (rollout && rollout.version !== head.version) {
      const target = await findBundle(ctx, project, head.set_name, rollout.version);
      if (target) {
        chosen.push(target);
        rollouts[head.set_name] = { version: rollout.version, percent: rollout.percent };
      } else {
        ctx.logger.warn({ project, set: head.set_name, version: rollout.version }, 'rollout names a version the forge has not built; ignored');
      }
    }
  }
  const closed = await withDependencies(ctx, project, chosen);
  if (closed.missing) {
    throw new AnvilError('publish.dependency-missing', `${project}/${channel} needs ${closed.missing}, which the forge has not built`, { hint: 'the dependency release must exist as a tag in the repository' });
  }
  const envelope = composeEnvelope({ forge: ctx.name, project, channel, bundles: closed.bundles, rollouts, keys: ctx.keys.signers });
  if (cache.size > 256) cache.clear();
  cache.set(slot, { key, envelope });
  return envelope;
}

const composedCache = new WeakMap<ForgeContext, Map<string, { key: string; envelope: ComposedEnvelope }>>();
