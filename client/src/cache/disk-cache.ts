/**
 * The receiver's disk cache (DESIGN §10): `<dir>/bundles/<integrity>.json`, immutable, and
 * `<dir>/state.json`, replaced atomically, the state it replaced kept as `state.prev.json`.
 * Bundles are written before the state that names them, so at every instant of a crash each
 * state file on disk names only complete bundles. Loading verifies everything (schema — each
 * prompt's entry before that prompt is first served, as for a push —, integrity over every
 * byte, signatures by the pinned forge keys, dependencies present) and falls back to the
 * previous state when the current one does not verify.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AnvilError,
  INTEGRITY_PATTERN,
  formatIssue,
  validateBundle,
  validateReceiverState,
  verifyBundleIntegrity,
  integrityOfBundleBytes,
  verifyBundleSignatures,
  type Bundle,
  type EnvelopeSignature,
  type ReceiverState,
} from '@anvil/content-schema';
import {
  TEMP_SUFFIX, errorCode, makeDirectoryDurably, preserveAtomic, renameDurably, sameFile, syncDirectory, writeFileAtomic, writeTempDurablyNow,
  writeTempDurablyNowIdentified, type FileIdentity,
} from './atomic-file.ts';
import { promptsFromBytes, readBundleBytes } from '../bundle/bundle-bytes.ts';

export const STATE_FILE = 'state.json';
export const PREVIOUS_STATE_FILE = 'state.prev.json';
export const BUNDLES_DIR = 'bundles';

/** Which state file a load used: `state.json` or `state.prev.json`. */
export type CacheSource = 'current' | 'previous';

/** Why a state on disk could not be served. */
export interface CacheProblem {
  state: CacheSource;
  /** The file at fault, relative to the cache directory. */
  file: string;
  code: string;
  message: string;
}

export interface LoadedCache {
  state: ReceiverState;
  /** Every bundle the state names, by integrity, verified. */
  bundles: Map<string, Bundle>;
  source: CacheSource;
  /** Why the current state was not used (empty when `source` is `current`). */
  problems: CacheProblem[];
}

/** What `writeBundle` did: wrote a new file, found the same bytes, or replaced different bytes. */
export type BundleWrite = 'written' | 'kept' | 'replaced';

export interface GarbageCollection {
  /** Files removed, relative to the cache directory. */
  removed: string[];
  /** Why nothing was collected, when a state file exists but cannot be read. */
  skipped?: string;
}

export interface DiskCacheOptions {
  /**
   * Files younger than this are never collected, since another process sharing the directory
   * may be about to commit a state naming them (default 10 minutes).
   */
  gcGraceMs?: number;
}

export interface DiskCache {
  readonly dir: string;
  /** The problems found by the last `load()`, including those of a state it fell back from. */
  readonly lastLoadProblems: readonly CacheProblem[];
  /** Where the bundle with this integrity is kept. */
  bundlePath(integrity: string): string;
  /**
   * Starts writing bytes that are not verified yet (a bundle's span in a pushed body) to a temp
   * file beside the bundles, so that the disk works while the bytes are being verified. Nothing
   * names the file: `writeBundle` with the same bytes (the same memory) takes it, `discard()`
   * removes it otherwise.
   */
  stageBundle(bytes: Uint8Array): StagedBundle;
  /**
   * Makes `bytes` durable as the bundle `integrity` (which the caller has verified). Identical
   * bytes already there are left alone; anything else there is replaced atomically. When one of
   * `staged` holds these very bytes, its temp file is renamed into place instead of writing again.
   */
  writeBundle(bytes: Uint8Array | string, integrity: string, staged?: readonly StagedBundle[]): Promise<BundleWrite>;
  /**
   * Replaces `state.json` atomically, keeping the state it replaces as `state.prev.json`. Every
   * bundle the state names must have been written first — or be among the writes `after` stands
   * for: the new state's file is written while they run, and made current once they succeeded
   * (if they fail, so does the commit, and nothing changes).
   */
  commit(state: ReceiverState, options?: { after?: Promise<unknown> }): Promise<void>;
  /**
   * Whether `state.json`, as `stats` (a stat of it) describe it, is the file this cache's last
   * commit made current — same inode, size and mtime —, so it says what that commit said. False
   * whenever unsure (nothing committed here yet, or anything else wrote the file since). Optional:
   * a cache without it has the file read and compared.
   */
  isLastCommit?(stats: FileIdentity): boolean;
  /** The newest state that verifies completely, with its bundles; undefined when there is none. */
  load(): Promise<LoadedCache | undefined>;
  /** Removes bundle files that neither state names, and temp files left by crashes. */
  garbageCollect(): Promise<GarbageCollection>;
}

