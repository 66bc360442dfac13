/**
 * A read-only view of a prompt repository's files at one point: the working tree, or a git
 * ref/tag/commit read in-process without a checkout. Loading, linting and building only ever
 * see this interface, so they stay pure over plain data and can be tested without git.
 */
export interface SnapshotSource {
  /** The commit the files come from; undefined for the working tree. */
  commit?: string | undefined;
  /** The ref asked for (`main`, `onboarding@1.2.0`), when there was one. */
  ref?: string | undefined;
  /** The annotated or lightweight tag name, when `ref` resolved through a tag. */
  tag?: string | undefined;
  /** The commit's committer date as ISO 8601 (from git, never the wall clock). */
  committedAt?: string | undefined;
}

export interface RepoSnapshot {
  /** How to name this snapshot to a person: "working tree", "onboarding@1.2.0 (a1b2c3d)". */
  readonly label: string;
  readonly source: SnapshotSource;
  /**
   * Every file below `dir` (repository-relative, "/"-separated, no leading "./"), recursively,
   * sorted by path. `dir` = "" lists the whole repository. Missing dir → [].
   */
  listFiles(dir: string): Promise<string[]>;
  /** A file's text (UTF-8), or undefined when there is no such file. */
  readText(path: string): Promise<string | undefined>;
  /**
   * The git tree id of a directory (content address: same files → same id), or undefined for
   * the working tree or a missing dir. Incremental builds key on it.
   */
  treeId(dir: string): Promise<string | undefined>;
  /**
   * The git blob id of a file (content address: same bytes → same id), known without reading
   * the file; undefined for a missing file. Absent where files have no blob id (the working
   * tree, memory). The build's per-prompt cache keys on it, so unchanged prompts are not read.
   */
  blobId?(path: string): Promise<string | undefined>;
}

/** A snapshot over an in-memory map of files: for pure tests and for generated content. */
export function memorySnapshot(files: Record<string, string>, label = 'memory', source: SnapshotSource = {}): RepoSnapshot {
  const paths = Object.keys(files).sort();
  return {
    label,
    source,
    async listFiles(dir) {
      const prefix = dir === '' ? '' : `${dir.replace(/\/+$/, '')}/`;
      return paths.filter((p) => p.startsWith(prefix));
    },
    async readText(path) {
      return Object.hasOwn(files, path) ? files[path] : undefined;
    },
    async treeId() {
      return undefined;
    },
  };
}
