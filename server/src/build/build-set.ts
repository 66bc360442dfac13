/**
 * `anvil build`: one set of a loaded repository → a bundle.
 *
 * - Deterministic: the bundle depends only on the files, the dependency versions and the git
 *   source (commit, tree, commit date); building the same release twice gives the same bytes.
 * - Dependency versions of a release are resolved when it is made and recorded in its tag
 *   (see release/), and passed here as `pinnedDependencies`, so a later tag of a dependency
 *   cannot change an old release.
 * - Incremental: the compiled content is cached under the set's git tree id and its dependency
 *   versions; a set whose tree did not change is re-stamped, never recompiled.
 */
import type { Bundle, BundleSource, BundleStage } from '@anvil/content-schema';
import { problem, hasErrors, type Problem } from '../lint/problem.ts';
import type { LoadedRepo, PartialFile } from '../load/load-repo.ts';
import { bundleContent, sealBundle, type BundleContent } from './build-bundle.ts';
import { compileSet } from './compile-set.ts';
import { resolveDependencies } from './resolve-dependencies.ts';

/** Compiled content by content key; a Map works, the forge keeps it in its store. */
export interface BuildCache {
  get(key: string): BundleContent | undefined;
  set(key: string, content: BundleContent): void;
}

export interface BuildSetOptions {
  /** The forge project (or, on the command line, the repository's name without "@"). */
  project: string;
  repo: LoadedRepo;
  set: string;
  version: string;
  stage: BundleStage;
  /** commit, tag, tree and committedAt; `tree` defaults to the set folder's tree id. */
  source: Omit<BundleSource, 'tree'> & { tree?: string | undefined };
  /** Released versions per set, to resolve dependency ranges. */
  releases: Record<string, string[]>;
  /** Exact dependency versions recorded when the release was made; skips resolution. */
  pinnedDependencies?: Record<string, string> | undefined;
  /** The partials of a dependency at a version (from its release), or undefined if unknown. */
  dependencyPartials: (set: string, version: string) => Promise<PartialFile[] | undefined>;
  cache?: BuildCache | undefined;
}

export interface BuildResult {
  bundle?: Bundle;
  problems: Problem[];
  /** True when the compiled content came from the cache (the set's tree had not changed). */
  reused: boolean;
}

export async function buildSet(options: BuildSetOptions): Promise<BuildResult> {
  const { repo } = options;
  const set = repo.sets.find((s) => s.name === options.set);
  if (!set) {
    return {
      reused: false,
      problems: [...repo.problems, problem('error', 'build.unknown-set', `there is no set "${options.set}" in ${repo.snapshot.label}`, {
        hint: `sets: ${repo.sets.map((s) => s.name).join(', ') || 'none'}`,
      })],
    };
  }
  const problems: Problem[] = repo.problems.filter((p) => p.file === undefined || p.file.startsWith(`${set.dir}/`));

  let dependencies: Record<string, string>;
  if (options.pinnedDependencies) {
    dependencies = { ...options.pinnedDependencies };
  } else {
    const resolution = resolveDependencies(
      repo.sets.map((s) => ({ name: s.name, dependencies: s.config.dependencies, configFile: s.configFile })),
      { releases: options.releases, unreleased: 'error' },
    );
    const mine = resolution.problems.filter((p) => p.file === set.configFile || p.code === 'dependency.cycle');
    problems.push(...mine);
    dependencies = resolution.resolved[set.name] ?? {};
  }
  if (hasErrors(problems)) return { problems, reused: false };

  const tree = options.source.tree ?? set.treeId;
  if (!tree) {
    return { reused: false, problems: [problem('error', 'build.no-tree', `no git tree id for ${set.dir} in ${repo.snapshot.label}`)] };
  }

  const key = `${set.name}\u0000${tree}\u0000${JSON.stringify(Object.entries(dependencies).sort())}`;
  let content = options.cache?.get(key);
  const reused = content !== undefined;
  if (!content) {
    const dependencyPartials: Record<string, PartialFile[]> = {};
    for (const [dep, version] of Object.entries(dependencies)) {
      const partials = await options.dependencyPartials(dep, version);
      if (!partials) {
        problems.push(problem('error', 'build.dependency-missing', `cannot read ${dep}@${version}, needed by ${set.name}`, {
          file: set.configFile, hint: `check that the tag ${dep}@${version} exists`,
        }));
        continue;
      }
      dependencyPartials[dep] = partials;
    }
    const compiled = compileSet(set, dependencyPartials);
    problems.push(...compiled.problems);
    if (hasErrors(problems)) return { problems, reused: false };
    content = bundleContent(set, compiled.prompts);
    options.cache?.set(key, content);
  }

  const sealed = sealBundle(content, {
    project: options.project,
    repository: repo.config.name ?? `@${options.project}`,
    set: set.name,
    version: options.version,
    stage: options.stage,
    mode: set.config.mode,
    source: { ...options.source, tree },
    dependencies,
  });
  problems.push(...sealed.problems);
  return sealed.bundle ? { bundle: sealed.bundle, problems, reused } : { problems, reused };
}
