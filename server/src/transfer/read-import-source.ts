/**
 * `anvil import`'s reading edge: what the user pointed at — an archive, a folder or a single
 * file of Dotprompt or GitHub Models prompts — read from disk and turned into one `Incoming`.
 * The format is the one given, else told by file extensions (a folder with both kinds is
 * ambiguous and needs `--format`). Sizes are bounded before anything is read.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { AnvilError, LIMITS, findSetNameProblem } from '@anvil/content-schema';
import type { Problem } from '../lint/problem.ts';
import { DOTPROMPT_EXTENSION, fromDotprompt } from './from-dotprompt.ts';
import { fromGithubModels, GITHUB_MODELS_EXTENSIONS } from './from-github-models.ts';
import { incomingFromArchive, type ConvertOptions, type Converted, type ImportFormat, type Incoming } from './incoming.ts';
import { readArchive } from './read-archive.ts';

export const IMPORT_FORMATS: readonly ImportFormat[] = ['anvil', 'dotprompt', 'github-models'];

/** Far above any real archive; an archive is read whole. */
const MAX_ARCHIVE_BYTES = 512 * 1024 * 1024;
const MAX_SOURCE_FILES = LIMITS.prompts;

export interface ImportSourceOptions {
  cwd: string;
  format?: ImportFormat | undefined;
  /** The set Dotprompt or GitHub Models files go into. */
  set?: string | undefined;
}

export interface ReadSource {
  incoming?: Incoming;
  problems: Problem[];
}

export async function readImportSource(spec: string, options: ImportSourceOptions): Promise<ReadSource> {
  const absolute = path.resolve(options.cwd, spec);
  const info = await stat(absolute).catch((err: NodeJS.ErrnoException) => {
    throw new AnvilError('import.not-found', `cannot read ${spec}: ${err.code === 'ENOENT' ? 'no such file or folder' : err.code ?? err.message}`, {
      hint: 'give an archive written by `anvil export`, or a folder of .prompt or .prompt.yml files',
    });
  });

  if (info.isFile()) {
    const format = options.format ?? formatOfFile(spec);
    if (format === 'anvil') {
      if (options.set !== undefined) {
        throw new AnvilError('cli.bad-arguments', '--set is for Dotprompt and GitHub Models imports; an archive names its own sets', { hint: 'drop --set' });
      }
      if (info.size > MAX_ARCHIVE_BYTES) {
        throw new AnvilError('import.too-large', `${spec} is ${info.size} bytes, more than the ${MAX_ARCHIVE_BYTES} an archive may have`, { file: spec, hint: 'export fewer sets at a time' });
      }
      const read = readArchive(await readFile(absolute, 'utf8'), spec);
      return read.archive ? { incoming: { ...incomingFromArchive(read.archive, spec), warnings: read.problems }, problems: read.problems } : { problems: read.problems };
    }
    if (options.set === undefined) {
      throw new AnvilError('cli.bad-arguments', `name the set to import ${spec} into`, { hint: `e.g. anvil import ${spec} --set support` });
    }
    const sources = { [path.basename(absolute)]: await readSourceFile(absolute, spec) };
    return convert(format, sources, { set: checkedSet(options.set, spec), sourceFile: () => spec, sourceLabel: spec });
  }

  if (!info.isDirectory()) throw new AnvilError('import.not-found', `${spec} is neither a file nor a folder`, { hint: 'give an archive or a folder' });
  const listed = await listFolder(absolute);
  const format = options.format ?? formatOfFolder(spec, listed);
  if (format === 'anvil') {
    throw new AnvilError('cli.bad-arguments', `${spec} is a folder; an Anvil archive is one .json file`, { hint: 'give the archive file, or --format dotprompt|github-models for a folder of prompts' });
  }
  const wanted = (rel: string) => (format === 'dotprompt' ? rel.endsWith(DOTPROMPT_EXTENSION) : GITHUB_MODELS_EXTENSIONS.some((e) => rel.endsWith(e)));
  const sources: Record<string, string> = {};
  // Files of another kind are listed for the warning that names them, not read.
  for (const rel of listed) sources[rel] = wanted(rel) ? await readSourceFile(path.join(absolute, ...rel.split('/')), rel) : '';
  const set = checkedSet(options.set ?? path.basename(absolute).toLowerCase(), spec, options.set === undefined);
  const shown = (rel: string) => path.join(spec, ...rel.split('/'));
  return convert(format, sources, { set, sourceFile: shown, sourceLabel: spec });
}

