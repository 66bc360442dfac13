import fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import git from 'isomorphic-git';
import type { CommitObject } from './git-objects.ts';
import { AnvilError, closest } from '@anvil/content-schema';
import type { GitDirs } from './git-dir.ts';

/** A repository opened for in-process reads: where its data is, and its isomorphic-git cache. */
export interface GitContext extends GitDirs {
  /** The folder as the caller named it, for messages. */
  repoDir: string;
  cache: object;
}

/** A ref resolved all the way down to a commit. */
export interface ResolvedCommit {
  commit: string;
  commitObject: CommitObject;
  /** The full ref name that matched (`refs/tags/core@1.0.0`), when `ref` was not an object id. */
  fullRef?: string | undefined;
  /** The tag name, when `ref` resolved through `refs/tags/`. */
  tag?: string | undefined;
  /** The annotated tag object's id (the outermost one, if tags point at tags). */
  tagObject?: string | undefined;
}

/** A commit found by peeling an object id (through annotated tags). */
export interface PeeledCommit {
  commit: string;
  commitObject: CommitObject;
  tagObject?: string | undefined;
}

const FULL_OID = /^[0-9a-f]{40}$/i;
const SHORT_OID = /^[0-9a-f]{4,39}$/i;
// Tags may point at tags; git itself gives up on deeper chains long before this.
const MAX_PEEL = 16;

/**
 * Resolves a branch, tag, remote-tracking branch, full ref, `HEAD`, or (abbreviated) commit
 * id to a commit, in git's own order (`git rev-parse`: refs before abbreviated ids, tags before
 * branches). An unknown ref is an AnvilError `git.unknown-ref` that lists refs that do exist.
 */
export async function resolveCommit(ctx: GitContext, ref: string): Promise<ResolvedCommit> {
  if (FULL_OID.test(ref)) {
    const peeled = await peelOrUndefined(ctx, ref.toLowerCase());
    if (peeled) return peeled;
    throw await unknownRef(ctx, ref);
  }
  // isomorphic-git reads a ref by joining its name to the git folder; a name such as
  // "../../x" (from a webhook, say) must never get that far.
  if (!isValidRefName(ref)) {
    throw new AnvilError('git.unknown-ref', `"${ref}" is not a valid git ref name`, {
      hint: 'give a branch, a tag such as onboarding@1.2.0, or a commit id',
      details: { ref },
    });
  }
  for (const fullRef of refCandidates(ref)) {
    const oid = await readRef(ctx, fullRef);
    if (oid === undefined) continue;
    const peeled = await peelToCommit(ctx, oid, ref);
    const tag = fullRef.startsWith('refs/tags/') ? fullRef.slice('refs/tags/'.length) : undefined;
    return { ...peeled, fullRef, tag };
  }
  if (SHORT_OID.test(ref)) {
    const oid = await expandShortOid(ctx, ref.toLowerCase());
    const peeled = oid === undefined ? undefined : await peelOrUndefined(ctx, oid);
    if (peeled) return peeled;
  }
  throw await unknownRef(ctx, ref);
}

/**
 * Follows annotated tags from `oid` to the commit they mark. A tag of a tree or a blob is an
 * AnvilError `git.not-a-commit`: there are no files to read at a blob.
 */
export async function peelToCommit(ctx: GitContext, oid: string, ref = oid): Promise<PeeledCommit> {
  let current = oid;
  let tagObject: string | undefined;
  for (let depth = 0; depth < MAX_PEEL; depth++) {
    const object = await git.readObject({ fs, gitdir: ctx.gitdir, oid: current, format: 'parsed', cache: ctx.cache });
    // The result type does not narrow on the format asked for.
    if (object.format !== 'parsed') throw new Error(`isomorphic-git returned ${object.format} for a parsed read of ${current}`);
    if (object.type === 'commit') return { commit: current, commitObject: object.object, tagObject };
    if (object.type !== 'tag') {
      throw new AnvilError('git.not-a-commit', `"${ref}" points to a ${object.type}, not a commit`, {
        hint: 'releases and snapshots are read from commits; tag a commit instead',
        details: { ref, oid: current, type: object.type },
      });
    }
    tagObject ??= current;
    current = object.object.object;
  }
  throw new AnvilError('git.not-a-commit', `"${ref}" is a chain of more than ${MAX_PEEL} tags`, { details: { ref } });
}

/**
 * Like peelToCommit, for when only the commit id matters (listing hundreds of tags): a tag
 * object that says it tags a commit is taken at its word, which saves reading the commit.
 */
export async function peelToCommitId(ctx: GitContext, oid: string, ref = oid): Promise<{ commit: string; tagObject?: string | undefined }> {
  let current = oid;
  let tagObject: string | undefined;
  for (let depth = 0; depth < MAX_PEEL; depth++) {
    const object = await git.readObject({ fs, gitdir: ctx.gitdir, oid: current, format: 'parsed', cache: ctx.cache });
    if (object.format !== 'parsed') throw new Error(`isomorphic-git returned ${object.format} for a parsed read of ${current}`);
    if (object.type === 'commit') return { commit: current, tagObject };
    if (object.type !== 'tag') break;
    tagObject ??= current;
    if (object.object.type === 'commit') return { commit: object.object.object, tagObject };
    current = object.object.object;
  }
  // Not a commit after all: let the thorough version say what it is.
  return peelToCommit(ctx, oid, ref);
}

