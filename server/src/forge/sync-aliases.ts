/**
 * anvil.yaml's `aliases` at the default branch's head become what the forge resolves
 * `onboarding@stable` with (issue 17): `…/sets/:set/versions/stable`, the versions list that
 * `anvil-live install` reads, and so apps whose config names an alias.
 *
 * Moving an alias changes what apps install, so it is judged as a rollout change is
 * (forge/sync-rollouts.ts): a change to a `review` or `locked` set's aliases must arrive in
 * approved, merged pull requests (every commit that changed anvil.yaml since the last processed
 * one), a `live` set's need none; and an alias must name a release tag the forge has seen. A
 * refused change keeps the set's previous aliases and is audited. An anvil.yaml that does not
 * validate changes nothing (lint reports it), rather than dropping every alias.
 *
 * What an alias resolves to is still offered only if the forge decided to publish that release
 * (http/pull-routes.ts asks release-decisions.ts), like any version asked for by number.
 */
import { validateRepoConfig, validateSetConfig, type ResolvedRepoConfig, type SetModeName } from '@anvil/content-schema';
import { enqueueGitHubPost } from '../github/github-outbox.ts';
import { readYamlConfig } from '../load/read-yaml-config.ts';
import { REPO_CONFIG_FILE, SET_CONFIG_FILE, type LoadedRepo } from '../load/load-repo.ts';
import { fileAt, landedChanges } from '../mirror/mirror-repo.ts';
import type { ReleaseTag } from '../repo/release-tags.ts';
import { STATUS_DESCRIPTION_MAX } from '../review/compose-check.ts';
import { isReviewedChange, reviewsEnabled, type SetRef } from '../review/review-state.ts';
import { appendAudit } from '../store/audit-log.ts';
import { storeTime } from '../store/open-store.ts';
import type { ForgeContext, ForgeProject } from './forge-context.ts';

/** The approvals cache key sync-rollouts.ts uses for anvil.yaml itself: one review, one answer. */
const REPO_CONFIG_REF: SetRef = { name: `:${REPO_CONFIG_FILE}`, dir: REPO_CONFIG_FILE };

type Aliases = ResolvedRepoConfig['aliases'];

export interface AliasSync {
  ctx: ForgeContext;
  project: ForgeProject;
  mirror: string;
  /** The last commit of the branch the forge processed; undefined on its first sight of the branch. */
  before: string | undefined;
  commit: string;
  /** Where the branch is, for audit subjects (`main@abc1234`). */
  source: string;
  repo: LoadedRepo;
  tags: readonly ReleaseTag[];
  actor: string | undefined;
  /** A GitHub post was queued (the poster is woken). */
  onGitHubPost?: (() => void) | undefined;
}

/** The aliases the forge holds for a project: set → alias → version. */
export async function storedAliases(ctx: ForgeContext, project: string, set?: string): Promise<Aliases> {
  let query = ctx.db.selectFrom('aliases').select(['set_name', 'alias', 'version']).where('project', '=', project);
  if (set !== undefined) query = query.where('set_name', '=', set);
  const out: Aliases = {};
  for (const row of await query.orderBy('set_name').orderBy('alias').execute()) (out[row.set_name] ??= {})[row.alias] = row.version;
  return out;
}

