/**
 * Builds a release (`<set>@<version>` tag) straight from git: the set's files at the tag, the
 * dependency versions recorded in the tag, and each dependency's partials at *its* release tag.
 * This is the I/O edge around buildSet; everything it reads comes from immutable git objects.
 *
 * Prompt files are most of what a repository holds, so they are read only where they are
 * needed: the layout (anvil.yaml, every set.yaml, names, tree and blob ids) comes without any
 * prompt text or partial; then buildSet reads what it needs — the prompt files it compiles (all
 * of them on a cold build, only the changed ones when the build cache has the set's previous
 * build, none when it has this very tree), the set's partials, and the partials of a
 * dependency (read once per dependency release when there is a build cache).
 */
import path from 'node:path/posix';
import { AnvilError } from '@anvil/content-schema';
import { loadRepo, type PartialFile } from '../load/load-repo.ts';
import { withoutPromptTexts } from '../load/without-prompt-texts.ts';
import { readReleaseRecord } from '../release/release-record.ts';
import { createGitCache, type GitCache } from '../repo/git-cache.ts';
import { openGitSnapshot } from '../repo/git-snapshot.ts';
import { listReleaseTags, parseReleaseTagName, releasesBySet, type ReleaseTag } from '../repo/release-tags.ts';
import { asCachedPartials, partialsKey } from './build-cache.ts';
import { buildSet, type BuildCache, type BuildResult } from './build-set.ts';
import { compilerFingerprint } from './compiler-fingerprint.ts';

export interface BuildReleaseOptions {
  project: string;
  cache?: GitCache | undefined;
  buildCache?: BuildCache | undefined;
  /** Threads to compile on (see BuildSetOptions.threads). */
  threads?: number | undefined;
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
  // No prompt text or partial is read here; buildSet reads what it compiles.
  const repo = await loadRepo(withoutPromptTexts(snapshot, () => false));
  return buildSet({
    project: options.project,
    repo,
    set: parsed.set,
    version: parsed.version,
    stage: 'release',
    source: { commit: tag.commit, tag: tagName, committedAt: snapshot.source.committedAt ?? '' },
    releases: releasesBySet(tags),
    pinnedDependencies: pinned,
    dependencyPartials: async (set, version) => {
      const release = tags.find((t) => t.name === `${set}@${version}`);
      return release ? readPartialsAt(repoDir, release, cache, options.buildCache) : undefined;
    },
    cache: options.buildCache,
    promptTexts: snapshot,
    threads: options.threads,
  });
}

/**
 * The partials of a release's set at its commit, or undefined when the set is not there. Reads
 * partial files and the repository's YAML, no prompt file — and nothing, with a build cache
 * that has them from an earlier build: a dependency is read by every build of its users.
 */
export async function readPartialsAt(repoDir: string, release: Pick<ReleaseTag, 'set' | 'commit'>, cache?: GitCache, buildCache?: BuildCache): Promise<PartialFile[] | undefined> {
  const key = buildCache && partialsKey(compilerFingerprint(), release.set, release.commit);
  const cached = key === undefined ? undefined : asCachedPartials(buildCache!.get(key));
  if (cached) return cached.partials ?? undefined;
  const snapshot = await openGitSnapshot(repoDir, release.commit, { cache });
  const partials = (await loadRepo(withoutPromptTexts(snapshot, isPartialFile))).sets.find((s) => s.name === release.set)?.partials;
  if (key !== undefined) buildCache!.set(key, { kind: 'partials', partials: partials ?? null });
  return partials;
}

/** A partial (`_name.md`), as loadRepo tells them from prompts. */
function isPartialFile(file: string): boolean {
  return path.basename(file).startsWith('_');
}