/** Bytes being written to a temp file while they are verified (see `DiskCache.stageBundle`). */
export interface StagedBundle {
  readonly bytes: Uint8Array;
  /** Removes the temp file, unless `writeBundle` took it; safe to call more than once. */
  discard(): Promise<void>;
}

/**
 * Opens the cache kept in `dir`. Nothing is read or created until it is used: `load()` of a
 * directory that does not exist is undefined, the first write creates it.
 */
export function openDiskCache(dir: string, options: DiskCacheOptions = {}): DiskCache {
  return new FileDiskCache(dir, options);
}

/**
 * The file name of a bundle: the digest in hex, because base64 has `/` and, on file systems
 * that ignore case (macOS, Windows), two base64 digests can name the same file.
 */
export function bundleFileName(integrity: string): string {
  const name = safeBundleFileName(integrity);
  if (name === undefined) {
    throw new AnvilError('cache.integrity', `not an integrity string: ${JSON.stringify(integrity)}`, {
      hint: 'pass the bundle\'s `integrity` field ("sha256-" + 44 base64 characters)',
    });
  }
  return name;
}

function safeBundleFileName(integrity: unknown): string | undefined {
  if (typeof integrity !== 'string' || !integrityPattern.test(integrity)) return undefined;
  const digest = Buffer.from(integrity.slice(PREFIX.length), 'base64');
  // Base64 with stray bits in its last character would name the same file as the canonical one.
  return `${PREFIX}${digest.toString('base64')}` === integrity ? `${PREFIX}${digest.toString('hex')}.json` : undefined;
}

const PREFIX = 'sha256-';
const integrityPattern = new RegExp(INTEGRITY_PATTERN);
const BUNDLE_FILE_PATTERN = /^sha256-([0-9a-f]{64})\.json$/;
const DEFAULT_GC_GRACE_MS = 10 * 60_000;
const PARALLEL_READS = 8;
// Errors that falling back to the previous state would only hide: the operator must fix them.
const FATAL_READ_CODES = new Set(['EACCES', 'EPERM', 'EMFILE', 'ENFILE', 'ENOMEM']);

function integrityOfFileName(name: string): string | undefined {
  const hex = BUNDLE_FILE_PATTERN.exec(name)?.[1];
  return hex === undefined ? undefined : `${PREFIX}${Buffer.from(hex, 'hex').toString('base64')}`;
}

type Read = { ok: true; bytes: Buffer } | { ok: false; code: string; message: string };
type BundleRead = { ok: true; bundle: Bundle } | { ok: false; code: string; message: string };
type StateLoad = { ok: true; state: ReceiverState; bundles: Map<string, Bundle> } | { ok: false; problems: CacheProblem[] };

class FileDiskCache implements DiskCache {
  readonly dir: string;
  lastLoadProblems: CacheProblem[] = [];
  readonly #bundlesDir: string;
  readonly #graceMs: number;
  #queue: Promise<unknown> = Promise.resolve();
  #directoriesReady = false;
  /** Bundles known to be on disk (written, kept or verified here): commit does not stat them. */
  readonly #onDisk = new Set<string>();
  /** Bundles written here that a state may be about to name: never collected. */
  readonly #pending = new Set<string>();
  /** Bundles whose names this process made durable (renamed, then fsynced the directory). */
  readonly #named = new Set<string>();
  /** False once a load found `state.json` unusable: it must not become the previous state. */
  #currentUsable = true;
  /** The identity of the `state.json` the last commit here made current. */
  #committed: FileIdentity | undefined;