function convert(format: ImportFormat, sources: Record<string, string>, options: ConvertOptions): Converted {
  return format === 'dotprompt' ? fromDotprompt(sources, options) : fromGithubModels(sources, options);
}

export function formatOfFile(file: string): ImportFormat {
  if (GITHUB_MODELS_EXTENSIONS.some((e) => file.endsWith(e))) return 'github-models';
  if (file.endsWith(DOTPROMPT_EXTENSION)) return 'dotprompt';
  if (file.endsWith('.json')) return 'anvil';
  throw new AnvilError('import.unknown-format', `cannot tell the format of ${file} from its name`, {
    hint: 'name it .json (an Anvil archive), .prompt (Dotprompt) or .prompt.yml (GitHub Models), or pass --format anvil|dotprompt|github-models',
  });
}

function formatOfFolder(spec: string, files: readonly string[]): ImportFormat {
  const models = files.filter((f) => GITHUB_MODELS_EXTENSIONS.some((e) => f.endsWith(e))).length;
  const dotprompt = files.filter((f) => f.endsWith(DOTPROMPT_EXTENSION)).length;
  if (models > 0 && dotprompt > 0) {
    throw new AnvilError('import.ambiguous-format', `${spec} holds both Dotprompt (${dotprompt} .prompt) and GitHub Models (${models} .prompt.yml) files`, {
      hint: 'import one kind at a time: --format dotprompt or --format github-models',
    });
  }
  if (models > 0) return 'github-models';
  if (dotprompt > 0) return 'dotprompt';
  throw new AnvilError('import.unknown-format', `${spec} holds no .prompt or .prompt.yml file`, {
    hint: 'give a folder of Dotprompt (.prompt) or GitHub Models (.prompt.yml) files, or an archive written by `anvil export`',
  });
}

function checkedSet(name: string, spec: string, fromFolder = false): string {
  const bad = findSetNameProblem(name);
  if (!bad) return name;
  throw new AnvilError('import.set-name', fromFolder
    ? `the folder name "${name}" is not a valid set name (${bad.message}), so name the set`
    : `"${name}" is not a valid set name: ${bad.message}`, {
    hint: `pass --set <name>: lowercase letters, digits, ".", "_" and "-", e.g. anvil import ${spec} --set support`,
  });
}

async function readSourceFile(absolute: string, shown: string): Promise<string> {
  const info = await stat(absolute);
  if (info.size > LIMITS.template) {
    throw new AnvilError('import.too-large', `${shown} is ${info.size} bytes, more than a prompt may have (${LIMITS.template})`, { file: shown, hint: 'split it' });
  }
  return readFile(absolute, 'utf8');
}

/** Files below `dir`, "/"-separated and sorted; dot-files, node_modules and links left out. */
async function listFolder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (at: string, prefix: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(at, { withFileTypes: true });
    } catch (err) {
      throw new AnvilError('import.not-found', `cannot read ${at}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'check the folder\'s permissions' });
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) await walk(path.join(at, entry.name), rel);
      else if (entry.isFile()) out.push(rel);
      if (out.length > MAX_SOURCE_FILES) {
        throw new AnvilError('import.too-large', `more than ${MAX_SOURCE_FILES} files under ${dir}`, { hint: 'import a smaller folder' });
      }
    }
  };
  await walk(dir, '');
  return out.sort();
}
