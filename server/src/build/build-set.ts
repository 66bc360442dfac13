/**
 * `anvil build`: one set of a loaded repository → a bundle.
 *
 * - Deterministic: the bundle depends only on the files, the dependency versions and the git
 *   source (commit, tree, commit date); building the same release twice gives the same bytes.
 * - Dependency versions of a release are resolved when it is made and recorded in its tag
 *   (see release/), and passed here as `pinnedDependencies`, so a later tag of a dependency
 *   cannot change an old release.
 * - Incremental (build-cache.ts): a set whose tree and dependency versions were built before is
 *   re-stamped, never recompiled; otherwise only the prompt files that changed since the set's
 *   previous build (or include a partial that changed) are compiled, on every core when there
 *   are many. Whatever the cache holds, the bundle and the problems are those of a cold build.
 */
import type { Bundle, BundleSource, BundleStage } from '@anvil/content-schema';
import { problem, hasErrors, type Problem } from '../lint/problem.ts';
import type { LoadedRepo, PartialFile } from '../load/load-repo.ts';
import type { RepoSnapshot } from '../repo/snapshot.ts';
import { bundleContent, sealBundle, type BundleContent, type BundleStamp } from './build-bundle.ts';
import { asCachedPack, asCachedPartials, asCachedSet, asCacheLink, isCachedPrompt, packKey, previousKey, setKey, type BuildCache, type CachedPack, type CachedSet } from './build-cache.ts';
import { compileForBuild, type BuiltPrompt, type CompiledForBuild } from './compile-for-build.ts';
import { compilerFingerprint } from './compiler-fingerprint.ts';
import { partialScope, type PartialScope } from './partial-scope.ts';
import { resolveDependencies } from './resolve-dependencies.ts';

export type { BuildCache } from './build-cache.ts';

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
  /**
   * When `repo` was loaded without prompt texts (withoutPromptTexts): the snapshot to read them
   * from, and their blob ids. Only the prompts that are compiled are read.
   */
  promptTexts?: RepoSnapshot | undefined;
  /** Threads to compile on (1: this thread only); default: every core for a large set. */
  threads?: number | undefined;
}

export interface BuildResult {
  bundle?: Bundle;
  problems: Problem[];
  /** True when the compiled content came from the cache (the set's tree had not changed). */
  reused: boolean;
  /** Prompt files compiled by this build; the others came from the cache. */
  compiled: number;
  /** Threads the compiled prompt files were spread over (0 when none was compiled). */
  threads: number;
}

