import fs from 'node:fs';
import git from 'isomorphic-git';
import semver from 'semver';
import { AnvilError, findSetNameProblem, isExactVersion } from '@anvil/content-schema';
import { createGitCache, type GitCache } from './git-cache.ts';
import { findGitDirs } from './git-dir.ts';
import { isGitError, peelToCommitId, type GitContext } from './resolve-ref.ts';

/** A git tag `<set>@<semver>` (DESIGN §5). */
export interface ReleaseTag {
  name: string;
  set: string;
  /** Exact semver as written in the tag, prerelease and build metadata included. */
  version: string;
  /** The commit the tag marks, peeled through annotated tags. */
  commit: string;
  /** The annotated tag object's id; absent for a lightweight tag (which lint may refuse). */
  tagObject?: string | undefined;
}

/**
 * DESIGN §1/§5: a release is an annotated tag. A lightweight tag is a bare ref anyone with push
 * access can make or move without a record of who tagged what and when, so the forge refuses it.
 */
export function isAnnotated(tag: ReleaseTag): boolean {
  return tag.tagObject !== undefined;
}

/** A tag that looks like a release (`<something>@<something>`) but is not a valid one. */
export interface InvalidReleaseTag {
  name: string;
  reason: string;
  /** The tag name that was probably meant (`core@1.2.0` for `core@v1.2.0`), when there is one. */
  suggestion?: string | undefined;
}

export interface ReleaseTags {
  /** Sorted by set, then by semver precedence (build metadata last, as a tie-breaker). */
  tags: ReleaseTag[];
  /** Sorted by name. */
  invalid: InvalidReleaseTag[];
}

export interface ListReleaseTagsOptions {
  cache?: GitCache | undefined;
  /** Only this set's tags (valid or not); the others are not even resolved. */
  set?: string | undefined;
}

/** What happened to release tags since they were last seen (DESIGN §5: releases are immutable). */
export interface TagChanges {
  /** Tags that now mark another commit than the one seen. */
  moved: { name: string; was: string; now: string }[];
  /** Tags seen before that are gone. */
  deleted: { name: string; was: string }[];
  /** Tags not seen before. */
  added: ReleaseTag[];
}

/** A tag name split into set and version, or why it is not a release tag. */
export type ParsedTagName =
  | { ok: true; set: string; version: string }
  | { ok: false; reason: string; suggestion?: string | undefined };

/**
 * Every release tag of `repoDir` (bare or not), read in-process. Tags without "@" are not
 * releases and are left out; tags with "@" that are not `<set name>@<exact semver>` come back
 * in `invalid`, with the reason, so that lint can report them.
 */
export async function listReleaseTags(repoDir: string, options: ListReleaseTagsOptions = {}): Promise<ReleaseTags> {
  const dirs = await findGitDirs(repoDir);
  const ctx: GitContext = { ...dirs, repoDir, cache: (options.cache ?? createGitCache()).forGitDir(dirs.gitdir) };
  const names = await git.listTags({ fs, gitdir: ctx.gitdir });

  const tags: ReleaseTag[] = [];
  const invalid: InvalidReleaseTag[] = [];
  await Promise.all(
    names.map(async (name) => {
      const at = name.lastIndexOf('@');
      if (at < 0) return;
      if (options.set !== undefined && name.slice(0, at) !== options.set) return;
      const parsed = parseReleaseTagName(name);
      if (!parsed.ok) {
        invalid.push({ name, reason: parsed.reason, ...(parsed.suggestion === undefined ? {} : { suggestion: parsed.suggestion }) });
        return;
      }
      try {
        const oid = await git.resolveRef({ fs, gitdir: ctx.gitdir, ref: `refs/tags/${name}` });
        const peeled = await peelToCommitId(ctx, oid, name);
        tags.push({ name, set: parsed.set, version: parsed.version, commit: peeled.commit, ...(peeled.tagObject === undefined ? {} : { tagObject: peeled.tagObject }) });
      } catch (err) {
        // A tag of a tree or a blob is a malformed release, not a reason to list none.
        if (err instanceof AnvilError && err.code === 'git.not-a-commit') invalid.push({ name, reason: err.message });
        else if (isGitError(err, 'NotFoundError')) invalid.push({ name, reason: 'points to an object missing from the repository' });
        else throw err;
      }
    }),
  );
  tags.sort(compareReleaseTags);
  invalid.sort((a, b) => compareStrings(a.name, b.name));
  return { tags, invalid };
}

