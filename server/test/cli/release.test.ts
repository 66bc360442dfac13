/**
 * `anvil release`, `anvil rollback` and `anvil versions` on real repositories: the semver guard
 * at work, the tag and its record, pushing, and releases never moving silently.
 */
import { expect } from 'chai';
import { canonicalJson } from '@anvil/content-schema';
import { buildRelease } from '../../src/build/build-release.ts';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';
import { anvil } from './cli-support.ts';

const WELCOME = '---\ninput:\n  schema:\n    name: string\n---\nHi {{name}}\n{{> core/signature}}';

const FILES = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/core/set.yaml': 'mode: locked\n',
  'prompts/core/_signature.md': '— The team',
  'prompts/onboarding/set.yaml': 'mode: review\ndependencies:\n  core: ^1.0.0\n',
  'prompts/onboarding/welcome/message.md': WELCOME,
};

async function released(): Promise<GitDir> {
  const repo = await gitdir({ files: FILES });
  expect((await anvil(repo.dir, 'release', 'core')).code).to.equal(0);
  return repo;
}

async function tagMessage(repo: GitDir, tag: string): Promise<string> {
  return repo.git('tag', '-l', '--format=%(contents)', tag);
}

describe('anvil release', function () {
  after(cleanupGitdirs);

  it('makes a first release 1.0.0, recording the dependency versions resolved now', async function () {
    const repo = await released();
    const run = await anvil(repo.dir, 'release', 'onboarding');
    expect(run.stderr).to.equal('');
    expect(run.code).to.equal(0);
    expect(run.stdout).to.contain('tagged onboarding@1.0.0');
    expect(run.stdout).to.contain('prompt welcome.message was added');
    const message = await tagMessage(repo, 'onboarding@1.0.0');
    expect(message).to.match(/^onboarding 1\.0\.0\n/);
    expect(message).to.contain('Anvil-Dependency: core@1.0.0');
    expect(await repo.revParse('onboarding@1.0.0^{commit}')).to.equal(await repo.revParse('HEAD'));
  });

  it('picks a patch for a body change and a major for a new required input', async function () {
    const repo = await released();
    await anvil(repo.dir, 'release', 'onboarding');
    await repo.commit('reword', { 'prompts/onboarding/welcome/message.md': WELCOME.replace('Hi', 'Hello') });
    const patch = await anvil(repo.dir, 'release', 'onboarding', '--json');
    expect(JSON.parse(patch.stdout).release).to.include({ version: '1.0.1', impact: 'patch', base: '1.0.0', created: true });

    await repo.commit('ask for a plan', { 'prompts/onboarding/welcome/message.md': '---\ninput:\n  schema:\n    name: string\n    plan: string\n---\nHi {{name}} on {{plan}}' });
    const major = await anvil(repo.dir, 'release', 'onboarding');
    expect(major.code).to.equal(0);
    expect(major.stdout).to.contain('tagged onboarding@2.0.0');
    expect(major.stdout).to.match(/major\s+welcome\.message: requires a new input plan/);
  });

  it('refuses a bump that under-declares a breaking change, and creates no tag', async function () {
    const repo = await released();
    await anvil(repo.dir, 'release', 'onboarding');
    await repo.commit('remove the prompt', { 'prompts/onboarding/welcome/message.md': null, 'prompts/onboarding/other.md': 'Other' });
    const run = await anvil(repo.dir, 'release', 'onboarding', 'minor');
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain('release.under-declared');
    expect(run.stderr).to.contain('1.1.0 declares a minor change after 1.0.0, but the changes are major');
    expect(run.stderr).to.contain('anvil release onboarding major');
    expect(run.stderr).not.to.contain('    at ');
    expect(await repo.git('tag', '-l', 'onboarding@*')).to.equal('onboarding@1.0.0');
    expect((await anvil(repo.dir, 'release', 'onboarding', '2.0.0-rc.1')).code).to.equal(0);
  });

  it('makes numbered prereleases and accepts exact versions with build metadata', async function () {
    const repo = await released();
    await anvil(repo.dir, 'release', 'onboarding');
    await repo.commit('new prompt', { 'prompts/onboarding/bye.md': 'Bye' });
    expect((await anvil(repo.dir, 'release', 'onboarding', 'minor', '--preid', 'rc')).stdout).to.contain('tagged onboarding@1.1.0-rc.0');
    expect((await anvil(repo.dir, 'release', 'onboarding', 'minor', '--preid', 'rc')).stdout).to.contain('tagged onboarding@1.1.0-rc.1');
    const exact = await anvil(repo.dir, 'release', 'onboarding', '1.1.0+gpt4.tokens.1500');
    expect(exact.stdout).to.contain('tagged onboarding@1.1.0+gpt4.tokens.1500');
    const versions = JSON.parse((await anvil(repo.dir, 'versions', 'onboarding', '--json')).stdout);
    expect(versions.releases.map((r: { version: string }) => r.version)).to.deep.equal(['1.1.0+gpt4.tokens.1500', '1.1.0-rc.1', '1.1.0-rc.0', '1.0.0']);
  });

  it('refuses with uncommitted changes, off the default branch, with lint errors, or with nothing changed', async function () {
    const repo = await released();
    await repo.write({ 'prompts/core/_signature.md': '— Us' });
    const dirty = await anvil(repo.dir, 'release', 'core');
    expect(dirty.code).to.equal(1);
    expect(dirty.stderr).to.contain('release.uncommitted');

    await repo.commit('sig');
    await repo.git('checkout', '--quiet', '-b', 'feature');
    await repo.commit('feature work', { 'prompts/core/_signature.md': '— Feature' });
    const offBranch = await anvil(repo.dir, 'release', 'core');
    expect(offBranch.stderr).to.contain('release.not-on-default-branch');
    await repo.checkout('main');

    await repo.commit('break it', { 'prompts/core/_signature.md': '{{#if x}}' });
    const lint = await anvil(repo.dir, 'release', 'core');
    expect(lint.code).to.equal(1);
    expect(lint.stderr).to.contain('prompts/core/_signature.md:1:1  template.unclosed-block');
    expect(lint.stderr).to.contain('nothing was released');

    await repo.commit('fix it', { 'prompts/core/_signature.md': '— The team' });
    const same = await anvil(repo.dir, 'release', 'core');
    expect(same.stderr).to.contain('release.no-changes');
    expect(await repo.git('tag', '-l', 'core@*')).to.equal('core@1.0.0');
  });

  it('plans without tagging on --dry-run', async function () {
    const repo = await released();
    const run = await anvil(repo.dir, 'release', 'onboarding', '--dry-run');
    expect(run.code).to.equal(0);
    expect(run.stdout).to.contain('dry run: would tag onboarding@1.0.0');
    expect(await repo.git('tag', '-l', 'onboarding@*')).to.equal('');
  });

  it('pushes the tag with --push', async function () {
    const origin = await gitdir({ files: FILES });
    const mirror = await origin.bare();
    const clone = await mirror.clone();
    const run = await anvil(clone.dir, 'release', 'core', '--push');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain('pushed to origin');
    expect(await mirror.git('tag', '-l')).to.equal('core@1.0.0');
  });

  it('with --push, refuses to tag a commit the remote\'s default branch does not have yet, and tags nothing', async function () {
    const origin = await gitdir({ files: FILES });
    const mirror = await origin.bare();
    const clone = await mirror.clone();
    await clone.commit('local only', { 'prompts/core/extra.md': 'Extra' });
    const run = await anvil(clone.dir, 'release', 'core', '--push');
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain('release.not-on-remote-branch').and.to.contain('a forge would refuse the tag core@1.0.0').and.to.contain('push main first');
    expect(await clone.git('tag', '-l')).to.equal('');
    expect(await mirror.git('tag', '-l')).to.equal('');
  });
});