export async function buildSet(options: BuildSetOptions): Promise<BuildResult> {
  const { repo } = options;
  const set = repo.sets.find((s) => s.name === options.set);
  const failed = (problems: Problem[]): BuildResult => ({ problems, reused: false, compiled: 0, threads: 0 });
  if (!set) {
    return failed([...repo.problems, problem('error', 'build.unknown-set', `there is no set "${options.set}" in ${repo.snapshot.label}`, {
      hint: `sets: ${repo.sets.map((s) => s.name).join(', ') || 'none'}`,
    })]);
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
  if (hasErrors(problems)) return failed(problems);

  const tree = options.source.tree ?? set.treeId;
  if (!tree) return failed([problem('error', 'build.no-tree', `no git tree id for ${set.dir} in ${repo.snapshot.label}`)]);

  const stamp: BundleStamp = {
    project: options.project,
    repository: repo.config.name ?? `@${options.project}`,
    set: set.name,
    version: options.version,
    stage: options.stage,
    mode: set.config.mode,
    source: { ...options.source, tree },
    dependencies,
  };
  const seal = (content: BundleContent, earlier: readonly Problem[], counts: Counts, reused: boolean, checked?: ReadonlySet<string>): BuildResult => {
    const sealed = sealBundle(content, stamp, { checkedPrompts: checked });
    const all = [...problems, ...earlier, ...sealed.problems];
    return sealed.bundle ? { bundle: sealed.bundle, problems: all, reused, ...counts } : { problems: all, reused, ...counts };
  };

  const cache = options.cache;
  const fingerprint = cache ? compilerFingerprint() : '';
  const key = setKey(fingerprint, set.name, tree, dependencies);
  const packs = new Map<string, CachedPack | undefined>();
  const pack = (packKey: string) => {
    if (!packs.has(packKey)) packs.set(packKey, cache && asCachedPack(cache.get(packKey)));
    return packs.get(packKey);
  };
  const exact = cache && asCachedSet(cache.get(key));
  const previous = exact ? { entry: exact, exact: true } : cache && linkedEntry(cache, previousKey(fingerprint, set.name));

  // Partials are read only if something has to be compiled or checked: the set's own from the
  // snapshot when `repo` was loaded without texts, its dependencies' through the callback.
  const texts = options.promptTexts;
  let own: Promise<PartialFile[]> | undefined;
  const ownPartials = () => (own ??= texts
    ? Promise.all(set.partials.map(async (p) => ({ ...p, source: (await texts.readText(p.file)) ?? '' })))
    : Promise.resolve(set.partials));
  let scope: Promise<{ scope: PartialScope; partials: PartialFile[] }> | undefined;
  const readScope = () => (scope ??= (async () => {
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
    const partials = await ownPartials();
    return { scope: partialScope({ partials, config: set.config }, dependencyPartials), partials };
  })());

  const attempt = async (from: typeof previous) => {
    const compiled = await compileForBuild({ set, scope: readScope, promptTexts: texts, previous: from, pack, threads: options.threads });
    if (hasErrors(problems) || hasErrors(compiled.problems)) return { compiled, result: undefined };
    const reused = from?.exact === true && compiled.compiled === 0;
    // This very set, all reused: its partials are in the entry too, and nothing is read.
    const partials = (reused && cachedPartials(from.entry)) || (await ownPartials());
    try {
      const counts = { compiled: compiled.compiled, threads: compiled.threads };
      const checked = from ? unchangedPrompts(from.entry, compiled.prompts) : undefined;
      return { compiled, partials, result: seal(bundleContent({ partials }, compiled.prompts), compiled.problems, counts, reused, checked) };
    } catch (err) {
      // Content that is not JSON can only come from a damaged entry when something was reused.
      if (from === undefined) throw err;
      return { compiled, result: undefined };
    }
  };
  let built = await attempt(previous);
  if (previous && built.compiled.compiled < set.prompts.length && !hasErrors(problems) && !hasErrors(built.compiled.problems) && !built.result?.bundle) {
    // Reused prompts compiled cleanly before, so a compile error is a changed prompt's; but
    // content that does not seal may be a damaged entry that still parsed, which only a cold
    // compile can tell apart. A failing build pays for it, a succeeding one never does.
    built = await attempt(undefined);
  }
  const { compiled, result } = built;
  if (!result) return { problems: [...problems, ...compiled.problems], reused: false, compiled: compiled.compiled, threads: compiled.threads };
  if (cache && result.bundle && built.partials) remember(cache, fingerprint, key, set.name, compiled, built.partials, exact !== undefined);
  return result;
}

/**
 * The prompt ids whose bundle entry is the one the cached build had — every file under the id
 * reused from a record of that id and variant, and as many files as the build had — and so was
 * checked by that build's bundle validation already: an entry's validity depends on nothing else.
 */
function unchangedPrompts(previous: CachedSet, built: readonly BuiltPrompt[]): Set<string> {
  const before = new Map<string, number>();
  for (const r of previous.prompts) if (isCachedPrompt(r)) before.set(r.id, (before.get(r.id) ?? 0) + 1);
  const now = new Map<string, number>();
  for (const p of built) {
    const same = p.reused !== undefined && p.reused.id === p.file.id && p.reused.variant === (p.file.variant ?? null);
    now.set(p.file.id, same && now.get(p.file.id) !== -1 ? (now.get(p.file.id) ?? 0) + 1 : -1);
  }
  const unchanged = new Set<string>();
  for (const [id, count] of now) if (count > 0 && count === before.get(id)) unchanged.add(id);
  return unchanged;
}

/** A set's entry may spread its prompts over at most this many packs (build-cache.ts). */
const MAX_PACKS = 8;

/** Writes what a successful build compiled: its pack, its set's entry, and the link to it. */
function remember(cache: BuildCache, fingerprint: string, key: string, set: string, built: CompiledForBuild, partials: readonly PartialFile[], hadEntry: boolean): void {
  const cacheable = built.prompts.filter((p) => p.compiled.partials !== undefined);
  const fresh = cacheable.filter((p) => p.reused === undefined);
  const packsUsed = new Set(cacheable.flatMap((p) => (p.reused ? [p.reused.pack] : [])));
  // Most prompts compiled anyway, or too many packs to read: one pack with all of them.
  const repack = fresh.length > 0 && (fresh.length * 2 >= cacheable.length || packsUsed.size + 1 > MAX_PACKS);
  const packed = repack ? cacheable : fresh;
  let newPack: string | undefined;
  if (packed.length > 0) {
    newPack = packKey(fingerprint, packed.map((p) => p.blob));
    const prompts: CachedPack['prompts'] = {};
    for (const p of packed) prompts[p.blob] = { metadata: p.compiled.metadata, template: p.compiled.template };
    cache.set(newPack, { kind: 'pack', prompts });
  }
  if (!hadEntry || newPack !== undefined) {
    cache.set(key, {
      kind: 'set',
      partials: partials.map(({ file, name, source }) => ({ file, name, source })),
      prompts: cacheable.map((p) => ({
        blob: p.blob,
        id: p.file.id,
        variant: p.file.variant ?? null,
        partials: p.reused?.partials ?? p.compiled.partials!.map((name) => [name, built.digestOf!(name)]),
        pack: p.reused && !repack ? p.reused.pack : newPack!,
      })),
    });
  }
  const link = previousKey(fingerprint, set);
  if (asCacheLink(cache.get(link))?.key !== key) cache.set(link, { kind: 'link', key });
}

interface Counts {
  compiled: number;
  threads: number;
}

/** The set's own partials kept in its entry, when they have the shape buildSet writes. */
function cachedPartials(entry: CachedSet): PartialFile[] | undefined {
  return asCachedPartials({ kind: 'partials', partials: entry.partials })?.partials ?? undefined;
}

/** The entry a link points to, or undefined (no link, or a link to nothing usable). */
function linkedEntry(cache: BuildCache, key: string): { entry: CachedSet; exact: false } | undefined {
  const link = asCacheLink(cache.get(key));
  const entry = link && asCachedSet(cache.get(link.key));
  return entry && { entry, exact: false };
}
