/**
 * `anvil export`'s I/O edge: reads what is exported from git (or the working tree), with the sets
 * it depends on, and makes the archive (build-archive.ts).
 *
 * - From the working tree or a ref, every set comes from that one snapshot. A set whose files
 *   are exactly those of one of its release tags is recorded as that release; any other as a
 *   head build (`<next patch>-head.<n>+<sha7>`, `.dirty.<tree7>` for uncommitted changes), as
 *   `anvil build` names it.
 * - From a release tag (`--at 1.2.0`), the set comes from its tag and each dependency from the
 *   release of it that the tag recorded (DESIGN.md §5), so the archive holds exactly what was
 *   released.
 *
 * Lint runs first, as the build's would: an export whose files have errors is refused, so that
 * what is imported elsewhere lints there too.
 */
import semver from 'semver';
import { AnvilError, closest, type Archive, type ArchiveContents, type ArchiveKind } from '@anvil/content-schema';
import { headVersion } from '../build/build-target.ts';
import { loadRepo, type LoadedRepo, type LoadedSet } from '../load/load-repo.ts';
import { lintRepo, type ReleaseInfo } from '../lint/lint-repo.ts';
import { problem, type Problem } from '../lint/problem.ts';
import { readReleaseRecord } from '../release/release-record.ts';
import type { GitCache } from '../repo/git-cache.ts';
import { headCommit, workingTreeId } from '../repo/git-cli.ts';
import { openGitSnapshot } from '../repo/git-snapshot.ts';
import { versionsOf, type ReleaseTag } from '../repo/release-tags.ts';
import type { RepoSnapshot } from '../repo/snapshot.ts';
import { buildArchive, type ArchiveSetInput } from './build-archive.ts';
import { selectSetFiles } from './select-export.ts';

/** The repository exported from (what `openRepo` gives the CLI). */
export interface ExportSource {
  root: string;
  project: string;
  cache: GitCache;
  isGit: boolean;
  /** Every valid release tag. */
  tags: readonly ReleaseTag[];
  releases: ReleaseInfo;
  /** The working tree. */
  snapshot: RepoSnapshot;
}

export interface ExportRequest {
  kind: ArchiveKind;
  set?: string | undefined;
  prompt?: string | undefined;
  /** A branch, commit or tag to export from; undefined: the working tree. */
  ref?: string | undefined;
}

export interface ExportOutcome {
  archive?: Archive;
  /** Errors (no archive then) and warnings. */
  problems: Problem[];
}

interface Entry {
  set: LoadedSet;
  role: 'requested' | 'dependency';
  contents: ArchiveContents;
  /** Set when the files are exactly a release tag's. */
  release?: ReleaseTag | undefined;
  /** Read from the main snapshot (linted, versioned as head builds unless released there). */
  fromMain: boolean;
}

export async function exportArchive(source: ExportSource, request: ExportRequest): Promise<ExportOutcome> {
  if (!source.isGit) {
    throw new AnvilError('repo.not-git', `${source.root} is not a git repository; an archive names the commit it comes from`, {
      hint: 'run `git init`, commit the prompts, and try again',
    });
  }
  let commit: string;
  try {
    commit = request.ref === undefined ? await headCommit(source.root) : '';
  } catch (err) {
    throw new AnvilError('export.no-commit', `${source.root} has no commit yet; an archive names the commit it comes from`, {
      hint: 'commit the prompts first (git add -A && git commit)', cause: err,
    });
  }
  const main = request.ref === undefined ? source.snapshot : await openGitSnapshot(source.root, request.ref, { cache: source.cache });
  const head = await openGitSnapshot(source.root, request.ref ?? commit, { cache: source.cache });
  commit = head.source.commit!;
  const repo = await loadRepo(main);
  const problems: Problem[] = [];

  const requestedRelease = request.ref === undefined || request.set === undefined ? undefined
    : source.tags.find((t) => t.name === request.ref && t.set === request.set);
  const entries = request.kind === 'project'
    ? repo.sets.map((set): Entry => ({ set, role: 'requested', contents: 'all', fromMain: true }))
    : await collectWithDependencies(source, repo, request, requestedRelease, problems);
  if (problems.some((p) => p.severity === 'error')) return { problems };
  if (entries.length === 0) {
    throw new AnvilError('export.nothing', `there is no prompt set in ${main.label}`, { hint: 'create one with `anvil new set <name>`' });
  }

  // What lint rejects in the exported files would be rejected again where they are imported.
  const exported = new Set(entries.filter((e) => e.fromMain).flatMap((e) => Object.keys(filesOf(e)).map((rel) => `${e.set.dir}/${rel}`)));
  for (const p of lintRepo(repo, source.releases)) {
    if (p.severity !== 'error' || p.file === undefined || !exported.has(p.file) || /^(?:dependency|tag)\./.test(p.code)) continue;
    problems.push(p);
  }
  if (problems.some((p) => p.severity === 'error')) return { problems };

  let dirty = false;
  const sets: ArchiveSetInput[] = [];
  for (const entry of entries) {
    const { name } = entry.set;
    let version: { version: string; stage: 'release' | 'head'; commit: string; tag?: string | undefined };
    if (entry.release) {
      version = { version: entry.release.version, stage: 'release', commit: entry.release.commit, tag: entry.release.name };
    } else {
      const tree = request.ref === undefined ? await workingTreeId(source.root, entry.set.dir) : undefined;
      const setDirty = tree !== undefined && tree !== (await head.treeId(entry.set.dir));
      dirty ||= setDirty;
      const releasedHere = setDirty ? undefined : await releaseWithSameFiles(source, name, entry.set.dir, await head.treeId(entry.set.dir));
      version = releasedHere
        ? { version: releasedHere.version, stage: 'release', commit, tag: releasedHere.name }
        : { version: await headVersion(source.root, versionsOf(source.tags, name), commit, setDirty ? tree : undefined), stage: 'head', commit };
    }
    sets.push({ name, role: entry.role, contents: entry.contents, ...version, dependencies: entry.set.config.dependencies, files: filesOf(entry) });
  }

  const archive = buildArchive({
    what: { kind: request.kind, set: request.set, prompt: request.prompt },
    project: source.project,
    repository: repo.config.name,
    source: {
      commit: requestedRelease?.commit ?? commit,
      ref: request.ref,
      committedAt: head.source.committedAt ?? '1970-01-01T00:00:00Z',
      dirty,
    },
    sets,
  });
  return { archive, problems };

  function filesOf(entry: Entry): Record<string, string> {
    return selectSetFiles(entry.set, entry.contents, entry.contents === 'prompt' ? request.prompt : undefined);
  }
}

