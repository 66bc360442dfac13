/**
 * One set built from wherever a command points: a release tag (built exactly as released), any
 * other git ref, or the working tree (a preview of uncommitted work). The I/O edge that the
 * `build`, `render`, `diff` and `release` commands share.
 *
 * Anything that is not a release is a head build (DESIGN.md §5): version
 * `<next patch after the latest release>-head.<n>+<sha7>`, n = first-parent commit count. A
 * working tree whose set folder differs from HEAD gets `.dirty.<tree7>` in the build metadata,
 * so that two different uncommitted states never share a version string.
 */
import { createHash } from 'node:crypto';
import path from 'node:path/posix';
import semver from 'semver';
import { AnvilError, type Bundle } from '@anvil/content-schema';
import type { DependencyPartials } from '@anvil/client';
import { problem, type Problem } from '../lint/problem.ts';
import { loadRepo, type LoadedSet, type PartialFile } from '../load/load-repo.ts';
import { withoutPromptTexts } from '../load/without-prompt-texts.ts';
import type { GitCache } from '../repo/git-cache.ts';
import { firstParentCount, headCommit, workingTreeId } from '../repo/git-cli.ts';
import { openGitSnapshot } from '../repo/git-snapshot.ts';
import { parseReleaseTagName, releasesBySet, versionsOf, type ReleaseTag } from '../repo/release-tags.ts';
import { openWorkingTree } from '../repo/working-tree.ts';
import { buildRelease, readPartialsAt } from './build-release.ts';
import { buildSet, type BuildCache } from './build-set.ts';
import { resolveDependencies } from './resolve-dependencies.ts';

/** The working tree, or a branch, tag or commit. */
export type BuildTarget = { kind: 'worktree' } | { kind: 'ref'; ref: string };

export interface BuildContext {
  root: string;
  project: string;
  cache: GitCache;
  /** Every release tag of the repository. */
  tags: readonly ReleaseTag[];
  buildCache?: BuildCache | undefined;
}

export interface BuiltTarget {
  bundle?: Bundle;
  problems: Problem[];
  reused: boolean;
  /** Prompt files compiled (the others came from the build cache), and on how many threads. */
  compiled: number;
  threads: number;
  /** What was built, for messages: `onboarding@1.2.0`, `main`, `working tree`. */
  label: string;
  /** The partials of the dependencies the bundle was compiled with, to render it. */
  dependencyPartials: DependencyPartials;
}

/** A build that threw (a git failure, a bad ref), as the one error problem it reports. */
export function buildErrorProblem(err: unknown): Problem {
  const e = err as { code?: string; message?: string };
  return { severity: 'error', code: e.code ?? 'build.failed', message: e.message ?? String(err) };
}

export function describeTarget(target: BuildTarget): string {
  return target.kind === 'worktree' ? 'working tree' : target.ref;
}

export interface BuildTargetOptions {
  /**
   * For previews (`render`, `diff`), not for bundles anyone receives: a dependency that has no
   * release yet is taken from the same snapshot, as lint takes it, recorded as version
   * `0.0.0-unreleased` with a warning — so a new repository can be rendered before its first
   * release.
   */
  preview?: boolean;
}

const NULL_COMMIT = '0'.repeat(40);

/** A stand-in tree id for files outside git: SHA-1 over the set's files, paths and contents. */
function contentTreeId(set: LoadedSet): string {
  const hash = createHash('sha1');
  const files: [string, string][] = [[set.configFile, set.configText], ...set.prompts.map((p) => [p.file, p.source] as [string, string]), ...set.partials.map((p) => [p.file, p.source] as [string, string])];
  for (const [file, text] of files.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) hash.update(`${file}\u0000${text}\u0000`);
  return hash.digest('hex');
}

/** The version a preview records for a dependency taken from the same snapshot. */
export const UNRELEASED_DEPENDENCY = '0.0.0-unreleased';

