/**
 * Durable, atomic file replacement: write a temp file beside the target, fsync it, rename it
 * over the target, fsync the directory. A reader (or a process restarted after a crash or a
 * power cut) sees the old file or the new one, never a part of either.
 *
 * Written here rather than taken from a package: the client stays light (DESIGN §3), and the
 * cache also needs to keep the previous file under a second name atomically (a hard link).
 */
import { randomBytes } from 'node:crypto';
import { close, constants, fstat, fsync, openSync, write } from 'node:fs';
import { copyFile, link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

export const TEMP_SUFFIX = '.tmp';

/** A temp name beside `target`, unique across processes sharing the directory. */
export function tempPathFor(target: string): string {
  return `${target}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
}

/** `mode` 0o600 for secrets (the forge's keys): the file never exists with wider permissions. */
export async function writeFileAtomic(target: string, data: Uint8Array, mode = 0o644): Promise<void> {
  await renameDurably(await writeTempDurably(target, data, mode), target);
}

/**
 * The first half of `writeFileAtomic`: `data` written and fsynced to a new temp file beside
 * `target` (removed again on failure); returns its path. Nothing names it as `target` yet, so it
 * can be written before it is known whether it will be used.
 */
export async function writeTempDurably(target: string, data: Uint8Array, mode = 0o644): Promise<string> {
  const temp = tempPathFor(target);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  return temp;
}

/**
 * `writeTempDurably`, with the write handed to the I/O threads before this returns: the file is
 * opened synchronously and the write issued at once, so the disk works even while the caller
 * keeps the event loop busy (parsing the very body whose bytes these are). Where the platform
 * has `O_DSYNC`, the write returns only once the data is on disk (as `fdatasync` after it would),
 * so the whole job is one trip to the I/O threads, with no turn of the event loop needed between
 * writing and syncing. The directory must exist.
 */
export function writeTempDurablyNow(target: string, data: Uint8Array, mode = 0o644): Promise<string> {
  return writeTempNow(target, data, mode, false).then((written) => written.path);
}

/**
 * Which file a name points to, and which content it holds: inode, size and modification time.
 * A file of the cache is only ever replaced by a rename, never written in place, so while the
 * name points to the same inode with the same size and mtime (nanoseconds), the content is the
 * one written; a new file gets a new inode, and a reused inode a later mtime. (Git's index
 * recognises unchanged files the same way.)
 */
export interface FileIdentity {
  ino: number;
  size: number;
  mtimeMs: number;
}

export function sameFile(a: FileIdentity | undefined, b: FileIdentity): boolean {
  return a !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/**
 * `writeTempDurablyNow`, also returning the temp file's identity (an fstat of the open file once
 * written, on the same trip to the I/O threads): after the rename, the target has it.
 */
export function writeTempDurablyNowIdentified(target: string, data: Uint8Array, mode = 0o644): Promise<{ path: string; identity: FileIdentity }> {
  return writeTempNow(target, data, mode, true) as Promise<{ path: string; identity: FileIdentity }>;
}

function writeTempNow(target: string, data: Uint8Array, mode: number, identify: boolean): Promise<{ path: string; identity: FileIdentity | undefined }> {
  const temp = tempPathFor(target);
  let fd: number;
  try {
    fd = openSync(temp, DSYNC === 0 ? 'wx' : constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | DSYNC, mode);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  const written = (async () => {
    let identity: FileIdentity | undefined;
    try {
      // One write(2) for the whole buffer in practice; the loop covers a short write.
      for (let at = 0; at < data.byteLength; ) at += await writeAsync(fd, data, at, data.byteLength - at);
      if (DSYNC === 0) await fsyncAsync(fd);
      if (identify) identity = await fstatAsync(fd);
    } finally {
      await closeAsync(fd);
    }
    return { path: temp, identity };
  })();
  return written.catch(async (err: unknown) => {
    await unlink(temp).catch(() => undefined);
    throw err;
  });
}

const DSYNC = process.platform === 'win32' ? 0 : (constants.O_DSYNC ?? 0);

const writeAsync = (fd: number, data: Uint8Array, offset: number, length: number) =>
  new Promise<number>((resolve, reject) => write(fd, data, offset, length, null, (err, n) => (err ? reject(err) : resolve(n))));
const fsyncAsync = (fd: number) => new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
const fstatAsync = (fd: number) => new Promise<FileIdentity>((resolve, reject) =>
  fstat(fd, (err, stats) => (err ? reject(err) : resolve({ ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs }))));
const closeAsync = (fd: number) => new Promise<void>((resolve, reject) => close(fd, (err) => (err ? reject(err) : resolve())));

/** The second half: the temp file renamed over `target`, and the directory fsynced. */
export async function renameDurably(temp: string, target: string): Promise<void> {
  try {
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await syncDirectory(dirname(target));
}

/**
 * Makes `target` a durable second name for the current content of `source`: a hard link
 * renamed into place (no copy), or a copy where the file system has no hard links. False when
 * `source` does not exist.
 */
export async function preserveAtomic(source: string, target: string): Promise<boolean> {
  const temp = tempPathFor(target);
  try {
    try {
      await link(source, temp);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return false;
      await copyDurably(source, temp);
    }
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    if (errorCode(err) === 'ENOENT') return false;
    throw err;
  }
  await syncDirectory(dirname(target));
  return true;
}

async function copyDurably(source: string, target: string): Promise<void> {
  await copyFile(source, target);
  const handle = await open(target, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * fsync of a directory, which makes the names created, renamed or removed in it durable. Some
 * platforms cannot open or sync a directory (Windows); there the rename is all there is.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = errorCode(err);
    const unsupported = code === 'EINVAL' || (process.platform === 'win32' && (code === 'EPERM' || code === 'EISDIR'));
    if (!unsupported) throw err;
  } finally {
    await handle?.close();
  }
}

/** `mkdir -p dir`, then makes the new entries durable in their parents. */
export async function makeDirectoryDurably(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let current = dir; ; current = dirname(current)) {
    await syncDirectory(dirname(current));
    if (current === first || dirname(current) === current) break;
  }
}

export function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
