/**
 * One project brought up to date with its remote (DESIGN §2: webhooks → mirror → load + lint →
 * policy → build → publish). Every webhook only triggers this; the work is a reconciliation of
 * the mirror's refs with what the store has seen, so a missed or repeated webhook, or a restart,
 * changes nothing about the outcome.
 *
 * - New release tags are built (content-addressed; a tree already built is reused) and published
 *   as the policy says. A tag that moved or vanished since it was first seen is refused and
 *   audited once; the bundle built for it stays what it was.
 * - A moved default branch: each set whose tree changed since the last processed commit goes
 *   through the policy as a push (head build to development for live sets, and so on).
 */
import path from 'node:path';
import semver from 'semver';
import type { Bundle } from '@anvil/content-schema';
import { buildErrorProblem, buildTarget, type BuildContext } from '../build/build-target.ts';
import { fileBuildCache } from '../build/file-build-cache.ts';
import { lintRepo } from '../lint/lint-repo.ts';
import { problemsInDir, type Problem } from '../lint/problem.ts';
import { loadRepo, type LoadedSet } from '../load/load-repo.ts';
import { branchCommit, isAncestorIn, mirrorHeadBranch, treeAt, updateMirror } from '../mirror/mirror-repo.ts';
import { decidePublish, type PolicyDecision, type PolicyEvent } from '../policy/decide-publish.ts';
import { checkReleaseTag, type TagRefusal } from '../policy/release-tag-rules.ts';
import { findBundle, saveBundle } from '../publish/bundle-store.ts';
import { publishBundle, type PublishOutcome } from '../publish/publish-bundle.ts';
import { createGitCache } from '../repo/git-cache.ts';
import { openGitSnapshot } from '../repo/git-snapshot.ts';
import { compareWithSeen, isAnnotated, listReleaseTags, releasesBySet, type ReleaseTag } from '../repo/release-tags.ts';
import { enqueueGitHubPost } from '../github/github-outbox.ts';
import { composeUnreviewedStatus } from '../review/compose-check.ts';
import { reviewsEnabled, unreviewedChanges, unreviewedChangesOfRelease } from '../review/review-state.ts';
import { adoptBaseline, advanceTrust, isReleaseTrusted, seedTrustOnce, trustTrees, type TrustAdvance } from '../review/set-trust.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { SetReviewState } from '../store/database.ts';
import { storeTime } from '../store/open-store.ts';
import { recordReleaseDecision } from '../publish/release-decisions.ts';
import type { ForgeContext, ForgeProject } from './forge-context.ts';
import { syncAliases } from './sync-aliases.ts';
import { syncRollouts } from './sync-rollouts.ts';

export interface SetDecision {
  set: string;
  /** `main@abc1234` or the tag. */
  source: string;
  decision: PolicyDecision;
  published?: PublishOutcome;
  problems: Problem[];
}

export interface SyncReport {
  project: string;
  branch?: string;
  commit?: string;
  decisions: SetDecision[];
  refusedTags: { tag: string; reason: string }[];
  /** Where the forge's review history of the branch starts (its commit when first seen). */
  baseline?: string | undefined;
}

export interface SyncOptions {
  /**
   * The project's default branch as the forge's configuration names it, else the remote's HEAD.
   * Not anvil.yaml's: a commit must not be able to choose which branch the forge publishes from
   * (`anvil dev` and the CLI, which act for the repository's own author, do read it).
   */
  defaultBranch?: string | undefined;
  /** Who caused this sync, for the audit log. */
  actor?: string | undefined;
  /** Called after each publish, so that its pushes start before the rest of the sync is done. */
  onPublish?: (() => void) | undefined;
  /** Called after a post for GitHub was queued (a failing status), so that the poster sends it. */
  onGitHubPost?: (() => void) | undefined;
}

export async function syncProject(ctx: ForgeContext, project: ForgeProject, options: SyncOptions = {}): Promise<SyncReport> {
  const mirror = await updateMirror(ctx.dataDir, project.name, project.remote);
  const cache = createGitCache();
  const listed = await listReleaseTags(mirror, { cache });
  const report: SyncReport = { project: project.name, decisions: [], refusedTags: [] };
  const build: BuildContext = {
    root: mirror, project: project.name, cache, tags: listed.tags, buildCache: fileBuildCache(path.join(mirror, 'anvil', 'build-cache')),
  };

  const added = await checkTags(ctx, project, listed.tags, report, options.actor);
  // New releases are built first: head builds and other releases may depend on them.
  const builtReleases: [ReleaseTag, Built][] = [];
  for (const tag of added) builtReleases.push([tag, await buildAndCount(ctx, build, tag.set, tag.name, 'release')]);
  for (const [, built] of builtReleases) if (built.bundle) await saveBundle(ctx, built.bundle);

  // Then the default branch (it carries anvil.yaml's rollouts and the head builds), then releases.
  const branch = options.defaultBranch ?? (await mirrorHeadBranch(mirror));
  const commit = branch === undefined ? undefined : await branchCommit(mirror, branch);
  if (branch !== undefined && commit !== undefined) {
    report.branch = branch;
    report.commit = commit;
    await syncBranch(ctx, project, build, mirror, branch, commit, listed.tags, report, options);
  }
  for (const [tag, built] of builtReleases) await syncRelease(ctx, project, build, tag, built, report, options);
  return report;
}

