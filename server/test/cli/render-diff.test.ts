/** `anvil render` and `anvil diff` on real repositories. */
import { writeFile } from 'node:fs/promises';
import { expect } from 'chai';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';
import { anvil } from './cli-support.ts';

const WELCOME = [
  '---',
  'input:',
  '  schema:',
  '    name: string',
  '    plan?: string',
  '    count?: number',
  '  default:',
  '    plan: free',
  '---',
  '{{role "system"}}You welcome new users.',
  '{{role "user"}}Hi {{name}} on {{plan}}{{#if count}} ({{count}}){{/if}}',
  '{{> core/signature}}',
].join('\n');

const FILES = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/core/set.yaml': 'mode: locked\n',
  'prompts/core/_signature.md': '— The team',
  'prompts/onboarding/set.yaml': 'dependencies:\n  core: ^1.0.0\n',
  'prompts/onboarding/welcome/message.md': WELCOME,
  'prompts/onboarding/welcome/message.fr.md': '---\ntags: {locale: fr}\ninput:\n  schema:\n    name: string\n---\nBonjour {{name}}',
  'prompts/onboarding/error/not_found.md': 'Nothing here.',
};

async function repoWithReleases(): Promise<GitDir> {
  const repo = await gitdir({ files: FILES });
  await anvil(repo.dir, 'release', 'core');
  await anvil(repo.dir, 'release', 'onboarding');
  return repo;
}

describe('anvil render', function () {
  after(cleanupGitdirs);

  it('renders a prompt of the working tree with --var, defaults and dependency partials', async function () {
    const repo = await repoWithReleases();
    const run = await anvil(repo.dir, 'render', 'onboarding/welcome.message', '--var', 'name=Ada');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.equal('You welcome new users.\nHi Ada on free\n— The team\n');
  });

  it('prints messages with roles, JSON values with :=, and variables from a file', async function () {
    const repo = await repoWithReleases();
    await writeFile(repo.path('vars.json'), JSON.stringify({ name: 'Grace', plan: 'pro' }));
    const run = await anvil(repo.dir, 'render', 'onboarding/welcome.message', '--vars', 'vars.json', '--var', 'count:=3', '--messages');
    expect(run.stdout).to.equal('[system]\nYou welcome new users.\n\n[user]\nHi Grace on pro (3)\n— The team\n');
    const json = JSON.parse((await anvil(repo.dir, 'render', 'onboarding/welcome.message', '--var', 'name=Ada', '--messages', '--json')).stdout);
    expect(json.address).to.match(/^@acme\/onboarding@1\.0\.1-head\.1\+[0-9a-f]{7}\/welcome\.message$/);
    expect(json.messages.map((m: { role: string }) => m.role)).to.deep.equal(['system', 'user']);
  });

  it('renders a release by version, range or latest, and a variant', async function () {
    const repo = await repoWithReleases();
    await repo.commit('reword', { 'prompts/onboarding/error/not_found.md': 'Gone.' });
    expect((await anvil(repo.dir, 'render', 'onboarding/error.not_found')).stdout).to.equal('Gone.\n');
    expect((await anvil(repo.dir, 'render', 'onboarding@1.0.0/error.not_found')).stdout).to.equal('Nothing here.\n');
    expect((await anvil(repo.dir, 'render', '@acme/onboarding@^1/error.not_found')).stdout).to.equal('Nothing here.\n');
    expect((await anvil(repo.dir, 'render', 'onboarding@latest/error.not_found')).stdout).to.equal('Nothing here.\n');
    expect((await anvil(repo.dir, 'render', 'onboarding/welcome.message', '--variant', 'fr', '--var', 'name=Ada')).stdout).to.equal('Bonjour Ada\n');
  });

  it('explains what is wrong: unknown prompt, version, variant, channel, missing variable', async function () {
    const repo = await repoWithReleases();
    const unknown = await anvil(repo.dir, 'render', 'onboarding/welcome.mesage');
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.contain('render.unknown-prompt').and.contain('did you mean welcome.message?');
    expect((await anvil(repo.dir, 'render', 'onboarding@2.0.0/welcome.message')).stderr).to.contain('releases: 1.0.0');
    expect((await anvil(repo.dir, 'render', 'onboarding/welcome.message', '--variant', 'de')).stderr).to.contain('variants: fr');
    expect((await anvil(repo.dir, 'render', 'onboarding@production/welcome.message')).stderr).to.contain('render.channel');
    expect((await anvil(repo.dir, 'render', '@other/onboarding/welcome.message')).stderr).to.contain('this repository is @acme');
    const missing = await anvil(repo.dir, 'render', 'onboarding/welcome.message');
    expect(missing.code).to.equal(0);
    expect(missing.stderr).to.contain('requires "name"');
    const badJson = await anvil(repo.dir, 'render', 'onboarding/welcome.message', '--var', 'count:=three');
    expect(badJson.stderr).to.contain('render.vars-invalid');
    for (const run of [unknown, badJson]) expect(run.stderr).not.to.contain('    at ');
  });

  it('keeps a "__proto__" variable as data', async function () {
    const repo = await repoWithReleases();
    await writeFile(repo.path('vars.json'), '{"__proto__": {"name": "Mallory"}, "name": "Ada"}');
    const json = JSON.parse((await anvil(repo.dir, 'render', 'onboarding/welcome.message', '--vars', 'vars.json', '--json')).stdout);
    expect(json.text).to.contain('Hi Ada');
    expect(({} as Record<string, unknown>)['name']).to.equal(undefined);
  });
});

describe('anvil diff', function () {
  after(cleanupGitdirs);

  it('shows the contract changes and a rendered diff per changed prompt, with the inputs used', async function () {
    const repo = await repoWithReleases();
    await repo.write({
      'prompts/onboarding/welcome/message.md': WELCOME.replace('Hi {{name}}', 'Hello {{name}}'),
      'prompts/onboarding/bye.md': 'Bye!',
    });
    const run = await anvil(repo.dir, 'diff', 'onboarding', '1.0.0');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain('onboarding: onboarding@1.0.0 (1.0.0) → working tree');
    expect(run.stdout).to.contain('needs a minor release:');
    expect(run.stdout).to.contain('minor  bye: prompt bye was added');
    expect(run.stdout).to.contain('welcome.message  changed');
    expect(run.stdout).to.contain('inputs: {"name":"‹name›","plan":"free","count":1}');
    expect(run.stdout).to.contain('-Hi ‹name› on free (1)');
    expect(run.stdout).to.contain('+Hello ‹name› on free (1)');
    expect(run.stdout).not.to.contain('error.not_found');
    expect(run.stdout).to.contain('bye  added');
  });

  it('compares two refs as JSON, and lists unchanged prompts with --all', async function () {
    const repo = await repoWithReleases();
    await repo.commit('drop fr', { 'prompts/onboarding/welcome/message.fr.md': null });
    const json = JSON.parse((await anvil(repo.dir, 'diff', 'onboarding', '1.0.0', 'main', '--json', '--all')).stdout);
    expect(json.impact).to.equal('minor');
    expect(json.prompts.map((p: { id: string; variant?: string; status: string }) => `${p.id}${p.variant ? `.${p.variant}` : ''} ${p.status}`)).to.deep.equal([
      'error.not_found unchanged', 'welcome.message unchanged', 'welcome.message.fr removed',
    ]);
  });

  it('says "no changes" between identical builds', async function () {
    const repo = await repoWithReleases();
    const run = await anvil(repo.dir, 'diff', 'onboarding', '1.0.0', 'main');
    expect(run.stdout).to.contain('no changes');
  });
});