/**
 * Splits `<set>@<version>` at its last "@" (neither part may contain one) and checks both.
 * The version must be written canonically: `semver.valid` alone would also take `v1.2.0`.
 */
export function parseReleaseTagName(name: string): ParsedTagName {
  const at = name.lastIndexOf('@');
  if (at < 0) return { ok: false, reason: 'has no "@": release tags are <set>@<version>' };
  const set = name.slice(0, at);
  const version = name.slice(at + 1);
  if (set === '') return { ok: false, reason: 'has no set name before "@"' };
  const setProblem = findSetNameProblem(set);
  if (setProblem !== undefined) {
    const lower = set.toLowerCase();
    const suggestion = lower !== set && findSetNameProblem(lower) === undefined && isExactVersion(version) ? `${lower}@${version}` : undefined;
    return { ok: false, reason: setProblem.message, suggestion };
  }
  if (isExactVersion(version)) return { ok: true, set, version };
  return { ok: false, ...explainVersion(set, version) };
}

/** Why `version` is not an exact semver, and the tag probably meant. */
function explainVersion(set: string, version: string): { reason: string; suggestion?: string | undefined } {
  if (version === '') return { reason: 'has no version after "@"' };
  const prefix = /^[vV=]/.test(version) ? version.charAt(0) : '';
  const rest = version.slice(prefix.length);
  const partial = /^(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?$/.exec(rest);
  const meant = isExactVersion(rest) ? rest : partial ? `${partial[1]}.${partial[2] ?? '0'}.0` : undefined;
  if (meant === undefined) {
    return { reason: `version "${version}" is not semantic versioning 2.0 (e.g. 1.2.0, 2.1.0-rc.1, 2.1.0-gpt4+tokens.1500)` };
  }
  const problems = [
    ...(prefix === '' ? [] : [`has a "${prefix}" prefix (release versions are bare semver)`]),
    ...(meant === rest ? [] : ['is incomplete (semver needs MAJOR.MINOR.PATCH)']),
  ];
  return { reason: `version "${version}" ${problems.join(' and ')}`, suggestion: `${set}@${meant}` };
}

/** Set by set (code-unit order), then semver precedence; build metadata and name break ties. */
export function compareReleaseTags(a: ReleaseTag, b: ReleaseTag): number {
  return compareStrings(a.set, b.set) || semver.compareBuild(a.version, b.version) || compareStrings(a.name, b.name);
}

/** The versions released for `set`, lowest first. */
export function versionsOf(tags: readonly ReleaseTag[], set: string): string[] {
  return tags
    .filter((t) => t.set === set)
    .sort(compareReleaseTags)
    .map((t) => t.version);
}

/** Every set's versions, lowest first: the shape dependency resolution and lint take. */
export function releasesBySet(tags: readonly ReleaseTag[]): Record<string, string[]> {
  const bySet = new Map<string, string[]>();
  for (const tag of [...tags].sort(compareReleaseTags)) {
    const versions = bySet.get(tag.set);
    if (versions) versions.push(tag.version);
    else bySet.set(tag.set, [tag.version]);
  }
  return Object.fromEntries(bySet);
}

/** The record to keep for a later `compareWithSeen`: tag name → commit. */
export function seenFrom(tags: readonly ReleaseTag[]): Record<string, string> {
  return Object.fromEntries(tags.map((t) => [t.name, t.commit]));
}

/**
 * Compares release tags as they are now with the commits they marked when last seen. Pure: where
 * `seen` is kept (a JSON file for the CLI, the forge's store) is the caller's business. A tag
 * re-created on the same commit (say, lightweight → annotated) has not moved: the files are the
 * same. Pass the tags of the same sets as were seen, or the others will look deleted.
 */
export function compareWithSeen(seen: Readonly<Record<string, string>>, current: readonly ReleaseTag[]): TagChanges {
  const now = new Map(current.map((t) => [t.name, t]));
  const moved: TagChanges['moved'] = [];
  const deleted: TagChanges['deleted'] = [];
  for (const [name, was] of Object.entries(seen)) {
    const tag = now.get(name);
    if (tag === undefined) deleted.push({ name, was });
    else if (tag.commit !== was) moved.push({ name, was, now: tag.commit });
  }
  const added = current.filter((t) => !Object.hasOwn(seen, t.name));
  moved.sort((a, b) => compareStrings(a.name, b.name));
  deleted.sort((a, b) => compareStrings(a.name, b.name));
  return { moved, deleted, added: added.sort(compareReleaseTags) };
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