type Built = { bundle?: Bundle; problems: Problem[] };

/**
 * A bundle's dependency releases, built and stored if the forge does not have them yet (a
 * forge started on a repository whose older tags it has never built), so that envelopes can
 * carry them.
 */
async function ensureDependencies(ctx: ForgeContext, build: BuildContext, bundle: Bundle): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const [dep, version] of Object.entries(bundle.dependencies)) {
    if (await findBundle(ctx, bundle.project, dep, version)) continue;
    const built = await buildAndCount(ctx, build, dep, `${dep}@${version}`, 'release');
    if (!built.bundle) {
      problems.push(...built.problems, { severity: 'error', code: 'publish.dependency-missing', message: `${bundle.set}@${bundle.version} needs ${dep}@${version}, which cannot be built` });
      continue;
    }
    await saveBundle(ctx, built.bundle);
    problems.push(...(await ensureDependencies(ctx, build, built.bundle)));
  }
  return problems;
}

/** Records new tags as seen; refuses (and audits, once) tags that moved or vanished. */
async function checkTags(ctx: ForgeContext, project: ForgeProject, tags: readonly ReleaseTag[], report: SyncReport, actor: string | undefined): Promise<ReleaseTag[]> {
  const seenRows = await ctx.db.selectFrom('seen_tags').select(['tag', 'target']).where('project', '=', project.name).execute();
  const changes = compareWithSeen(Object.fromEntries(seenRows.map((r) => [r.tag, r.target])), tags);
  const refusals = [
    ...changes.moved.map((m) => ({ tag: m.name, kind: 'tag.moved', reason: `release tag ${m.name} moved from ${m.was.slice(0, 7)} to ${m.now.slice(0, 7)}; releases are immutable, so it is not built again`, key: m.now })),
    ...changes.deleted.map((d) => ({ tag: d.name, kind: 'tag.deleted', reason: `release tag ${d.name} (at ${d.was.slice(0, 7)}) was deleted; its bundle stays as built`, key: 'deleted' })),
  ];
  for (const r of refusals) {
    report.refusedTags.push({ tag: r.tag, reason: r.reason });
    const subject = `${r.tag} ${r.key}`;
    const already = await ctx.db.selectFrom('audit_log').select('seq').where('project', '=', project.name).where('kind', '=', r.kind).where('subject', '=', subject).executeTakeFirst();
    if (!already) {
      await appendAudit(ctx.db, { project: project.name, kind: r.kind, subject, actor, detail: { tag: r.tag, reason: r.reason } });
      ctx.logger.warn({ project: project.name, tag: r.tag }, r.reason);
    }
  }
  if (changes.added.length > 0) {
    await ctx.db.insertInto('seen_tags')
      .values(changes.added.map((t) => ({ project: project.name, tag: t.name, target: t.commit, first_seen_at: storeTime() })))
      .onConflict((oc) => oc.columns(['project', 'tag']).doNothing()).execute();
  }
  return changes.added;
}