/** The requested set, then every set it depends on, transitively (partials only). */
async function collectWithDependencies(
  source: ExportSource,
  repo: LoadedRepo,
  request: ExportRequest,
  requestedRelease: ReleaseTag | undefined,
  problems: Problem[],
): Promise<Entry[]> {
  const requested = repo.sets.find((s) => s.name === request.set);
  if (!requested) {
    const near = closest(request.set ?? '', repo.sets.map((s) => s.name));
    throw new AnvilError('export.unknown-set', `there is no set "${request.set ?? ''}" in ${repo.snapshot.label}`, {
      hint: near ? `did you mean ${near}?` : `sets: ${repo.sets.map((s) => s.name).join(', ') || 'none'}`,
    });
  }
  const entries: Entry[] = [{
    set: requested, role: 'requested', contents: request.kind === 'prompt' ? 'prompt' : 'all', release: requestedRelease, fromMain: true,
  }];
  const queue = [...entries];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    // A release depends on the releases its tag recorded; anything else on this snapshot's sets.
    const pinned = parent.release ? await pinnedDependencies(source, parent.release, parent.set) : undefined;
    for (const dep of Object.keys(parent.set.config.dependencies).sort()) {
      const version = pinned?.[dep];
      const already = entries.find((e) => e.set.name === dep);
      if (already) {
        if (version !== undefined && already.release?.version !== version) {
          problems.push(problem('warning', 'export.dependency-versions', `"${parent.set.name}" was released with ${dep} ${version}, but the archive holds ${dep} ${already.release?.version ?? 'from the same commit'} for another set`, {
            file: parent.set.configFile,
          }));
        }
        continue;
      }
      const tag = version === undefined ? undefined : source.tags.find((t) => t.name === `${dep}@${version}`);
      let entry: Entry | undefined;
      if (tag) {
        const at = (await loadRepo(await openGitSnapshot(source.root, tag.name, { cache: source.cache }))).sets.find((s) => s.name === dep);
        if (at) entry = { set: at, role: 'dependency', contents: 'partials', release: tag, fromMain: false };
      }
      if (!entry) {
        const here = repo.sets.find((s) => s.name === dep);
        if (here) entry = { set: here, role: 'dependency', contents: 'partials', fromMain: true };
      }
      if (!entry) {
        problems.push(problem('error', 'export.missing-dependency', `"${parent.set.name}" depends on "${dep}", which is not a set of ${repo.snapshot.label}`, {
          file: parent.set.configFile, hint: 'fix set.yaml (anvil lint says more), then export again',
        }));
        continue;
      }
      entries.push(entry);
      queue.push(entry);
    }
  }
  return entries;
}

/** The dependency versions a release recorded; for an older tag without a record, its ranges resolved now. */
async function pinnedDependencies(source: ExportSource, release: ReleaseTag, set: LoadedSet): Promise<Record<string, string>> {
  const recorded = await readReleaseRecord(source.root, release, source.cache);
  if (recorded) return recorded;
  const out: Record<string, string> = {};
  for (const [dep, range] of Object.entries(set.config.dependencies)) {
    const best = semver.maxSatisfying(versionsOf(source.tags, dep), range);
    if (best) out[dep] = best;
  }
  return out;
}

/**
 * The newest release of `set` whose folder is exactly `tree` (the files exported): those files
 * are that release, whatever commit they were read at. Older releases with the same files (a
 * rollback) are not looked for.
 */
async function releaseWithSameFiles(source: ExportSource, set: string, dir: string, tree: string | undefined): Promise<ReleaseTag | undefined> {
  const newest = [...source.tags.filter((t) => t.set === set)].sort((a, b) => semver.rcompare(a.version, b.version))[0];
  if (!newest || tree === undefined) return undefined;
  const atRelease = await openGitSnapshot(source.root, newest.commit, { cache: source.cache });
  return (await atRelease.treeId(dir)) === tree ? newest : undefined;
}
