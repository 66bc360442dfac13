/**
 * Reads git objects by id through one long-lived `git cat-file --batch` process per repository.
 *
 * Why not isomorphic-git, which reads everything else in-process: for each object it checks the
 * git folder again, tries the loose-object file (a failed open, and an Error, for every packed
 * object), lists the pack folder and inflates in JavaScript. Reading the 11,000 files of a
 * 10,000-prompt set took it 3–4 s; `cat-file --batch` reads them in 0.3–0.5 s (bench/RESULTS.md,
 * "Build"). Requests are pipelined: many reads may be in flight, answered in order.
 *
 * The process is started on the first read and ended after `idleMs` without reads; while it
 * idles it does not keep Node's event loop alive, so forgetting to close a reader never hangs
 * a process (closing it is still tidier).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Socket } from 'node:net';
import { AnvilError } from '@anvil/content-schema';

export interface GitObject {
  type: 'blob' | 'tree' | 'commit' | 'tag';
  content: Buffer;
}

export interface BlobReader {
  /** The object with this id, or undefined when the repository has none. */
  read(oid: string): Promise<GitObject | undefined>;
  /** Ends the git process (pending reads still get their answers); a later read starts another. */
  close(): void;
}

export interface BlobReaderOptions {
  /** End the process after this long without a read, in milliseconds (default 1000). */
  idleMs?: number | undefined;
  /** The git executable (default `git` on the PATH). */
  gitBinary?: string | undefined;
}

/** SHA-1 or SHA-256 object ids; anything else could be read by git as a batch command. */
const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const TYPES = new Set(['blob', 'tree', 'commit', 'tag']);
const NEWLINE = 0x0a;
/** How much of git's stderr to keep for an error message. */
const MAX_STDERR = 4096;

interface Request {
  oid: string;
  resolve: (object: GitObject | undefined) => void;
  reject: (err: unknown) => void;
}

interface Batch {
  child: ChildProcessWithoutNullStreams;
  /** Sent and not answered yet, oldest first. */
  waiting: Request[];
  stderr: string;
  /** The answer being read: its header, once known, and the bytes received so far. */
  header: { type: GitObject['type']; size: number } | undefined;
  chunks: Buffer[];
  received: number;
  failed: boolean;
}

/** A reader over the git folder `gitdir` (the one with `objects/`). */
export function createBlobReader(gitdir: string, options: BlobReaderOptions = {}): BlobReader {
  const idleMs = options.idleMs ?? 1000;
  const gitBinary = options.gitBinary ?? 'git';
  let batch: Batch | undefined;
  let idleTimer: NodeJS.Timeout | undefined;

  function start(): Batch {
    // Nothing from the caller's git environment (inside a hook, GIT_DIR or
    // GIT_OBJECT_DIRECTORY would point git at another repository).
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value;
    const child = spawn(gitBinary, [`--git-dir=${gitdir}`, 'cat-file', '--batch'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const b: Batch = { child, waiting: [], stderr: '', header: undefined, chunks: [], received: 0, failed: false };
    child.stdout.on('data', (chunk: Buffer) => onData(b, chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      if (b.stderr.length < MAX_STDERR) b.stderr += chunk.toString('utf8');
    });
    child.on('error', (err) => fail(b, err));
    child.on('close', (code, signal) => {
      if (b.waiting.length > 0) fail(b, new Error(`exited with ${signal ?? `code ${code}`}`));
      if (batch === b) batch = undefined;
    });
    // A closed pipe shows up as an error on stdin too; 'close' reports it.
    child.stdin.on('error', () => undefined);
    return b;
  }

  function fail(b: Batch, err: Error): void {
    if (b.failed) return;
    b.failed = true;
    if (batch === b) batch = undefined;
    const waiting = b.waiting.splice(0);
    const stderr = b.stderr.trim();
    const error = new AnvilError('git.failed', `git cat-file failed in ${gitdir}: ${stderr || err.message}`, {
      cause: err,
      hint: 'check that git is installed and that the repository is readable',
      details: { gitdir },
    });
    for (const request of waiting) request.reject(error);
    b.child.kill();
  }

  function onData(b: Batch, chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0 && !b.failed) {
      if (b.header === undefined) {
        const newline = data.indexOf(NEWLINE);
        if (newline === -1) {
          b.chunks.push(data);
          b.received += data.length;
          return;
        }
        const line = Buffer.concat([...b.chunks, data.subarray(0, newline)]).toString('latin1');
        b.chunks = [];
        b.received = 0;
        data = data.subarray(newline + 1);
        const request = b.waiting[0];
        const [, type, size] = line.split(' ');
        if (request === undefined || !line.startsWith(request.oid)) {
          fail(b, new Error(`unexpected answer "${line.slice(0, 200)}"`));
          return;
        }
        if (type === 'missing' || type === 'ambiguous') {
          b.waiting.shift();
          request.resolve(undefined);
          idleIfDone(b);
          continue;
        }
        if (type === undefined || !TYPES.has(type) || size === undefined || !/^\d+$/.test(size)) {
          fail(b, new Error(`unexpected answer "${line.slice(0, 200)}"`));
          return;
        }
        b.header = { type: type as GitObject['type'], size: Number(size) };
      }
      // The content, then one newline.
      const needed = b.header.size + 1 - b.received;
      if (data.length < needed) {
        b.chunks.push(data);
        b.received += data.length;
        return;
      }
      b.chunks.push(data.subarray(0, needed));
      data = data.subarray(needed);
      const whole = b.chunks.length === 1 ? b.chunks[0]! : Buffer.concat(b.chunks);
      const object: GitObject = { type: b.header.type, content: whole.subarray(0, b.header.size) };
      b.header = undefined;
      b.chunks = [];
      b.received = 0;
      b.waiting.shift()!.resolve(object);
      idleIfDone(b);
    }
  }

  /** With nothing in flight, let Node exit, and end git if no read comes for a while. */
  function idleIfDone(b: Batch): void {
    if (b.waiting.length > 0 || batch !== b) return;
    setRef(b, false);
    idleTimer = setTimeout(() => {
      if (batch === b && b.waiting.length === 0) reader.close();
    }, idleMs);
    idleTimer.unref();
  }

  const reader: BlobReader = {
    read(oid) {
      if (!OID.test(oid)) return Promise.reject(new Error(`"${oid}" is not a full git object id`));
      if (idleTimer !== undefined) {
        clearTimeout(idleTimer);
        idleTimer = undefined;
      }
      const b = batch ?? (batch = start());
      setRef(b, true);
      return new Promise((resolve, reject) => {
        b.waiting.push({ oid, resolve, reject });
        b.child.stdin.write(`${oid}\n`);
      });
    },
    close() {
      if (idleTimer !== undefined) {
        clearTimeout(idleTimer);
        idleTimer = undefined;
      }
      const b = batch;
      batch = undefined;
      // git answers what it was sent, then exits at the end of its input.
      b?.child.stdin.end();
    },
  };
  return reader;
}

/** Whether the process and its pipes keep Node's event loop alive. */
function setRef(b: Batch, on: boolean): void {
  for (const handle of [b.child, b.child.stdin as unknown as Socket, b.child.stdout as unknown as Socket, b.child.stderr as unknown as Socket]) {
    if (on) handle.ref();
    else handle.unref();
  }
}
