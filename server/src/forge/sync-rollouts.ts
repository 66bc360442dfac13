/**
 * anvil.yaml's `rollouts` at the branch head become what channel envelopes carry (DESIGN §6),
 * under the same rules as content (issue 18): a change to a set's rollouts needs the review the
 * set needs (none for a `live` set; for `review` and `locked` sets every commit that changed
 * anvil.yaml since the last processed one must be the merge of a pull request approved for the
 * set), and may only name a release the forge decided to publish to that channel, newer than
 * what the channel serves (policy/rollout-rules.ts). A refused change keeps the set's previous
 * rollouts, is audited, and gets a failing commit status; an accepted one is pushed to the
 * channel's receivers at once, and a release whose rollout ended becomes the channel's head.
 *
 * A change is judged against anvil.yaml at the last processed commit, not against the stored
 * rows: a refused change stays refused on later syncs, until a reviewed commit changes it again.
 * On the forge's first sight of the branch nobody made a change, so the rollouts are adopted,
 * filtered by the channel rules alone.
 */
import { validateRepoConfig, validateSetConfig, type Bundle, type ResolvedRepoConfig, type SetModeName } from '@anvil/content-schema';
import { enqueueGitHubPost } from '../github/github-outbox.ts';
import { readYamlConfig } from '../load/read-yaml-config.ts';
import { REPO_CONFIG_FILE, SET_CONFIG_FILE, type LoadedRepo } from '../load/load-repo.ts';
import { fileAt, landedChanges } from '../mirror/mirror-repo.ts';
import { entriesOf, judgeRollout, sameEntries, type RolloutEntryRow } from '../policy/rollout-rules.ts';
import { findBundle } from '../publish/bundle-store.ts';
import { publishBundle } from '../publish/publish-bundle.ts';
import { pushRolloutChange, readReleaseDecision } from '../publish/release-decisions.ts';
import type { ReleaseTag } from '../repo/release-tags.ts';
import { STATUS_DESCRIPTION_MAX } from '../review/compose-check.ts';
import { isReviewedChange, reviewsEnabled, type SetRef } from '../review/review-state.ts';
import { appendAudit } from '../store/audit-log.ts';
import { recordRolloutGuards } from '../metrics/rollout-guard.ts';
import type { ForgeContext, ForgeProject } from './forge-context.ts';
import type { SyncOptions, SyncReport } from './sync-project.ts';

/** Approvals of anvil.yaml itself are cached under a name no set can have (set names start with [a-z0-9]). */
const REPO_CONFIG_REF: SetRef = { name: `:${REPO_CONFIG_FILE}`, dir: REPO_CONFIG_FILE };

export interface RolloutSync {
  ctx: ForgeContext;
  project: ForgeProject;
  mirror: string;
  /** The last commit of the branch the forge processed; undefined on its first sight of the branch. */
  before: string | undefined;
  commit: string;
  repo: LoadedRepo;
  tags: readonly ReleaseTag[];
  report: SyncReport;
  options: SyncOptions;
}

type Outcome =
  | { kind: 'accepted'; set: string; rows: RolloutEntryRow[] }
  | { kind: 'refused'; set: string; audit: 'decision.unreviewed-rollout' | 'decision.rollout-refused'; reason: string; unreviewed?: string[] };

