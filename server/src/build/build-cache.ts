/**
 * The build cache: what a build keeps so that the next one does less (issue 13).
 *
 * - A set whose git tree and dependency versions were built before is not compiled at all: its
 *   entry is found under `setKey`, its prompts are taken as they are and stamped anew (version,
 *   commit, …).
 * - Otherwise each prompt file whose text and included partials are unchanged since the set's
 *   previous build (found through `previousKey`) is reused, and only the others are compiled.
 *   A prompt is reused when its git blob id matches and each partial name its body includes
 *   has the same digest (partial-digests.ts) as then.
 *
 * A set's entry lists its prompt files (blob id, place in the bundle, partials); their compiled
 * forms live in packs, each written once by the build that compiled them, keyed by what they
 * hold. A build after a one-prompt change writes a one-prompt pack and a new list (~1 MB for
 * 10,000 prompts), not 17 MB of compiled prompts again; when a list would spread over too many
 * packs, or most prompts were compiled anyway, the build writes one pack with all of them.
 *
 * Every key holds the compiler fingerprint, so entries from other code are never read. Entries
 * are written only after a build that succeeded, so they only ever hold prompts that compiled
 * and sealed into a valid bundle. Anything in the cache that is not what buildSet wrote is a
 * miss (the shape checks here, a checksum in the file cache), never an error: the cache is only
 * ever a shortcut.
 */
import { createHash } from 'node:crypto';
import type { PromptMetadata } from '@anvil/content-schema';
import type { PartialFile } from '../load/load-repo.ts';

/** How a prompt file of a cached set was compiled: enough to reuse it in another build. */
export interface CachedPrompt {
  /** Git blob id of the file (for files outside git, of its text: git-blob-id.ts). */
  blob: string;
  /** Its place in that build's bundle: prompt id, and variant name or null. */
  id: string;
  variant: string | null;
  /** Each partial name its body includes, with the name's digest when it was compiled. */
  partials: [name: string, digest: string][];
  /** The key of the pack holding its compiled form, under its blob id. */
  pack: string;
}

export interface CachedSet {
  kind: 'set';
  /** The set's own partials (part of its bundle; read from git only when something compiles). */
  partials: PartialFile[];
  prompts: CachedPrompt[];
}

/** Compiled forms of prompt files by blob id. */
export interface CachedPack {
  kind: 'pack';
  prompts: Record<string, { template: string; metadata: PromptMetadata }>;
}

/** A set's partials at a commit (null: no such set there), as a dependency is read. */
export interface CachedPartials {
  kind: 'partials';
  partials: PartialFile[] | null;
}

/** Points at the entry of a set's most recent build. */
export interface CacheLink {
  kind: 'link';
  key: string;
}

export type BuildCacheEntry = CachedSet | CachedPack | CachedPartials | CacheLink;

/**
 * Where builds keep their entries: a Map works (tests, benchmarks); the CLI and the forge keep
 * them on disk (file-build-cache.ts). Entries are handed out as they are: a cache that keeps
 * them in memory must not be given to code that changes bundles in place.
 */
export interface BuildCache {
  get(key: string): BuildCacheEntry | undefined;
  set(key: string, entry: BuildCacheEntry): void;
}

/** The entry of one set at one tree with its dependency versions. */
export function setKey(fingerprint: string, set: string, tree: string, dependencies: Readonly<Record<string, string>>): string {
  return JSON.stringify([fingerprint, 'set', set, tree, Object.entries(dependencies).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
}

/** The link to the set's most recent build, whose prompts the next build may reuse. */
export function previousKey(fingerprint: string, set: string): string {
  return JSON.stringify([fingerprint, 'previous', set]);
}

/**
 * A pack's key, from the blob ids it holds: compiling is deterministic, so two builds that
 * compile the same files write the same pack.
 */
export function packKey(fingerprint: string, blobs: readonly string[]): string {
  const hash = createHash('sha256');
  for (const blob of [...blobs].sort()) hash.update(`${blob}\n`);
  return JSON.stringify([fingerprint, 'pack', hash.digest('hex')]);
}

/**
 * A set's partials at a commit: what a dependency contributes to a build. A commit never
 * changes, so neither does this; dependencies are read by every build of the sets using them.
 */
export function partialsKey(fingerprint: string, set: string, commit: string): string {
  return JSON.stringify([fingerprint, 'partials', set, commit]);
}

/** `entry` when it has the shape of a cached set; its records are checked when used. */
export function asCachedSet(entry: unknown): CachedSet | undefined {
  return isRecord(entry) && entry['kind'] === 'set' && Array.isArray(entry['prompts']) ? (entry as unknown as CachedSet) : undefined;
}

export function asCachedPack(entry: unknown): CachedPack | undefined {
  return isRecord(entry) && entry['kind'] === 'pack' && isRecord(entry['prompts']) ? (entry as unknown as CachedPack) : undefined;
}

export function asCachedPartials(entry: unknown): CachedPartials | undefined {
  if (!isRecord(entry) || entry['kind'] !== 'partials') return undefined;
  const partials = entry['partials'];
  const valid = partials === null || (Array.isArray(partials) && partials.every((p) =>
    isRecord(p) && typeof p['file'] === 'string' && typeof p['name'] === 'string' && typeof p['source'] === 'string'));
  return valid ? (entry as unknown as CachedPartials) : undefined;
}

export function asCacheLink(entry: unknown): CacheLink | undefined {
  return isRecord(entry) && entry['kind'] === 'link' && typeof entry['key'] === 'string' ? (entry as unknown as CacheLink) : undefined;
}

/** A record of a cached set, when it has the shape buildSet writes. */
export function isCachedPrompt(record: unknown): record is CachedPrompt {
  if (!isRecord(record)) return false;
  const { blob, id, variant, partials, pack } = record;
  return typeof blob === 'string' && typeof id === 'string' && (variant === null || typeof variant === 'string') && typeof pack === 'string' &&
    Array.isArray(partials) && partials.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string');
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
