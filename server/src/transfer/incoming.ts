/**
 * What an import brings, whatever it was read from (an export archive, a folder of Dotprompt
 * files, GitHub Models prompt files): sets of files by path inside the set folder. The import
 * plan works on this alone.
 */
import type { Archive } from '@anvil/content-schema';
import type { Problem } from '../lint/problem.ts';

export type ImportFormat = 'anvil' | 'dotprompt' | 'github-models';

export interface IncomingSet {
  name: string;
  /** Path inside the set folder → text; `set.yaml` included. */
  files: Record<string, string>;
  /**
   * For sets made up by a conversion (Dotprompt, GitHub Models): their set.yaml is written only
   * when the target has no such set, and never counts as a conflict.
   */
  configOnlyIfNew: boolean;
  /** Where each file came from, for messages and for problems found in it. */
  origin: Record<string, Origin>;
  /** The version the source had (archives), for notes. */
  version?: string | undefined;
  stage?: 'release' | 'head' | undefined;
}

export interface Origin {
  /** The file as the user knows it: the archive (`x.anvil.json`) or the source file. */
  file: string;
  /**
   * True when the written text is the source text itself, so line and column of a problem in
   * one are those of the other; false for converted files.
   */
  sameText: boolean;
  /** Inside an archive: `<set>/<path>`. */
  entry?: string | undefined;
}

export interface Incoming {
  format: ImportFormat;
  /** One line on what is imported, for the summary. */
  label: string;
  sets: IncomingSet[];
  /** What a conversion could not carry over, and anything else worth knowing. */
  warnings: Problem[];
}

export function incomingFromArchive(archive: Archive, file: string): Incoming {
  const { manifest } = archive;
  const what = manifest.what.kind === 'project' ? `project ${manifest.project}`
    : manifest.what.kind === 'set' ? `set ${manifest.what.set}` : `prompt ${manifest.what.set}/${manifest.what.prompt}`;
  const from = `${manifest.repository ?? manifest.project} at ${manifest.source.ref ?? 'working tree'} (${manifest.source.commit.slice(0, 7)}${manifest.source.dirty ? ', uncommitted changes' : ''})`;
  const sets = Object.entries(manifest.sets).map(([name, entry]): IncomingSet => ({
    name,
    files: { ...archive.files[name] },
    configOnlyIfNew: false,
    origin: Object.fromEntries(Object.keys(entry.files).map((path) => [path, { file, sameText: false, entry: `${name}/${path}` }])),
    version: entry.version,
    stage: entry.stage,
  }));
  return { format: 'anvil', label: `${what} from ${from}`, sets, warnings: [] };
}

export interface ConvertOptions {
  /** The set to import into. */
  set: string;
  /** How to name a source file (path relative to the source folder) to the user. */
  sourceFile: (rel: string) => string;
  /** The source folder, as the user gave it. */
  sourceLabel: string;
}

export interface Converted {
  incoming?: Incoming;
  /** Errors (nothing is imported then) and warnings. */
  problems: Problem[];
}

/**
 * The set.yaml of a set made by a conversion, as `anvil new set` writes one (the modeline is
 * pointed at the target's schema copy, or dropped, when the plan places it).
 */
export function convertedSetConfig(description: string): string {
  return [
    '# yaml-language-server: $schema=.anvil/schemas/set.schema.json',
    `description: ${JSON.stringify(description)}`,
    '# live (publish every change), review (publish reviewed changes) or locked (publish releases only).',
    'mode: review',
    '',
  ].join('\n');
}
