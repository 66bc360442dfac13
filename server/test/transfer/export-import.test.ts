/** `anvil export` and `anvil import` of Anvil archives, on real git repositories. */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { archiveFileIntegrity, validateArchive, type Archive } from '@anvil/content-schema';
import { anvil } from '../cli/cli-support.ts';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';
import { cleanupTemps, filesIn, freshRepository, tempDir } from './support.ts';

const WELCOME = [
  '---',
  'description: Welcome message for a new user.',
  'model: openai/gpt-4o',
  'input:',
  '  schema:',
  '    name: string',
  '    plan?: string',
  '  default:',
  '    plan: free',
  '---',
  '{{role "system"}}You welcome new users.',
  '{{role "user"}}{{> greeting}} on {{plan}}.',
  '{{> core/signature}}',
  '',
].join('\n');

const SOURCE = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/core/set.yaml': 'description: Shared fragments.\nmode: locked\n',
  'prompts/core/_signature.md': '— Ada, the Acme team\n',
  'prompts/core/tone/formal.md': 'Be formal.\n',
  'prompts/onboarding/set.yaml': '# yaml-language-server: $schema=../../.anvil/schemas/set.schema.json\nmode: review\ndependencies:\n  core: ^1.0.0\n',
  'prompts/onboarding/_greeting.md': 'Hi {{> who}}',
  'prompts/onboarding/_who.md': '{{name}}',
  'prompts/onboarding/_unused.md': 'Not included by welcome.message.',
  'prompts/onboarding/welcome/message.md': WELCOME,
  'prompts/onboarding/welcome/message.fr.md': '---\ntags: {locale: fr}\ninput:\n  schema:\n    name: string\n---\nBonjour {{name}}\n{{> core/signature}}\n',
  'prompts/onboarding/error/not_found.md': 'Nothing here.\n',
};

const RELEASED_ERROR = SOURCE['prompts/onboarding/error/not_found.md'];

let source: GitDir;

/** Exports with the given arguments into a temp folder; returns the archive's path and content. */
async function exportFrom(repo: GitDir, ...args: string[]): Promise<{ file: string; archive: Archive; stdout: string }> {
  const file = path.join(await tempDir(), 'export.anvil.json');
  const run = await anvil(repo.dir, 'export', ...args, '--out', file);
  expect(run.code, run.stderr).to.equal(0);
  const archive = JSON.parse(await readFile(file, 'utf8')) as Archive;
  return { file, archive, stdout: run.stdout };
}

async function render(dir: string, ...args: string[]): Promise<string> {
  const run = await anvil(dir, 'render', ...args);
  expect(run.code, run.stderr).to.equal(0);
  return run.stdout;
}

