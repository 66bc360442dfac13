/**
 * The two sides of the dashboard's Compare page (issue 15: "compare any two versions or refs").
 * A side is what a person picked or typed: a version the forge stores (its stored bundle, as
 * receivers have it), or a git ref — a branch, a tag, a commit id — read from the forge's mirror
 * of the project and built there on demand with the forge's own builder, as a pull request's
 * check builds its head (check-pull-request.ts).
 *
 * The mirror is used as it is: the forge fetches it when a webhook says the remote moved, and a
 * page view must not make the forge talk to the remote. Typed text is checked before git sees
 * it at all; builds go through the mirror's build cache, one at a time, and two requests for the
 * same build share it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AnvilError, closest, isExactVersion } from '@anvil/content-schema';
import { buildErrorProblem, buildTarget, type BuildContext, type BuiltTarget } from '../build/build-target.ts';
import { fileBuildCache } from '../build/file-build-cache.ts';
import type { DiffSide } from '../diff/rendered-diff.ts';
import type { ForgeContext } from '../forge/forge-context.ts';
import { commitOf, mirrorPath, recentRefNames } from '../mirror/mirror-repo.ts';
import { createGitCache } from '../repo/git-cache.ts';
import { listReleaseTags, parseReleaseTagName } from '../repo/release-tags.ts';
import { isValidRefName } from '../repo/resolve-ref.ts';
import type { StoredVersions } from './stored-versions.ts';

/** Longer text is refused, not cut: a cut ref could name something else. */
export const MAX_REF_LENGTH = 200;
/** How many branches and release tags the form offers, and an error names. */
export const OFFERED_REFS = 20;

/** An abbreviated or full SHA-1 commit id, as people copy them (git's own minimum is 4: too easy to hit by chance). */
const COMMIT_ID = /^[0-9a-f]{7,40}$/i;
/**
 * Stricter than git's check-ref-format, on purpose: typed text from a web form becomes a
 * revision, and branch and tag names in practice keep to these characters.
 */
const REF_CHARACTERS = /^[\p{L}\p{N}._/@+-]+$/u;

/** Branch and tag names to offer beside the stored versions. */
export interface OfferedRefs {
  branches: string[];
  /** The set's release tags, newest first. */
  tags: string[];
}

/** The project's mirror as compare reads it; an interface so that tests can see what reaches git. */
export interface CompareRepo {
  /** False until the forge has cloned the project (its first sync). */
  readonly present: boolean;
  /** The commit a full ref name or a commit id names, or undefined. Only ever given checked text. */
  commitOf(rev: string): Promise<string | undefined>;
  offered(set: string): Promise<OfferedRefs>;
  /** The set built at a release tag name or a commit id. */
  build(set: string, ref: string): Promise<BuiltTarget>;
}

export interface CompareSource {
  project: string;
  set: string;
  /** The versions the store has, newest first. */
  versions: readonly string[];
  /** A stored version; with `compile` when the caller remembers compiled prompts. */
  stored(version: string): Promise<Omit<DiffSide, 'label'> | undefined>;
  repo: CompareRepo;
}

/** Why `text` may not go to git as a ref name, or undefined when it may. Pure. */
export function refTextProblem(text: string): string | undefined {
  if (text.length > MAX_REF_LENGTH) return `is longer than ${MAX_REF_LENGTH} characters`;
  if (/[\p{Cc}]/u.test(text)) return 'contains control characters';
  if (text.startsWith('-')) return 'starts with "-"';
  if (text.includes('..')) return 'contains ".."';
  if (!REF_CHARACTERS.test(text)) return 'may hold only letters, digits and . _ - / @ +';
  if (!isValidRefName(text)) return 'is not a valid git ref name (git check-ref-format)';
  return undefined;
}

/**
 * One side as a `renderedDiff` side: a stored version, else a git ref built from the mirror.
 * Throws an AnvilError `compare.*` saying what is wrong with the text.
 */