  constructor(dir: string, options: DiskCacheOptions) {
    this.dir = dir;
    this.#bundlesDir = join(dir, BUNDLES_DIR);
    this.#graceMs = options.gcGraceMs ?? DEFAULT_GC_GRACE_MS;
  }

  bundlePath(integrity: string): string {
    return join(this.#bundlesDir, bundleFileName(integrity));
  }

  stageBundle(bytes: Uint8Array): StagedBundle {
    const target = join(this.#bundlesDir, 'staged');
    // Issued before this returns (once the directories exist): the caller goes on to parse the body.
    if (!this.#directoriesReady && existsSync(this.#bundlesDir)) this.#directoriesReady = true;
    const temp = this.#writing(this.#bundlesDir, () =>
      this.#directoriesReady ? writeTempDurablyNow(target, bytes) : this.#ensureDirectories().then(() => writeTempDurablyNow(target, bytes)),
    );
    return new StagedTempFile(bytes, temp);
  }

  async writeBundle(bytes: Uint8Array | string, integrity: string, staged: readonly StagedBundle[] = []): Promise<BundleWrite> {
    const path = this.bundlePath(integrity);
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    this.#pending.add(integrity);
    return this.#writing(path, async () => {
      await this.#ensureDirectories();
      const existing = await fileSize(path);
      if (existing === data.byteLength && Buffer.compare(await readFile(path), data) === 0) {
        // A fresh mtime keeps a collector in another process off it for its grace period.
        const now = new Date();
        await utimes(path, now, now).catch(() => undefined);
        this.#onDisk.add(integrity);
        return 'kept';
      }
      const mine = staged.find((s): s is StagedTempFile => s instanceof StagedTempFile && sameMemory(s.bytes, data));
      const temp = await mine?.take();
      if (temp !== undefined) await renameDurably(temp, path);
      else await writeFileAtomic(path, data);
      this.#onDisk.add(integrity);
      this.#named.add(integrity);
      return existing === undefined ? 'written' : 'replaced';
    });
  }

