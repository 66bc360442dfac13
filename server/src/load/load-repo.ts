/**
 * Loads a prompt repository from a snapshot (working tree or git ref): `anvil.yaml`, the sets
 * (every folder with a `set.yaml` under `promptsDir`), and each set's prompt files, variants and
 * partials, named as DESIGN.md §4 says. Nothing is compiled here; problems with the layout
 * itself (bad YAML, bad names, duplicates, variants without a base) are collected, not thrown.
 */
import path from 'node:path/posix';
import {
  findPartialNameProblem,
  findPromptIdProblem,
  findSetNameProblem,
  isVariantName,
  validateRepoConfig,
  validateSetConfig,
  type ResolvedRepoConfig,
  type ResolvedSetConfig,
} from '@anvil/content-schema';
import { problem, type Problem } from '../lint/problem.ts';
import type { RepoSnapshot } from '../repo/snapshot.ts';
import { readYamlConfig } from './read-yaml-config.ts';

export const REPO_CONFIG_FILE = 'anvil.yaml';
export const SET_CONFIG_FILE = 'set.yaml';
/** What a prompt file (or partial) is named: `.md`, or `.prompt` as Dotprompt names them. */
export const PROMPT_EXTENSIONS: readonly string[] = ['.md', '.prompt'];

export interface PromptFile {
  /** Repository-relative path. */
  file: string;
  /** `welcome/message.fr.md` → `welcome.message`. */
  id: string;
  /** `welcome/message.fr.md` → `fr`; undefined for the base prompt. */
  variant: string | undefined;
  source: string;
}

export interface PartialFile {
  file: string;
  /** `_signature.md` → `signature`; `emails/_footer.md` → `emails/footer`. */
  name: string;
  source: string;
}

export interface LoadedSet {
  name: string;
  /** Repository-relative folder of the set. */
  dir: string;
  configFile: string;
  /** set.yaml as written, for positions in problems. */
  configText: string;
  config: ResolvedSetConfig;
  prompts: PromptFile[];
  partials: PartialFile[];
  /** Git tree id of the set folder (undefined for the working tree). */
  treeId: string | undefined;
}

export interface LoadedRepo {
  snapshot: RepoSnapshot;
  config: ResolvedRepoConfig;
  /** anvil.yaml as written, for positions in problems; undefined when there is none. */
  configText?: string | undefined;
  sets: LoadedSet[];
  problems: Problem[];
}

const DEFAULT_REPO_CONFIG: ResolvedRepoConfig = { promptsDir: 'prompts', rollouts: {}, aliases: {} };

export async function loadRepo(snapshot: RepoSnapshot): Promise<LoadedRepo> {
  const problems: Problem[] = [];

  let config = DEFAULT_REPO_CONFIG;
  const repoConfigText = await snapshot.readText(REPO_CONFIG_FILE);
  if (repoConfigText !== undefined) {
    const read = readYamlConfig(REPO_CONFIG_FILE, repoConfigText, validateRepoConfig);
    problems.push(...read.problems);
    if (read.value) config = read.value;
  }

  const promptsDir = normaliseDir(config.promptsDir);
  const files = await snapshot.listFiles(promptsDir);
  const setDirs = files
    .filter((f) => path.basename(f) === SET_CONFIG_FILE)
    .map((f) => path.dirname(f))
    .sort();
  if (setDirs.length === 0) {
    problems.push(problem('warning', 'repo.no-sets', `no prompt set found under "${promptsDir || '.'}"`, {
      file: repoConfigText === undefined ? undefined : REPO_CONFIG_FILE,
      hint: 'a prompt set is a folder with a set.yaml; create one with `anvil new set <name>`',
    }));
  }

  const sets: LoadedSet[] = [];
  const byName = new Map<string, LoadedSet>();
  for (const dir of setDirs) {
    const parent = setDirs.find((other) => other !== dir && dir.startsWith(`${other}/`));
    const configFile = `${dir}/${SET_CONFIG_FILE}`;
    if (parent) {
      problems.push(problem('error', 'set.nested', `set "${dir}" is inside set "${parent}"`, {
        file: configFile, line: 1, column: 1, hint: 'sets cannot nest; move one of them',
      }));
      continue;
    }
    const loaded = await loadSet(snapshot, dir, setDirs, files, problems);
    if (!loaded) continue;
    const clash = byName.get(loaded.name);
    if (clash) {
      problems.push(problem('error', 'set.duplicate-name', `set name "${loaded.name}" is also used by ${clash.configFile}`, {
        file: configFile, line: 1, column: 1, hint: 'give one of them another `name:` in set.yaml',
      }));
      continue;
    }
    byName.set(loaded.name, loaded);
    sets.push(loaded);
  }
  return { snapshot, config, configText: repoConfigText, sets, problems };
}

