/**
 * An export archive from the files chosen for it (pure): the manifest with every file's hash,
 * the texts, and the archive's integrity. Keys are sorted and nothing depends on the clock, so
 * the same source gives the same bytes. The format is content-schema's `anvil.archive/1`.
 */
import {
  ARCHIVE_FORMAT,
  SCHEMA_BASE_URL,
  archiveFileIntegrity,
  archiveIntegrity,
  type Archive,
  type ArchiveContents,
  type ArchiveKind,
  type ArchivedSet,
} from '@anvil/content-schema';

export interface ArchiveSetInput {
  name: string;
  version: string;
  stage: 'release' | 'head';
  role: 'requested' | 'dependency';
  contents: ArchiveContents;
  commit: string;
  tag?: string | undefined;
  /** The ranges of the set's set.yaml. */
  dependencies: Record<string, string>;
  /** Path inside the set folder → text. */
  files: Record<string, string>;
}

export interface ArchiveInput {
  what: { kind: ArchiveKind; set?: string | undefined; prompt?: string | undefined };
  project: string;
  repository?: string | undefined;
  source: { commit: string; ref?: string | undefined; committedAt: string; dirty: boolean };
  sets: readonly ArchiveSetInput[];
}

export const ARCHIVE_SCHEMA_URL = `${SCHEMA_BASE_URL}archive.schema.json`;

export function buildArchive(input: ArchiveInput): Archive {
  const sets: Record<string, ArchivedSet> = {};
  const files: Record<string, Record<string, string>> = {};
  for (const set of [...input.sets].sort((a, b) => compare(a.name, b.name))) {
    const paths = Object.keys(set.files).sort(compare);
    sets[set.name] = {
      version: set.version,
      stage: set.stage,
      ...(set.tag === undefined ? {} : { tag: set.tag }),
      role: set.role,
      contents: set.contents,
      commit: set.commit,
      dependencies: sortedRecord(set.dependencies),
      files: Object.fromEntries(paths.map((p) => [p, archiveFileIntegrity(set.files[p]!)])),
    };
    files[set.name] = Object.fromEntries(paths.map((p) => [p, set.files[p]!]));
  }
  const what = {
    kind: input.what.kind,
    ...(input.what.set === undefined ? {} : { set: input.what.set }),
    ...(input.what.prompt === undefined ? {} : { prompt: input.what.prompt }),
  };
  const source = {
    commit: input.source.commit,
    ...(input.source.ref === undefined ? {} : { ref: input.source.ref }),
    committedAt: input.source.committedAt,
    dirty: input.source.dirty,
  };
  const content = {
    $schema: ARCHIVE_SCHEMA_URL,
    format: ARCHIVE_FORMAT,
    manifest: {
      what,
      project: input.project,
      ...(input.repository === undefined ? {} : { repository: input.repository }),
      source,
      sets,
    },
    files,
  } as const;
  return { ...content, integrity: archiveIntegrity(content) } as Archive;
}

/** The archive as its file holds it: indented JSON (so it reads and diffs well), one final newline. */
export function formatArchive(archive: Archive): string {
  return `${JSON.stringify(archive, null, 2)}\n`;
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(record).sort(compare).map((key) => [key, record[key]!]));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
