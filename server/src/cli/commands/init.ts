import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AnvilError, findRepositoryNameProblem } from '@anvil/content-schema';
import { REPO_CONFIG_FILE } from '../../load/load-repo.ts';
import { workTreeRoot } from '../../repo/git-cli.ts';
import { isValidRefName } from '../../repo/resolve-ref.ts';
import { currentBranch, DEFAULT_INIT_BRANCH, initRepositoryOnBranch } from '../../scaffold/git-init.ts';
import { fillPlaceholders } from '../../scaffold/placeholders.ts';
import { planScaffold, type PlannedFile, type ScaffoldWrite } from '../../scaffold/plan-scaffold.ts';
import { scopeFromFolderName } from '../../scaffold/scope-name.ts';
import { cliRange, INIT_EXAMPLE, INIT_FILES, INIT_SCHEMAS, readSchema, readTemplate, SCHEMAS_DIR } from '../../scaffold/templates.ts';
import { colour, EXIT_OK, type CliIO } from '../cli-io.ts';
import type { Command } from '../command.ts';

const USAGE = 'anvil init [dir] [--name @scope] [--branch <name>] [--force] [--json] | anvil init [dir] --schemas-only';
const PACKAGE_FILE = 'package.json';

const VERBS: Record<PlannedFile['action'], string> = {
  create: 'created',
  overwrite: 'overwrote',
  update: 'updated',
  unchanged: 'unchanged',
  skip: 'skipped',
};