describe('anvil rollback', function () {
  after(cleanupGitdirs);

  it('commits the files of an old release and releases them as the next patch', async function () {
    const repo = await released();
    await anvil(repo.dir, 'release', 'onboarding');
    await repo.commit('v2', { 'prompts/onboarding/welcome/message.md': '---\ninput:\n  schema:\n    name: string\n    plan: string\n---\n{{name}} {{plan}}', 'prompts/onboarding/extra.md': 'Extra' });
    await anvil(repo.dir, 'release', 'onboarding');

    const run = await anvil(repo.dir, 'rollback', 'onboarding', '--to', '1.0.0');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain('tagged onboarding@2.0.1');
    expect(await repo.git('log', '-1', '--format=%s')).to.equal('Roll back onboarding to 1.0.0');
    expect(await repo.git('ls-files', 'prompts/onboarding')).not.to.contain('extra.md');
    expect(await tagMessage(repo, 'onboarding@2.0.1')).to.contain('Anvil-Dependency: core@1.0.0');

    const old = await buildRelease(repo.dir, 'onboarding@1.0.0', { project: 'acme' });
    const now = await buildRelease(repo.dir, 'onboarding@2.0.1', { project: 'acme' });
    expect(canonicalJson(now.bundle!.prompts)).to.equal(canonicalJson(old.bundle!.prompts));

    const again = await anvil(repo.dir, 'rollback', 'onboarding', '--to', '1.0.0');
    expect(again.stderr).to.contain('rollback.no-change');
    expect((await anvil(repo.dir, 'rollback', 'onboarding', '--to', '9.9.9')).stderr).to.contain('release.unknown');
  });
});