/**
 * git's check-ref-format rules (https://git-scm.com/docs/git-check-ref-format), which also keep
 * a name from climbing out of the git folder.
 */
export function isValidRefName(ref: string): boolean {
  if (ref.length === 0 || ref.length > 1024 || ref === '@') return false;
  // Control characters, space and the characters git gives a meaning in revisions.
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(ref)) return false;
  if (ref.includes('..') || ref.includes('@{') || ref.includes('//')) return false;
  if (ref.startsWith('/') || ref.startsWith('-') || ref.endsWith('/') || ref.endsWith('.')) return false;
  return ref.split('/').every((part) => !part.startsWith('.') && !part.endsWith('.lock'));
}

/** The full ref names `ref` may stand for, in the order git tries them (gitrevisions(7)). */
function refCandidates(ref: string): string[] {
  if (ref === 'HEAD') return ['HEAD'];
  if (ref.startsWith('refs/')) return [ref];
  return [`refs/${ref}`, `refs/tags/${ref}`, `refs/heads/${ref}`, `refs/remotes/${ref}`, `refs/remotes/${ref}/HEAD`];
}

/** The object id a full ref points to (symbolic refs followed), or undefined when it is absent. */
async function readRef(ctx: GitContext, fullRef: string): Promise<string | undefined> {
  let ref = fullRef;
  // A linked worktree has its own HEAD; isomorphic-git only knows the shared git folder.
  if (ref === 'HEAD' && ctx.worktreeGitdir !== undefined) {
    const head = (await readFile(path.join(ctx.worktreeGitdir, 'HEAD'), 'utf8')).trim();
    if (FULL_OID.test(head)) return head.toLowerCase();
    ref = head.replace(/^ref:\s*/, '');
  }
  try {
    // expandRef says which ref exists under the name; isomorphic-git would also accept
    // "refs/tags/<ref>" and friends for a full name, and only the exact ref counts here.
    if ((await git.expandRef({ fs, gitdir: ctx.gitdir, ref })) !== ref) return undefined;
    return await git.resolveRef({ fs, gitdir: ctx.gitdir, ref });
  } catch (err) {
    if (isGitError(err, 'NotFoundError')) return undefined;
    throw err;
  }
}

async function expandShortOid(ctx: GitContext, prefix: string): Promise<string | undefined> {
  try {
    return await git.expandOid({ fs, gitdir: ctx.gitdir, oid: prefix, cache: ctx.cache });
  } catch (err) {
    if (isGitError(err, 'NotFoundError')) return undefined;
    if (isGitError(err, 'AmbiguousError')) {
      throw new AnvilError('git.unknown-ref', `"${prefix}" is the start of more than one object id`, {
        hint: 'give more characters of the commit id',
        details: { ref: prefix },
      });
    }
    throw err;
  }
}

async function peelOrUndefined(ctx: GitContext, oid: string): Promise<PeeledCommit | undefined> {
  try {
    return await peelToCommit(ctx, oid);
  } catch (err) {
    if (isGitError(err, 'NotFoundError')) return undefined;
    throw err;
  }
}

/** The error for a ref that does not exist, naming a few that do (and the likely one). */
async function unknownRef(ctx: GitContext, ref: string): Promise<AnvilError> {
  const [branches, tags] = await Promise.all([
    git.listBranches({ fs, gitdir: ctx.gitdir }).catch(() => []),
    git.listTags({ fs, gitdir: ctx.gitdir }).catch(() => []),
  ]);
  // For "core@1.3.0", the other core@ tags are the helpful ones to show.
  const set = ref.includes('@') ? ref.slice(0, ref.lastIndexOf('@') + 1) : undefined;
  const orderedTags = set === undefined ? tags : [...tags.filter((t) => t.startsWith(set)), ...tags.filter((t) => !t.startsWith(set))];
  const guess = closest(ref, [...branches, ...tags]);
  const parts = [
    ...(guess === undefined ? [] : [`did you mean "${guess}"?`]),
    branches.length > 0 ? `branches: ${sample(branches)}` : 'no branches',
    tags.length > 0 ? `tags: ${sample(orderedTags)}` : 'no tags',
  ];
  return new AnvilError('git.unknown-ref', `no branch, tag or commit "${ref}" in ${ctx.repoDir}`, {
    hint: parts.join('; '),
    // Bounded: a repository may have thousands of tags.
    details: {
      ref,
      branches: branches.slice(0, 20),
      tags: orderedTags.slice(0, 20),
      ...(guess === undefined ? {} : { didYouMean: guess }),
    },
  });
}

/** At most five names, and how many more there are. */
function sample(names: readonly string[]): string {
  const shown = names.slice(0, 5).join(', ');
  return names.length > 5 ? `${shown} (and ${names.length - 5} more)` : shown;
}

export function isGitError(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