async function syncBranch(
  ctx: ForgeContext, project: ForgeProject, build: BuildContext, mirror: string, branch: string, commit: string,
  tags: readonly ReleaseTag[], report: SyncReport, options: SyncOptions,
): Promise<void> {
  const actor = options.actor;
  const last = await ctx.db.selectFrom('branch_heads').select(['commit', 'baseline_commit']).where('project', '=', project.name).where('branch', '=', branch).executeTakeFirst();
  report.baseline = last ? last.baseline_commit ?? undefined : commit;
  if (last?.commit === commit) return;

  const snapshot = await openGitSnapshot(mirror, commit, { cache: build.cache });
  const repo = await loadRepo(snapshot);
  await syncRollouts({ ctx, project, mirror, before: last?.commit, commit, repo, tags, report, options });
  await syncAliases({ ctx, project, mirror, before: last?.commit, commit, source: `${branch}@${commit.slice(0, 7)}`, repo, tags, actor: options.actor, onGitHubPost: options.onGitHubPost });
  const problems = lintRepo(repo, { releases: releasesBySet(tags) });
  const source = `${branch}@${commit.slice(0, 7)}`;
  const unreviewedSets: string[] = [];
  // Trusted content (issue 18, review/trust-rules.ts): the branch as first seen is adopted; a store
  // from before trusted trees adopts what the forge had accepted.
  if (reviewsEnabled(project)) {
    if (!last) await adoptBaseline(ctx, project.name, commit, repo.sets);
    else await seedTrustOnce(ctx, project.name, mirror, last.baseline_commit ?? undefined, repo.sets);
  }

  const previousReviews = await setReviewsOf(ctx, project.name);
  for (const set of repo.sets) {
    // The snapshot read the set's tree id already; only the last commit's needs asking.
    const now = set.treeId;
    const before = last ? await treeAt(mirror, last.commit, set.dir) : undefined;
    // Followed even when the set is back where it was: a tag may mark a reviewed merge in between,
    // whose content is trusted too.
    const trust = last && set.config.mode !== 'live' && reviewsEnabled(project) ? await advanceTrust(ctx, project, mirror, last.commit, commit, set) : undefined;
    await saveSetState(ctx, project.name, branch, commit, set, nextSetReview(set.config.mode, reviewsEnabled(project), previousReviews.get(set.name), trust));
    if (last && now === before) continue;
    // First sight of the branch: its state is not a change anyone made, so only live sets (whose
    // every commit publishes) get a head build; review and locked sets wait for real changes.
    if (!last && set.config.mode !== 'live') continue;
    const setProblems = problemsInDir(problems, set.dir);
    // Every change since the last processed commit must be a reviewed merge, not only the last
    // one: a sync may find several commits at once. And the content they lead to must be trusted:
    // a reviewed merge on top of an earlier unreviewed change vouches only for its own diff.
    const review = set.config.mode === 'live' || !last ? { unreviewed: [], trusted: true }
      : trust ?? { unreviewed: await unreviewedChanges(ctx, project, mirror, [last.commit], commit, set), trusted: false };
    const unreviewed = review.unreviewed;
    const event: PolicyEvent = { kind: 'push', reviewedMerge: reviewsEnabled(project) && unreviewed.length === 0 && review.trusted };
    const decision = decidePublish({ event, mode: set.config.mode, lintErrors: setProblems.some((p) => p.severity === 'error') });
    const entry: SetDecision = { set: set.name, source, decision, problems: setProblems };
    report.decisions.push(entry);
    const untrusted = reviewsEnabled(project) && unreviewed.length === 0 && !review.trusted;
    await auditDecision(ctx, project.name, set.name, source, decision, setProblems, actor, unreviewed, untrusted ? UNTRUSTED_CONTENT : undefined);
    if (decision.audit === 'decision.unreviewed-change') unreviewedSets.push(set.name);
    if (!decision.publish) continue;
    const built = await buildAndCount(ctx, build, set.name, commit, 'head');
    if (built.bundle) built.problems.push(...(await ensureDependencies(ctx, build, built.bundle)));
    if (!built.bundle || built.problems.some((p) => p.code === 'publish.dependency-missing')) {
      entry.problems.push(...built.problems);
      await auditDecision(ctx, project.name, set.name, source, { audit: 'decision.lint-failed', reason: 'the head build failed', failStatus: 'build failed' }, built.problems, actor);
      continue;
    }
    entry.published = await publishBundle(ctx, { project: project.name, bundle: built.bundle, channels: decision.publish.channels, reason: decision.reason, actor });
    options.onPublish?.();
  }
  await forgetRemovedSets(ctx, project.name, repo.sets.map((s) => s.name));
  if (unreviewedSets.length > 0 && reviewsEnabled(project)) {
    await enqueueGitHubPost(ctx.db, project.name, { kind: 'status', sha: commit, status: composeUnreviewedStatus('push', unreviewedSets, source) });
    options.onGitHubPost?.();
  }
  await ctx.db.insertInto('branch_heads').values({ project: project.name, branch, commit, updated_at: storeTime(), baseline_commit: commit })
    .onConflict((oc) => oc.columns(['project', 'branch']).doUpdateSet({ commit, updated_at: storeTime() })).execute();
}

/** Where review of a set stands on the branch (the `set_states` table, shown on the dashboard). */
export interface SetReviewStatus {
  state: SetReviewState;
  /** Commits not reviewed yet, oldest first; empty unless `pending`. */
  unreviewed: string[];
}