export async function resolveCompareSide(source: CompareSource, text: string | undefined): Promise<DiffSide> {
  const { set } = source;
  if (text === undefined || text === '') {
    throw new AnvilError('compare.no-choice', `choose a version of ${set}, or type a branch, tag or commit.`);
  }
  const shown = quote(text);
  if (source.versions.includes(text)) return storedSide(source, text, text);
  // A release the forge has built is the same bundle as building its tag again, only cheaper.
  const release = parseReleaseTagName(text);
  if (release.ok && release.set === set && source.versions.includes(release.version)) return storedSide(source, release.version, text);

  const problem = refTextProblem(text);
  if (problem !== undefined) {
    throw new AnvilError('compare.invalid-ref', `${shown} is not a version of ${set} the forge has, nor a git ref it will look up: it ${problem}.`, {
      details: { ref: text.slice(0, MAX_REF_LENGTH) },
    });
  }
  const { repo } = source;
  const found = repo.present ? await findRef(repo, text) : undefined;
  if (!found) throw await unknownRef(source, text);

  // A release tag of this set is built exactly as released; anything else at its commit, so that
  // a branch moving while the page builds cannot mix two commits.
  const asReleased = found.kind === 'tag' && release.ok && release.set === set;
  const label = asReleased ? text : found.kind === 'commit' ? found.commit.slice(0, 7) : `${text} (${found.commit.slice(0, 7)})`;
  const target = asReleased ? text : found.commit;
  let built: BuiltTarget;
  try {
    built = await repo.build(set, target);
  } catch (err) {
    built = { problems: [buildErrorProblem(err)], reused: false, compiled: 0, threads: 0, label, dependencyPartials: {} };
  }
  if (!built.bundle) {
    const error = built.problems.find((p) => p.severity === 'error');
    if (error?.code === 'build.unknown-set') {
      throw new AnvilError('compare.set-missing-at-ref', `${set} does not exist at ${label}: there is no set of that name in the repository at that commit.`, {
        details: { ref: text, commit: found.commit },
      });
    }
    throw new AnvilError('compare.build-failed', `${set} does not build at ${label}: ${error ? `${error.code} ${error.message.replace(/\.$/, '')}` : 'unknown error'}.`, {
      details: { ref: text, commit: found.commit, ...(error ? { problem: error.code } : {}) },
    });
  }
  return { label, bundle: built.bundle, dependencyPartials: built.dependencyPartials };
}

export type CompareSides =
  | { ok: true; from: DiffSide; to: DiffSide }
  | { ok: false; errors: AnvilError[] };

/** Both sides, with what is wrong with each (not only the first). Anything but an AnvilError is a bug and is thrown. */
export async function resolveCompareSides(source: CompareSource, from: string | undefined, to: string | undefined): Promise<CompareSides> {
  const [before, after] = await Promise.allSettled([resolveCompareSide(source, from), resolveCompareSide(source, to)]);
  const errors: AnvilError[] = [];
  for (const side of [before, after]) {
    if (side.status === 'fulfilled') continue;
    if (!(side.reason instanceof AnvilError)) throw side.reason;
    errors.push(side.reason);
  }
  // Both sides naming the same unknown text would say the same thing twice.
  const unique = errors.filter((e, i) => errors.findIndex((o) => o.message === e.message) === i);
  if (before.status === 'fulfilled' && after.status === 'fulfilled') return { ok: true, from: before.value, to: after.value };
  return { ok: false, errors: unique };
}

/**
 * The store and the mirror of one project, for one compare request. `close` ends the git
 * processes it started.
 */
export function openCompareSource(ctx: ForgeContext, project: string, set: string, versions: readonly string[], stored: StoredVersions): CompareSource & { close(): void } {
  const mirror = mirrorPath(ctx.dataDir, project);
  const cache = createGitCache();
  let build: Promise<BuildContext> | undefined;
  const buildContext = () => (build ??= listReleaseTags(mirror, { cache }).then(({ tags }) => ({
    root: mirror, project, cache, tags, buildCache: fileBuildCache(path.join(mirror, 'anvil', 'build-cache')),
  })));
  const repo: CompareRepo = {
    present: existsSync(path.join(mirror, 'HEAD')),
    commitOf: (rev) => commitOf(mirror, rev),
    async offered(name) {
      if (!repo.present) return { branches: [], tags: [] };
      const [branches, tags] = await Promise.all([recentRefNames(mirror, 'heads', OFFERED_REFS), recentRefNames(mirror, 'tags', OFFERED_REFS, `${name}@`)]);
      return { branches, tags };
    },
    build: (name, ref) => sharedBuild(`${mirror}\u0000${name}\u0000${ref}`, async () => buildTarget(await buildContext(), name, { kind: 'ref', ref }, { preview: true })),
  };
  return {
    project, set, versions, repo,
    stored: (version) => stored.read(project, set, version),
    close: () => cache.clear(),
  };
}

