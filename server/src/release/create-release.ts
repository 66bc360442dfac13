/**
 * `anvil release` and `anvil rollback` (DESIGN.md §5): the I/O around the pure semver guard.
 *
 *   release:  HEAD on the default branch, set folder committed → lint → build → contract diff
 *             against the base release → version (the guard) → annotated tag recording the
 *             resolved dependency versions → build the tag back (it must build) → push.
 *   rollback: the set's files as they were at a release, committed on top of HEAD, released
 *             as the next patch with that release's dependency versions. Receivers only move
 *             forward, so going back is a new, higher version with old content.
 */
import semver from 'semver';
import { AnvilError, type Bundle } from '@anvil/content-schema';
import { buildRelease } from '../build/build-release.ts';
import { buildTarget, type BuildContext } from '../build/build-target.ts';
import { lintRepo, type ReleaseInfo } from '../lint/lint-repo.ts';
import { hasErrors, type Problem } from '../lint/problem.ts';
import { loadRepo, REPO_CONFIG_FILE, type LoadedSet } from '../load/load-repo.ts';
import {
  commitFiles,
  createAnnotatedTag,
  defaultBranch,
  hasRemote,
  headCommit,
  isAncestor,
  isOnRemoteBranch,
  isWorkingTreeClean,
  pushBranch,
  pushTag,
  restoreFolder,
} from '../repo/git-cli.ts';
import { openGitSnapshot } from '../repo/git-snapshot.ts';
import { listReleaseTags, versionsOf } from '../repo/release-tags.ts';
import { checkSeenTags } from '../repo/seen-tags.ts';
import { diffContract, type Bump, type ContractChange, type ContractDiff, type Impact } from './contract-diff.ts';
import { baseVersion, chooseVersion, highestVersion } from './next-version.ts';
import { formatReleaseMessage, readReleaseRecord } from './release-record.ts';

export interface ReleaseOptions {
  ctx: BuildContext;
  releases: ReleaseInfo;
  set: string;
  /** `auto` (default), `major`, `minor`, `patch` or an exact version. */
  request?: string | undefined;
  preid?: string | undefined;
  /** Plan only: no tag, no push. */
  dryRun?: boolean | undefined;
  /** Push the tag (and, for a rollback, the commit) to this remote. */
  push?: string | undefined;
}

export interface ReleasePlan {
  set: string;
  version: string;
  tag: string;
  commit: string;
  /** The release the changes were compared with; undefined for a first release. */
  base: string | undefined;
  /** What the changes need; `declared` is what the version says. */
  impact: Impact;
  declared: Bump | undefined;
  changes: ContractChange[];
  dependencies: Record<string, string>;
  integrity: string;
  created: boolean;
  pushed: string | undefined;
  /** For a rollback: the release whose files were restored. */
  rolledBackTo?: string;
}

export interface ReleaseOutcome {
  plan?: ReleasePlan;
  /** Lint or build problems that stopped the release (nothing was tagged). */
  problems: Problem[];
}

export async function createRelease(options: ReleaseOptions): Promise<ReleaseOutcome> {
  const { ctx, set } = options;
  const head = await releasableHead(ctx.root);
  const repo = await loadRepo(await openGitSnapshot(ctx.root, head, { cache: ctx.cache }));
  const loaded = findSet(repo.sets, set);
  await checkCommitted(ctx.root, loaded, 'release');

  const problems = lintRepo(repo, options.releases).filter((p) => concernsSet(p, loaded));
  if (hasErrors(problems)) return { problems };

  const built = await buildTarget(ctx, set, { kind: 'ref', ref: head });
  if (!built.bundle || hasErrors(built.problems)) return { problems: [...problems, ...built.problems] };
  const next = built.bundle;

  const existing = versionsOf(ctx.tags, set);
  const request = options.request ?? 'auto';
  const diffs = new Map<string | undefined, ContractDiff>();
  for (const base of new Set([baseVersion(existing), semver.valid(request) ? baseVersion(existing, request) : undefined])) {
    diffs.set(base, diffContract(base === undefined ? emptyContract(next) : await releasedBundle(ctx, set, base), next));
  }
  const chosen = chooseVersion(existing, { request, preid: options.preid, set }, (base) => diffs.get(base)?.impact ?? 'major');
  const diff = diffs.get(chosen.base)!;

  const plan: ReleasePlan = {
    set,
    version: chosen.version,
    tag: `${set}@${chosen.version}`,
    commit: head,
    base: chosen.base,
    impact: diff.impact,
    declared: chosen.declared,
    changes: diff.changes,
    dependencies: next.dependencies,
    integrity: '',
    created: false,
    pushed: undefined,
  };
  return { plan: await tagAndPush(ctx, plan, summarise(diff.changes, chosen.base), options), problems };
}

export interface RollbackOptions extends Omit<ReleaseOptions, 'request' | 'preid'> {
  /** The release whose files come back. */
  to: string;
}

