/**
 * Builds a release (`<set>@<version>` tag) straight from git: the set's files at the tag, the
 * dependency versions recorded in the tag, and each dependency's partials at *its* release tag.
 * This is the I/O edge around buildSet; everything it reads comes from immutable git objects.
 *
 * Prompt files are most of what a repository holds, so they are read only where they are
 * needed: the layout (anvil.yaml, every set.yaml, names and tree ids) comes first, without them;
 * then only the built set's prompt files are read, and only the partials of a dependency.
 * A set whose tree and dependency versions are already in the build cache is not read at all.
 */
import path from 'node:path/posix';
import { AnvilError } from '@anvil/content-schema';
import { loadRepo, type LoadedRepo, type PartialFile } from '../load/load-repo.ts';
import { readReleaseRecord } from '../release/release-record.ts';
import { createGitCache, type GitCache } from '../repo/git-cache.ts';
import { openGitSnapshot } from '../repo/git-snapshot.ts';
import { listReleaseTags, parseReleaseTagName, releasesBySet } from '../repo/release-tags.ts';
import type { RepoSnapshot } from '../repo/snapshot.ts';
import { buildSet, type BuildCache, type BuildResult } from './build-set.ts';

export interface BuildReleaseOptions {
  project: string;
  cache?: GitCache | undefined;
  buildCache?: BuildCache | undefined;
}

export async function buildRelease(repoDir: string, tagName: string, options: BuildReleaseOptions): Promise<BuildResult> {
  const parsed = parseReleaseTagName(tagName);
  if (!parsed.ok) {
    throw new AnvilError('release.invalid-tag', `"${tagName}" is not a release tag: ${parsed.reason}`, {
      hint: parsed.suggestion ? `did you mean ${parsed.suggestion}?` : 'release tags are <set>@<semver>, e.g. onboarding@1.2.0',
    });
  }
  const cache = options.cache ?? createGitCache();
  const { tags } = await listReleaseTags(repoDir, { cache });
  const tag = tags.find((t) => t.name === tagName);
  if (!tag) {
    const known = tags.filter((t) => t.set === parsed.set).map((t) => t.version);
    throw new AnvilError('release.unknown', `there is no release ${tagName}`, {
      hint: known.length > 0 ? `releases of ${parsed.set}: ${known.join(', ')}` : `${parsed.set} has no release yet`,
    });
  }

  const snapshot = await openGitSnapshot(repoDir, tagName, { cache });
  const pinned = await readReleaseRecord(repoDir, tag, cache);
  const layout = await loadRepo(readingPromptFiles(snapshot, () => false));
  const target = layout.sets.find((s) => s.name === parsed.set);

  const build = (repo: LoadedRepo, buildCache: BuildCache | undefined) => buildSet({
    project: options.project,
    repo,
    set: parsed.set,
    version: parsed.version,
    stage: 'release',
    source: { commit: tag.commit, tag: tagName, committedAt: snapshot.source.committedAt ?? '' },
    releases: releasesBySet(tags),
    pinnedDependencies: pinned,
    dependencyPartials: async (set, version) => {
      const name = `${set}@${version}`;
      return tags.some((t) => t.name === name) ? readPartialsAt(repoDir, name, set, cache) : undefined;
    },
    cache: buildCache,
  });

  if (target && options.buildCache) {
    const reused = await buildFromCache(layout, options.buildCache, build);
    if (reused) return reused;
  }
  const repo = target ? await loadRepo(readingPromptFiles(snapshot, (file) => file.startsWith(`${target.dir}/`))) : layout;
  return build(repo, options.buildCache);
}

/**
 * The partials of `set` at its release tag `tagName`, or undefined when the set is not there.
 * Reads the set's partial files and the repository's YAML, no prompt file.
 */
export async function readPartialsAt(repoDir: string, tagName: string, set: string, cache?: GitCache): Promise<PartialFile[] | undefined> {
  const snapshot = await openGitSnapshot(repoDir, tagName, { cache });
  const dir = (await loadRepo(readingPromptFiles(snapshot, () => false))).sets.find((s) => s.name === set)?.dir;
  if (dir === undefined) return undefined;
  const isPartial = (file: string) => file.startsWith(`${dir}/`) && path.basename(file).startsWith('_');
  return (await loadRepo(readingPromptFiles(snapshot, isPartial))).sets.find((s) => s.name === set)?.partials;
}

/** What the probing cache throws on a miss, to stop buildSet before it compiles. */
const MISS = Symbol('build cache miss');

/**
 * buildSet over the layout alone, answered from the cache: the same key, the same stamp, the
 * same problems as a full build, since buildSet computes them all itself. On a miss the probe
 * throws before anything is compiled (the layout has empty prompt texts, which must never be
 * compiled, let alone cached); undefined then says "build it for real".
 */
async function buildFromCache(
  layout: LoadedRepo,
  cache: BuildCache,
  build: (repo: LoadedRepo, cache: BuildCache) => Promise<BuildResult>,
): Promise<BuildResult | undefined> {
  const probe: BuildCache = {
    get(key) {
      const content = cache.get(key);
      if (content === undefined) throw MISS;
      return content;
    },
    set() {
      throw MISS;
    },
  };
  try {
    const result = await build(layout, probe);
    // Not reused: buildSet stopped on a problem first; the full build will say the same.
    return result.reused ? result : undefined;
  } catch (err) {
    if (err === MISS) return undefined;
    throw err;
  }
}

const PROMPT_EXTENSIONS = ['.md', '.prompt'];

/**
 * `snapshot` as loadRepo should see it to load only part of a repository: prompt files (and
 * partials) for which `keep` says no read as empty text, without touching git. Everything else —
 * the file list, tree ids, anvil.yaml and set.yaml — is the snapshot's own, so the sets, their
 * names, configs and layout problems come out exactly as from a full load.
 */
function readingPromptFiles(snapshot: RepoSnapshot, keep: (file: string) => boolean): RepoSnapshot {
  return {
    label: snapshot.label,
    source: snapshot.source,
    listFiles: (dir) => snapshot.listFiles(dir),
    readText: async (file) => (PROMPT_EXTENSIONS.some((e) => file.endsWith(e)) && !keep(file) ? '' : snapshot.readText(file)),
    treeId: (dir) => snapshot.treeId(dir),
  };
}
