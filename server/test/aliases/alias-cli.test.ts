/** `anvil alias` and `anvil canary` on real repositories: anvil.yaml edited in place, comments kept (issue 17). */
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';
import { anvil } from '../cli/cli-support.ts';

export const ANVIL_YAML = [
  '# The acme prompt repository.',
  'name: "@acme"   # scope used in addresses',
  '',
  '# Rollouts are reviewed like content.',
  'rollouts: {}',
  '',
].join('\n');

export const FILES = {
  'anvil.yaml': ANVIL_YAML,
  'prompts/onboarding/set.yaml': 'mode: locked\n',
  'prompts/onboarding/welcome/message.md': '---\ninput:\n  schema:\n    name: string\n---\nHello {{name}}, v1',
};

/** A repository with onboarding@1.0.0 and onboarding@1.1.0 released. */
export async function releasedRepo(): Promise<GitDir> {
  const repo = await gitdir({ files: FILES });
  expect((await anvil(repo.dir, 'release', 'onboarding', '1.0.0')).code).to.equal(0);
  await repo.commit('v1.1', { 'prompts/onboarding/welcome/message.md': '---\ninput:\n  schema:\n    name: string\n---\nHello {{name}}, v1.1' });
  expect((await anvil(repo.dir, 'release', 'onboarding', '1.1.0')).code).to.equal(0);
  return repo;
}

