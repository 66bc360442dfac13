import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import {
  AnvilError,
  closest,
  findPromptIdProblem,
  findSetNameProblem,
  isVariantName,
  SET_MODES,
} from '@anvil/content-schema';
import { loadRepo, REPO_CONFIG_FILE, SET_CONFIG_FILE, type LoadedRepo, type LoadedSet } from '../../load/load-repo.ts';
import { openWorkingTree } from '../../repo/working-tree.ts';
import { fillPlaceholders } from '../../scaffold/placeholders.ts';
import { NEW_PROMPT_TEMPLATE, NEW_SET_TEMPLATE, readTemplate, SCHEMAS_DIR } from '../../scaffold/templates.ts';
import { EXIT_OK } from '../cli-io.ts';
import type { Command } from '../command.ts';
import { findRepoRoot } from '../find-repo-root.ts';

const USAGE_SET = 'anvil new set <name> [--mode live|review|locked] [--description <text>] [--repo <dir>] [--json]';
const USAGE_PROMPT = 'anvil new prompt <set>/<id> [--variant <name>] [--repo <dir>] [--json]';

const SUBCOMMANDS = ['set', 'prompt'];
const DEFAULT_MODE = 'review';
const SET_NAME_HINT = 'set names are lowercase letters, digits, ".", "_" and "-", starting with a letter or digit, e.g. onboarding';

export const newCommand: Command = {
  name: 'new',
  // One line: main.ts puts it in the hint of a one-line error.
  usage: 'anvil new set <name> [options] | anvil new prompt <set>/<id> [options]',
  help: [
    `  ${USAGE_SET}`,
    '      creates <promptsDir>/<name>/set.yaml',
    `  ${USAGE_PROMPT}`,
    '      creates the prompt in that set\'s folder: onboarding/welcome.message → …/onboarding/welcome/message.md',
    '',
    'Options:',
    `  --mode <mode>         set: live, review or locked (default: ${DEFAULT_MODE})`,
    '  --description <text>  set: what its prompts are for',
    '  --variant <name>      prompt: create variant <name> of an existing prompt (message.<name>.md)',
    '  --repo <dir>          the repository (default: the nearest folder with anvil.yaml or .git)',
    '  --json                print {ok, file, path} as JSON',
    '',
    'An existing file is never overwritten. Prints the path of the file it created.',
  ].join('\n'),
  options: {
    mode: { type: 'string' },
    description: { type: 'string' },
    variant: { type: 'string' },
    repo: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ values, positionals }, io) {
    const [kind, target, ...extra] = positionals;
    if (kind === undefined || !SUBCOMMANDS.includes(kind)) {
      const guess = kind === undefined ? undefined : closest(kind, SUBCOMMANDS);
      throw new AnvilError('cli.bad-arguments', kind === undefined ? 'anvil new needs "set" or "prompt"' : `anvil new makes a "set" or a "prompt", not "${kind}"`, {
        hint: guess ? `did you mean "anvil new ${guess}"?` : 'npx anvil new set <name>, or npx anvil new prompt <set>/<id>',
      });
    }
    const usage = kind === 'set' ? USAGE_SET : USAGE_PROMPT;
    if (target === undefined || extra.length > 0) {
      throw new AnvilError('cli.bad-arguments', `anvil new ${kind} takes exactly one ${kind === 'set' ? 'set name' : '<set>/<id>'}`, { hint: `usage: ${usage}` });
    }
    const onlyFor = kind === 'set' ? ['variant'] : ['mode', 'description'];
    const misplaced = onlyFor.find((option) => values[option] !== undefined);
    if (misplaced) {
      throw new AnvilError('cli.bad-arguments', `--${misplaced} is for anvil new ${kind === 'set' ? 'prompt' : 'set'}`, { hint: `usage: ${usage}` });
    }

    const root = typeof values['repo'] === 'string' ? path.resolve(io.cwd, values['repo']) : findRepoRoot(io.cwd);
    const repo = await loadRepo(openWorkingTree(root));
    const created = kind === 'set'
      ? await createSet(root, repo, target, values)
      : await createPrompt(root, repo, target, typeof values['variant'] === 'string' ? values['variant'] : undefined);

    const absolute = path.join(root, ...created.split('/'));
    if (values['json']) {
      io.out(JSON.stringify({ ok: true, file: created, path: absolute }, null, 2));
    } else {
      io.out(`created ${path.relative(io.cwd, absolute)}`);
    }
    return EXIT_OK;
  },
};