async function loadSet(
  snapshot: RepoSnapshot,
  dir: string,
  setDirs: string[],
  files: string[],
  problems: Problem[],
): Promise<LoadedSet | undefined> {
  const configFile = `${dir}/${SET_CONFIG_FILE}`;
  const configText = (await snapshot.readText(configFile)) ?? '';
  const read = readYamlConfig(configFile, configText, validateSetConfig);
  problems.push(...read.problems);
  if (!read.value) return undefined;

  const name = read.value.name ?? path.basename(dir);
  const nameProblem = findSetNameProblem(name);
  if (nameProblem) {
    problems.push(problem('error', 'set.invalid-name', `set name "${name}" is invalid: ${nameProblem.message}`, {
      file: configFile, line: 1, column: 1,
      hint: 'set names are lowercase letters, digits, ".", "_" and "-", starting with a letter or digit; name it in set.yaml with `name:`',
    }));
    return undefined;
  }

  // The set's own files: below its folder, not inside another set's folder.
  const own = files.filter((f) => f.startsWith(`${dir}/`) && !setDirs.some((d) => d !== dir && f.startsWith(`${d}/`)));
  const prompts: PromptFile[] = [];
  const partials: PartialFile[] = [];
  for (const file of own) {
    const ext = PROMPT_EXTENSIONS.find((e) => file.endsWith(e));
    if (!ext) continue;
    const rel = file.slice(dir.length + 1, -ext.length);
    const source = (await snapshot.readText(file)) ?? '';
    const base = path.basename(rel);
    if (base.startsWith('_')) {
      const name = path.join(path.dirname(rel), base.slice(1)).replace(/^\.\//, '');
      // A bundle names its partials with the same pattern; `___proto__.md` (`__proto__`) would
      // lint clean and then never render (issue 14).
      const nameProblem = findPartialNameProblem(name);
      if (nameProblem) {
        problems.push(problem('error', 'partial.invalid-name', `"${rel}${ext}" gives the invalid partial name "${name}": ${nameProblem.message}`, {
          file, line: 1, column: 1,
          hint: 'a partial is named by its path without the leading "_": letters, digits, "_" and "-" in each folder and file name',
        }));
        continue;
      }
      partials.push({ file, name, source });
      continue;
    }
    const parsed = promptIdOf(rel);
    const idProblem = findPromptIdProblem(parsed.id);
    if (idProblem) {
      problems.push(problem('error', 'prompt.invalid-id', `"${rel}${ext}" gives the invalid prompt id "${parsed.id}": ${idProblem.message}`, {
        file, line: 1, column: 1, hint: 'prompt ids come from the path: letters, digits, "_" and "-" in each folder and file name',
      }));
      continue;
    }
    if (parsed.variant !== undefined && !isVariantName(parsed.variant)) {
      problems.push(problem('error', 'prompt.invalid-variant', `"${parsed.variant}" is not a valid variant name`, {
        file, line: 1, column: 1, hint: 'a variant is the last dot-segment of the file name, e.g. message.fr.md',
      }));
      continue;
    }
    prompts.push({ file, id: parsed.id, variant: parsed.variant, source });
  }

  checkDuplicatesAndBases(prompts, problems);
  return {
    name, dir, configFile, configText, config: read.value, prompts, partials, treeId: await snapshot.treeId(dir),
  };
}

/** `welcome/message.fr` → id `welcome.message`, variant `fr` (Dotprompt's naming). */
export function promptIdOf(relWithoutExt: string): { id: string; variant: string | undefined } {
  const segments = relWithoutExt.split('/');
  const fileName = segments.pop() ?? '';
  const dot = fileName.indexOf('.');
  const name = dot === -1 ? fileName : fileName.slice(0, dot);
  const variant = dot === -1 ? undefined : fileName.slice(dot + 1);
  return { id: [...segments, name].join('.'), variant };
}

function checkDuplicatesAndBases(prompts: PromptFile[], problems: Problem[]): void {
  const seen = new Map<string, PromptFile>();
  const bases = new Set(prompts.filter((p) => p.variant === undefined).map((p) => p.id));
  for (const p of prompts) {
    const key = `${p.id}\u0000${p.variant ?? ''}`;
    const first = seen.get(key);
    if (first) {
      const what = p.variant ? `variant "${p.variant}" of prompt "${p.id}"` : `prompt id "${p.id}"`;
      problems.push(problem('error', 'prompt.duplicate-id', `${what} is defined twice (also in ${first.file})`, {
        file: p.file, line: 1, column: 1, hint: 'rename or remove one of the files',
      }));
    } else {
      seen.set(key, p);
    }
    if (p.variant !== undefined && !bases.has(p.id)) {
      problems.push(problem('error', 'prompt.variant-without-base', `variant "${p.variant}" has no base prompt "${p.id}"`, {
        file: p.file, line: 1, column: 1, hint: `add ${p.id.split('.').pop()}.md beside it; a variant is an alternative body for an existing prompt`,
      }));
    }
  }
}

function normaliseDir(dir: string): string {
  return dir.replace(/^\.\/?/, '').replace(/\/+$/, '');
}
