import type { Dirent } from 'node:fs';
import { realpathSync, statSync } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { AnvilError } from '@anvil/content-schema';
import { joinRepoPath, sortPaths, splitRepoPath } from './repo-path.ts';
import type { RepoSnapshot } from './snapshot.ts';

/**
 * Folders that are never content: git's own data (a folder, or a file in submodules and linked
 * worktrees) and installed packages. Skipped at any depth, for listing and reading alike.
 */
const IGNORED_NAMES = new Set(['.git', 'node_modules']);

/**
 * The files on disk below `root`, as the author sees them before committing.
 *
 * Symbolic links are skipped, silently, wherever they point (inside the root or out of it):
 * git stores a link as a path, not as the file it names, so following links would make the
 * working tree disagree with the commit built from it, and a link could read outside the root.
 * Git snapshots skip links too, so both views list the same files.
 *
 * Nothing is cached: each call reads the disk as it is now.
 */
export function openWorkingTree(root: string): RepoSnapshot {
  const realRoot = resolveRoot(root);

  /** The absolute path for repository-relative segments, or undefined if it is not inside. */
  function locate(segments: readonly string[]): string | undefined {
    if (segments.some((s) => IGNORED_NAMES.has(s) || !isPortableSegment(s))) return undefined;
    const absolute = path.join(realRoot, ...segments);
    return absolute === realRoot || absolute.startsWith(realRoot + path.sep) ? absolute : undefined;
  }

  return {
    label: 'working tree',
    source: {},

    async listFiles(dir) {
      const segments = splitRepoPath(dir);
      const absolute = segments && locate(segments);
      if (segments === undefined || absolute === undefined) return [];
      // The folder asked for must be reached without a link, like every file below it.
      if (!(await isRealDirectory(absolute))) return [];
      const files: string[] = [];
      await walk(absolute, segments.join('/'), files);
      return sortPaths(files);
    },

    async readText(file) {
      const segments = splitRepoPath(file);
      const absolute = segments && segments.length > 0 ? locate(segments) : undefined;
      if (absolute === undefined) return undefined;
      try {
        // realpath differs from the path asked for when any part of it is a link (and, on disks
        // that ignore case, may when the case differs: git would not find that file either).
        if ((await realpath(absolute)) !== absolute) return undefined;
        if (!(await stat(absolute)).isFile()) return undefined;
        return await readFile(absolute, 'utf8');
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    },

    async treeId() {
      return undefined;
    },
  };
}

function resolveRoot(root: string): string {
  try {
    // The root itself may be reached through a link (macOS: /tmp → /private/tmp); what is
    // below it may not.
    const real = realpathSync.native(path.resolve(root));
    if (statSync(real).isDirectory()) return real;
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  throw new AnvilError('repo.not-found', `${root} is not a folder`, {
    hint: 'give the path of a prompt repository (the folder that holds anvil.yaml or prompts/)',
    details: { root },
  });
}

async function walk(absolute: string, relative: string, into: string[]): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(absolute, { withFileTypes: true });
  } catch (err) {
    // Removed while we were listing: the folder is simply gone.
    if (isMissing(err)) return;
    throw err;
  }
  const subdirs: Promise<void>[] = [];
  for (const entry of entries) {
    if (IGNORED_NAMES.has(entry.name) || entry.isSymbolicLink()) continue;
    const childRelative = joinRepoPath(relative, entry.name);
    if (entry.isDirectory()) subdirs.push(walk(path.join(absolute, entry.name), childRelative, into));
    else if (entry.isFile()) into.push(childRelative);
    // Sockets, FIFOs and devices are not content.
  }
  await Promise.all(subdirs);
}

async function isRealDirectory(absolute: string): Promise<boolean> {
  try {
    return (await realpath(absolute)) === absolute && (await stat(absolute)).isDirectory();
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

/**
 * On Windows "\" and ":" inside a segment would act as a separator or a drive/stream name, so a
 * path that is harmless in git could name another file on disk.
 */
function isPortableSegment(segment: string): boolean {
  return path.sep === '/' || !/[\\:]/.test(segment);
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
