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
import { loadRepo, type LoadedRepo } from '../load/load-repo.ts';
import { branchCommit, mirrorHeadBranch, treeAt, updateMirror } from '../mirror/mirror-repo.ts';
import { decidePublish, type PolicyDecision, type PolicyEvent } from '../policy/decide-publish.ts';
import { findBundle, saveBundle } from '../publish/bundle-store.ts';
import { publishBundle, type PublishOutcome } from '../publish/publish-bundle.ts';
import { createGitCache } from '../repo/git-cache.ts';
import { openGitSnapshot } from '../repo/git-snapshot.ts';
import { compareWithSeen, listReleaseTags, releasesBySet, type ReleaseTag } from '../repo/release-tags.ts';
import { enqueueGitHubPost } from '../github/github-outbox.ts';
import { composeUnreviewedStatus } from '../review/compose-check.ts';
import { reviewsEnabled, unreviewedChanges, unreviewedChangesOfRelease } from '../review/review-state.ts';
import { appendAudit } from '../store/audit-log.ts';
import { storeTime } from '../store/open-store.ts';
import type { ForgeContext, ForgeProject } from './forge-context.ts';

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
  await saveRollouts(ctx, project.name, repo);
  const problems = lintRepo(repo, { releases: releasesBySet(tags) });
  const source = `${branch}@${commit.slice(0, 7)}`;
  const unreviewedSets: string[] = [];

  for (const set of repo.sets) {
    // The snapshot read the set's tree id already; only the last commit's needs asking.
    const now = set.treeId;
    const before = last ? await treeAt(mirror, last.commit, set.dir) : undefined;
    if (last && now === before) continue;
    // First sight of the branch: its state is not a change anyone made, so only live sets (whose
    // every commit publishes) get a head build; review and locked sets wait for real changes.
    if (!last && set.config.mode !== 'live') continue;
    const setProblems = problemsInDir(problems, set.dir);
    // Every change since the last processed commit must be a reviewed merge, not only the last
    // one: a sync may find several commits at once.
    const unreviewed = set.config.mode === 'live' || !last ? [] : await unreviewedChanges(ctx, project, mirror, [last.commit], commit, set);
    const event: PolicyEvent = { kind: 'push', reviewedMerge: reviewsEnabled(project) && unreviewed.length === 0 };
    const decision = decidePublish({ event, mode: set.config.mode, lintErrors: setProblems.some((p) => p.severity === 'error') });
    const entry: SetDecision = { set: set.name, source, decision, problems: setProblems };
    report.decisions.push(entry);
    await auditDecision(ctx, project.name, set.name, source, decision, setProblems, actor, unreviewed);
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
  if (unreviewedSets.length > 0 && reviewsEnabled(project)) {
    await enqueueGitHubPost(ctx.db, project.name, { kind: 'status', sha: commit, status: composeUnreviewedStatus('push', unreviewedSets, source) });
    options.onGitHubPost?.();
  }
  await ctx.db.insertInto('branch_heads').values({ project: project.name, branch, commit, updated_at: storeTime(), baseline_commit: commit })
    .onConflict((oc) => oc.columns(['project', 'branch']).doUpdateSet({ commit, updated_at: storeTime() })).execute();
}

async function syncRelease(ctx: ForgeContext, project: ForgeProject, build: BuildContext, tag: ReleaseTag, built: Built, report: SyncReport, options: SyncOptions): Promise<void> {
  const actor = options.actor;
  const bundle = built.bundle;
  if (bundle) built.problems.push(...(await ensureDependencies(ctx, build, bundle)));
  const errors = built.problems.filter((p) => p.severity === 'error');
  const mode = bundle?.mode ?? 'review';
  const unreviewed = mode === 'live' || !reviewsEnabled(project) ? [] : await unreviewedChangesOfTag(ctx, project, build, tag, report.baseline);
  const event: PolicyEvent = { kind: 'release', prerelease: semver.prerelease(tag.version) !== null, unreviewedChange: unreviewed.length > 0 };
  const decision = decidePublish({ event, mode, lintErrors: !bundle || errors.length > 0 });
  const entry: SetDecision = { set: tag.set, source: tag.name, decision, problems: built.problems };
  report.decisions.push(entry);
  await auditDecision(ctx, project.name, tag.set, tag.name, decision, built.problems, actor, unreviewed);
  if (decision.audit === 'decision.unreviewed-release') {
    await enqueueGitHubPost(ctx.db, project.name, { kind: 'status', sha: tag.commit, status: composeUnreviewedStatus('release', [tag.set], tag.name) });
    options.onGitHubPost?.();
  }
  if (decision.publish && bundle) {
    entry.published = await publishBundle(ctx, { project: project.name, bundle, channels: decision.publish.channels, reason: decision.reason, actor });
    options.onPublish?.();
  }
  // Published or not, the bundle was stored when it was built: the versions endpoint serves
  // every release the forge built.
}

/** The release's changes to its set that no approved, merged pull request covers (the set's folder as the tag has it). */
async function unreviewedChangesOfTag(ctx: ForgeContext, project: ForgeProject, build: BuildContext, tag: ReleaseTag, baseline: string | undefined): Promise<string[]> {
  const repo = await loadRepo(await openGitSnapshot(build.root, tag.commit, { cache: build.cache }));
  const set = repo.sets.find((s) => s.name === tag.set);
  if (!set) return [];
  return unreviewedChangesOfRelease(ctx, project, build.root, tag, build.tags, set, baseline);
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

async function auditDecision(
  ctx: ForgeContext, project: string, set: string, source: string, decision: PolicyDecision, problems: readonly Problem[], actor: string | undefined,
  unreviewed: readonly string[] = [],
): Promise<void> {
  const errors = problems.filter((p) => p.severity === 'error');
  await appendAudit(ctx.db, {
    project, kind: decision.audit, subject: `${set} ${source}`, actor,
    detail: {
      reason: decision.reason,
      ...(decision.publish ? { channels: decision.publish.channels, stage: decision.publish.stage } : {}),
      ...(decision.failStatus ? { status: decision.failStatus } : {}),
      ...(unreviewed.length > 0 ? { unreviewedCommits: unreviewed.slice(0, 20) } : {}),
      ...(errors.length > 0 ? { errors: errors.slice(0, 20).map((p) => `${p.file ?? ''}:${p.line ?? ''}:${p.column ?? ''} ${p.code} ${p.message}`) } : {}),
    },
  });
}

/** anvil.yaml's rollouts at the branch head become what channel envelopes carry. */
async function saveRollouts(ctx: ForgeContext, project: string, repo: LoadedRepo): Promise<void> {
  const rows = Object.entries(repo.config.rollouts).flatMap(([set, channels]) =>
    Object.entries(channels ?? {}).map(([channel, r]) => ({ project, set_name: set, channel, version: r.version, percent: r.percent })));
  await ctx.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('rollouts').where('project', '=', project).execute();
    if (rows.length > 0) await trx.insertInto('rollouts').values(rows).execute();
  });
}
