/** What commands that build need from an opened repository: git, tags, caches, a target. */
import path from 'node:path';
import { AnvilError, isExactVersion } from '@anvil/content-schema';
import type { BuildContext, BuildTarget } from '../build/build-target.ts';
import { fileBuildCache } from '../build/file-build-cache.ts';
import { findGitDirs } from '../repo/git-dir.ts';
import type { OpenedRepo } from './open-snapshot.ts';

/** With `preview`, a folder outside git is accepted too (render and diff of plain files). */
export async function buildContextOf(opened: OpenedRepo, options: { preview?: boolean } = {}): Promise<BuildContext> {
  if (!opened.isGit && options.preview) {
    return { root: opened.root, project: opened.project, cache: opened.cache, tags: [] };
  }
  if (!opened.isGit) {
    throw new AnvilError('repo.not-git', `${opened.root} is not a git repository; bundles come from git commits`, {
      hint: 'run `git init`, commit the prompts, and try again',
    });
  }
  const { gitdir } = await findGitDirs(opened.root);
  return {
    root: opened.root,
    project: opened.project,
    cache: opened.cache,
    tags: opened.tags,
    buildCache: fileBuildCache(path.join(gitdir, 'anvil', 'build-cache')),
  };
}

/**
 * A version (`1.2.0` → the tag `<set>@1.2.0`), a ref, or the working tree (`.`, or nothing).
 * A release tag that moved or vanished since it was first seen is refused (DESIGN §5).
 */
export function targetOf(set: string | undefined, spec: string | undefined, opened: OpenedRepo): BuildTarget {
  if (spec === undefined || spec === '.' || spec === 'worktree') return { kind: 'worktree' };
  const asTag = set !== undefined && isExactVersion(spec) && opened.tags.some((t) => t.name === `${set}@${spec}`) ? `${set}@${spec}` : spec;
  const changes = opened.releases.tagChanges;
  const moved = changes?.moved.find((m) => m.name === asTag);
  if (moved) {
    throw new AnvilError('release.tag-moved', `release tag ${asTag} moved from ${moved.was.slice(0, 7)} to ${moved.now.slice(0, 7)}; releases are immutable, so it is not built`, {
      hint: `put it back with \`git tag -f ${asTag} ${moved.was}\`, or accept the move with \`npx anvil versions --accept-moved ${asTag}\``,
    });
  }
  if (set !== undefined && isExactVersion(spec) && asTag === spec && !opened.tags.some((t) => t.name === spec)) {
    const versions = opened.tags.filter((t) => t.set === set).map((t) => t.version);
    throw new AnvilError('release.unknown', `${set} has no release ${spec}`, {
      hint: versions.length > 0 ? `releases of ${set}: ${versions.join(', ')}` : `${set} has no release yet; name a branch or commit instead`,
    });
  }
  return { kind: 'ref', ref: asTag };
}