/**
 * A set's review state after the forge followed the branch to a new head. `trust` is what
 * advanceTrust found since the last processed head; undefined on first sight of the branch (its
 * state is adopted, nothing is pending). Unreviewed commits pile up while the content is
 * untrusted: an approval covers only its own diff, so a reviewed merge on top clears nothing;
 * content trusted again (a reviewed revert, a return to a trusted tree) clears them all.
 */
export function nextSetReview(mode: string, reviews: boolean, previous: SetReviewStatus | undefined, trust: TrustAdvance | undefined): SetReviewStatus {
  if (mode === 'live') return { state: 'not-needed', unreviewed: [] };
  if (!reviews) return { state: 'no-reviews', unreviewed: [] };
  if (!trust || trust.trusted) return { state: 'reviewed', unreviewed: [] };
  const carried = previous?.state === 'pending' ? previous.unreviewed : [];
  // A sync that failed half-way is done again from the same head: the same commits come back.
  return { state: 'pending', unreviewed: [...new Set([...carried, ...trust.unreviewed])] };
}

async function setReviewsOf(ctx: ForgeContext, project: string): Promise<Map<string, SetReviewStatus>> {
  const rows = await ctx.db.selectFrom('set_states').select(['set_name', 'review', 'unreviewed']).where('project', '=', project).execute();
  return new Map(rows.map((r) => [r.set_name, { state: r.review, unreviewed: JSON.parse(r.unreviewed) as string[] }]));
}

async function saveSetState(ctx: ForgeContext, project: string, branch: string, commit: string, set: LoadedSet, review: SetReviewStatus): Promise<void> {
  const values = {
    mode: set.config.mode, dir: set.dir, branch, commit, review: review.state, unreviewed: JSON.stringify(review.unreviewed), updated_at: storeTime(),
  };
  await ctx.db.insertInto('set_states').values({ project, set_name: set.name, ...values })
    .onConflict((oc) => oc.columns(['project', 'set_name']).doUpdateSet(values)).execute();
}

async function forgetRemovedSets(ctx: ForgeContext, project: string, sets: readonly string[]): Promise<void> {
  let removed = ctx.db.deleteFrom('set_states').where('project', '=', project);
  if (sets.length > 0) removed = removed.where('set_name', 'not in', sets);
  await removed.execute();
}

async function syncRelease(ctx: ForgeContext, project: ForgeProject, build: BuildContext, tag: ReleaseTag, built: Built, report: SyncReport, options: SyncOptions): Promise<void> {
  const actor = options.actor;
  // DESIGN §5, for every provider and before any policy: an annotated tag on the default branch.
  const refusal = checkReleaseTag({
    tag: tag.name, annotated: isAnnotated(tag), branch: report.branch,
    onBranch: report.commit !== undefined && (await isAncestorIn(build.root, tag.commit, report.commit)),
  });
  if (refusal) return refuseTag(ctx, project, tag, refusal, report, options);
  const bundle = built.bundle;
  if (bundle) built.problems.push(...(await ensureDependencies(ctx, build, bundle)));
  const errors = built.problems.filter((p) => p.severity === 'error');
  const mode = bundle?.mode ?? 'review';
  const review = mode === 'live' || !reviewsEnabled(project) ? { trusted: true, unreviewed: [] } : await reviewOfTag(ctx, project, build, tag, report.baseline);
  const unreviewed = review.unreviewed;
  const event: PolicyEvent = { kind: 'release', prerelease: semver.prerelease(tag.version) !== null, unreviewedChange: !review.trusted };
  // Recorded for everything that later offers the release (versions route, rollouts, publish again); channels a rollout holds are left to it.
  const decision = await recordReleaseDecision(ctx, project.name, tag, bundle, decidePublish({ event, mode, lintErrors: !bundle || errors.length > 0 }));
  const entry: SetDecision = { set: tag.set, source: tag.name, decision, problems: built.problems };
  report.decisions.push(entry);
  await auditDecision(ctx, project.name, tag.set, tag.name, decision, built.problems, actor, unreviewed, review.trusted ? undefined : UNTRUSTED_CONTENT);
  if (decision.audit === 'decision.unreviewed-release') {
    await enqueueGitHubPost(ctx.db, project.name, { kind: 'status', sha: tag.commit, status: composeUnreviewedStatus('release', [tag.set], tag.name) });
    options.onGitHubPost?.();
  }
  if (decision.publish && bundle) {
    entry.published = await publishBundle(ctx, { project: project.name, bundle, channels: decision.publish.channels, reason: decision.reason, actor });
    options.onPublish?.();
    // An accepted release's content is trusted from now on (it already was, unless the release
    // is from the history the forge adopted).
    if (mode !== 'live' && reviewsEnabled(project) && bundle.source.tree) {
      await trustTrees(ctx, project.name, tag.set, [{ tree: bundle.source.tree, commit: tag.commit }], 'release');
    }
  }
  // Published or not, the bundle was stored when it was built; what may be offered is the
  // recorded decision's to say (release-decisions.ts), never the stored bundle's.
}