export async function rollbackSet(options: RollbackOptions): Promise<ReleaseOutcome> {
  const { ctx, set, to } = options;
  const target = ctx.tags.find((t) => t.name === `${set}@${to}`);
  if (!target) {
    const versions = versionsOf(ctx.tags, set);
    throw new AnvilError('release.unknown', `${set} has no release ${to}`, {
      hint: versions.length > 0 ? `releases of ${set}: ${versions.join(', ')}` : `${set} has no release yet`,
    });
  }
  if (options.releases.tagChanges?.moved.some((m) => m.name === target.name)) {
    throw new AnvilError('release.tag-moved', `release tag ${target.name} moved since it was first seen; its files are not trusted for a rollback`, {
      hint: `see \`npx anvil versions ${set}\``,
    });
  }

  const head = await releasableHead(ctx.root);
  const current = findSet((await loadRepo(await openGitSnapshot(ctx.root, head, { cache: ctx.cache }))).sets, set);
  await checkCommitted(ctx.root, current, 'roll back');
  const then = (await loadRepo(await openGitSnapshot(ctx.root, target.name, { cache: ctx.cache }))).sets.find((s) => s.name === set);
  if (!then) throw new AnvilError('release.unreadable', `cannot find the set ${set} at ${target.name}`);
  if (then.dir !== current.dir) {
    throw new AnvilError('rollback.moved-folder', `${set} lived in ${then.dir} at ${to} and lives in ${current.dir} now`, {
      hint: 'move the folder back first, or restore the files by hand and release them',
    });
  }

  const version = semver.inc(highestVersion(versionsOf(ctx.tags, set))!, 'patch')!;
  const dependencies = (await readReleaseRecord(ctx.root, target, ctx.cache)) ?? {};
  const dryRun = options.dryRun === true;
  let commit = head;
  if (!dryRun) {
    await restoreFolder(ctx.root, target.name, current.dir);
    if (await isWorkingTreeClean(ctx.root, [current.dir])) {
      throw new AnvilError('rollback.no-change', `the files of ${set} are already as they were in ${to}`, {
        hint: `nothing to roll back; \`npx anvil diff ${set} ${to}\` shows the difference to any other version`,
      });
    }
    commit = await commitFiles(ctx.root, `Roll back ${set} to ${to}\n\nThe files of ${set}@${to}, released forward as ${set}@${version}.`, [current.dir]);
  }

  const built = dryRun ? await buildRelease(ctx.root, target.name, { project: ctx.project, cache: ctx.cache, buildCache: ctx.buildCache })
    : await buildTarget(ctx, set, { kind: 'ref', ref: commit });
  if (!built.bundle || hasErrors(built.problems)) return { problems: built.problems };

  const plan: ReleasePlan = {
    set,
    version,
    tag: `${set}@${version}`,
    commit,
    base: highestVersion(versionsOf(ctx.tags, set)),
    impact: 'patch',
    declared: 'patch',
    changes: [],
    dependencies,
    integrity: '',
    created: false,
    pushed: undefined,
    rolledBackTo: to,
  };
  return { plan: await tagAndPush(ctx, plan, `Rollback: the files of ${set}@${to}.`, options), problems: [] };
}

async function tagAndPush(ctx: BuildContext, plan: ReleasePlan, summary: string, options: ReleaseOptions): Promise<ReleasePlan> {
  if (options.dryRun) return plan;
  if (options.push !== undefined && plan.rolledBackTo === undefined) {
    // Checked before tagging, so that nothing is left to undo: a forge would refuse the tag.
    const branch = await releaseBranch(ctx.root);
    if (!(await isOnRemoteBranch(ctx.root, options.push, branch, plan.commit))) {
      throw new AnvilError('release.not-on-remote-branch', `${plan.commit.slice(0, 7)} is not on ${branch} at ${options.push}, so a forge would refuse the tag ${plan.tag}`, {
        hint: `push ${branch} first (\`git push ${options.push} ${branch}\`, or merge its pull request), then release again; nothing was tagged`,
      });
    }
  }
  const message = formatReleaseMessage({ set: plan.set, version: plan.version, dependencies: plan.dependencies }, summary);
  await createAnnotatedTag(ctx.root, plan.tag, message, plan.commit);
  plan.created = true;

  // The tag is remembered as seen at once, so that moving it later is caught.
  const { tags } = await listReleaseTags(ctx.root, { cache: ctx.cache });
  await checkSeenTags(ctx.root, tags);

  // What was tagged must build, exactly as anyone will build it later.
  const built = await buildRelease(ctx.root, plan.tag, { project: ctx.project, cache: ctx.cache, buildCache: ctx.buildCache });
  if (!built.bundle) {
    throw new AnvilError('release.unbuildable', `the tag ${plan.tag} was created but does not build`, {
      hint: `this is a bug; delete the tag with \`git tag -d ${plan.tag}\` before it is pushed`,
      details: { problems: built.problems },
    });
  }
  plan.integrity = built.bundle.integrity;

  if (options.push !== undefined) {
    try {
      if (plan.rolledBackTo !== undefined) await pushBranch(ctx.root, options.push, await releaseBranch(ctx.root));
      await pushTag(ctx.root, options.push, plan.tag);
    } catch (err) {
      throw new AnvilError('release.push-failed', `${plan.tag} was created here but could not be pushed to ${options.push}: ${(err as Error).message}`, {
        hint: `push it yourself with \`git push ${options.push} refs/tags/${plan.tag}\`${plan.rolledBackTo !== undefined ? ' (after the rollback commit)' : ''}`,
        cause: err,
      });
    }
    plan.pushed = options.push;
  }
  return plan;
}

