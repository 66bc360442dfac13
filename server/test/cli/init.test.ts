import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parse } from 'yaml';
import { lintRepo } from '../../src/lint/lint-repo.ts';
import { loadRepo } from '../../src/load/load-repo.ts';
import { openWorkingTree } from '../../src/repo/working-tree.ts';
import { fillPlaceholders, placeholderKeys } from '../../src/scaffold/placeholders.ts';
import { addMissingDependencies, mergeJsonText, mergeLines, planScaffold } from '../../src/scaffold/plan-scaffold.ts';
import { scopeFromFolderName } from '../../src/scaffold/scope-name.ts';
import { INIT_FILES, INIT_SCHEMAS, TEMPLATES_DIR } from '../../src/scaffold/templates.ts';
import { cleanupGitdirs, gitdir } from '../support/gitdir.ts';
import { anvil } from './cli-support.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SCHEMAS_SOURCE = path.join(ROOT, 'content-schema/schemas');
const EXAMPLE_REPO = path.join(ROOT, 'examples/prompts');

async function serverPackage(): Promise<{ name: string; version: string }> {
  return JSON.parse(await readFile(path.resolve(TEMPLATES_DIR, '../package.json'), 'utf8')) as { name: string; version: string };
}

/** git with only the given global config (and no system one), as a user with that config would run it. */
function git(cwd: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd }, (err, stdout, stderr) => (err ? reject(new Error(`git ${args.join(' ')}: ${stderr}`)) : resolve(stdout.trim())));
  });
}

const temps: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'anvil-init-')));
  temps.push(dir);
  return dir;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .filter((f) => !f.startsWith('.git/'))
    .sort();
}

function modeline(text: string): string | undefined {
  return /^# yaml-language-server: \$schema=(.+)$/m.exec(text)?.[1];
}