  commit(state: ReceiverState, options: { after?: Promise<unknown> } = {}): Promise<void> {
    return this.#serial(async () => {
      const checked = validateReceiverState(state);
      if (!checked.ok) {
        const first = checked.errors[0];
        throw new AnvilError('cache.invalid-state', `refusing to commit an invalid receiver state: ${first ? formatIssue(first) : 'invalid'}`, {
          details: { errors: checked.errors },
        });
      }
      const statePath = join(this.dir, STATE_FILE);
      // The new state's file is written, and the state it replaces kept as state.prev.json, while
      // the bundles it names are written and checked; only the rename at the end makes it current.
      // (Keeping the current state as the previous one early is harmless if the commit fails: the
      // previous state is then the current one.)
      const text = Buffer.from(`${JSON.stringify(state, null, 2)}\n`, 'utf8');
      const temp = this.#writing(statePath, async () => {
        await this.#ensureDirectories();
        return writeTempDurablyNowIdentified(statePath, text);
      });
      const kept = this.#writing(statePath, async () => {
        if (this.#currentUsable) await preserveAtomic(statePath, join(this.dir, PREVIOUS_STATE_FILE));
      });
      temp.catch(() => undefined);
      kept.catch(() => undefined);
      const integrities = Object.keys(state.bundles);
      try {
        await options.after;
        const present = await this.#writing(this.#bundlesDir, () =>
          mapLimit(integrities, PARALLEL_READS, async (integrity) => this.#onDisk.has(integrity) || (await exists(this.bundlePath(integrity)))),
        );
        const missing = integrities.filter((_, i) => !present[i]);
        if (missing.length > 0) {
          throw new AnvilError('cache.missing-bundle', `refusing to commit a state naming ${missing.length} bundle(s) not on disk, e.g. ${missing[0]}`, {
            hint: 'write every bundle with writeBundle() before commit()',
            details: { missing },
          });
        }
        await this.#writing(statePath, async () => {
          // Bundle names written by another process (or before a restart) become durable
          // before a state that names them does.
          if (!integrities.every((integrity) => this.#named.has(integrity))) await syncDirectory(this.#bundlesDir);
          await kept;
          const written = await temp;
          // Forgotten first: if the rename fails after all, nothing here vouches for state.json.
          this.#committed = undefined;
          await renameDurably(written.path, statePath);
          this.#committed = written.identity;
        });
      } catch (err) {
        await kept.catch(() => undefined);
        const path = (await temp.catch(() => undefined))?.path;
        if (path !== undefined) await unlink(path).catch(() => undefined);
        throw err;
      }
      this.#currentUsable = true;
      for (const integrity of integrities) {
        this.#onDisk.add(integrity);
        this.#pending.delete(integrity);
      }
    });
  }

  isLastCommit(stats: FileIdentity): boolean {
    return sameFile(this.#committed, stats);
  }

  load(): Promise<LoadedCache | undefined> {
    return this.#serial(async () => {
      const reads = new Map<string, Promise<BundleRead>>();
      const current = await this.#loadState('current', STATE_FILE, reads);
      if (current.ok) {
        this.lastLoadProblems = [];
        this.#currentUsable = true;
        for (const integrity of current.bundles.keys()) this.#onDisk.add(integrity);
        return { state: current.state, bundles: current.bundles, source: 'current' as const, problems: [] };
      }
      this.#currentUsable = false;
      const previous = await this.#loadState('previous', PREVIOUS_STATE_FILE, reads);
      if (!previous.ok) {
        this.lastLoadProblems = [...current.problems, ...previous.problems];
        return undefined;
      }
      this.lastLoadProblems = current.problems;
      for (const integrity of previous.bundles.keys()) this.#onDisk.add(integrity);
      return { state: previous.state, bundles: previous.bundles, source: 'previous' as const, problems: current.problems };
    });
  }

  garbageCollect(): Promise<GarbageCollection> {
    return this.#serial(async () => {
      const named = new Set<string>();
      for (const file of [STATE_FILE, PREVIOUS_STATE_FILE]) {
        const read = await this.#read(file);
        if (!read.ok && read.code === 'cache.no-file') continue;
        const bundles = read.ok ? bundlesNamedBy(read.bytes) : undefined;
        if (bundles === undefined) return { removed: [], skipped: `${file} cannot be read, so what it names is unknown` };
        for (const integrity of bundles) named.add(integrity);
      }

      const removed: string[] = [];
      const now = Date.now();
      const ownTemp = `.${process.pid}.`;
      const collect = async (dir: string, relative: string, name: string): Promise<boolean> => {
        // This process's own temp files belong to writes still under way.
        if (name.endsWith(TEMP_SUFFIX) && name.includes(ownTemp)) return false;
        const path = join(dir, name);
        const info = await stat(path).catch(() => undefined);
        if (!info?.isFile() || now - info.mtimeMs < this.#graceMs) return false;
        await this.#writing(path, () => unlink(path).catch((err: unknown) => (errorCode(err) === 'ENOENT' ? undefined : Promise.reject(err))));
        removed.push(relative);
        return true;
      };
      for (const name of await listDirectory(this.#bundlesDir)) {
        const integrity = integrityOfFileName(name);
        const collectable = name.endsWith(TEMP_SUFFIX) || (integrity !== undefined && !named.has(integrity) && !this.#pending.has(integrity));
        if (!collectable) continue;
        if ((await collect(this.#bundlesDir, `${BUNDLES_DIR}/${name}`, name)) && integrity !== undefined) {
          this.#onDisk.delete(integrity);
          this.#named.delete(integrity);
        }
      }
      for (const name of await listDirectory(this.dir)) {
        if (name.endsWith(TEMP_SUFFIX) && (name.startsWith(`${STATE_FILE}.`) || name.startsWith(`${PREVIOUS_STATE_FILE}.`))) {
          await collect(this.dir, name, name);
        }
      }
      if (removed.length > 0) await this.#writing(this.#bundlesDir, () => syncDirectory(this.#bundlesDir));
      return { removed };
    });
  }

  async #loadState(source: CacheSource, file: string, reads: Map<string, Promise<BundleRead>>): Promise<StateLoad> {
    const problems: CacheProblem[] = [];
    const report = (where: string, code: string, message: string): void => {
      problems.push({ state: source, file: where, code, message });
    };

    const read = await this.#read(file);
    if (!read.ok) {
      report(file, read.code, read.message);
      return { ok: false, problems };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(read.bytes.toString('utf8'));
    } catch (err) {
      report(file, 'cache.state-json', `${file} is not JSON (${(err as Error).message}): truncated or overwritten`);
      return { ok: false, problems };
    }
    const checked = validateReceiverState(parsed);
    if (!checked.ok) {
      for (const found of checked.errors.slice(0, 10)) report(file, 'cache.state-invalid', formatIssue(found));
      return { ok: false, problems };
    }
    const state = checked.value;

    const kept = Object.entries(state.bundles);
    const bundles = new Map<string, Bundle>();
    await mapLimit(kept, PARALLEL_READS, async ([integrity, entry]) => {
      const name = safeBundleFileName(integrity);
      if (name === undefined) return report(file, 'cache.state-invalid', `${file} names a bundle by a non-canonical integrity ${integrity}`);
      const bundleFile = `${BUNDLES_DIR}/${name}`;
      let pending = reads.get(integrity);
      if (!pending) {
        pending = this.#readBundle(bundleFile, integrity);
        reads.set(integrity, pending);
      }
      const found = await pending;
      if (!found.ok) return report(bundleFile, found.code, found.message);
      const { bundle } = found;
      if (bundle.set !== entry.set || bundle.version !== entry.version) {
        return report(bundleFile, 'cache.bundle-mismatch', `${bundleFile} holds ${bundle.set}@${bundle.version}, but ${file} names it as ${entry.set}@${entry.version}`);
      }
      if (bundle.project !== state.project) {
        return report(bundleFile, 'cache.bundle-project', `${bundleFile} belongs to project "${bundle.project}", not "${state.project}"`);
      }
      bundles.set(integrity, bundle);
    });
    if (problems.length > 0) return { ok: false, problems };

    const carried = new Set([...bundles.values()].map((bundle) => `${bundle.set}@${bundle.version}`));
    for (const bundle of bundles.values()) {
      for (const [dependency, version] of Object.entries(bundle.dependencies)) {
        if (!carried.has(`${dependency}@${version}`)) {
          report(file, 'cache.missing-dependency', `${bundle.set}@${bundle.version} needs ${dependency}@${version}, which ${file} does not keep`);
        }
      }
    }
    const signatures: EnvelopeSignature[] = kept.flatMap(([, entry]) => entry.signatures);
    const refs = kept.map(([integrity, entry]) => ({ integrity, set: entry.set, version: entry.version }));
    const signed = verifyBundleSignatures(refs, signatures, state.forgeKeys);
    if (!signed.ok) report(file, signed.code, signed.reason);

    return problems.length > 0 ? { ok: false, problems } : { ok: true, state, bundles };
  }

  async #readBundle(file: string, integrity: string): Promise<BundleRead> {
    const read = await this.#read(file);
    if (!read.ok) return read.code === 'cache.no-file' ? { ok: false, code: 'cache.bundle-missing', message: `${file} is missing` } : read;
    // As the forge's exact bytes (the cache writes nothing else), served from the bytes: prompt
    // entries are parsed on first use (bundle/bundle-bytes.ts). Anything else is parsed whole.
    const fromBytes = readBundleBytes(read.bytes);
    if (fromBytes !== undefined && integrityOfBundleBytes(read.bytes) === integrity) {
      const checked = validateBundle(fromBytes.outline, { deferPrompts: true });
      if (checked.ok && checked.value.integrity === integrity) {
        checked.value.prompts = promptsFromBytes(read.bytes, fromBytes.index);
        return { ok: true, bundle: checked.value };
      }
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(read.bytes.toString('utf8'));
    } catch (err) {
      return { ok: false, code: 'cache.bundle-json', message: `${file} is not JSON (${(err as Error).message})` };
    }
    // Prompt entries are checked before each prompt is first served (store/), as for a push.
    const checked = validateBundle(parsed, { deferPrompts: true });
    if (!checked.ok) {
      const first = checked.errors[0];
      return { ok: false, code: 'cache.bundle-invalid', message: `${file} is not a valid bundle: ${first ? formatIssue(first) : 'invalid'}` };
    }
    if (checked.value.integrity !== integrity || !verifyBundleIntegrity(checked.value)) {
      return { ok: false, code: 'cache.bundle-integrity', message: `${file} does not have integrity ${integrity}: its content was changed` };
    }
    return { ok: true, bundle: checked.value };
  }

  /** A file of the cache; a problem (not a throw) unless the error is one the operator must fix. */
  async #read(file: string): Promise<Read> {
    const path = join(this.dir, file);
    try {
      return { ok: true, bytes: await readFile(path) };
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, code: 'cache.no-file', message: `${file} does not exist` };
      if (code !== undefined && FATAL_READ_CODES.has(code)) {
        throw new AnvilError('cache.io', `cannot read the receiver cache: ${(err as Error).message}`, {
          hint: `make sure the app can read and write ${this.dir} (and has file handles to spare)`,
          cause: err,
          details: { file: path, errno: code },
        });
      }
      return { ok: false, code: 'cache.unreadable', message: `${file} cannot be read (${(err as Error).message})` };
    }
  }

  async #writing<T>(path: string, task: () => Promise<T>): Promise<T> {
    try {
      return await task();
    } catch (err) {
      if (err instanceof AnvilError) throw err;
      throw new AnvilError('cache.write', `cannot write the receiver cache: ${(err as Error).message}`, {
        hint: `make sure the app can write ${this.dir} and the disk is not full`,
        cause: err,
        details: { file: path, ...(errorCode(err) === undefined ? {} : { errno: errorCode(err) }) },
      });
    }
  }

  async #ensureDirectories(): Promise<void> {
    if (this.#directoriesReady) return;
    await makeDirectoryDurably(this.#bundlesDir);
    this.#directoriesReady = true;
  }

  /** Commits, loads and collections run one at a time: each sees the others' results whole. */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

class StagedTempFile implements StagedBundle {
  #settled = false;

  constructor(
    readonly bytes: Uint8Array,
    private readonly temp: Promise<string>,
  ) {
    temp.catch(() => undefined); // a failed staging only means writeBundle writes the bytes itself
  }

  /** The temp file, now the caller's to rename; undefined when staging failed or it was discarded. */
  async take(): Promise<string | undefined> {
    if (this.#settled) return undefined;
    this.#settled = true;
    return this.temp.catch(() => undefined);
  }

  async discard(): Promise<void> {
    const path = await this.take();
    if (path !== undefined) await unlink(path).catch(() => undefined);
  }
}

/** The same bytes in memory (a span of the same body), not merely equal ones. */
function sameMemory(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.byteLength === b.byteLength;
}

/** The size of the regular file at `path`, or undefined when there is none. */
async function fileSize(path: string): Promise<number | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : -1;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false;
    throw err;
  }
}

async function listDirectory(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return [];
    throw err;
  }
}

/** Integrities a state file names, read leniently; undefined when it is not a state at all. */
function bundlesNamedBy(bytes: Buffer): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));
    const bundles = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['bundles'] : undefined;
    return typeof bundles === 'object' && bundles !== null && !Array.isArray(bundles) ? Object.keys(bundles) : undefined;
  } catch {
    return undefined;
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
