import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parse } from 'yaml';
import { lintRepo } from '../../src/lint/lint-repo.ts';
import { loadRepo } from '../../src/load/load-repo.ts';
import { openWorkingTree } from '../../src/repo/working-tree.ts';
import { fillPlaceholders, placeholderKeys } from '../../src/scaffold/placeholders.ts';
import { mergeJsonText, mergeLines, planScaffold } from '../../src/scaffold/plan-scaffold.ts';
import { scopeFromFolderName } from '../../src/scaffold/scope-name.ts';
import { INIT_FILES, INIT_SCHEMAS, TEMPLATES_DIR } from '../../src/scaffold/templates.ts';
import { cleanupGitdirs, gitdir } from '../support/gitdir.ts';
import { anvil } from './cli-support.ts';

const SCHEMAS_SOURCE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../content-schema/schemas');

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
    expect(run.stdout).to.match(/Next steps:\n {2}cd acme-prompts\n/);
    for (const step of ['prompts/hello/greeting.md', 'anvil lint', 'anvil release hello', 'anvil render @acme-prompts/hello@latest/greeting']) {
      expect(run.stdout).to.include(step);
    }
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

  it('writes a GitHub workflow that lints pull requests with every tag and annotations', async function () {
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
    const server = JSON.parse(await readFile(path.resolve(TEMPLATES_DIR, '../package.json'), 'utf8')) as { name: string; version: string };
    expect(steps.map((s) => s.run).filter(Boolean)).to.deep.equal([`npm install --global ${server.name}@${server.version}`, 'anvil lint --format github']);
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
    expect(await readFile(path.join(dir, '.gitignore'), 'utf8')).to.equal('dist/\nnode_modules/\n.DS_Store\n');
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
    const data = JSON.parse(run.stdout) as { ok: boolean; name: string; gitInit: boolean; files: { file: string; action: string }[]; next: string[] };
    expect(data).to.include({ ok: true, name: '@acme', gitInit: true });
    expect(data.files).to.deep.include({ file: 'anvil.yaml', action: 'create' });
    expect(data.next).to.include('anvil lint');
  });

  it('refuses a path that is a file, and more than one folder', async function () {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'f'), '');
    expect((await anvil(dir, 'init', 'f')).stderr).to.include('init.not-a-folder');
    expect((await anvil(dir, 'init', 'a', 'b')).stderr).to.include('cli.bad-arguments');
    expect((await anvil(dir, 'init', '--help')).stdout).to.include('Usage: anvil init');
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
    expect([...used].sort()).to.deep.equal(['CLI_PACKAGE', 'DESCRIPTION', 'MODE', 'NAME', 'PROMPT_ID', 'SET_SCHEMA']);
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