// `anvil init` and `anvil new` are registered in main.ts's COMMANDS by the CLI's owner.
describe('anvil init', function () {
  after(async () => {
    await Promise.all(temps.map((t) => rm(t, { recursive: true, force: true })));
    await cleanupGitdirs();
  });

  it('scaffolds a repository that lints with zero problems, and makes it a git repository', async function () {
    const parent = await tempDir();
    const run = await anvil(parent, 'init', 'my-prompts');
    expect(run.code, run.stderr).to.equal(0);
    const dir = path.join(parent, 'my-prompts');
    expect(await listFiles(dir)).to.deep.equal([
      '.anvil/schemas/anvil.schema.json',
      '.anvil/schemas/prompt.schema.json',
      '.anvil/schemas/set.schema.json',
      '.github/workflows/anvil-lint.yml',
      '.gitignore',
      '.vscode/extensions.json',
      '.vscode/settings.json',
      'anvil.yaml',
      'package.json',
      'prompts/hello/_sign_off.md',
      'prompts/hello/greeting.formal.md',
      'prompts/hello/greeting.md',
      'prompts/hello/set.yaml',
    ]);
    expect(existsSync(path.join(dir, '.git'))).to.equal(true);

    const repo = await loadRepo(openWorkingTree(dir));
    expect(lintRepo(repo)).to.deep.equal([]);
    const [set] = repo.sets;
    expect(set?.config.mode).to.equal('live');
    expect(set?.prompts.map((p) => [p.id, p.variant])).to.deep.equal([['greeting', 'formal'], ['greeting', undefined]]);
    expect(set?.partials.map((p) => p.name)).to.deep.equal(['sign_off']);
    expect((await anvil(dir, 'lint')).stdout).to.include('0 errors, 0 warnings');
  });

  it('ends with the next steps, naming the repository scope', async function () {
    const parent = await tempDir();
    const run = await anvil(parent, 'init', 'acme-prompts');
    expect(run.stdout).to.include('Created the prompt repository @acme-prompts in acme-prompts');
    expect(run.stdout).to.match(/Next steps:\n {2}cd acme-prompts\n {2}npm install +# installs the anvil CLI package.json pins/);
    for (const step of ['prompts/hello/greeting.md', 'npx anvil lint', 'npx anvil release hello', 'npx anvil render @acme-prompts/hello@latest/greeting']) {
      expect(run.stdout).to.include(step);
    }
  });

  it('tells the user to run the CLI the repository pins, with npx, never a bare anvil', async function () {
    const parent = await tempDir();
    const run = await anvil(parent, 'init', 'p');
    const steps = run.stdout.slice(run.stdout.indexOf('Next steps:'));
    // Every mention of the CLI, in the commands and in the comments beside them.
    const mentions = [...steps.matchAll(/(\S*) anvil (?=[a-z])/g)].map((m) => m[1]);
    expect(mentions.length).to.be.greaterThan(5);
    expect(mentions.every((before) => before === 'npx'), steps).to.equal(true);
    expect((await anvil(parent, 'init', '--help')).stdout).to.include('`npx --no-install anvil lint --format github`');
  });

  it('names the scope after the folder unless --name says otherwise', async function () {
    const parent = await tempDir();
    await anvil(parent, 'init', 'My Prompts!');
    expect(parse(await readFile(path.join(parent, 'My Prompts!', 'anvil.yaml'), 'utf8'))).to.deep.equal({ name: '@my-prompts', promptsDir: 'prompts' });
    await anvil(parent, 'init', 'a', '--name', '@acme');
    expect(parse(await readFile(path.join(parent, 'a', 'anvil.yaml'), 'utf8'))).to.include({ name: '@acme' });
    await anvil(parent, 'init', 'b', '--name', 'acme');
    expect(parse(await readFile(path.join(parent, 'b', 'anvil.yaml'), 'utf8'))).to.include({ name: '@acme' });
  });

  it('refuses an invalid --name in one line, writing nothing', async function () {
    const parent = await tempDir();
    const run = await anvil(parent, 'init', 'c', '--name', '@Acme');
    expect(run.code).to.equal(1);
    expect(run.stderr.trim().split('\n')).to.have.length(1);
    expect(run.stderr).to.include('init.invalid-name');
    expect(run.stderr).to.include('must start with a lowercase letter or digit');
    expect(existsSync(path.join(parent, 'c'))).to.equal(false);
  });

  it('copies content-schema\'s schemas into .anvil/schemas and points modelines and VS Code settings at them', async function () {
    const dir = await tempDir();
    await anvil(dir, 'init');
    for (const schema of INIT_SCHEMAS) {
      expect(await readFile(path.join(dir, '.anvil/schemas', schema), 'utf8')).to.equal(await readFile(path.join(SCHEMAS_SOURCE, schema), 'utf8'));
    }
    for (const [file, schema] of [['anvil.yaml', 'anvil.schema.json'], ['prompts/hello/set.yaml', 'set.schema.json']] as const) {
      const target = modeline(await readFile(path.join(dir, file), 'utf8'));
      expect(target, file).to.be.a('string');
      expect(path.resolve(path.dirname(path.join(dir, file)), target ?? '')).to.equal(path.join(dir, '.anvil/schemas', schema));
    }
    const settings = JSON.parse(await readFile(path.join(dir, '.vscode/settings.json'), 'utf8')) as { 'yaml.schemas': Record<string, string[]> };
    expect(settings['yaml.schemas']).to.deep.equal({
      './.anvil/schemas/anvil.schema.json': ['anvil.yaml'],
      './.anvil/schemas/set.schema.json': ['**/set.yaml'],
    });
    for (const schema of Object.keys(settings['yaml.schemas'])) expect(existsSync(path.join(dir, schema))).to.equal(true);
    expect(JSON.parse(await readFile(path.join(dir, '.vscode/extensions.json'), 'utf8'))).to.deep.equal({ recommendations: ['redhat.vscode-yaml'] });
  });

  it('copies prompt templates verbatim and leaves no placeholder behind', async function () {
    const dir = await tempDir();
    await anvil(dir, 'init');
    for (const file of ['greeting.md', 'greeting.formal.md', '_sign_off.md']) {
      expect(await readFile(path.join(dir, 'prompts/hello', file), 'utf8')).to.equal(await readFile(path.join(TEMPLATES_DIR, 'init/prompts/hello', file), 'utf8'));
    }
    expect(await readFile(path.join(dir, 'prompts/hello/greeting.md'), 'utf8')).to.include('{{> sign_off}}');
    for (const file of await listFiles(dir)) expect(await readFile(path.join(dir, file), 'utf8'), file).to.not.include('__ANVIL_');
  });

  it('writes a GitHub workflow that lints pull requests with every tag and annotations, with the CLI package.json pins', async function () {
    const dir = await tempDir();
    await anvil(dir, 'init');
    const workflow = parse(await readFile(path.join(dir, '.github/workflows/anvil-lint.yml'), 'utf8')) as {
      on: Record<string, unknown>;
      jobs: { lint: { steps: { uses?: string; run?: string; with?: Record<string, unknown> }[] } };
    };
    expect(Object.keys(workflow.on)).to.deep.equal(['pull_request']);
    const steps = workflow.jobs.lint.steps;
    expect(steps.find((s) => s.uses?.startsWith('actions/checkout@'))?.with).to.deep.equal({ 'fetch-depth': 0 });
    expect(steps.find((s) => s.uses?.startsWith('actions/setup-node@'))?.with).to.deep.equal({ 'node-version': 20 });
    // Installs exactly what the repository depends on (package-lock.json), not a global CLI from the registry.
    expect(steps.map((s) => s.run).filter(Boolean)).to.deep.equal(['npm ci --ignore-scripts', 'npx --no-install anvil lint --format github']);

    const server = await serverPackage();
    expect(JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'))).to.deep.equal({
      private: true,
      scripts: { lint: 'anvil lint' },
      devDependencies: { [server.name]: `^${server.version}` },
    });
  });

  it('adds @anvil/server to an existing package.json only when it is missing, never touching the rest', async function () {
    const server = await serverPackage();
    const theirs = '{\n\t"name": "mine",\n\t"scripts": {"test": "x"},\n\t"devDependencies": {"zod": "^3.0.0", "ajv": "^8.0.0"}\n}\n';
    const dir = await tempDir();
    await writeFile(path.join(dir, 'package.json'), theirs);
    const run = await anvil(dir, 'init');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include('updated    package.json');
    expect(await readFile(path.join(dir, 'package.json'), 'utf8')).to.equal(
      `{\n\t"name": "mine",\n\t"scripts": {\n\t\t"test": "x"\n\t},\n\t"devDependencies": {\n\t\t"${server.name}": "^${server.version}",\n\t\t"ajv": "^8.0.0",\n\t\t"zod": "^3.0.0"\n\t}\n}\n`,
    );

    for (const present of [
      `{"devDependencies": {"${server.name}": "0.0.9"}}`,
      `{"name": "x", "dependencies": {"${server.name}": "github:acme/anvil"}}`,
    ]) {
      const other = await tempDir();
      await writeFile(path.join(other, 'package.json'), present);
      const again = await anvil(other, 'init');
      expect(again.stdout).to.include('unchanged  package.json');
      expect(await readFile(path.join(other, 'package.json'), 'utf8')).to.equal(present);
    }

    const broken = await tempDir();
    await writeFile(path.join(broken, 'package.json'), '{ not json');
    const skipped = await anvil(broken, 'init');
    expect(skipped.code, skipped.stderr).to.equal(0);
    expect(skipped.stdout).to.include('skipped    package.json');
    expect(skipped.stdout).to.include(`"${server.name}":"^${server.version}"`);
    expect(await readFile(path.join(broken, 'package.json'), 'utf8')).to.equal('{ not json');
  });

  it('leaves npm install out of the next steps when the CLI is installed and locked already', async function () {
    const server = await serverPackage();
    const dir = await tempDir();
    await writeFile(path.join(dir, 'package.json'), `{"devDependencies": {"${server.name}": "^${server.version}"}}`);
    await writeFile(path.join(dir, 'package-lock.json'), '{}');
    await mkdir(path.join(dir, 'node_modules/@anvil/server'), { recursive: true });
    await writeFile(path.join(dir, 'node_modules/@anvil/server/package.json'), '{}');
    const run = await anvil(dir, 'init', '--json');
    expect((JSON.parse(run.stdout) as { next: string[] }).next).to.not.include('npm install');
  });

  it('writes a .gitignore that keeps node_modules/ and an old anvil dev data dir out of git', async function () {
    const dir = await tempDir();
    await anvil(dir, 'init');
    await mkdir(path.join(dir, 'node_modules/x'), { recursive: true });
    await writeFile(path.join(dir, 'node_modules/x/index.js'), '');
    await mkdir(path.join(dir, '.anvil-dev/secrets'), { recursive: true });
    await writeFile(path.join(dir, '.anvil-dev/secrets/admin-token'), 'secret\n');
    const added = (await git(dir, 'add', '--all', '--dry-run')).split('\n');
    expect(added).to.include('add \'anvil.yaml\'');
    expect(added.filter((l) => l.includes('node_modules') || l.includes('.anvil-dev'))).to.deep.equal([]);
  });

  it('refuses a folder that has an anvil.yaml, writing nothing, unless --force', async function () {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'anvil.yaml'), 'name: "@mine"\n');
    const run = await anvil(dir, 'init');
    expect(run.code).to.equal(1);
    expect(run.stderr.trim().split('\n')).to.have.length(1);
    expect(run.stderr).to.include('init.exists');
    expect(run.stderr).to.include('already has an anvil.yaml');
    expect(await listFiles(dir)).to.deep.equal(['anvil.yaml']);

    const forced = await anvil(dir, 'init', '--force', '--name', '@acme');
    expect(forced.code, forced.stderr).to.equal(0);
    expect(forced.stdout).to.include('overwrote  anvil.yaml');
    expect(parse(await readFile(path.join(dir, 'anvil.yaml'), 'utf8'))).to.include({ name: '@acme' });
  });

  it('refuses to replace a different example file, writing nothing, unless --force', async function () {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'prompts/hello'), { recursive: true });
    await writeFile(path.join(dir, 'prompts/hello/greeting.md'), 'mine\n');
    const run = await anvil(dir, 'init');
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include('prompts/hello/greeting.md');
    expect(await listFiles(dir)).to.deep.equal(['prompts/hello/greeting.md']);
    expect((await anvil(dir, 'init', '--force')).code).to.equal(0);
    expect(await readFile(path.join(dir, 'prompts/hello/greeting.md'), 'utf8')).to.include('{{name}}');
  });

  it('adds to an existing .gitignore and VS Code settings instead of replacing them', async function () {
    const dir = await tempDir();
    await mkdir(path.join(dir, '.vscode'));
    await writeFile(path.join(dir, '.gitignore'), 'dist/\nnode_modules/');
    await writeFile(path.join(dir, '.vscode/settings.json'), '{"editor.tabSize": 2, "yaml.schemas": {"x.json": ["x.yaml"]}}');
    await writeFile(path.join(dir, '.vscode/extensions.json'), '// mine\n{"recommendations": []}');
    const run = await anvil(dir, 'init');
    expect(run.code, run.stderr).to.equal(0);
    expect(await readFile(path.join(dir, '.gitignore'), 'utf8')).to.equal('dist/\nnode_modules/\n.DS_Store\n.anvil-dev/\n');
    expect(JSON.parse(await readFile(path.join(dir, '.vscode/settings.json'), 'utf8'))).to.deep.equal({
      'editor.tabSize': 2,
      'yaml.schemas': {
        'x.json': ['x.yaml'],
        './.anvil/schemas/anvil.schema.json': ['anvil.yaml'],
        './.anvil/schemas/set.schema.json': ['**/set.yaml'],
      },
    });
    // Comments make it JSONC: rewriting it would lose them, so it is left alone with a note.
    expect(await readFile(path.join(dir, '.vscode/extensions.json'), 'utf8')).to.equal('// mine\n{"recommendations": []}');
    expect(run.stdout).to.include('skipped    .vscode/extensions.json');
    expect(run.stdout).to.include('note: .vscode/extensions.json is not plain JSON');
  });

  it('does not run git init inside an existing git repository, and says where the workflow must go', async function () {
    const repo = await gitdir({ files: { 'README.md': 'app\n' } });
    const run = await anvil(repo.dir, 'init', 'prompts-repo');
    expect(run.code, run.stderr).to.equal(0);
    expect(existsSync(path.join(repo.dir, 'prompts-repo/.git'))).to.equal(false);
    expect(run.stdout).to.not.include('git init');
    expect(run.stdout).to.include('working-directory: prompts-repo');

    const atRoot = await anvil(repo.dir, 'init');
    expect(atRoot.code, atRoot.stderr).to.equal(0);
    expect(atRoot.stdout).to.not.include('note:');
    expect(await repo.git('rev-list', '--count', 'HEAD')).to.equal('1');
  });

  it('--json prints what it did', async function () {
    const dir = await tempDir();
    const run = await anvil(dir, 'init', '--json', '--name', '@acme');
    const data = JSON.parse(run.stdout) as { ok: boolean; name: string; branch: string; gitInit: boolean; files: { file: string; action: string }[]; next: string[] };
    expect(data).to.include({ ok: true, name: '@acme', branch: 'main', gitInit: true });
    expect(data.files).to.deep.include({ file: 'anvil.yaml', action: 'create' });
    expect(data.files).to.deep.include({ file: 'package.json', action: 'create' });
    expect(data.next).to.include('npm install');
    expect(data.next).to.include('npx anvil lint');
  });

  it('refuses a path that is a file, and more than one folder', async function () {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'f'), '');
    expect((await anvil(dir, 'init', 'f')).stderr).to.include('init.not-a-folder');
    expect((await anvil(dir, 'init', 'a', 'b')).stderr).to.include('cli.bad-arguments');
    expect((await anvil(dir, 'init', '--help')).stdout).to.include('Usage: anvil init');
  });
});

