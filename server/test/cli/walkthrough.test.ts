/**
 * The README's walkthrough, run for real on a copy of examples/prompts: what the README says
 * the commands do is what they do, and the example repository stays valid.
 */
import { cp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { validateBundle } from '@anvil/content-schema';
import { cleanupGitdirs, gitdir } from '../support/gitdir.ts';
import { anvil } from './cli-support.ts';

const EXAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples/prompts');

describe('the README walkthrough on examples/prompts', function () {
  after(cleanupGitdirs);

  it('lints, renders, releases, diffs and builds the example repository', async function () {
    const repo = await gitdir();
    await cp(EXAMPLE, repo.dir, { recursive: true });
    await repo.commit('example prompts');

    const lint = await anvil(repo.dir, 'lint');
    expect(lint.code, lint.stdout).to.equal(0);
    expect(lint.stdout).to.contain('0 errors, 2 warnings');

    const render = await anvil(repo.dir, 'render', 'support/answer', '--variant', 'fr', '--var', 'question=Où est ma facture ?');
    expect(render.code, render.stderr).to.equal(0);
    expect(render.stdout).to.contain('Question du client : Où est ma facture ?');
    // Before core's first release, a preview takes core from the working tree, and says so.
    expect(render.stderr).to.contain('core has no release yet; this preview uses core from the working tree');

    for (const set of ['core', 'onboarding', 'support']) {
      const run = await anvil(repo.dir, 'release', set);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.contain(`tagged ${set}@1.0.0`);
    }
    expect((await anvil(repo.dir, 'lint')).stdout).to.contain('0 errors, 0 warnings');

    const file = 'prompts/onboarding/welcome/message.md';
    const source = await readFile(repo.path(file), 'utf8');
    await repo.commit('ask for the team size', {
      [file]: source.replace('    goals?(array', '    team_size?: integer, how many teammates they expect\n    goals?(array')
        .replace('{{#if goals}}', '{{#if team_size}}They expect a team of {{team_size}}.\n{{/if}}\n{{#if goals}}'),
    });
    const diff = await anvil(repo.dir, 'diff', 'onboarding', '1.0.0', 'main');
    expect(diff.stdout).to.contain('needs a minor release:');
    expect(diff.stdout).to.contain('new optional input team_size');
    expect(diff.stdout).to.contain('+They expect a team of 1.');

    const release = await anvil(repo.dir, 'release', 'onboarding');
    expect(release.stdout).to.contain('onboarding: 1.0.0 → 1.1.0');
    expect((await anvil(repo.dir, 'versions', 'onboarding')).stdout).to.match(/1\.1\.0 .* core@1\.0\.0\n {2}1\.0\.0 /);

    const build = await anvil(repo.dir, 'build', '--out', 'dist', '--json');
    expect(build.code, build.stderr).to.equal(0);
    const bundles = JSON.parse(build.stdout).bundles as { file: string }[];
    expect(bundles).to.have.length(3);
    for (const b of bundles) expect(validateBundle(JSON.parse(await readFile(b.file, 'utf8'))).ok).to.equal(true);

    const types = await anvil(repo.dir, 'types');
    expect(types.stdout).to.contain("'support/answer'");
    expect(types.stdout).to.contain('team_size?: number');
  });

  it('starts a new repository with anvil init and takes it to a first release', async function () {
    const repo = await gitdir();
    const init = await anvil(repo.dir, 'init', '--name', '@acme');
    expect(init.code, init.stderr).to.equal(0);
    expect((await anvil(repo.dir, 'lint')).stdout).to.contain('0 errors, 0 warnings');
    const preview = await anvil(repo.dir, 'render', 'hello/greeting', '--var', 'name=Ada');
    expect(preview.stdout).to.contain('Write a short, friendly greeting for Ada.');
    expect((await anvil(repo.dir, 'new', 'prompt', 'hello/farewell')).code).to.equal(0);
    await repo.commit('Add prompts');
    expect((await anvil(repo.dir, 'release', 'hello')).stdout).to.contain('tagged hello@1.0.0');
    expect((await anvil(repo.dir, 'render', '@acme/hello@latest/greeting')).stdout).to.contain('greeting for there');
  });
});
