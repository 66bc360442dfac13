/**
 * The canary guard's edges (issue 17): the guard of each accepted rollout is recorded when the
 * rollout is (forge/sync-rollouts.ts), judged as usage metrics arrive (http/metrics-routes.ts)
 * with the pure rule of guard-rule.ts, and a canary that fails it is paused: recorded in
 * `rollout_pauses`, audited as `rollout.paused` with the figures, and the channel's receivers
 * are sent the set's envelope again without that rollout (publish/channel-state.ts leaves a
 * paused rollout out), so they go back to the stable version. A commit that changes the rollout
 * clears the pause.
 */
import type { ResolvedRepoConfig } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import type { RolloutEntryRow } from '../policy/rollout-rules.ts';
import { pushRolloutChange } from '../publish/release-decisions.ts';
import { appendAudit } from '../store/audit-log.ts';
import { storeTime, type Store } from '../store/open-store.ts';
import './usage-tables.ts';
import { DEFAULT_GUARD_MIN_SAMPLES, judgeGuard, type GuardJudgement } from './guard-rule.ts';
import { queryUsage } from './usage-store.ts';

type Executor = Pick<Store, 'insertInto' | 'selectFrom' | 'deleteFrom' | 'updateTable'>;

interface GuardConfig {
  margin: number;
  minSamples?: number | undefined;
}

/**
 * After a set's rollouts were accepted (in the transaction that stores them): the guards of the
 * accepted entries, and the pauses of the channels whose rollout changed are cleared.
 */
export async function recordRolloutGuards(
  db: Executor, project: string, set: string, before: readonly RolloutEntryRow[], after: readonly RolloutEntryRow[],
  config: ResolvedRepoConfig['rollouts'], now: number = Date.now(),
): Promise<void> {
  const at = storeTime(now);
  await db.deleteFrom('rollout_guards').where('project', '=', project).where('set_name', '=', set).execute();
  for (const row of after) {
    const guard = (config[set]?.[row.channel as keyof NonNullable<ResolvedRepoConfig['rollouts'][string]>] as { guard?: GuardConfig } | undefined)?.guard;
    if (!guard) continue;
    const was = before.find((b) => b.channel === row.channel);
    const same = was !== undefined && was.version === row.version && was.percent === row.percent;
    // An unchanged rollout keeps counting from when it was accepted; a changed one starts again.
    const previous = same
      ? await db.selectFrom('rollout_guards').select('updated_at').where('project', '=', project).where('set_name', '=', set).where('channel', '=', row.channel).executeTakeFirst()
      : undefined;
    await db.insertInto('rollout_guards').values({
      project, set_name: set, channel: row.channel, version: row.version, margin: guard.margin,
      min_samples: guard.minSamples ?? DEFAULT_GUARD_MIN_SAMPLES, updated_at: previous?.updated_at ?? at,
    }).execute();
  }
  for (const channel of new Set([...before, ...after].map((r) => r.channel))) {
    const was = before.find((r) => r.channel === channel);
    const is = after.find((r) => r.channel === channel);
    if (was && is && was.version === is.version && was.percent === is.percent) continue;
    await db.updateTable('rollout_pauses').set({ cleared_at: at })
      .where('project', '=', project).where('set_name', '=', set).where('channel', '=', channel).where('cleared_at', 'is', null).execute();
  }
}

/** The pauses in force on a channel of a project: set → the paused rollout. */
export async function activePauses(db: Pick<Store, 'selectFrom'>, project: string, channel?: string): Promise<{ set: string; channel: string; version: string; percent: number; reason: string; pausedAt: string }[]> {
  let q = db.selectFrom('rollout_pauses').selectAll().where('project', '=', project).where('cleared_at', 'is', null);
  if (channel !== undefined) q = q.where('channel', '=', channel);
  return (await q.execute()).map((r) => ({ set: r.set_name, channel: r.channel, version: r.version, percent: r.percent, reason: r.reason, pausedAt: r.paused_at }));
}

/** `rows` without the rollouts a guard paused (the envelope's view: publish/channel-state.ts). */
export async function withoutPausedRollouts<R extends { set_name: string; channel: string; version: string; percent: number }>(db: Pick<Store, 'selectFrom'>, project: string, channel: string, rows: R[]): Promise<R[]> {
  if (rows.length === 0) return rows;
  const pauses = await activePauses(db, project, channel);
  return rows.filter((r) => !pauses.some((p) => p.set === r.set_name && p.version === r.version && p.percent === r.percent));
}

export interface GuardOutcome {
  set: string;
  channel: string;
  judgement: GuardJudgement;
}

/**
 * Judges the guards of these (set, channel) pairs of a project now, pausing the canaries that
 * fail theirs. Returns what was judged (pairs without a guarded, unpaused rollout are skipped).
 */
export async function evaluateRolloutGuards(ctx: ForgeContext, project: string, pairs: readonly { set: string; channel: string }[], wake: () => void = () => undefined, now: number = Date.now()): Promise<GuardOutcome[]> {
  const outcomes: GuardOutcome[] = [];
  for (const { set, channel } of pairs) {
    const guard = await ctx.db.selectFrom('rollout_guards').selectAll()
      .where('project', '=', project).where('set_name', '=', set).where('channel', '=', channel).executeTakeFirst();
    if (!guard) continue;
    const rollout = await ctx.db.selectFrom('rollouts').selectAll()
      .where('project', '=', project).where('set_name', '=', set).where('channel', '=', channel).executeTakeFirst();
    if (!rollout || rollout.version !== guard.version) continue;
    if ((await withoutPausedRollouts(ctx.db, project, channel, [rollout])).length === 0) continue;
    const head = await ctx.db.selectFrom('channel_heads').select('version')
      .where('project', '=', project).where('channel', '=', channel).where('set_name', '=', set).executeTakeFirst();
    if (!head || head.version === rollout.version) continue;
    const totals = await queryUsage(ctx.db, { project, set, channel, since: Date.parse(guard.updated_at), versions: [rollout.version, head.version] });
    const side = (version: string) => {
      const t = totals.find((x) => x.version === version)?.totals;
      return { version, events: t?.events ?? 0, successes: t?.successes ?? 0 };
    };
    const judgement = judgeGuard({ margin: guard.margin, minSamples: guard.min_samples }, side(rollout.version), side(head.version));
    outcomes.push({ set, channel, judgement });
    if (!judgement.pause) continue;
    const at = storeTime(now);
    const detail = { ...judgement.figures, percent: rollout.percent };
    const paused = { version: rollout.version, percent: rollout.percent, reason: judgement.reason, detail: JSON.stringify(detail), paused_at: at, cleared_at: null };
    await ctx.db.insertInto('rollout_pauses').values({ project, set_name: set, channel, ...paused })
      .onConflict((oc) => oc.columns(['project', 'set_name', 'channel']).doUpdateSet(paused)).execute();
    ctx.logger.warn({ project, set, channel, version: rollout.version }, `canary paused: ${judgement.reason}`);
    await appendAudit(ctx.db, { project, kind: 'rollout.paused', subject: `${set}@${rollout.version} ${channel}`, actor: 'forge', detail: { reason: judgement.reason, ...detail } }, now);
    // The receivers go back to the stable version: the set's envelope again, without the rollout.
    if (await pushRolloutChange(ctx, project, channel, set) > 0) wake();
  }
  return outcomes;
}