describe('anvil init: the branch of the new repository', function () {
  // The machine's git config must not decide: each test names the global config git sees.
  const saved = { global: process.env['GIT_CONFIG_GLOBAL'], nosystem: process.env['GIT_CONFIG_NOSYSTEM'] };
  const temps: string[] = [];
  let configDir: string;
  before(async () => {
    configDir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'anvil-init-gitconfig-')));
    temps.push(configDir);
    process.env['GIT_CONFIG_NOSYSTEM'] = '1';
  });
  after(async () => {
    for (const [key, value] of [['GIT_CONFIG_GLOBAL', saved.global], ['GIT_CONFIG_NOSYSTEM', saved.nosystem]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await Promise.all(temps.map((t) => rm(t, { recursive: true, force: true })));
    await cleanupGitdirs();
  });

  async function withGlobalConfig(text: string): Promise<string> {
    const file = path.join(configDir, `config-${temps.length}`);
    await writeFile(file, text);
    process.env['GIT_CONFIG_GLOBAL'] = file;
    const dir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'anvil-init-branch-')));
    temps.push(dir);
    return dir;
  }

  for (const [what, config] of [['unset', ''], ['master', '[init]\n\tdefaultBranch = master\n']] as const) {
    it(`creates the branch main when git's init.defaultBranch is ${what}`, async function () {
      const parent = await withGlobalConfig(config);
      const run = await anvil(parent, 'init', 'p');
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.include('git init (branch main)');
      expect(await git(path.join(parent, 'p'), 'symbolic-ref', '--short', 'HEAD')).to.equal('main');
    });
  }

  it('creates the branch --branch names', async function () {
    const parent = await withGlobalConfig('[init]\n\tdefaultBranch = master\n');
    const run = await anvil(parent, 'init', 'p', '--branch', 'trunk', '--json');
    expect(run.code, run.stderr).to.equal(0);
    expect(JSON.parse(run.stdout)).to.include({ branch: 'trunk', gitInit: true });
    expect(await git(path.join(parent, 'p'), 'symbolic-ref', '--short', 'HEAD')).to.equal('trunk');
  });

  it('keeps the branch of an existing repository, and refuses a --branch it cannot honour, writing nothing', async function () {
    await withGlobalConfig('');
    const repo = await gitdir({ files: { 'README.md': 'app\n' } });
    await repo.git('branch', '-m', 'main', 'master');
    const refused = await anvil(repo.dir, 'init', '--branch', 'main');
    expect(refused.code).to.equal(1);
    expect(refused.stderr.trim().split('\n')).to.have.length(1);
    expect(refused.stderr).to.include('init.branch-exists');
    expect(refused.stderr).to.include('whose branch is master, not main');
    expect(existsSync(repo.path('anvil.yaml'))).to.equal(false);

    const kept = await anvil(repo.dir, 'init', '--json');
    expect(JSON.parse(kept.stdout)).to.include({ branch: 'master', gitInit: false });
    expect(await repo.git('symbolic-ref', '--short', 'HEAD')).to.equal('master');
    expect((await anvil(repo.path('sub'), 'init', '--branch', 'master')).code).to.equal(0);
  });

  it('refuses a --branch git would refuse, in one line, writing nothing', async function () {
    const parent = await withGlobalConfig('');
    for (const bad of ['-x', 'a..b', 'has space', 'HEAD']) {
      const run = await anvil(parent, 'init', 'p', `--branch=${bad}`);
      expect(run.code, bad).to.equal(1);
      expect(run.stderr, bad).to.include('init.invalid-branch');
    }
    expect(existsSync(path.join(parent, 'p'))).to.equal(false);
  });
});

