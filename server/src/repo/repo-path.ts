/**
 * Repository-relative paths as snapshots accept them: "/"-separated, no leading "./", no
 * trailing "/". Both the working tree and git snapshots go through here, so that a path means
 * the same file whichever way the repository is read, and no path can climb out of it.
 */

/**
 * The segments of `path` ("prompts/core/" → ["prompts", "core"], "" → []), or undefined when it
 * names nothing inside the repository (a ".." segment). Empty and "." segments are dropped.
 */
export function splitRepoPath(path: string): string[] | undefined {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    // A NUL byte would be cut short by the OS and name a different file than the one asked for.
    if (segment === '..' || segment.includes('\0')) return undefined;
    segments.push(segment);
  }
  return segments;
}

/** `dir` and `name` joined with "/", for building listed paths. */
export function joinRepoPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/**
 * Sorts listed paths the way `memorySnapshot` does (UTF-16 code units), not in git's tree
 * order ("a/b" after "a.md"), so every snapshot lists the same files in the same order.
 */
export function sortPaths(paths: string[]): string[] {
  return paths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