describe('anvil export / anvil import (archives)', function () {
  before(async function () {
    source = await gitdir({ files: SOURCE });
    for (const set of ['core', 'onboarding']) {
      const run = await anvil(source.dir, 'release', set);
      expect(run.code, run.stdout + run.stderr).to.equal(0);
    }
    // After the releases, the working tree moves on: a release export must not see this.
    await source.commit('reword', { 'prompts/onboarding/error/not_found.md': 'Gone.\n' });
  });
  after(async () => {
    await cleanupGitdirs();
    await cleanupTemps();
  });

  it('exports a set with its dependency and partials; a fresh repository imports it, lints clean and renders the same text', async function () {
    const { file, archive, stdout } = await exportFrom(source, 'onboarding');
    expect(stdout).to.include('exported set onboarding@1.0.1-head.2+');
    expect(validateArchive(archive).ok).to.equal(true);
    expect(archive.$schema).to.equal('https://anvil.dev/schemas/archive.schema.json');
    expect(archive.manifest.what).to.deep.equal({ kind: 'set', set: 'onboarding' });
    expect(archive.manifest.repository).to.equal('@acme');
    expect(archive.manifest.source).to.include({ commit: await source.revParse('HEAD'), dirty: false });
    const { onboarding, core } = archive.manifest.sets;
    expect(onboarding).to.include({ role: 'requested', contents: 'all', stage: 'head' });
    expect(onboarding?.dependencies).to.deep.equal({ core: '^1.0.0' });
    // core has not changed since its release: the archive says which release it is.
    expect(core).to.include({ role: 'dependency', contents: 'partials', stage: 'release', version: '1.0.0', tag: 'core@1.0.0' });
    expect(Object.keys(core!.files)).to.deep.equal(['_signature.md', 'set.yaml']);
    expect(core!.files['_signature.md']).to.equal(archiveFileIntegrity(SOURCE['prompts/core/_signature.md']));
    expect(archive.files['onboarding']!['welcome/message.md']).to.equal(WELCOME);

    const target = await freshRepository();
    const run = await anvil(target, 'import', file);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include('create     prompts/core/_signature.md').and.include('create     prompts/onboarding/welcome/message.fr.md');
    expect(run.stdout).to.include('9 created');
    expect(existsSync(path.join(target, 'prompts/core/tone/formal.md')), 'a dependency brings its partials only').to.equal(false);
    // The set.yaml modeline points at the target's own schema copy.
    expect(await readFile(path.join(target, 'prompts/onboarding/set.yaml'), 'utf8')).to.match(/^# yaml-language-server: \$schema=\.\.\/\.\.\/\.anvil\/schemas\/set\.schema\.json\n/);

    const lint = await anvil(target, 'lint');
    expect(lint.code, lint.stdout).to.equal(0);
    expect(lint.stdout).to.include('0 errors');
    for (const args of [['onboarding/welcome.message', '--var', 'name=Ada', '--messages'], ['onboarding/welcome.message', '--variant', 'fr', '--var', 'name=Ada'], ['onboarding/error.not_found']]) {
      expect(await render(target, ...args)).to.equal(await render(source.dir, ...args));
    }
    expect(await render(target, 'onboarding/welcome.message', '--var', 'name=Ada')).to.equal('You welcome new users.\nHi Ada on free.\n— Ada, the Acme team\n');

    // The same archive again: identical content is a no-op.
    const before = await filesIn(target);
    const again = await anvil(target, 'import', file);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.include('9 unchanged');
    expect(await filesIn(target)).to.deep.equal(before);
  });

  it('exports a release exactly as tagged, and a single prompt with only the partials it includes', async function () {
    const release = await exportFrom(source, 'onboarding@1.0.0');
    expect(release.archive.manifest.source).to.include({ ref: 'onboarding@1.0.0', commit: await source.revParse('onboarding@1.0.0^{commit}') });
    expect(release.archive.manifest.sets['onboarding']).to.include({ version: '1.0.0', stage: 'release', tag: 'onboarding@1.0.0' });
    expect(release.archive.manifest.sets['core']).to.include({ version: '1.0.0', tag: 'core@1.0.0' });
    expect(release.archive.files['onboarding']!['error/not_found.md']).to.equal(RELEASED_ERROR);
    // --at says the same as the address.
    expect((await exportFrom(source, 'onboarding', '--at', '1.0.0')).archive.integrity).to.equal(release.archive.integrity);
    expect((await exportFrom(source, 'onboarding', '--at', 'latest')).archive.integrity).to.equal(release.archive.integrity);

    const prompt = await exportFrom(source, 'onboarding/welcome.message');
    expect(prompt.archive.manifest.what).to.deep.equal({ kind: 'prompt', set: 'onboarding', prompt: 'welcome.message' });
    expect(Object.keys(prompt.archive.files['onboarding']!)).to.deep.equal(['_greeting.md', '_who.md', 'set.yaml', 'welcome/message.fr.md', 'welcome/message.md']);
    expect(prompt.archive.manifest.sets['onboarding']?.contents).to.equal('prompt');

    const target = await freshRepository();
    expect((await anvil(target, 'import', prompt.file)).code).to.equal(0);
    expect((await anvil(target, 'lint')).code).to.equal(0);
    expect(await render(target, 'onboarding/welcome.message', '--var', 'name=Grace')).to.equal(await render(source.dir, 'onboarding/welcome.message', '--var', 'name=Grace'));

    const project = await exportFrom(source);
    expect(project.archive.manifest.what).to.deep.equal({ kind: 'project' });
    expect(Object.values(project.archive.manifest.sets).map((s) => `${s.role} ${s.contents}`)).to.deep.equal(['requested all', 'requested all']);
    expect(project.archive.files['core']).to.have.property('tone/formal.md');
    const printed = await anvil(source.dir, 'export', 'core', '--out', '-');
    expect(validateArchive(JSON.parse(printed.stdout)).ok).to.equal(true);

    const unknown = await anvil(source.dir, 'export', 'onboarding/welcome.mesage', '--out', path.join(await tempDir(), 'x.json'));
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.include('export.unknown-prompt').and.include('did you mean onboarding/welcome.message?');
  });

  it('resolves conflicts: none chosen stops the import, keep, replace and rename each lint clean', async function () {
    const { file } = await exportFrom(source, 'onboarding');
    const target = await freshRepository();
    expect((await anvil(target, 'import', file)).code).to.equal(0);
    const mine = {
      'prompts/onboarding/welcome/message.md': '---\ninput:\n  schema:\n    name: string\n---\nYo {{name}}. {{> core/signature}}\n',
      'prompts/core/_signature.md': '— the Beta people\n',
    };
    for (const [rel, text] of Object.entries(mine)) await writeFile(path.join(target, rel), text);
    const before = await filesIn(target);

    const stopped = await anvil(target, 'import', file);
    expect(stopped.code).to.equal(1);
    expect(stopped.stdout).to.include('conflict   prompts/onboarding/welcome/message.md');
    expect(stopped.stderr).to.include('prompts/core/_signature.md  import.conflict  partial signature of set "core" is already in this repository with different content');
    expect(stopped.stderr).to.include('--on-conflict keep').and.include('nothing was written');
    expect(stopped.stderr).not.to.match(/\n\s+at /);
    expect(await filesIn(target)).to.deep.equal(before);

    const kept = await anvil(target, 'import', file, '--on-conflict', 'keep');
    expect(kept.code, kept.stderr).to.equal(0);
    expect(kept.stdout).to.include('2 kept');
    expect(await filesIn(target)).to.deep.equal(before);

    const renamed = await anvil(target, 'import', file, '--on-conflict', 'rename', '--json');
    expect(renamed.code, renamed.stderr).to.equal(0);
    const result = JSON.parse(renamed.stdout) as { renames: unknown[]; files: { file: string; action: string }[] };
    expect(result.renames).to.deep.equal([
      { set: 'core', kind: 'partial', from: 'signature', to: 'signature-imported' },
      { set: 'onboarding', kind: 'prompt', from: 'welcome.message', to: 'welcome.message-imported' },
    ]);
    expect(result.files.filter((f) => f.action === 'rename').map((f) => f.file)).to.deep.equal([
      'prompts/core/_signature-imported.md', 'prompts/onboarding/welcome/message-imported.fr.md', 'prompts/onboarding/welcome/message-imported.md',
    ]);
    // Yours stay; the imported ones sit beside them, and include the renamed partial.
    for (const [rel, text] of Object.entries(mine)) expect(await readFile(path.join(target, rel), 'utf8')).to.equal(text);
    expect(await readFile(path.join(target, 'prompts/onboarding/welcome/message-imported.md'), 'utf8')).to.equal(WELCOME.replace('{{> core/signature}}', '{{> core/signature-imported}}'));
    expect((await anvil(target, 'lint')).code).to.equal(0);
    expect(await render(target, 'onboarding/welcome.message-imported', '--var', 'name=Ada')).to.equal('You welcome new users.\nHi Ada on free.\n— Ada, the Acme team\n');
    expect(await render(target, 'onboarding/welcome.message', '--var', 'name=Ada')).to.equal('Yo Ada. — the Beta people\n');

    const replaced = await anvil(target, 'import', file, '--on-conflict', 'replace');
    expect(replaced.code, replaced.stderr).to.equal(0);
    expect(replaced.stdout).to.include('replace    prompts/core/_signature.md').and.include('2 replaced');
    expect(await readFile(path.join(target, 'prompts/onboarding/welcome/message.md'), 'utf8')).to.equal(WELCOME);
    expect((await anvil(target, 'lint')).code).to.equal(0);
    expect(await render(target, 'onboarding/welcome.message', '--var', 'name=Ada')).to.equal('You welcome new users.\nHi Ada on free.\n— Ada, the Acme team\n');
  });

  it('keeps a set.yaml on conflict but adds the dependencies the imported prompts need', async function () {
    const { file } = await exportFrom(source, 'onboarding');
    const target = await freshRepository();
    await anvil(target, 'new', 'set', 'onboarding');
    const own = await readFile(path.join(target, 'prompts/onboarding/set.yaml'), 'utf8');
    const run = await anvil(target, 'import', file, '--on-conflict', 'keep');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include('merge      prompts/onboarding/set.yaml  (kept, with the imported dependencies it lacked: core ^1.0.0)');
    const merged = await readFile(path.join(target, 'prompts/onboarding/set.yaml'), 'utf8');
    for (const line of own.split('\n').filter((l) => /^(#|description|mode)/.test(l))) expect(merged, 'comments and fields kept').to.include(line);
    expect(merged).to.match(/dependencies:\n {2}core: \^1\.0\.0\n/);
    expect((await anvil(target, 'lint')).code).to.equal(0);
  });

  it('shows exactly what a dry run would do, and writes nothing', async function () {
    const { file } = await exportFrom(source, 'onboarding');
    const target = await freshRepository();
    const before = await filesIn(target);
    const run = await anvil(target, 'import', file, '--dry-run');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^would import set onboarding from @acme at working tree \([0-9a-f]{7}\) into /);
    expect(run.stdout).to.include('create     prompts/onboarding/_greeting.md').and.include('9 created (dry run: nothing written)');
    expect(await filesIn(target)).to.deep.equal(before);
    const json = JSON.parse((await anvil(target, 'import', file, '--dry-run', '--json')).stdout) as { ok: boolean; dryRun: boolean; files: unknown[] };
    expect(json).to.include({ ok: true, dryRun: true });
    expect(json.files).to.have.length(9);
    expect(await filesIn(target)).to.deep.equal(before);
  });

  it('reports a dependency range the target\'s releases cannot satisfy, and imports only when allowed', async function () {
    const { file } = await exportFrom(source, 'onboarding');
    const target = await gitdir({
      files: { 'anvil.yaml': 'name: "@beta"\n', 'prompts/core/set.yaml': 'mode: locked\n', 'prompts/core/_signature.md': '— Beta' },
      tags: ['core@2.0.0'],
    });
    const before = await filesIn(target.dir);
    const run = await anvil(target.dir, 'import', file, '--on-conflict', 'keep');
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include('prompts/onboarding/set.yaml:3:3  import.version-conflict  "onboarding" depends on "core" ^1.0.0, but no release of "core" in this repository satisfies it (releases: 2.0.0)');
    expect(run.stderr).to.include('--allow-version-conflicts');
    expect(await filesIn(target.dir)).to.deep.equal(before);
    const allowed = await anvil(target.dir, 'import', file, '--on-conflict', 'keep', '--allow-version-conflicts');
    expect(allowed.code, allowed.stderr).to.equal(0);
    expect(allowed.stderr).to.include('warning import.version-conflict');
    expect(existsSync(target.path('prompts/onboarding/welcome/message.md'))).to.equal(true);
  });

  it('refuses a corrupted archive clearly, with where, and writes nothing', async function () {
    const { file } = await exportFrom(source, 'onboarding');
    const text = await readFile(file, 'utf8');
    const target = await freshRepository();
    const before = await filesIn(target);
    const dir = await tempDir();
    const cases: [string, string, RegExp][] = [
      ['edited-file.json', text.replace('Hi {{> who}}', 'Hey {{> who}}'), /edited-file\.json:\d+:\d+ {2}archive\.file-hash {2}onboarding\/_greeting\.md does not match the hash the manifest records/],
      ['edited-manifest.json', text.replace('"project": "acme"', '"project": "acme2"'), /edited-manifest\.json:\d+:\d+ {2}archive\.integrity {2}the archive does not match its integrity/],
      ['cut.json', text.slice(0, 400), /cut\.json:\d+:\d+ {2}archive\.bad-json {2}not valid JSON/],
      ['broken.json', text.replace('"format": "anvil.archive/1",', '"format": "anvil.archive/1" oops,'), /broken\.json:3:31 {2}archive\.bad-json/],
      ['bundle.json', '{"format": "anvil.bundle/1"}', /bundle\.json:1:2 {2}archive\.format {2}this is a "anvil\.bundle\/1" document, not an Anvil export archive/],
      ['bad-version.json', text.replace(/"version": "[^"]+"/, '"version": "v1"'), /bad-version\.json:\d+:\d+ {2}archive\.schema\.pattern {2}\/manifest\/sets\/core\/version/],
    ];
    for (const [name, content, expected] of cases) {
      await writeFile(path.join(dir, name), content);
      const run = await anvil(target, 'import', path.join(dir, name));
      expect(run.code, name).to.equal(1);
      expect(run.stderr, name).to.match(expected);
      expect(run.stderr, name).to.include('hint:').and.include('nothing was written');
      expect(run.stderr, name).not.to.include('internal error');
    }
    expect(await filesIn(target)).to.deep.equal(before);
  });
});