/** Every place an editor is told where a schema is: modelines, and VS Code's yaml.schemas / json.schemas. */
interface SchemaLink { file: string; target: string; base: string }

async function schemaLinks(repoDir: string): Promise<SchemaLink[]> {
  const links: SchemaLink[] = [];
  for (const file of await listFiles(repoDir)) {
    if (file.startsWith('node_modules/')) continue;
    const absolute = path.join(repoDir, file);
    if (/\.(ya?ml|md|prompt)$/.test(file)) {
      for (const m of (await readFile(absolute, 'utf8')).matchAll(/^#\s*yaml-language-server:\s*\$schema=(\S+)/gm)) {
        links.push({ file, target: m[1] ?? '', base: path.dirname(absolute) });
      }
    }
    if (file === '.vscode/settings.json') {
      const settings = JSON.parse(await readFile(absolute, 'utf8')) as { 'yaml.schemas'?: Record<string, unknown>; 'json.schemas'?: { url?: string }[] };
      // VS Code resolves these against the workspace folder: the repository's top.
      for (const target of Object.keys(settings['yaml.schemas'] ?? {})) links.push({ file, target, base: repoDir });
      for (const entry of settings['json.schemas'] ?? []) if (entry.url) links.push({ file, target: entry.url, base: repoDir });
    }
  }
  return links;
}

/** Why `link` would not work wherever the repository is, or undefined when it does. */
async function brokenLink(link: SchemaLink, repoDir: string): Promise<string | undefined> {
  if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) {
    const version = (JSON.parse(await readFile(path.join(ROOT, 'content-schema/package.json'), 'utf8')) as { version: string }).version;
    const m = /^https:\/\/unpkg\.com\/@anvil\/content-schema@([^/]+)\/schemas\/([^/]+)$/.exec(link.target);
    if (!m) return 'a URL that is not the versioned content-schema URL';
    if (m[1] !== version) return `content-schema@${m[1] ?? ''}, not ${version}`;
    return existsSync(path.join(SCHEMAS_SOURCE, m[2] ?? '')) ? undefined : 'a schema content-schema does not publish';
  }
  const resolved = path.resolve(link.base, link.target);
  if (!resolved.startsWith(`${repoDir}${path.sep}`)) return 'a path outside the repository';
  return existsSync(resolved) ? undefined : 'a file that does not exist';
}