export const initCommand: Command = {
  name: 'init',
  usage: USAGE,
  help: [
    'Options:',
    '  --name <@scope>   the repository scope used in addresses (default: "@" + the folder name)',
    `  --branch <name>   the branch of the new git repository (default: ${DEFAULT_INIT_BRANCH}, whatever git's`,
    '                    init.defaultBranch says); a folder already in a git repository keeps its branch',
    '  --force           overwrite anvil.yaml and the example files if they exist',
    `  --schemas-only    only refresh the schema copies in ${SCHEMAS_DIR}/ (after upgrading @anvil/server)`,
    '  --json            print {ok, dir, name, branch, files[], gitInit, notes[], next[]} as JSON',
    '',
    'Writes, in dir (default: the current folder; created if missing):',
    '  anvil.yaml                         the repository config',
    '  prompts/hello/                     an example set: a prompt, a variant and a partial',
    '  package.json                       @anvil/server in devDependencies (only added to an existing one)',
    '  .github/workflows/anvil-lint.yml   runs `npm ci --ignore-scripts` and `npx --no-install anvil lint --format github` on pull requests',
    `  ${`${SCHEMAS_DIR}/`.padEnd(35)}the JSON Schemas, so editors validate offline`,
    '  .vscode/settings.json, .vscode/extensions.json, .gitignore (merged into existing ones)',
    `and runs \`git init\` (branch ${DEFAULT_INIT_BRANCH}, or --branch) unless dir is already inside a git`,
    'repository. Refuses, writing nothing, when dir already has an anvil.yaml or a different',
    'example file (unless --force).',
  ].join('\n'),
  options: { name: { type: 'string' }, branch: { type: 'string' }, force: { type: 'boolean' }, 'schemas-only': { type: 'boolean' }, json: { type: 'boolean' } },
  async run({ values, positionals }, io) {
    if (positionals.length > 1) {
      throw new AnvilError('cli.bad-arguments', `anvil init takes one folder, got ${positionals.length}`, { hint: `usage: ${USAGE}` });
    }
    const dir = path.resolve(io.cwd, positionals[0] ?? '.');
    const shown = path.relative(io.cwd, dir) || '.';
    const force = values['force'] === true;
    await checkFolder(dir, shown);
    if (values['schemas-only'] === true) return refreshSchemas(dir, shown, values, io);
    const name = typeof values['name'] === 'string' ? checkScope(values['name']) : scopeFromFolderName(path.basename(dir));
    const askedBranch = typeof values['branch'] === 'string' ? checkBranch(values['branch']) : undefined;

    // Before anything is written: a repository that exists keeps its branch, so asking for
    // another one cannot be honoured.
    const gitRoot = await workTreeRoot(await nearestExisting(dir));
    const existingBranch = gitRoot === undefined ? undefined : await currentBranch(gitRoot);
    if (gitRoot !== undefined && askedBranch !== undefined && existingBranch !== askedBranch) {
      throw new AnvilError('init.branch-exists', `${shown} is in the git repository ${gitRoot}, whose branch is ${existingBranch ?? '(detached HEAD)'}, not ${askedBranch}; nothing was written`, {
        hint: `anvil init keeps an existing repository's branch: drop --branch, or rename the branch yourself (git branch -m ${askedBranch})`,
      });
    }
    const initBranch = askedBranch ?? DEFAULT_INIT_BRANCH;
    const branch = gitRoot === undefined ? initBranch : existingBranch;

    const writes = await scaffoldWrites(name);
    const existing = await readExisting(dir, writes.map((w) => w.target));
    if (existing.has(REPO_CONFIG_FILE) && !force) {
      throw new AnvilError('init.exists', `${shown} already has an ${REPO_CONFIG_FILE}; nothing was written`, {
        hint: 'this is a prompt repository already; pass --force to overwrite anvil.yaml and the example files',
      });
    }
    const plan = planScaffold(writes, existing, { force });
    if (plan.conflicts.length > 0) {
      throw new AnvilError('init.exists', `these files exist in ${shown} and differ from the scaffold: ${plan.conflicts.join(', ')}; nothing was written`, {
        hint: 'move them away, or pass --force to overwrite them',
      });
    }

    for (const file of plan.files) {
      if (file.text === undefined) continue;
      const absolute = path.join(dir, ...file.target.split('/'));
      await mkdir(path.dirname(absolute), { recursive: true });
      // "wx" for new files: one that appeared since it was read is not silently replaced.
      await writeFile(absolute, file.text, { flag: file.action === 'create' ? 'wx' : 'w' });
    }

    const notes = [...plan.notes];
    if (gitRoot === undefined) {
      await initRepositoryOnBranch(dir, initBranch).catch((err: unknown) => {
        throw new AnvilError('git.failed', `the files are written, but ${(err as Error).message}`, {
          hint: `make ${shown} a git repository yourself (git init): releases are git tags`, cause: err,
        });
      });
    } else if (path.resolve(gitRoot) !== (await realpath(dir))) {
      notes.push(
        `${shown} is inside the git repository ${gitRoot}: GitHub runs workflows only from the top folder's ` +
          `.github/workflows, so move .github/workflows/anvil-lint.yml there and run its steps with ` +
          `working-directory: ${path.relative(gitRoot, await realpath(dir)).split(path.sep).join('/')}`,
      );
    }

    const packageAction = plan.files.find((f) => f.target === PACKAGE_FILE)?.action;
    // `npx anvil` needs the CLI installed here, and `npm ci` in CI a committed package-lock.json.
    const needsInstall = packageAction !== 'unchanged' || !existsSync(path.join(dir, 'package-lock.json'))
      || !existsSync(path.join(dir, 'node_modules', '@anvil', 'server', 'package.json'));
    const next = nextSteps(name, shown, needsInstall);
    if (values['json']) {
      io.out(JSON.stringify({
        ok: true, dir, name, branch: branch ?? null, files: plan.files.map((f) => ({ file: f.target, action: f.action })),
        gitInit: gitRoot === undefined, notes, next: next.map((s) => s.command),
      }, null, 2));
      return EXIT_OK;
    }
    const lines = [colour(io, 32, `Created the prompt repository ${name} in ${shown}`)];
    for (const file of plan.files) lines.push(`  ${VERBS[file.action].padEnd(9)}  ${file.target}`);
    if (gitRoot === undefined) lines.push(`  git init (branch ${initBranch})`);
    for (const note of notes) lines.push('', colour(io, 33, `note: ${note}`));
    lines.push('', 'Next steps:', ...formatSteps(next));
    io.out(lines.join('\n'));
    return EXIT_OK;
  },
};

/** Every file init writes, filled in: the templates, then content-schema's schemas. */
async function scaffoldWrites(name: string): Promise<ScaffoldWrite[]> {
  const values = { NAME: name, CLI_RANGE: await cliRange() };
  const writes: ScaffoldWrite[] = [];
  for (const file of INIT_FILES) {
    writes.push({ target: file.target, policy: file.policy, text: fillPlaceholders(await readTemplate(file.template), values) });
  }
  writes.push(...(await schemaWrites()));
  return writes;
}

async function schemaWrites(): Promise<ScaffoldWrite[]> {
  const writes: ScaffoldWrite[] = [];
  for (const schema of INIT_SCHEMAS) {
    writes.push({ target: `${SCHEMAS_DIR}/${schema}`, policy: 'replace', text: await readSchema(schema) });
  }
  return writes;
}

/**
 * `--schemas-only`: the local schema copies made the same as this @anvil/server's, and nothing
 * else touched, so that a repository scaffolded by an older version (or examples/prompts) can
 * catch up without `--force` rewriting its files.
 */