/** HEAD, which must be on the default branch: releases are tags of the default branch (DESIGN §5). */
async function releasableHead(root: string): Promise<string> {
  let head: string;
  try {
    head = await headCommit(root);
  } catch (err) {
    throw new AnvilError('release.no-commit', `${root} has no commit to release`, { hint: 'commit the prompts first', cause: err });
  }
  const branch = await releaseBranch(root);
  if (!(await isAncestor(root, head, `refs/heads/${branch}`)) && !(await isAncestor(root, head, `refs/remotes/origin/${branch}`))) {
    throw new AnvilError('release.not-on-default-branch', `HEAD (${head.slice(0, 7)}) is not on the default branch ${branch}`, {
      hint: `releases are tags on ${branch}: merge the change, check out ${branch}, and release from there`,
    });
  }
  return head;
}

/**
 * anvil.yaml's `defaultBranch`, else the remote's HEAD; a clone with no remote has no such
 * record, and there the usual `main` (or `master`) is the default rather than whatever branch
 * happens to be checked out — otherwise a release from a feature branch would pass.
 */
async function releaseBranch(root: string): Promise<string> {
  const repo = await loadRepo(await openGitSnapshot(root, 'HEAD'));
  if (repo.config.defaultBranch) return repo.config.defaultBranch;
  if (!(await hasRemote(root))) {
    for (const usual of ['main', 'master']) if (await isAncestor(root, `refs/heads/${usual}`, `refs/heads/${usual}`)) return usual;
  }
  return defaultBranch(root);
}

function findSet(sets: readonly LoadedSet[], name: string): LoadedSet {
  const set = sets.find((s) => s.name === name);
  if (!set) {
    throw new AnvilError('release.unknown-set', `there is no set "${name}" at HEAD`, {
      hint: `sets: ${sets.map((s) => s.name).join(', ') || 'none'}${sets.length > 0 ? '' : ' (is it committed?)'}`,
    });
  }
  return set;
}

async function checkCommitted(root: string, set: LoadedSet, what: string): Promise<void> {
  if (!(await isWorkingTreeClean(root, [set.dir]))) {
    throw new AnvilError('release.uncommitted', `${set.dir} has uncommitted changes; a release is made from commits, so they would not be in it`, {
      hint: `commit or stash them, then ${what} again (\`git status ${set.dir}\` shows them)`,
    });
  }
}

function concernsSet(p: Problem, set: LoadedSet): boolean {
  if (p.file !== undefined) return p.file.startsWith(`${set.dir}/`) || p.file === REPO_CONFIG_FILE;
  return p.message.includes(`"${set.name}@`);
}

async function releasedBundle(ctx: BuildContext, set: string, version: string): Promise<Bundle> {
  const built = await buildRelease(ctx.root, `${set}@${version}`, { project: ctx.project, cache: ctx.cache, buildCache: ctx.buildCache });
  if (!built.bundle) {
    throw new AnvilError('release.base-unbuildable', `the previous release ${set}@${version} does not build, so the changes cannot be judged against it`, {
      details: { problems: built.problems },
      hint: 'name the version explicitly only after fixing what `npx anvil build --ref` reports for that release',
    });
  }
  return built.bundle;
}

function emptyContract(like: Bundle): Pick<Bundle, 'prompts' | 'partials' | 'mode' | 'dependencies'> {
  return { prompts: {}, partials: {}, mode: like.mode, dependencies: like.dependencies };
}

const SUMMARY_LINES = 40;

function summarise(changes: readonly ContractChange[], base: string | undefined): string {
  if (changes.length === 0) return base ? `No contract changes since ${base}.` : 'First release.';
  const lines = changes.slice(0, SUMMARY_LINES).map((c) => `- ${c.impact}: ${c.subject === 'set' ? '' : `${c.subject}: `}${c.message}`);
  if (changes.length > SUMMARY_LINES) lines.push(`- …and ${changes.length - SUMMARY_LINES} more`);
  return `${base ? `Changes since ${base}:` : 'First release:'}\n${lines.join('\n')}`;
}
