/**
 * Builds a release (`<set>@<version>` tag) straight from git: the set's files at the tag, the
 * dependency versions recorded in the tag, and each dependency's partials at *its* release tag.
 * This is the I/O edge around buildSet; everything it reads comes from immutable git objects.
 */
import { AnvilError } from '@anvil/content-schema';
import { loadRepo, type PartialFile } from '../load/load-repo.ts';
import { readReleaseRecord } from '../release/release-record.ts';
import { createGitCache, type GitCache } from '../repo/git-cache.ts';
import { openGitSnapshot } from '../repo/git-snapshot.ts';
import { listReleaseTags, parseReleaseTagName, releasesBySet } from '../repo/release-tags.ts';
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
  const repo = await loadRepo(snapshot);
  const pinned = await readReleaseRecord(repoDir, tag, cache);

  const dependencyPartials = async (set: string, version: string): Promise<PartialFile[] | undefined> => {
    if (!tags.some((t) => t.name === `${set}@${version}`)) return undefined;
    const depRepo = await loadRepo(await openGitSnapshot(repoDir, `${set}@${version}`, { cache }));
    return depRepo.sets.find((s) => s.name === set)?.partials;
  };

  return buildSet({
    project: options.project,
    repo,
    set: parsed.set,
    version: parsed.version,
    stage: 'release',
    source: { commit: tag.commit, tag: tagName, committedAt: snapshot.source.committedAt ?? '' },
    releases: releasesBySet(tags),
    pinnedDependencies: pinned,
    dependencyPartials,
    cache: options.buildCache,
  });
}