export async function syncAliases(sync: AliasSync): Promise<void> {
  const { ctx, project, repo } = sync;
  if (repo.problems.some((p) => p.file === REPO_CONFIG_FILE && p.severity === 'error')) {
    ctx.logger.warn({ project: project.name, commit: sync.commit }, `${REPO_CONFIG_FILE} does not validate; the aliases stay as they were`);
    return;
  }
  const now = repo.config.aliases;
  const stored = await storedAliases(ctx, project.name);
  const previous = sync.before === undefined ? stored : await aliasesAt(sync.mirror, sync.before);
  const sets = [...new Set([...Object.keys(previous), ...Object.keys(now), ...Object.keys(stored)])].sort();
  const changed = sets.filter((set) => !sameAliases(sync.before === undefined ? stored[set] : previous[set], now[set]));
  if (changed.length === 0) return;
  const landed = sync.before === undefined ? [] : await landedChanges(sync.mirror, [sync.before], sync.commit, REPO_CONFIG_FILE);

  const refused: string[] = [];
  for (const set of changed) {
    const next = now[set] ?? {};
    const refusal = await judge(sync, set, next, landed);
    if (refusal) {
      refused.push(set);
      ctx.logger.warn({ project: project.name, set, commit: sync.commit }, `alias change refused: ${refusal.reason}`);
      await appendAudit(ctx.db, {
        project: project.name, kind: refusal.kind, subject: `${set} ${sync.source}`, actor: sync.actor,
        detail: { reason: refusal.reason, aliases: next, kept: stored[set] ?? {}, ...(refusal.unreviewed ? { unreviewedCommits: refusal.unreviewed.slice(0, 20) } : {}) },
      });
      continue;
    }
    await ctx.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('aliases').where('project', '=', project.name).where('set_name', '=', set).execute();
      const rows = Object.entries(next).map(([alias, version]) => ({ project: project.name, set_name: set, alias, version, commit: sync.commit, updated_at: storeTime() }));
      if (rows.length > 0) await trx.insertInto('aliases').values(rows).execute();
    });
    await appendAudit(ctx.db, {
      project: project.name, kind: 'decision.alias', subject: `${set} ${sync.source}`, actor: sync.actor,
      detail: { aliases: next, previous: stored[set] ?? {}, reason: sync.before === undefined ? 'adopted on first sight of the branch' : 'alias change accepted' },
    });
  }
  // As for a refused rollout (sync-rollouts.ts): the commit gets a failing status, so that the
  // pull request or the branch shows it; the first sight of a branch is nobody's change.
  if (refused.length > 0 && sync.before !== undefined && reviewsEnabled(project)) {
    const description = `aliases of ${refused.join(', ')} refused: unreviewed, or naming a version with no release tag`;
    await enqueueGitHubPost(ctx.db, project.name, {
      kind: 'status', sha: sync.commit,
      status: { state: 'failure', context: 'anvil/alias', description: description.length > STATUS_DESCRIPTION_MAX ? `${description.slice(0, STATUS_DESCRIPTION_MAX - 1)}…` : description },
    });
    sync.onGitHubPost?.();
  }
}

interface Refusal {
  kind: 'decision.unreviewed-alias' | 'decision.alias-refused';
  reason: string;
  unreviewed?: string[];
}

async function judge(sync: AliasSync, set: string, next: Record<string, string>, landed: string[]): Promise<Refusal | undefined> {
  const { ctx, project, mirror } = sync;
  for (const [alias, version] of Object.entries(next)) {
    if (!sync.tags.some((t) => t.set === set && t.version === version)) {
      return { kind: 'decision.alias-refused', reason: `alias ${set}@${alias} names ${version}, which has no release tag ${set}@${version}; the previous aliases stay` };
    }
  }
  // First sight of the branch: nobody changed anything, the aliases are adopted as written.
  if (sync.before === undefined) return undefined;
  const loaded = sync.repo.sets.find((s) => s.name === set);
  const modes = [loaded?.config.mode, loaded ? await modeAt(mirror, sync.before, loaded.dir) : undefined];
  if (loaded && modes.every((m) => m === undefined || m === 'live')) return undefined;
  const unreviewed: string[] = [];
  for (const c of landed) {
    const reviewed = await isReviewedChange(ctx, project, mirror, c, REPO_CONFIG_REF)
      && (!loaded || await isReviewedChange(ctx, project, mirror, c, { name: loaded.name, dir: loaded.dir }));
    if (!reviewed) unreviewed.push(c);
  }
  if (unreviewed.length === 0 && landed.length > 0) return undefined;
  const why = reviewsEnabled(project) ? 'without an approved, merged pull request' : 'on a remote without pull requests, where nothing can be approved';
  return {
    kind: 'decision.unreviewed-alias', unreviewed,
    reason: `the aliases of ${loaded?.config.mode ?? 'unknown'} set ${set} changed in ${REPO_CONFIG_FILE} ${why}; the previous aliases stay`,
  };
}

function sameAliases(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const left = Object.entries(a ?? {}).sort(([x], [y]) => (x < y ? -1 : 1));
  const right = Object.entries(b ?? {}).sort(([x], [y]) => (x < y ? -1 : 1));
  return JSON.stringify(left) === JSON.stringify(right);
}

async function aliasesAt(mirror: string, commit: string): Promise<Aliases> {
  const text = await fileAt(mirror, commit, REPO_CONFIG_FILE);
  if (text === undefined) return {};
  return readYamlConfig(REPO_CONFIG_FILE, text, validateRepoConfig).value?.aliases ?? {};
}

async function modeAt(mirror: string, commit: string, dir: string): Promise<SetModeName | undefined> {
  const file = `${dir}/${SET_CONFIG_FILE}`;
  const text = await fileAt(mirror, commit, file);
  if (text === undefined) return undefined;
  // A set.yaml that does not validate is taken as the strictest mode.
  return readYamlConfig(file, text, validateSetConfig).value?.mode ?? 'locked';
}