/**
 * A tag that is not a release as DESIGN §5 defines it: refused and audited once (the tag is new
 * only once), with a failing status on GitHub like an unreviewed release gets; nothing published.
 */
async function refuseTag(ctx: ForgeContext, project: ForgeProject, tag: ReleaseTag, refusal: TagRefusal, report: SyncReport, options: SyncOptions): Promise<void> {
  report.refusedTags.push({ tag: tag.name, reason: refusal.reason });
  await appendAudit(ctx.db, {
    project: project.name, kind: refusal.kind, subject: `${tag.set} ${tag.name}`, actor: options.actor,
    detail: { tag: tag.name, commit: tag.commit, annotated: isAnnotated(tag), branch: report.branch ?? null, reason: refusal.reason, hint: refusal.hint },
  });
  ctx.logger.warn({ project: project.name, tag: tag.name, hint: refusal.hint }, refusal.reason);
  if (reviewsEnabled(project)) {
    await enqueueGitHubPost(ctx.db, project.name, { kind: 'status', sha: tag.commit, status: { state: 'failure', description: refusal.status, context: 'anvil/review' } });
    options.onGitHubPost?.();
  }
}

/**
 * Whether the release's content of its set is trusted (review/set-trust.ts) and, when it is not,
 * the changes since the set's previous release that no approved, merged pull request covers, for
 * the audit log (empty when the untrusted content came from before that release).
 */
async function reviewOfTag(ctx: ForgeContext, project: ForgeProject, build: BuildContext, tag: ReleaseTag, baseline: string | undefined): Promise<{ trusted: boolean; unreviewed: string[] }> {
  const repo = await loadRepo(await openGitSnapshot(build.root, tag.commit, { cache: build.cache }));
  const set = repo.sets.find((s) => s.name === tag.set);
  if (!set) return { trusted: true, unreviewed: [] };
  if (await isReleaseTrusted(ctx, project.name, build.root, tag.commit, set, baseline)) return { trusted: true, unreviewed: [] };
  return { trusted: false, unreviewed: await unreviewedChangesOfRelease(ctx, project, build.root, tag, build.tags, set, baseline) };
}

async function buildAndCount(ctx: ForgeContext, build: BuildContext, set: string, ref: string, stage: 'head' | 'release'): Promise<Built> {
  try {
    const built = await buildTarget(build, set, { kind: 'ref', ref });
    ctx.metrics.builds.inc({ stage, outcome: !built.bundle ? 'failed' : built.reused ? 'reused' : 'built' });
    return built.bundle ? { bundle: built.bundle, problems: built.problems } : { problems: built.problems };
  } catch (err) {
    ctx.metrics.builds.inc({ stage, outcome: 'failed' });
    return { problems: [buildErrorProblem(err)] };
  }
}

/** The audit note of a set whose content is not trusted though no change in view is unreviewed. */
const UNTRUSTED_CONTENT = 'the set\'s content is not one the forge trusts: it still carries a change no approved pull request covered '
  + '(an approval covers only its own diff); merge an approved pull request that reverts that change (server/docs/github-review.md)';

async function auditDecision(
  ctx: ForgeContext, project: string, set: string, source: string, decision: PolicyDecision, problems: readonly Problem[], actor: string | undefined,
  unreviewed: readonly string[] = [], untrusted?: string,
): Promise<void> {
  const errors = problems.filter((p) => p.severity === 'error');
  await appendAudit(ctx.db, {
    project, kind: decision.audit, subject: `${set} ${source}`, actor,
    detail: {
      reason: decision.reason,
      ...(decision.publish ? { channels: decision.publish.channels, stage: decision.publish.stage } : {}),
      ...(decision.failStatus ? { status: decision.failStatus } : {}),
      ...(unreviewed.length > 0 ? { unreviewedCommits: unreviewed.slice(0, 20) } : {}),
      ...(untrusted !== undefined ? { untrusted } : {}),
      ...(errors.length > 0 ? { errors: errors.slice(0, 20).map((p) => `${p.file ?? ''}:${p.line ?? ''}:${p.column ?? ''} ${p.code} ${p.message}`) } : {}),
    },
  });
}