describe('anvil versions, and tags that move', function () {
  after(cleanupGitdirs);

  it('lists releases newest first with their recorded dependencies', async function () {
    const repo = await released();
    await anvil(repo.dir, 'release', 'onboarding');
    await repo.commit('reword', { 'prompts/onboarding/welcome/message.md': WELCOME.replace('Hi', 'Hey') });
    await anvil(repo.dir, 'release', 'onboarding');
    const run = await anvil(repo.dir, 'versions', 'onboarding');
    expect(run.code).to.equal(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).to.equal('onboarding');
    expect(lines[1]).to.match(/^ {2}1\.0\.1 +[0-9a-f]{7} {2}2024-01-01 {2}core@1\.0\.0$/);
    expect(lines[2]).to.match(/^ {2}1\.0\.0 /);
    const json = JSON.parse((await anvil(repo.dir, 'versions', '--json')).stdout);
    expect(json.releases.map((r: { tag: string }) => r.tag)).to.deep.equal(['core@1.0.0', 'onboarding@1.0.1', 'onboarding@1.0.0']);
  });

  it('reports a moved or deleted release tag everywhere until it is put back or accepted', async function () {
    const repo = await released();
    await anvil(repo.dir, 'versions'); // seen here
    await repo.commit('sneaky', { 'prompts/core/_signature.md': '— Someone else' });
    await repo.tag('core@1.0.0', { force: true });

    const lint = await anvil(repo.dir, 'lint');
    expect(lint.code).to.equal(1);
    expect(lint.stdout).to.contain('tag.moved');
    expect(lint.stdout).to.contain('release tag "core@1.0.0" moved');
    const build = await anvil(repo.dir, 'build', 'core', '--ref', '1.0.0');
    expect(build.code).to.equal(1);
    expect(build.stderr).to.contain('release.tag-moved');
    const versions = await anvil(repo.dir, 'versions', 'core');
    expect(versions.code).to.equal(1);
    expect(versions.stdout).to.contain('MOVED');

    expect((await anvil(repo.dir, 'versions', '--accept-moved', 'core@1.0.0')).code).to.equal(0);
    expect((await anvil(repo.dir, 'lint')).code).to.equal(0);

    await repo.deleteTag('core@1.0.0');
    expect((await anvil(repo.dir, 'lint')).stdout).to.contain('tag.deleted');
  });
});
