/** What commands that build need from an opened repository: git, tags, caches, a target. */
import path from 'node:path';
import { AnvilError, isAliasName, isExactVersion } from '@anvil/content-schema';
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
 * A version (`1.2.0` → the tag `<set>@1.2.0`), an alias of the set in anvil.yaml (`stable` → its
 * release's tag), a ref, or the working tree (`.`, or nothing).
 * A release tag that moved or vanished since it was first seen is refused (DESIGN §5).
 */
export function targetOf(set: string | undefined, spec: string | undefined, opened: OpenedRepo): BuildTarget {
  if (spec === undefined || spec === '.' || spec === 'worktree') return { kind: 'worktree' };
  // An alias wins over a branch of the same name only when it is the set's alias: `stable` as a
  // branch stays reachable as refs/heads/stable.
  const aliased = set !== undefined && isAliasName(spec) ? opened.aliases[set]?.[spec] : undefined;
  if (aliased !== undefined) return targetOf(set, aliasTarget(set!, spec, aliased, opened), opened);
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

/** The tag an alias names, refused when that release does not exist. */
export function aliasTarget(set: string, alias: string, version: string, opened: OpenedRepo): string {
  if (!opened.tags.some((t) => t.set === set && t.version === version)) {
    throw new AnvilError('alias.missing-release', `alias ${set}@${alias} names ${version}, but there is no release ${set}@${version}`, {
      file: 'anvil.yaml', hint: `point it at a release: npx anvil alias set ${set} ${alias} <version> (see \`npx anvil versions ${set}\`)`,
    });
  }
  return `${set}@${version}`;
}
