import { expect } from 'chai';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AnvilError } from '@anvil/content-schema';
import { openWorkingTree } from '../../src/repo/working-tree.ts';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';

describe('openWorkingTree', () => {
  let repo: GitDir;
  let outside: string;

  before(async () => {
    repo = await gitdir({
      files: {
        'anvil.yaml': 'name: "@acme"\n',
        'prompts/core/set.yaml': 'name: core\n',
        'prompts/core/_signature.md': '-- Acme',
        'prompts/core/tone/formal.md': '---\ndescription: formal\n---\nDear {{name}},',
        'prompts/onboarding/welcome/message.fr.md': 'Bonjour ✨',
        'node_modules/pkg/index.md': 'not content',
        'prompts/core/node_modules/x.md': 'not content either',
      },
    });
    outside = await mkdtemp(path.join(os.tmpdir(), 'anvil-outside-'));
    await writeFile(path.join(outside, 'secret.md'), 'secret');
    await symlink(path.join(outside, 'secret.md'), repo.path('prompts', 'core', 'leak.md'));
    await symlink(outside, repo.path('prompts', 'core', 'leakdir'));
    await symlink('formal.md', repo.path('prompts', 'core', 'tone', 'alias.md'));
  });

  after(async () => {
    await rm(outside, { recursive: true, force: true });
    await cleanupGitdirs();
  });

  it('is labelled "working tree" and has no git source', () => {
    const tree = openWorkingTree(repo.dir);
    expect(tree.label).to.equal('working tree');
    expect(tree.source).to.deep.equal({});
  });

  it('lists files "/"-separated and sorted, without .git/, node_modules/ or symbolic links', async () => {
    const tree = openWorkingTree(repo.dir);
    expect(await tree.listFiles('')).to.deep.equal([
      'anvil.yaml',
      'prompts/core/_signature.md',
      'prompts/core/set.yaml',
      'prompts/core/tone/formal.md',
      'prompts/onboarding/welcome/message.fr.md',
    ]);
    expect(await tree.listFiles('prompts/core')).to.deep.equal([
      'prompts/core/_signature.md',
      'prompts/core/set.yaml',
      'prompts/core/tone/formal.md',
    ]);
  });

  it('accepts a folder with a trailing slash or "./", and lists nothing for a missing one or a file', async () => {
    const tree = openWorkingTree(repo.dir);
    expect(await tree.listFiles('./prompts/onboarding/')).to.deep.equal(['prompts/onboarding/welcome/message.fr.md']);
    expect(await tree.listFiles('prompts/nope')).to.deep.equal([]);
    expect(await tree.listFiles('anvil.yaml')).to.deep.equal([]);
    expect(await tree.listFiles('prompts/core/leakdir')).to.deep.equal([]);
  });

  it('reads UTF-8 text, and undefined for what is missing, ignored, a folder or a link', async () => {
    const tree = openWorkingTree(repo.dir);
    expect(await tree.readText('prompts/onboarding/welcome/message.fr.md')).to.equal('Bonjour ✨');
    for (const missing of [
      'prompts/core/missing.md',
      'prompts/core',
      'prompts/core/leak.md',
      'prompts/core/leakdir/secret.md',
      'prompts/core/tone/alias.md',
      'node_modules/pkg/index.md',
      '.git/HEAD',
      '',
    ]) {
      expect(await tree.readText(missing), missing).to.equal(undefined);
    }
  });

  it('never reads outside the root through ".."', async () => {
    const tree = openWorkingTree(repo.path('prompts'));
    expect(await tree.readText('../anvil.yaml')).to.equal(undefined);
    expect(await tree.readText('core/../../anvil.yaml')).to.equal(undefined);
    expect(await tree.listFiles('..')).to.deep.equal([]);
  });

  it('sees changes on disk at once (nothing is cached)', async () => {
    const tree = openWorkingTree(repo.dir);
    await mkdir(repo.path('prompts', 'new'), { recursive: true });
    await writeFile(repo.path('prompts', 'new', 'a.md'), 'a');
    expect(await tree.listFiles('prompts/new')).to.deep.equal(['prompts/new/a.md']);
    expect(await tree.readText('prompts/new/a.md')).to.equal('a');
    await rm(repo.path('prompts', 'new'), { recursive: true });
    expect(await tree.readText('prompts/new/a.md')).to.equal(undefined);
  });

  it('has no tree ids', async () => {
    expect(await openWorkingTree(repo.dir).treeId('prompts')).to.equal(undefined);
  });

  it('refuses a root that does not exist, with an AnvilError', () => {
    const missing = path.join(repo.dir, 'no-such-folder');
    expect(() => openWorkingTree(missing)).to.throw(AnvilError).with.property('code', 'repo.not-found');
  });
});