async function refreshSchemas(dir: string, shown: string, values: Record<string, unknown>, io: CliIO): Promise<number> {
  const extra = ['name', 'branch', 'force'].find((option) => values[option] !== undefined);
  if (extra) throw new AnvilError('cli.bad-arguments', `--${extra} does nothing with --schemas-only`, { hint: `usage: ${USAGE}` });
  if (!existsSync(path.join(dir, REPO_CONFIG_FILE))) {
    throw new AnvilError('init.not-a-repository', `${shown} has no ${REPO_CONFIG_FILE}; nothing was written`, {
      hint: 'run it in a prompt repository, or create one with npx anvil init',
    });
  }
  const writes = await schemaWrites();
  const plan = planScaffold(writes, await readExisting(dir, writes.map((w) => w.target)), { force: true });
  for (const file of plan.files) {
    if (file.text === undefined) continue;
    const absolute = path.join(dir, ...file.target.split('/'));
    await mkdir(path.dirname(absolute), { recursive: true });
    await writeFile(absolute, file.text);
  }
  if (values['json']) {
    io.out(JSON.stringify({ ok: true, dir, files: plan.files.map((f) => ({ file: f.target, action: f.action })) }, null, 2));
  } else {
    io.out(plan.files.map((f) => `  ${VERBS[f.action].padEnd(9)}  ${f.target}`).join('\n'));
  }
  return EXIT_OK;
}

function checkBranch(value: string): string {
  // Names git refuses (or would read as an option) are refused here, before anything is written.
  if (!isValidRefName(value) || value === 'HEAD') {
    throw new AnvilError('init.invalid-branch', `--branch "${value}" is not a branch name git accepts`, {
      hint: 'e.g. --branch main; no spaces, no ~ ^ : ? * [ \\, no "..", not starting with "-"',
    });
  }
  return value;
}

/** `dir`, or its nearest ancestor that exists (init creates the folder), to ask git from. */
async function nearestExisting(dir: string): Promise<string> {
  let current = dir;
  while (!existsSync(current)) {
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return current;
}

async function checkFolder(dir: string, shown: string): Promise<void> {
  const stats = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (stats && !stats.isDirectory()) {
    throw new AnvilError('init.not-a-folder', `${shown} exists and is not a folder`, { hint: 'give a new or existing folder' });
  }
}

function checkScope(value: string): string {
  // "acme" is read as "@acme": the "@" is easy to forget and cannot mean anything else.
  const name = value.startsWith('@') ? value : `@${value}`;
  const problem = findRepositoryNameProblem(name);
  if (problem) {
    throw new AnvilError('init.invalid-name', `--name "${value}": ${problem.message}`, {
      hint: 'a repository scope is "@" and a lowercase name, e.g. --name @acme',
      details: { name: value, index: problem.index },
    });
  }
  return name;
}

/** The current text of each target that exists; a folder where a file should go is refused. */
async function readExisting(dir: string, targets: readonly string[]): Promise<Map<string, string>> {
  const existing = new Map<string, string>();
  for (const target of targets) {
    try {
      existing.set(target, await readFile(path.join(dir, ...target.split('/')), 'utf8'));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      if (code === 'EISDIR' || code === 'ENOTDIR') {
        throw new AnvilError('init.exists', `${target} cannot be written in ${dir}: something that is not a file is in the way; nothing was written`, {
          hint: 'move it away and run anvil init again',
        });
      }
      throw err;
    }
  }
  return existing;
}

interface Step {
  command: string;
  why?: string;
}

/**
 * Shell lines to copy, in order, with what each is for. `npx anvil`: the CLI is a dev dependency
 * of the repository (the version CI runs), not a global command.
 */
function nextSteps(name: string, shown: string, install: boolean): Step[] {
  const { set, prompt } = INIT_EXAMPLE;
  const steps: Step[] = shown === '.' ? [] : [{ command: `cd ${/[^\w./@-]/.test(shown) ? JSON.stringify(shown) : shown}` }];
  if (install) steps.push({ command: 'npm install', why: 'installs the anvil CLI package.json pins; commit package-lock.json, CI runs npm ci' });
  steps.push(
    { command: `$EDITOR prompts/${set}/${prompt}.md`, why: `or add your own: npx anvil new set <name>, npx anvil new prompt ${set}/<id>` },
    { command: 'npx anvil lint', why: 'checks every prompt, as CI will on each pull request' },
    { command: `npx anvil render ${set}/${prompt.replace(/\//g, '.')} --var name=Ada`, why: 'renders it from the working tree' },
    { command: 'git add -A && git commit -m "Add prompts"' },
    { command: `npx anvil release ${set}`, why: `tags the first release, ${set}@<version>` },
    { command: `npx anvil render ${name}/${set}@latest/${prompt.replace(/\//g, '.')}`, why: 'renders the release, with its default input' },
  );
  return steps;
}

function formatSteps(steps: readonly Step[]): string[] {
  const width = Math.max(...steps.map((s) => s.command.length));
  return steps.map((s) => `  ${s.why ? `${s.command.padEnd(width)}  # ${s.why}` : s.command}`);
}