async function expectWorkingLinks(repoDir: string): Promise<SchemaLink[]> {
  const links = await schemaLinks(repoDir);
  for (const link of links) expect(await brokenLink(link, repoDir), `${link.file} → ${link.target}`).to.equal(undefined);
  return links;
}

describe('editor schemas that work wherever a repository is copied', function () {
  const temps: string[] = [];
  after(async () => {
    await Promise.all(temps.map((t) => rm(t, { recursive: true, force: true })));
  });
  async function elsewhere(from: string): Promise<string> {
    const dir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'anvil-copied-')));
    temps.push(dir);
    await cp(from, path.join(dir, 'repo'), { recursive: true, filter: (f) => !f.split(path.sep).includes('.git') });
    return path.join(dir, 'repo');
  }

  it('examples/prompts: every modeline and VS Code mapping resolves inside the repository, also once copied', async function () {
    const links = await expectWorkingLinks(EXAMPLE_REPO);
    expect(links.map((l) => l.file)).to.include.members(['anvil.yaml', 'prompts/core/set.yaml', 'prompts/onboarding/set.yaml', 'prompts/support/set.yaml', '.vscode/settings.json']);
    await expectWorkingLinks(await elsewhere(EXAMPLE_REPO));
  });

  it('examples/prompts has the scaffold\'s schema copies and editor settings, and they are not stale', async function () {
    const refresh = 'run `npm run build && npx anvil init --schemas-only examples/prompts` (after `npm run schemas`)';
    for (const schema of INIT_SCHEMAS) {
      const copy = await readFile(path.join(EXAMPLE_REPO, '.anvil/schemas', schema), 'utf8').catch(() => '(missing)');
      expect(copy === await readFile(path.join(SCHEMAS_SOURCE, schema), 'utf8'), `examples/prompts/.anvil/schemas/${schema} differs from content-schema/schemas/${schema}: ${refresh}`).to.equal(true);
    }
    for (const file of ['settings.json', 'extensions.json']) {
      expect(await readFile(path.join(EXAMPLE_REPO, '.vscode', file), 'utf8'), file).to.equal(await readFile(path.join(TEMPLATES_DIR, 'init/vscode', file), 'utf8'));
    }
  });

  it('server/templates: every modeline resolves in the repository anvil init and anvil new scaffold, also once copied', async function () {
    const withModeline: string[] = [];
    for (const file of await listFiles(TEMPLATES_DIR)) {
      if (modeline(await readFile(path.join(TEMPLATES_DIR, file), 'utf8')) !== undefined) withModeline.push(file);
    }
    expect(withModeline.sort()).to.deep.equal(['init/anvil.yaml', 'init/prompts/hello/set.yaml', 'new/set.yaml']);

    const dir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'anvil-init-links-')));
    temps.push(dir);
    expect((await anvil(dir, 'init')).code).to.equal(0);
    expect((await anvil(dir, 'new', 'set', 'extra')).code).to.equal(0);
    for (const copy of [dir, await elsewhere(dir)]) {
      const links = await expectWorkingLinks(copy);
      // One modeline per template that has one, and the two VS Code mappings.
      expect(links.map((l) => l.file).sort()).to.deep.equal(['.vscode/settings.json', '.vscode/settings.json', 'anvil.yaml', 'prompts/extra/set.yaml', 'prompts/hello/set.yaml']);
    }
  });

  it('--schemas-only refreshes stale copies and touches nothing else', async function () {
    const dir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'anvil-init-refresh-')));
    temps.push(dir);
    await anvil(dir, 'init');
    await writeFile(path.join(dir, '.anvil/schemas/set.schema.json'), '{}\n');
    await writeFile(path.join(dir, 'anvil.yaml'), 'name: "@mine"\n');
    await rm(path.join(dir, '.anvil/schemas/prompt.schema.json'));
    const run = await anvil(dir, 'init', '--schemas-only');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include('overwrote  .anvil/schemas/set.schema.json');
    expect(run.stdout).to.include('created    .anvil/schemas/prompt.schema.json');
    expect(run.stdout).to.include('unchanged  .anvil/schemas/anvil.schema.json');
    for (const schema of INIT_SCHEMAS) {
      expect(await readFile(path.join(dir, '.anvil/schemas', schema), 'utf8')).to.equal(await readFile(path.join(SCHEMAS_SOURCE, schema), 'utf8'));
    }
    expect(await readFile(path.join(dir, 'anvil.yaml'), 'utf8')).to.equal('name: "@mine"\n');

    const empty = await realpath(await mkdtemp(path.join(os.tmpdir(), 'anvil-init-refresh-')));
    temps.push(empty);
    expect((await anvil(empty, 'init', '--schemas-only')).stderr).to.include('init.not-a-repository');
    expect((await anvil(dir, 'init', '--schemas-only', '--name', '@x')).stderr).to.include('cli.bad-arguments');
    expect(await listFiles(empty)).to.deep.equal([]);
  });
});

