import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { findPromptIdProblem, findSetNameProblem } from '@anvil/content-schema';
import { lintRepo } from '../../src/lint/lint-repo.ts';
import { loadRepo } from '../../src/load/load-repo.ts';
import { openWorkingTree } from '../../src/repo/working-tree.ts';
import { cleanupGitdirs, gitdir } from '../support/gitdir.ts';
import { anvil } from './cli-support.ts';

const BASE = {
  'anvil.yaml': 'name: "@acme"\npromptsDir: src/prompts\n',
  'src/prompts/core/set.yaml': 'mode: locked\n',
  'src/prompts/core/hello.md': '---\ninput:\n  schema:\n    name: string\n---\nHello {{name}}',
  'src/prompts/help/set.yaml': 'name: support\n',
};

async function lintClean(dir: string): Promise<void> {
  expect(lintRepo(await loadRepo(openWorkingTree(dir)))).to.deep.equal([]);
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).to.have.length(1);
  return lines[0] ?? '';
}

// `anvil new` is registered in main.ts's COMMANDS by the CLI's owner.
describe('anvil new', function () {
  after(cleanupGitdirs);

  describe('set', function () {
    it('creates <promptsDir>/<name>/set.yaml (mode review by default), prints its path, and lint stays clean', async function () {
      const repo = await gitdir({ files: BASE });
      const run = await anvil(repo.path('src'), 'new', 'set', 'faq');
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout.trim()).to.equal(`created ${path.join('prompts', 'faq', 'set.yaml')}`);
      const text = await readFile(repo.path('src/prompts/faq/set.yaml'), 'utf8');
      expect(parse(text)).to.deep.equal({ description: 'What the faq prompts are for.', mode: 'review' });
      // No .anvil/schemas in this repository: a modeline would point at nothing.
      expect(text).to.not.include('yaml-language-server');
      await lintClean(repo.dir);
    });

    it('takes --mode and --description, quoting the description as YAML needs', async function () {
      const repo = await gitdir({ files: BASE });
      const description = 'Answers: "how do I…?", 100% # not a comment\n\n  second line, trailing spaces  \n';
      const run = await anvil(repo.dir, 'new', 'set', 'faq', '--mode', 'live', '--description', description);
      expect(run.code, run.stderr).to.equal(0);
      expect(parse(await readFile(repo.path('src/prompts/faq/set.yaml'), 'utf8'))).to.deep.equal({ description, mode: 'live' });
      await lintClean(repo.dir);
    });

    it('points the modeline at the schema anvil init copied', async function () {
      const repo = await gitdir();
      expect((await anvil(repo.dir, 'init')).code).to.equal(0);
      expect((await anvil(repo.dir, 'new', 'set', 'faq')).code).to.equal(0);
      const text = await readFile(repo.path('prompts/faq/set.yaml'), 'utf8');
      const target = /^# yaml-language-server: \$schema=(.+)$/m.exec(text)?.[1] ?? '';
      expect(target).to.equal('../../.anvil/schemas/set.schema.json');
      expect(existsSync(path.resolve(repo.path('prompts/faq'), target))).to.equal(true);
      await lintClean(repo.dir);
    });

    it('refuses an invalid name with content-schema\'s message and a hint', async function () {
      const repo = await gitdir({ files: BASE });
      const run = await anvil(repo.dir, 'new', 'set', 'FAQ');
      expect(run.code).to.equal(1);
      const line = oneLine(run.stderr);
      expect(line).to.include(`set.invalid-name  ${findSetNameProblem('FAQ')?.message}`);
      expect(line).to.include('(hint: set names are lowercase');
    });

    it('refuses a set that exists, by name or by folder, and --mode it does not know', async function () {
      const repo = await gitdir({ files: BASE });
      expect(oneLine((await anvil(repo.dir, 'new', 'set', 'core')).stderr)).to.include('new.exists  set "core" already exists: src/prompts/core/set.yaml');
      expect(oneLine((await anvil(repo.dir, 'new', 'set', 'support')).stderr)).to.include('src/prompts/help/set.yaml');
      expect(oneLine((await anvil(repo.dir, 'new', 'set', 'help')).stderr)).to.include('new.exists  src/prompts/help/set.yaml already exists (set "support")');
      expect(oneLine((await anvil(repo.dir, 'new', 'set', 'x', '--mode', 'draft')).stderr)).to.include('--mode must be live, review or locked, not "draft"');
      expect(await readFile(repo.path('src/prompts/core/set.yaml'), 'utf8')).to.equal('mode: locked\n');
    });
  });

  describe('prompt', function () {
    it('creates <set folder>/<id with dots as folders>.md from the template, and lint stays clean', async function () {
      const repo = await gitdir({ files: BASE });
      const run = await anvil(repo.dir, 'new', 'prompt', 'core/tone.casual');
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout.trim()).to.equal(`created ${path.join('src', 'prompts', 'core', 'tone', 'casual.md')}`);
      const text = await readFile(repo.path('src/prompts/core/tone/casual.md'), 'utf8');
      expect(text).to.match(/^---\ndescription: What tone\.casual is for/);
      expect(text).to.include('{{topic}}');
      await lintClean(repo.dir);
    });

    it('creates a variant beside its base with --variant', async function () {
      const repo = await gitdir({ files: BASE });
      const run = await anvil(repo.dir, 'new', 'prompt', 'core/hello', '--variant', 'fr');
      expect(run.code, run.stderr).to.equal(0);
      const loaded = await loadRepo(openWorkingTree(repo.dir));
      const core = loaded.sets.find((s) => s.name === 'core');
      expect(core?.prompts.map((p) => [p.file, p.id, p.variant])).to.deep.include(['src/prompts/core/hello.fr.md', 'hello', 'fr']);
      await lintClean(repo.dir);
    });

    it('finds the set by its name, in whatever folder it lives', async function () {
      const repo = await gitdir({ files: BASE });
      expect((await anvil(repo.dir, 'new', 'prompt', 'support/refund')).code).to.equal(0);
      expect(existsSync(repo.path('src/prompts/help/refund.md'))).to.equal(true);
    });

    it('never overwrites: an existing prompt, or variant, is refused and left as it is', async function () {
      const repo = await gitdir({ files: { ...BASE, 'src/prompts/core/hello.fr.md': 'Bonjour {{name}}' } });
      const base = await anvil(repo.dir, 'new', 'prompt', 'core/hello');
      expect(base.code).to.equal(1);
      expect(oneLine(base.stderr)).to.include('new.exists  prompt "hello" already exists: src/prompts/core/hello.md');
      const variant = await anvil(repo.dir, 'new', 'prompt', 'core/hello', '--variant', 'fr');
      expect(oneLine(variant.stderr)).to.include('variant "fr" of prompt "hello" already exists');
      expect(await readFile(repo.path('src/prompts/core/hello.fr.md'), 'utf8')).to.equal('Bonjour {{name}}');
    });

    it('refuses invalid ids and variants with content-schema\'s message and a hint', async function () {
      const repo = await gitdir({ files: BASE });
      for (const id of ['welcome/message', 'a..b', '-x']) {
        const line = oneLine((await anvil(repo.dir, 'new', 'prompt', `core/${id}`)).stderr);
        expect(line).to.include(`prompt.invalid-id  ${findPromptIdProblem(id)?.message}`);
        expect(line).to.include('(hint: ');
      }
      expect(oneLine((await anvil(repo.dir, 'new', 'prompt', 'core/_footer')).stderr)).to.include('makes it a partial');
      expect(oneLine((await anvil(repo.dir, 'new', 'prompt', 'core/hello', '--variant', 'f.r')).stderr)).to.include('prompt.invalid-variant');
      expect(oneLine((await anvil(repo.dir, 'new', 'prompt', 'core/nope', '--variant', 'fr')).stderr)).to.include('prompt.variant-without-base');
      expect(existsSync(repo.path('src/prompts/core/welcome'))).to.equal(false);
    });

    it('needs an existing set, and suggests a near name', async function () {
      const repo = await gitdir({ files: BASE });
      const typo = await anvil(repo.dir, 'new', 'prompt', 'cor/x');
      expect(typo.code).to.equal(1);
      expect(oneLine(typo.stderr)).to.include('set.not-found  no set named "cor" in this repository (hint: did you mean "core"?)');
      expect(oneLine((await anvil(repo.dir, 'new', 'prompt', 'billing/x')).stderr)).to.include('anvil new set billing');
      expect(oneLine((await anvil(repo.dir, 'new', 'prompt', 'hello')).stderr)).to.include('give the prompt as <set>/<id>');
    });
  });

  it('refuses to guess where sets go when anvil.yaml is broken', async function () {
    const repo = await gitdir({ files: { ...BASE, 'anvil.yaml': 'promptsDir: [\n' } });
    const run = await anvil(repo.dir, 'new', 'set', 'faq');
    expect(run.code).to.equal(1);
    expect(oneLine(run.stderr)).to.include('new.invalid-config');
  });

  it('explains its usage mistakes in one line', async function () {
    const repo = await gitdir({ files: BASE });
    expect(oneLine((await anvil(repo.dir, 'new')).stderr)).to.include('anvil new needs "set" or "prompt"');
    expect(oneLine((await anvil(repo.dir, 'new', 'sett', 'x')).stderr)).to.include('did you mean "anvil new set"?');
    expect(oneLine((await anvil(repo.dir, 'new', 'set')).stderr)).to.include('cli.bad-arguments');
    expect(oneLine((await anvil(repo.dir, 'new', 'set', 'a', 'b')).stderr)).to.include('cli.bad-arguments');
    expect(oneLine((await anvil(repo.dir, 'new', 'set', 'a', '--variant', 'fr')).stderr)).to.include('--variant is for anvil new prompt');
    expect(oneLine((await anvil(repo.dir, 'new', 'prompt', 'core/a', '--mode', 'live')).stderr)).to.include('--mode is for anvil new set');
    expect((await anvil(repo.dir, 'new', '--help')).stdout).to.include('anvil new prompt <set>/<id> [--variant <name>]');
    expect(oneLine((await anvil(repo.dir, 'new', 'set', 'x', '--bogus')).stderr)).to.include('cli.bad-arguments');
  });

  it('--json prints the file created', async function () {
    const repo = await gitdir({ files: BASE });
    const run = await anvil(repo.dir, 'new', 'set', 'faq', '--json');
    expect(JSON.parse(run.stdout)).to.deep.equal({ ok: true, file: 'src/prompts/faq/set.yaml', path: repo.path('src/prompts/faq/set.yaml') });
  });
});