export async function syncRollouts(sync: RolloutSync): Promise<void> {
  const { ctx, project, repo, commit } = sync;
  const source = `${sync.report.branch ?? 'branch'}@${commit.slice(0, 7)}`;
  const now = repo.config.rollouts;
  const stored = (await ctx.db.selectFrom('rollouts').selectAll().where('project', '=', project.name).execute())
    .map((r) => ({ set: r.set_name, channel: r.channel, version: r.version, percent: r.percent }));

  const outcomes: Outcome[] = [];
  if (sync.before === undefined) {
    // First sight: adopt what is written, minus what no channel may serve.
    await ctx.db.deleteFrom('rollouts').where('project', '=', project.name).execute();
    for (const set of Object.keys(now).sort()) {
      const kept: RolloutEntryRow[] = [];
      for (const entry of entriesOf(now, set)) {
        const judged = await judge(sync, entry);
        if (judged.ok) kept.push(entry);
        else outcomes.push({ kind: 'refused', set, audit: 'decision.rollout-refused', reason: `${entry.channel}: ${judged.reason}` });
      }
      outcomes.push({ kind: 'accepted', set, rows: kept });
    }
  } else {
    const previous = await rolloutsAt(sync.mirror, sync.before);
    const sets = [...new Set([...Object.keys(previous), ...Object.keys(now)])].sort();
    const changed = sets.filter((set) => !sameEntries(entriesOf(previous, set), entriesOf(now, set)));
    if (changed.length === 0) return;
    const landed = await landedChanges(sync.mirror, [sync.before], commit, REPO_CONFIG_FILE);
    for (const set of changed) outcomes.push(await judgeChange(sync, set, entriesOf(previous, set), entriesOf(now, set), stored, landed));
  }

  const refused: string[] = [];
  for (const outcome of outcomes) {
    if (outcome.kind === 'refused') {
      refused.push(outcome.set);
      ctx.logger.warn({ project: project.name, set: outcome.set, commit }, `rollout refused: ${outcome.reason}`);
      await appendAudit(ctx.db, {
        project: project.name, kind: outcome.audit, subject: `${outcome.set} ${source}`, actor: sync.options.actor,
        detail: { reason: outcome.reason, rollouts: entriesOf(now, outcome.set), ...(outcome.unreviewed ? { unreviewedCommits: outcome.unreviewed.slice(0, 20) } : {}) },
      });
      continue;
    }
    const before = stored.filter((r) => r.set === outcome.set);
    if (sync.before !== undefined || outcome.rows.length > 0) {
      await appendAudit(ctx.db, {
        project: project.name, kind: 'decision.rollout', subject: `${outcome.set} ${source}`, actor: sync.options.actor,
        detail: { rollouts: outcome.rows, previous: before, reason: sync.before === undefined ? 'adopted on first sight of the branch' : 'rollout change accepted' },
      });
    }
    await ctx.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('rollouts').where('project', '=', project.name).where('set_name', '=', outcome.set).execute();
      if (outcome.rows.length > 0) {
        await trx.insertInto('rollouts').values(outcome.rows.map((r) => ({ project: project.name, set_name: r.set, channel: r.channel, version: r.version, percent: r.percent }))).execute();
      }
      // Their canary guards (issue 17); a changed rollout's pause is cleared.
      await recordRolloutGuards(trx, project.name, outcome.set, before, outcome.rows, now);
    });
    await applyToChannels(sync, outcome.set, before, outcome.rows);
  }
  // Only a change someone pushed gets a status; the first sight of a branch is nobody's change.
  if (refused.length > 0 && sync.before !== undefined && reviewsEnabled(project)) {
    const sets = [...new Set(refused)];
    const description = `rollout of ${sets.join(', ')} refused: unreviewed, or names a version its channel may not serve`;
    await enqueueGitHubPost(ctx.db, project.name, {
      kind: 'status', sha: commit,
      status: { state: 'failure', context: 'anvil/rollout', description: description.length > STATUS_DESCRIPTION_MAX ? `${description.slice(0, STATUS_DESCRIPTION_MAX - 1)}…` : description },
    });
    sync.options.onGitHubPost?.();
  }
}

async function judgeChange(
  sync: RolloutSync, set: string, previous: RolloutEntryRow[], next: RolloutEntryRow[], stored: RolloutEntryRow[], landed: string[],
): Promise<Outcome> {
  const { ctx, project, mirror } = sync;
  const loaded = sync.repo.sets.find((s) => s.name === set);
  const modes = [loaded?.config.mode, loaded ? await modeAt(mirror, sync.before!, loaded.dir) : undefined];
  // A live set (now and before) needs no review; anything else, or a set the commit does not
  // have, does.
  const needsReview = !(loaded && modes.every((m) => m === undefined || m === 'live'));
  if (needsReview) {
    const unreviewed: string[] = [];
    for (const c of landed) {
      const reviewed = await isReviewedChange(ctx, project, mirror, c, REPO_CONFIG_REF)
        && (!loaded || await isReviewedChange(ctx, project, mirror, c, { name: loaded.name, dir: loaded.dir }));
      if (!reviewed) unreviewed.push(c);
    }
    if (unreviewed.length > 0 || landed.length === 0) {
      const why = reviewsEnabled(project) ? 'without an approved, merged pull request' : 'on a remote without pull requests, where nothing can be approved';
      return {
        kind: 'refused', set, audit: 'decision.unreviewed-rollout', unreviewed,
        reason: `the rollouts of ${loaded?.config.mode ?? 'unknown'} set ${set} changed in ${REPO_CONFIG_FILE} ${why}; the previous rollouts stay`,
      };
    }
  }
  const rows: RolloutEntryRow[] = [];
  for (const entry of next) {
    const was = previous.find((p) => p.channel === entry.channel);
    if (was && sameEntries([was], [entry])) {
      // Unchanged: stays as the forge has it (it may have dropped it when it was adopted).
      const kept = stored.find((s) => s.set === set && s.channel === entry.channel);
      if (kept) rows.push(kept);
      continue;
    }
    const judged = await judge(sync, entry);
    if (!judged.ok) {
      return { kind: 'refused', set, audit: 'decision.rollout-refused', reason: `${entry.channel}: ${judged.reason}; the previous rollouts stay` };
    }
    rows.push(entry);
  }
  return { kind: 'accepted', set, rows };
}