type FoundRef = { kind: 'branch' | 'tag' | 'commit'; commit: string };

/** Branches before tags (a branch is what people mean by a bare name on this page), then a commit id. */
async function findRef(repo: CompareRepo, text: string): Promise<FoundRef | undefined> {
  const branch = await repo.commitOf(`refs/heads/${text}`);
  if (branch) return { kind: 'branch', commit: branch };
  const tag = await repo.commitOf(`refs/tags/${text}`);
  if (tag) return { kind: 'tag', commit: tag };
  if (!COMMIT_ID.test(text)) return undefined;
  const commit = await repo.commitOf(text);
  // rev-parse would also take a ref of that name elsewhere under refs/; only an object id counts.
  return commit?.startsWith(text.toLowerCase()) ? { kind: 'commit', commit } : undefined;
}

async function unknownRef(source: CompareSource, text: string): Promise<AnvilError> {
  const { branches, tags } = await source.repo.offered(source.set);
  const guess = closest(text, [...source.versions, ...branches, ...tags]);
  const parts = [
    `versions: ${sample(source.versions)}`,
    source.repo.present ? `branches: ${sample(branches)}` : `no branches: the forge has no copy of ${source.project}'s repository yet (it makes one on its first sync)`,
    ...(source.repo.present ? [`release tags: ${sample(tags)}`] : []),
  ];
  // Text that reads as a version was most likely meant as one (a stored version since removed, a typo).
  const code = isExactVersion(text) ? 'compare.unknown-version' : 'compare.unknown-ref';
  const didYouMean = guess === undefined ? '' : ` (did you mean ${quote(guess)}?)`;
  return new AnvilError(code, `no version or git ref ${quote(text)} for set ${source.set}${didYouMean}: ${parts.join('; ')}.`, {
    details: { ref: text, versions: source.versions.slice(0, OFFERED_REFS), branches, tags, ...(guess === undefined ? {} : { didYouMean: guess }) },
  });
}

function storedSide(source: CompareSource, version: string, label: string): Promise<DiffSide> {
  return source.stored(version).then((stored) => {
    // Listed a moment ago; gone only if the store was pruned in between.
    if (!stored) throw new AnvilError('compare.unknown-version', `the forge no longer has version ${version} of ${source.set}.`);
    return { label, bundle: stored.bundle, dependencyPartials: stored.dependencyPartials, ...(stored.compile ? { compile: stored.compile } : {}) };
  });
}

/** At most five names, and how many more there are; "none" for none. */
function sample(names: readonly string[]): string {
  if (names.length === 0) return 'none';
  const shown = names.slice(0, 5).join(', ');
  return names.length > 5 ? `${shown} (and ${names.length - 5} more)` : shown;
}

/** The text as typed, cut for the message, as a JSON string so that a newline or a NUL shows as one (the page escapes the rest). */
function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

/*
 * One build at a time in this process, and one per (mirror, set, ref) however many pages ask
 * for it: a dashboard user must not be able to keep both cores of the forge's machine busy
 * with builds by reloading a page. Repeat builds are cheap anyway (the mirror's build cache).
 */
const running = new Map<string, Promise<BuiltTarget>>();
let queue: Promise<unknown> = Promise.resolve();

function sharedBuild(key: string, build: () => Promise<BuiltTarget>): Promise<BuiltTarget> {
  const existing = running.get(key);
  if (existing) return existing;
  const next = queue.then(build, build);
  queue = next.catch(() => undefined);
  running.set(key, next);
  void next.finally(() => running.delete(key)).catch(() => undefined);
  return next;
}
