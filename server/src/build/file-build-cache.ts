/**
 * The build cache on disk (build-cache.ts), as the CLI and the forge keep it: one file per key
 * under `<git dir>/anvil/build-cache/` (a mirror's own folder on the forge), named by the
 * key's SHA-256. Each file is a header line — format, key, SHA-256 and length of the rest —
 * then the entry as JSON. A file that cannot be read, parsed or checked (truncated, edited,
 * from another version, for another key) is a miss, never an error, and a failing write costs
 * a rebuild next time, nothing more: the cache is only ever a shortcut.
 *
 * Bounded: after each write, the least recently used files (by modification time, which a read
 * refreshes) are deleted until the folder holds at most `maxBytes` and `maxFiles`. A 10,000-prompt
 * set takes ~16 MB for its first build and ~1.3 MB for each build after a small change, so the
 * defaults keep many builds of such a set. Deleting the folder is always safe.
 *
 * A long-running process (the forge) also keeps the entries it last wrote or read in memory,
 * parsed, up to MEMORY_BYTES of their JSON in all: reading back the 16 MB pack of a
 * 10,000-prompt set costs about as much as the rest of a one-prompt rebuild. Those entries never
 * change under their key (a pack holds what its blob ids compile to; a set entry, what its tree
 * and dependency versions compile to; partials, what a commit holds), so a copy in memory is as
 * good as the file — as long as the file is there: a copy is used only while its file is the one
 * it was read from or written to (same inode and size), so deleting the folder empties the cache
 * for a running forge too. Links, which move, are always read from disk. Entries are handed out
 * as they are, like a Map's.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BuildCache, BuildCacheEntry } from './build-cache.ts';
import { BUILD_CACHE_FORMAT } from './compiler-fingerprint.ts';

export interface FileBuildCacheOptions {
  /** Keep at most this many bytes of entries (default 512 MiB). */
  maxBytes?: number | undefined;
  /** Keep at most this many entries (default 2,000). */
  maxFiles?: number | undefined;
  /** Keep entries in this process's memory too (default true); false reads the disk every time. */
  memory?: boolean | undefined;
}

/** How much entry JSON the process keeps parsed in memory, over every cache folder. */
export const MEMORY_BYTES = 48 * 2 ** 20;

interface Kept {
  entry: BuildCacheEntry;
  bytes: number;
  /** The file it came from or went to, which must still be there. */
  ino: number;
  size: number;
}

/** Parsed entries by file, least recently used first. */
const memory = new Map<string, Kept>();
let memoryBytes = 0;

function remember(file: string, entry: BuildCacheEntry, bytes: number): void {
  if (entry.kind === 'link' || bytes > MEMORY_BYTES) return;
  forget(file);
  let stat;
  try {
    stat = statSync(file);
  } catch {
    return;
  }
  memory.set(file, { entry, bytes, ino: stat.ino, size: stat.size });
  memoryBytes += bytes;
  for (const [oldest, kept] of memory) {
    if (memoryBytes <= MEMORY_BYTES) break;
    memory.delete(oldest);
    memoryBytes -= kept.bytes;
  }
}

function forget(file: string): void {
  const kept = memory.get(file);
  if (kept === undefined) return;
  memory.delete(file);
  memoryBytes -= kept.bytes;
}

/** The entry kept for `file`, while the file is still the one it was kept for. */
function recall(file: string): BuildCacheEntry | undefined {
  const kept = memory.get(file);
  if (kept === undefined) return undefined;
  let stat;
  try {
    stat = statSync(file);
  } catch {
    stat = undefined;
  }
  if (stat?.ino !== kept.ino || stat.size !== kept.size) {
    forget(file);
    return undefined;
  }
  // Most recently used.
  memory.delete(file);
  memory.set(file, kept);
  return kept.entry;
}

interface Header {
  format: string;
  key: string;
  sha256: string;
  bytes: number;
}

const NEWLINE = 0x0a;
/** A temporary file older than this was left by a write that never finished. */
const STALE_TMP_MS = 60 * 60 * 1000;

export function fileBuildCache(dir: string, options: FileBuildCacheOptions = {}): BuildCache {
  const maxBytes = options.maxBytes ?? 512 * 2 ** 20;
  const maxFiles = options.maxFiles ?? 2_000;
  const useMemory = options.memory ?? true;
  const folder = path.resolve(dir);
  const fileOf = (key: string) => path.join(folder, `${createHash('sha256').update(key).digest('hex')}.json`);
  return {
    get(key) {
      const file = fileOf(key);
      const kept = useMemory ? recall(file) : undefined;
      if (kept !== undefined) {
        touch(file);
        return kept;
      }
      try {
        const bytes = readFileSync(file);
        const end = bytes.indexOf(NEWLINE);
        if (end < 0) return undefined;
        const header = JSON.parse(bytes.toString('utf8', 0, end)) as Partial<Header>;
        const body = bytes.subarray(end + 1);
        if (header.format !== BUILD_CACHE_FORMAT || header.key !== key || header.bytes !== body.length) return undefined;
        if (createHash('sha256').update(body).digest('hex') !== header.sha256) return undefined;
        const entry = JSON.parse(body.toString('utf8')) as BuildCacheEntry;
        touch(file);
        if (useMemory) remember(file, entry, body.length);
        return entry;
      } catch {
        return undefined;
      }
    },
    set(key, entry) {
      try {
        mkdirSync(folder, { recursive: true });
        const body = Buffer.from(JSON.stringify(entry), 'utf8');
        const header: Header = { format: BUILD_CACHE_FORMAT, key, sha256: createHash('sha256').update(body).digest('hex'), bytes: body.length };
        const file = fileOf(key);
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`, 'utf8'), body]));
        renameSync(tmp, file);
        if (useMemory) remember(file, entry, body.length);
        else forget(file);
        evict(folder, maxBytes, maxFiles, file);
      } catch {
        // A read-only or full disk costs a rebuild next time, nothing more.
      }
    },
  };
}

/** Marks an entry as just used, for eviction; best effort. */
function touch(file: string): void {
  try {
    const now = new Date();
    utimesSync(file, now, now);
  } catch {
    // A cache on a read-only disk is still read.
  }
}

/** Deletes the least recently used entries beyond the bounds, never `keep` (just written). */
function evict(dir: string, maxBytes: number, maxFiles: number, keep: string): void {
  const entries: { file: string; bytes: number; used: number }[] = [];
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    try {
      const stat = statSync(file);
      if (!stat.isFile()) continue;
      if (name.endsWith('.tmp')) {
        if (now - stat.mtimeMs > STALE_TMP_MS) unlinkSync(file);
        continue;
      }
      entries.push({ file, bytes: stat.size, used: stat.mtimeMs });
    } catch {
      // Gone already (another process evicting): nothing to count.
    }
  }
  let bytes = entries.reduce((sum, e) => sum + e.bytes, 0);
  let files = entries.length;
  entries.sort((a, b) => a.used - b.used);
  for (const entry of entries) {
    if (bytes <= maxBytes && files <= maxFiles) break;
    if (entry.file === keep) continue;
    try {
      unlinkSync(entry.file);
    } catch {
      // Someone else removed it; it counts as gone all the same.
    }
    bytes -= entry.bytes;
    files--;
  }
}