async function judge(sync: RolloutSync, entry: RolloutEntryRow): Promise<ReturnType<typeof judgeRollout>> {
  const { ctx, project } = sync;
  const decision = await readReleaseDecision(ctx, project.name, entry.set, entry.version);
  const head = await ctx.db.selectFrom('channel_heads').select('version')
    .where('project', '=', project.name).where('channel', '=', entry.channel).where('set_name', '=', entry.set).executeTakeFirst();
  return judgeRollout(entry, {
    verdict: decision,
    tagged: sync.tags.some((t) => t.set === entry.set && t.version === entry.version),
    mode: sync.repo.sets.find((s) => s.name === entry.set)?.config.mode,
    headVersion: head?.version,
  });
}

/**
 * Tells the receivers: a channel whose rollout of the set changed gets the set's envelope again;
 * a release whose rollout ended (removed, or replaced by another version) becomes the channel's
 * head if it is still allowed there and ahead of it.
 */
async function applyToChannels(sync: RolloutSync, set: string, before: RolloutEntryRow[], after: RolloutEntryRow[]): Promise<void> {
  const { ctx, project } = sync;
  const channels = [...new Set([...before, ...after].map((r) => r.channel))].sort();
  for (const channel of channels) {
    const was = before.find((r) => r.channel === channel);
    const is = after.find((r) => r.channel === channel);
    if (was && is && sameEntries([was], [is])) continue;
    if (was && was.version !== is?.version && await promote(sync, was)) continue;
    const deliveries = await pushRolloutChange(ctx, project.name, channel, set);
    if (deliveries > 0) sync.options.onPublish?.();
  }
}

async function promote(sync: RolloutSync, ended: RolloutEntryRow): Promise<boolean> {
  const { ctx, project } = sync;
  const decision = await readReleaseDecision(ctx, project.name, ended.set, ended.version);
  if (!decision || decision.refused || !decision.channels.includes(ended.channel)) return false;
  const stored = await findBundle(ctx, project.name, ended.set, ended.version);
  if (!stored) return false;
  const outcome = await publishBundle(ctx, {
    project: project.name, bundle: JSON.parse(stored.body) as Bundle, channels: [ended.channel], actor: sync.options.actor,
    reason: `the rollout of ${ended.set}@${ended.version} on ${ended.channel} ended: it becomes the channel's release`,
  });
  sync.options.onPublish?.();
  return outcome.channels.some((c) => c.outcome === 'published');
}

async function rolloutsAt(mirror: string, commit: string): Promise<ResolvedRepoConfig['rollouts']> {
  const text = await fileAt(mirror, commit, REPO_CONFIG_FILE);
  if (text === undefined) return {};
  // As loadRepo reads it: an anvil.yaml that does not validate has no rollouts.
  return readYamlConfig(REPO_CONFIG_FILE, text, validateRepoConfig).value?.rollouts ?? {};
}

async function modeAt(mirror: string, commit: string, dir: string): Promise<SetModeName | undefined> {
  const file = `${dir}/${SET_CONFIG_FILE}`;
  const text = await fileAt(mirror, commit, file);
  if (text === undefined) return undefined;
  // A set.yaml that does not validate is taken as the strictest mode.
  return readYamlConfig(file, text, validateSetConfig).value?.mode ?? 'locked';
}