describe('scaffold templates', function () {
  it('every file under templates/init is in the manifest, and every manifest entry exists', async function () {
    const onDisk = (await listFiles(path.join(TEMPLATES_DIR, 'init'))).map((f) => `init/${f}`);
    expect(INIT_FILES.map((f) => f.template).sort()).to.deep.equal(onDisk);
  });

  it('template files have no leading dot, so npm packs them', async function () {
    for (const file of await listFiles(TEMPLATES_DIR)) expect(file.split('/').some((s) => s.startsWith('.')), file).to.equal(false);
  });

  it('uses only the placeholders the commands fill', async function () {
    const used = new Set<string>();
    for (const file of await listFiles(TEMPLATES_DIR)) {
      for (const key of placeholderKeys(await readFile(path.join(TEMPLATES_DIR, file), 'utf8'))) used.add(key);
    }
    expect([...used].sort()).to.deep.equal(['CLI_RANGE', 'DESCRIPTION', 'MODE', 'NAME', 'PROMPT_ID', 'SET_SCHEMA']);
  });
});

describe('scaffold helpers', function () {
  it('fillPlaceholders replaces __ANVIL_X__ only, and a missing value is a bug', function () {
    expect(fillPlaceholders('name: "__ANVIL_NAME__" {{name}} {{> x}} __anvil_name__', { NAME: '@a' })).to.equal('name: "@a" {{name}} {{> x}} __anvil_name__');
    expect(() => fillPlaceholders('__ANVIL_OTHER__', {})).to.throw('__ANVIL_OTHER__');
  });

  it('scopeFromFolderName always gives a valid scope', function () {
    const cases: [string, string][] = [
      ['acme', '@acme'],
      ['My Prompts', '@my-prompts'],
      ['Prompts_2024.v1', '@prompts_2024.v1'],
      ['Café Prompts', '@cafe-prompts'],
      ['--x--', '@x'],
      ['a..b', '@a.b'],
      ['日本', '@prompts'],
      ['', '@prompts'],
    ];
    for (const [folder, scope] of cases) expect(scopeFromFolderName(folder), folder).to.equal(scope);
  });

  it('mergeLines appends only missing rules', function () {
    expect(mergeLines('a\n', '# c\na\nb\n')).to.equal('a\nb\n');
    expect(mergeLines('a\nb', 'b\n')).to.equal('a\nb');
  });

  it('addMissingDependencies adds only what no dependency field has, in the file\'s own layout', function () {
    const wanted = '{"devDependencies": {"@anvil/server": "^1.0.0"}}';
    expect(addMissingDependencies('{\n    "private": true\n}', wanted)).to.equal('{\n    "private": true,\n    "devDependencies": {\n        "@anvil/server": "^1.0.0"\n    }\n}\n');
    expect(addMissingDependencies('{\r\n  "a": 1\r\n}\r\n', wanted)).to.equal('{\r\n  "a": 1,\r\n  "devDependencies": {\r\n    "@anvil/server": "^1.0.0"\r\n  }\r\n}\r\n');
    const has = '{"peerDependencies": {"@anvil/server": "*"}}';
    expect(addMissingDependencies(has, wanted)).to.equal(has);
    expect(addMissingDependencies('[]', wanted)).to.equal(undefined);
    expect(addMissingDependencies('{"devDependencies": "x"}', wanted)).to.equal(undefined);
  });

  it('mergeJsonText adds missing keys and items, keeps the user\'s values, and gives up on JSONC', function () {
    expect(JSON.parse(mergeJsonText('{"a": 1, "l": ["x"]}', '{"a": 2, "b": 3, "l": ["x", "y"]}') ?? '')).to.deep.equal({ a: 1, b: 3, l: ['x', 'y'] });
    expect(mergeJsonText('{"a": 1}', '{"a": 1}')).to.equal('{"a": 1}');
    expect(mergeJsonText('{/* c */}', '{}')).to.equal(undefined);
    expect(mergeJsonText('[]', '{}')).to.equal(undefined);
  });

  it('planScaffold: conflicts only for different files it would replace, and --force clears them', function () {
    const writes = [
      { target: 'a', text: 'new', policy: 'create' as const },
      { target: 'b', text: 'same', policy: 'create' as const },
      { target: 'c', text: 'schema', policy: 'replace' as const },
      { target: 'd', text: 'x', policy: 'create' as const },
    ];
    const existing = new Map([['a', 'old'], ['b', 'same'], ['c', 'old schema']]);
    const plan = planScaffold(writes, existing, { force: false });
    expect(plan.conflicts).to.deep.equal(['a']);
    expect(plan.files.map((f) => f.action)).to.deep.equal(['overwrite', 'unchanged', 'overwrite', 'create']);
    expect(planScaffold(writes, existing, { force: true }).conflicts).to.deep.equal([]);
  });
});