/** Writes `<promptsDir>/<name>/set.yaml`; returns its repository-relative path. */
async function createSet(root: string, repo: LoadedRepo, name: string, values: Record<string, unknown>): Promise<string> {
  const nameProblem = findSetNameProblem(name);
  if (nameProblem) {
    throw new AnvilError('set.invalid-name', nameProblem.message, { hint: SET_NAME_HINT, details: { name, index: nameProblem.index } });
  }
  const mode = typeof values['mode'] === 'string' ? values['mode'] : DEFAULT_MODE;
  if (!(SET_MODES as readonly string[]).includes(mode)) {
    throw new AnvilError('cli.bad-arguments', `--mode must be live, review or locked, not "${mode}"`, {
      hint: 'live publishes every change, review only reviewed ones, locked only releases',
    });
  }
  checkRepoConfig(repo);
  const same = repo.sets.find((s) => s.name === name);
  if (same) {
    throw new AnvilError('new.exists', `set "${name}" already exists: ${same.configFile}`, { hint: 'pick another name' });
  }
  const dir = path.posix.join(promptsDir(repo), name);
  for (const set of repo.sets) {
    if (dir === set.dir) {
      throw new AnvilError('new.exists', `${set.configFile} already exists (set "${set.name}")`, { hint: 'pick another name' });
    }
    if (dir.startsWith(`${set.dir}/`) || set.dir.startsWith(`${dir}/`)) {
      throw new AnvilError('set.nested', `a set in ${dir} would nest with set "${set.name}" in ${set.dir}`, { hint: 'sets cannot nest; pick another name' });
    }
  }

  const file = `${dir}/${SET_CONFIG_FILE}`;
  let template = await readTemplate(NEW_SET_TEMPLATE);
  const schema = `${SCHEMAS_DIR}/set.schema.json`;
  // The modeline points at the schema copy `anvil init` made; without one it would be a broken link.
  if (!existsSync(path.join(root, ...schema.split('/')))) template = template.replace(/^# yaml-language-server:.*\r?\n/, '');
  const description = typeof values['description'] === 'string' ? values['description'] : `What the ${name} prompts are for.`;
  await createFile(root, file, fillPlaceholders(template, {
    SET_SCHEMA: path.posix.relative(dir, schema),
    DESCRIPTION: yamlValue('description', description),
    MODE: mode,
  }));
  return file;
}

/** Writes the prompt (or variant) file for `<set>/<id>` in that set's folder. */
async function createPrompt(root: string, repo: LoadedRepo, spec: string, variant: string | undefined): Promise<string> {
  const slash = spec.indexOf('/');
  if (slash === -1) {
    throw new AnvilError('cli.bad-arguments', `"${spec}" names no set: give the prompt as <set>/<id>`, {
      hint: `e.g. npx anvil new prompt ${repo.sets[0]?.name ?? 'onboarding'}/${spec || 'welcome.message'}`,
    });
  }
  const setName = spec.slice(0, slash);
  const id = spec.slice(slash + 1);
  checkRepoConfig(repo);
  const set = findSet(repo, setName);
  const idProblem = findPromptIdProblem(id);
  if (idProblem) {
    throw new AnvilError('prompt.invalid-id', idProblem.message, {
      hint: 'a prompt id is dot-separated segments of letters, digits, "_" and "-", e.g. welcome.message (→ welcome/message.md)',
      details: { id, index: idProblem.index },
    });
  }
  const segments = id.split('.');
  const last = segments.pop() ?? id;
  if (last.startsWith('_')) {
    throw new AnvilError('prompt.invalid-id', `the file for "${id}" would start with "_", which makes it a partial`, {
      hint: 'start the last segment of the id with a letter or digit; to add a partial, create _<name>.md yourself',
    });
  }
  if (variant !== undefined) {
    if (!isVariantName(variant)) {
      throw new AnvilError('prompt.invalid-variant', `"${variant}" is not a valid variant name`, {
        hint: 'a variant name is one segment of letters, digits, "_" and "-", e.g. fr or formal',
      });
    }
    if (!set.prompts.some((p) => p.id === id && p.variant === undefined)) {
      throw new AnvilError('prompt.variant-without-base', `set "${set.name}" has no prompt "${id}" to make a variant of`, {
        hint: `create the base prompt first: npx anvil new prompt ${set.name}/${id}`,
      });
    }
  }
  const clash = set.prompts.find((p) => p.id === id && p.variant === variant);
  if (clash) {
    const what = variant === undefined ? `prompt "${id}"` : `variant "${variant}" of prompt "${id}"`;
    throw new AnvilError('new.exists', `${what} already exists: ${clash.file}`, { hint: 'edit it, or pick another id' });
  }

  const file = `${path.posix.join(set.dir, ...segments, last)}${variant === undefined ? '' : `.${variant}`}.md`;
  const template = await readTemplate(NEW_PROMPT_TEMPLATE);
  await createFile(root, file, fillPlaceholders(template, {
    PROMPT_ID: variant === undefined ? id : `${id} (variant ${variant})`,
  }));
  return file;
}

function findSet(repo: LoadedRepo, name: string): LoadedSet {
  const set = repo.sets.find((s) => s.name === name);
  if (set) return set;
  const nameProblem = findSetNameProblem(name);
  if (nameProblem) {
    throw new AnvilError('set.invalid-name', nameProblem.message, { hint: SET_NAME_HINT, details: { name, index: nameProblem.index } });
  }
  const names = repo.sets.map((s) => s.name);
  const guess = closest(name, names);
  throw new AnvilError('set.not-found', `no set named "${name}" in this repository`, {
    hint: guess ? `did you mean "${guess}"?` : `create it with npx anvil new set ${name}${names.length > 0 ? `; sets: ${names.join(', ')}` : ''}`,
  });
}

/** Where sets go comes from anvil.yaml: a broken one would put the new set in the wrong place. */
function checkRepoConfig(repo: LoadedRepo): void {
  const broken = repo.problems.find((p) => p.file === REPO_CONFIG_FILE && p.severity === 'error');
  if (broken) {
    throw new AnvilError('new.invalid-config', `fix ${REPO_CONFIG_FILE} first: ${broken.message}`, {
      file: broken.file, line: broken.line, column: broken.column, hint: '`npx anvil lint` lists every problem',
    });
  }
}

function promptsDir(repo: LoadedRepo): string {
  return repo.config.promptsDir.replace(/^\.\/?/, '').replace(/\/+$/, '');
}

/**
 * `value` as YAML for `<key>: ` at the top level of a file: plain when that reads back the
 * same, else quoted. Rendered inside its mapping, so that a value spanning lines is indented
 * as that position needs.
 */
function yamlValue(key: string, value: string): string {
  return stringify({ [key]: value }, { lineWidth: 0 }).slice(`${key}: `.length).replace(/\n$/, '');
}

async function createFile(root: string, file: string, text: string): Promise<void> {
  const absolute = path.join(root, ...file.split('/'));
  await mkdir(path.dirname(absolute), { recursive: true });
  try {
    await writeFile(absolute, text, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new AnvilError('new.exists', `${file} already exists; it was left as it is`, { hint: 'edit it, or pick another name' });
    }
    throw err;
  }
}