describe('anvil alias', function () {
  after(cleanupGitdirs);

  it('sets, moves and removes an alias, keeping the comments and layout of anvil.yaml', async function () {
    const repo = await releasedRepo();
    const set = await anvil(repo.dir, 'alias', 'set', 'onboarding', 'stable', '1.0.0');
    expect(set.code, set.stderr).to.equal(0);
    expect(set.stdout).to.contain('set onboarding@stable → 1.0.0 in anvil.yaml');
    expect(set.stdout).to.contain('git add anvil.yaml && git commit -m "anvil alias: onboarding@stable = 1.0.0"');
    expect(await readFile(repo.path('anvil.yaml'), 'utf8')).to.equal(`${ANVIL_YAML}aliases:\n  onboarding:\n    stable: 1.0.0\n`);

    const moved = await anvil(repo.dir, 'alias', 'set', 'onboarding', 'stable', '1.1.0', '--json');
    expect(JSON.parse(moved.stdout)).to.include({ ok: true, version: '1.1.0', previous: '1.0.0', changed: true, commit: null });
    await anvil(repo.dir, 'alias', 'set', 'onboarding', 'beta', '1.1.0');
    expect(await readFile(repo.path('anvil.yaml'), 'utf8')).to.equal(`${ANVIL_YAML}aliases:\n  onboarding:\n    stable: 1.1.0\n    beta: 1.1.0\n`);

    const listed = JSON.parse((await anvil(repo.dir, 'alias', 'list', '--json')).stdout);
    expect(listed.aliases).to.deep.equal([
      { set: 'onboarding', alias: 'beta', version: '1.1.0', released: true },
      { set: 'onboarding', alias: 'stable', version: '1.1.0', released: true },
    ]);

    expect((await anvil(repo.dir, 'alias', 'rm', 'onboarding', 'beta')).code).to.equal(0);
    expect((await anvil(repo.dir, 'alias', 'rm', 'onboarding', 'stable')).code).to.equal(0);
    // Nothing left: the file is as it was before the first alias, with an empty map.
    expect(await readFile(repo.path('anvil.yaml'), 'utf8')).to.equal(`${ANVIL_YAML}aliases: {}\n`);
  });

  it('keeps comments inside the aliases block and on the edited line', async function () {
    const repo = await releasedRepo();
    await repo.write({ 'anvil.yaml': `${ANVIL_YAML}aliases:\n  onboarding:\n    # what most apps pin\n    stable: 1.0.0 # moved after QA\n` });
    expect((await anvil(repo.dir, 'alias', 'set', 'onboarding', 'stable', '1.1.0')).code).to.equal(0);
    expect(await readFile(repo.path('anvil.yaml'), 'utf8')).to.equal(`${ANVIL_YAML}aliases:\n  onboarding:\n    # what most apps pin\n    stable: 1.1.0 # moved after QA\n`);
  });

  it('commits anvil.yaml alone with --commit, leaving other staged work alone', async function () {
    const repo = await releasedRepo();
    await repo.write({ 'notes.txt': 'staged, not mine' });
    await repo.git('add', 'notes.txt');
    const run = await anvil(repo.dir, 'alias', 'set', 'onboarding', 'stable', '1.0.0', '--commit');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/committed anvil\.yaml as [0-9a-f]{7}: anvil alias: onboarding@stable = 1\.0\.0/);
    expect(await repo.git('log', '-1', '--format=%s')).to.equal('anvil alias: onboarding@stable = 1.0.0');
    expect(await repo.git('show', '--name-only', '--format=', 'HEAD')).to.equal('anvil.yaml');
    expect(await repo.git('diff', '--cached', '--name-only')).to.equal('notes.txt');
  });

  it('refuses alias names that are channels, "latest", ranges or near misses, with a hint', async function () {
    const repo = await releasedRepo();
    for (const [name, message] of [
      ['production', /"production" is a channel/],
      ['latest', /"latest"/],
      ['x', /reads as a version range/],
      ['v1', /reads as a version range/],
      ['prod', /too close to "production"/],
      ['Stable', /lowercase letters/],
    ] as const) {
      const run = await anvil(repo.dir, 'alias', 'set', 'onboarding', name, '1.0.0');
      expect(run.code, name).to.equal(1);
      expect(run.stderr, name).to.match(message);
      expect(run.stderr, name).to.match(/alias\.invalid-name/);
      expect(run.stderr, name).to.match(/hint/i);
    }
    expect(await readFile(repo.path('anvil.yaml'), 'utf8')).to.equal(ANVIL_YAML);
  });

  it('refuses a version without a release tag, or a range, and names the releases', async function () {
    const repo = await releasedRepo();
    const missing = await anvil(repo.dir, 'alias', 'set', 'onboarding', 'stable', '2.0.0');
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain('onboarding has no release 2.0.0 (no tag onboarding@2.0.0)');
    expect(missing.stderr).to.contain('1.0.0, 1.1.0');
    const range = await anvil(repo.dir, 'alias', 'set', 'onboarding', 'stable', '^1.0.0');
    expect(range.stderr).to.contain('is not an exact version');
    const unknown = await anvil(repo.dir, 'alias', 'rm', 'onboarding', 'stable');
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.contain('onboarding has no alias "stable"');
    expect(await readFile(repo.path('anvil.yaml'), 'utf8')).to.equal(ANVIL_YAML);
  });

  it('lint reports an alias naming a missing release at its line and column', async function () {
    const repo = await releasedRepo();
    await repo.write({ 'anvil.yaml': `${ANVIL_YAML}aliases:\n  onboarding:\n    stable: 1.0.0\n    beta: 1.9.0\n` });
    const run = await anvil(repo.dir, 'lint');
    expect(run.code).to.equal(1);
    const lines = ANVIL_YAML.split('\n').length - 1;
    expect(run.stdout + run.stderr).to.match(new RegExp(`anvil\\.yaml:${lines + 4}:5 .*alias\\.missing-release.*alias onboarding@beta names 1\\.9\\.0, but there is no release onboarding@1\\.9\\.0`));
    expect(run.stdout + run.stderr).not.to.contain('onboarding@stable');
    const json = JSON.parse((await anvil(repo.dir, 'lint', '--json')).stdout);
    const found = (json.problems ?? json).find((p: { code: string }) => p.code === 'alias.missing-release');
    expect(found).to.include({ file: 'anvil.yaml', line: lines + 4, column: 5 });
  });

  it('lint reports a bad alias name in anvil.yaml where it is written', async function () {
    const repo = await releasedRepo();
    await repo.write({ 'anvil.yaml': `${ANVIL_YAML}aliases:\n  onboarding:\n    staging: 1.0.0\n` });
    const run = await anvil(repo.dir, 'lint');
    expect(run.code).to.equal(1);
    const lines = ANVIL_YAML.split('\n').length - 1;
    expect(run.stdout + run.stderr).to.match(new RegExp(`anvil\\.yaml:${lines + 3}:5 .*"staging" is a channel, so it cannot be an alias`));
  });

  it('resolves @repo/set@alias in render, and aliases in diff and build', async function () {
    const repo = await releasedRepo();
    await anvil(repo.dir, 'alias', 'set', 'onboarding', 'stable', '1.0.0');
    const rendered = await anvil(repo.dir, 'render', '@acme/onboarding@stable/welcome.message', '--var', 'name=Ada', '--json');
    expect(rendered.code, rendered.stderr).to.equal(0);
    expect(JSON.parse(rendered.stdout)).to.include({ address: '@acme/onboarding@1.0.0/welcome.message', text: 'Hello Ada, v1' });

    const diff = await anvil(repo.dir, 'diff', 'onboarding', 'stable', '1.1.0', '--json');
    expect(diff.code, diff.stderr).to.equal(0);
    expect(JSON.parse(diff.stdout).from).to.include({ version: '1.0.0' });

    const built = await anvil(repo.dir, 'build', 'onboarding', '--ref', 'stable', '--json');
    expect(built.code, built.stderr).to.equal(0);
    expect(built.stdout).to.contain('"version":"1.0.0"');

    const unknown = await anvil(repo.dir, 'render', 'onboarding@beta/welcome.message');
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.contain('onboarding has no alias "beta"');
    expect(unknown.stderr).to.contain('aliases of onboarding: stable');

    // An alias whose tag is gone is refused, not silently taken as a branch.
    await repo.write({ 'anvil.yaml': `${ANVIL_YAML}aliases:\n  onboarding:\n    stable: 1.7.0\n` });
    const gone = await anvil(repo.dir, 'render', 'onboarding@stable/welcome.message');
    expect(gone.code).to.equal(1);
    expect(gone.stderr).to.contain('alias onboarding@stable names 1.7.0, but there is no release onboarding@1.7.0');
  });
});