export async function buildTarget(ctx: BuildContext, set: string, target: BuildTarget, options: BuildTargetOptions = {}): Promise<BuiltTarget> {
  const label = describeTarget(target);
  if (target.kind === 'ref') {
    const release = parseReleaseTagName(target.ref);
    if (release.ok && release.set === set && ctx.tags.some((t) => t.name === target.ref)) {
      const built = await buildRelease(ctx.root, target.ref, { project: ctx.project, cache: ctx.cache, buildCache: ctx.buildCache });
      return { ...built, label, dependencyPartials: built.bundle ? await readDependencyPartials(ctx, built.bundle.dependencies) : {} };
    }
  }

  const snapshot = target.kind === 'worktree' ? openWorkingTree(ctx.root) : await openGitSnapshot(ctx.root, target.ref, { cache: ctx.cache });
  // From git, prompt texts are read by the build, and only those it compiles (build-release.ts).
  const lazy = target.kind === 'ref';
  const repo = await loadRepo(lazy ? withoutPromptTexts(snapshot, (file) => path.basename(file).startsWith('_')) : snapshot);
  const loaded = repo.sets.find((s) => s.name === set);

  let commit: string | undefined;
  let committedAt: string | undefined;
  let tree: string | undefined;
  let dirty = false;
  let uncommitted = false;
  if (target.kind === 'worktree') {
    let head;
    try {
      commit = await headCommit(ctx.root);
      head = await openGitSnapshot(ctx.root, commit, { cache: ctx.cache });
    } catch (err) {
      if (!options.preview) {
        throw new AnvilError('build.no-commit', `${ctx.root} has no commit yet; a bundle names the commit it comes from`, {
          hint: 'commit the prompts first (git add -A && git commit)', cause: err,
        });
      }
      // A preview of files that were never committed (or are not in git at all): no commit to
      // name, so a null commit and a tree id derived from the files themselves.
      uncommitted = true;
    }
    if (head) {
      committedAt = head.source.committedAt ?? '';
      if (loaded) {
        tree = await workingTreeId(ctx.root, loaded.dir);
        dirty = tree !== (await head.treeId(loaded.dir));
      }
    } else {
      commit = NULL_COMMIT;
      committedAt = '1970-01-01T00:00:00.000Z';
      if (loaded) tree = contentTreeId(loaded);
    }
  } else {
    commit = snapshot.source.commit ?? '';
    committedAt = snapshot.source.committedAt ?? '';
  }

  const releases = releasesBySet(ctx.tags);
  const version = uncommitted ? `0.0.1-head.0+uncommitted.${(tree ?? NULL_COMMIT).slice(0, 7)}`
    : await headVersion(ctx.root, versionsOf(ctx.tags, set), commit!, dirty ? tree : undefined);
  const dependencyPartials: DependencyPartials = {};
  const previewProblems: Problem[] = [];
  let pinnedDependencies: Record<string, string> | undefined;
  if (options.preview && loaded) {
    const resolution = resolveDependencies(
      repo.sets.map((s) => ({ name: s.name, dependencies: s.config.dependencies, configFile: s.configFile })),
      { releases, unreleased: 'warning' },
    );
    const resolved = resolution.resolved[set] ?? {};
    const unreleased = Object.keys(loaded.config.dependencies).filter((dep) => resolved[dep] === undefined && !releases[dep]?.length);
    if (unreleased.length > 0) {
      pinnedDependencies = { ...resolved };
      for (const dep of unreleased) {
        const local = repo.sets.find((s) => s.name === dep);
        if (!local) continue;
        pinnedDependencies[dep] = UNRELEASED_DEPENDENCY;
        dependencyPartials[dep] = partialMap(local.partials);
        previewProblems.push(problem('warning', 'dependency.unreleased', `${dep} has no release yet; this preview uses ${dep} from the ${label}`, {
          file: loaded.configFile, hint: `release it with \`anvil release ${dep}\``,
        }));
      }
    }
  }
  const built = await buildSet({
    project: ctx.project,
    repo,
    set,
    version,
    stage: 'head',
    source: { commit: commit!, committedAt: committedAt!, ...(tree ? { tree } : {}) },
    releases,
    pinnedDependencies,
    dependencyPartials: async (dep, depVersion) => {
      if (depVersion === UNRELEASED_DEPENDENCY) return repo.sets.find((s) => s.name === dep)?.partials;
      const partials = await readReleasePartials(ctx, dep, depVersion);
      if (partials) dependencyPartials[dep] = partialMap(partials);
      return partials;
    },
    // The cache key holds dependency versions, which say nothing about a snapshot's own files.
    cache: previewProblems.length > 0 || uncommitted ? undefined : ctx.buildCache,
    promptTexts: lazy ? snapshot : undefined,
  });
  // From the cache, buildSet asks for no partials; the renderer still needs them.
  if (built.bundle && built.reused) Object.assign(dependencyPartials, await readDependencyPartials(ctx, built.bundle.dependencies));
  return { ...built, problems: [...previewProblems, ...built.problems], label, dependencyPartials };
}

/** `<next patch>-head.<n>+<sha7>` (DESIGN §5), plus `.dirty.<tree7>` for uncommitted changes. */
export async function headVersion(root: string, released: readonly string[], commit: string, dirtyTree?: string): Promise<string> {
  const latest = semver.rsort([...released])[0];
  const next = latest === undefined ? '0.0.1' : semver.inc(latest, 'patch')!;
  const n = await firstParentCount(root, commit);
  return `${next}-head.${n}+${commit.slice(0, 7)}${dirtyTree ? `.dirty.${dirtyTree.slice(0, 7)}` : ''}`;
}

/** A dependency's partials at one of its releases, or undefined when there is no such release. */
export async function readReleasePartials(ctx: BuildContext, set: string, version: string): Promise<PartialFile[] | undefined> {
  const release = ctx.tags.find((t) => t.name === `${set}@${version}`);
  return release ? readPartialsAt(ctx.root, release, ctx.cache, ctx.buildCache) : undefined;
}

async function readDependencyPartials(ctx: BuildContext, dependencies: Record<string, string>): Promise<DependencyPartials> {
  const out: DependencyPartials = {};
  for (const [dep, version] of Object.entries(dependencies)) {
    if (version === UNRELEASED_DEPENDENCY) continue;
    const partials = await readReleasePartials(ctx, dep, version);
    if (partials) out[dep] = partialMap(partials);
  }
  return out;
}

function partialMap(partials: readonly PartialFile[]): Record<string, string> {
  return Object.fromEntries(partials.map((p) => [p.name, p.source]));
}