describe('anvil canary', function () {
  after(cleanupGitdirs);

  it('sets, changes and ends a rollout in anvil.yaml, keeping comments', async function () {
    const repo = await releasedRepo();
    const run = await anvil(repo.dir, 'canary', 'set', 'onboarding', '--version', '1.1.0', '--percent', '10');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain('set rollout of onboarding on production: 1.1.0 to 10% of keys');
    expect(await readFile(repo.path('anvil.yaml'), 'utf8')).to.equal(ANVIL_YAML.replace('rollouts: {}', 'rollouts: { onboarding: { production: { version: 1.1.0, percent: 10 } } }'));

    await repo.write({ 'anvil.yaml': ANVIL_YAML.replace('rollouts: {}', 'rollouts:\n  onboarding:\n    production:\n      version: 1.0.0\n      percent: 5 # start small') });
    expect((await anvil(repo.dir, 'canary', 'set', 'onboarding', '--version', '1.1.0', '--percent', '50')).code).to.equal(0);
    expect((await anvil(repo.dir, 'canary', 'set', 'onboarding', '--version', '1.1.0', '--percent', '20', '--channel', 'staging')).code).to.equal(0);
    expect(await readFile(repo.path('anvil.yaml'), 'utf8')).to.equal(ANVIL_YAML.replace('rollouts: {}', [
      'rollouts:', '  onboarding:', '    production:', '      version: 1.1.0', '      percent: 50 # start small', '    staging:', '      version: 1.1.0', '      percent: 20',
    ].join('\n')));
    const listed = JSON.parse((await anvil(repo.dir, 'canary', 'list', '--json')).stdout);
    expect(listed.rollouts).to.deep.equal([
      { set: 'onboarding', channel: 'production', version: '1.1.0', percent: 50 },
      { set: 'onboarding', channel: 'staging', version: '1.1.0', percent: 20 },
    ]);

    const removed = await anvil(repo.dir, 'canary', 'rm', 'onboarding', '--channel', 'staging', '--commit');
    expect(removed.code, removed.stderr).to.equal(0);
    expect(await repo.git('log', '-1', '--format=%s')).to.equal('anvil canary: end the rollout of onboarding on staging (1.1.0 at 20%)');
    expect((await anvil(repo.dir, 'canary', 'rm', 'onboarding')).code).to.equal(0);
    // The emptied set goes; `rollouts:` and the comment about it stay.
    expect(await readFile(repo.path('anvil.yaml'), 'utf8')).to.equal(ANVIL_YAML);
  });

  it('refuses a bad percent, an unknown channel, a missing release, with codes and hints', async function () {
    const repo = await releasedRepo();
    for (const percent of ['101', '12.5', '-1', 'ten']) {
      const run = await anvil(repo.dir, 'canary', 'set', 'onboarding', '--version', '1.1.0', `--percent=${percent}`);
      expect(run.code, percent).to.equal(1);
      expect(run.stderr, percent).to.contain('canary.bad-percent');
    }
    const channel = await anvil(repo.dir, 'canary', 'set', 'onboarding', '--version', '1.1.0', '--percent', '10', '--channel', 'prod');
    expect(channel.stderr).to.contain('"prod" is not a channel');
    expect(channel.stderr).to.contain('did you mean production?');
    const missing = await anvil(repo.dir, 'canary', 'set', 'onboarding', '--version', '3.0.0', '--percent', '10');
    expect(missing.stderr).to.contain('onboarding has no release 3.0.0');
    const none = await anvil(repo.dir, 'canary', 'rm', 'onboarding');
    expect(none.stderr).to.contain('onboarding has no rollout in anvil.yaml');
    expect(await readFile(repo.path('anvil.yaml'), 'utf8')).to.equal(ANVIL_YAML);
  });
});
