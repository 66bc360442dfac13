/**
 * Git trees read through `git cat-file --batch` (issue 13: listing a 10,000-prompt set was a
 * third of a one-prompt rebuild) come out exactly as isomorphic-git reads them, and anything
 * unusual is left to isomorphic-git.
 */
import fs from 'node:fs';
import { expect } from 'chai';
import git from 'isomorphic-git';
import { createBlobReader } from '../../src/repo/git-blob-reader.ts';
import { openGitSnapshot, parseTree } from '../../src/repo/git-snapshot.ts';
import { createGitCache } from '../../src/repo/git-cache.ts';
import { cleanupGitdirs, gitdir } from '../support/gitdir.ts';

describe('git trees read through cat-file', function () {
  after(cleanupGitdirs);

  it('are the trees isomorphic-git reads: files, executables, links, folders, submodules, odd names', async function () {
    const repo = await gitdir({
      files: {
        'a.md': 'a', 'dir/b.md': 'b', 'dir/deeper/c.md': 'c', 'link.md': { symlink: 'a.md' }, 'tool.sh': '#!/bin/sh\n',
        'naïve name.md': 'n', 'with space/x.md': 'x', 'trailing.dot.': 't',
      },
    });
    await repo.git('update-index', '--chmod=+x', 'tool.sh');
    await repo.git('update-index', '--add', '--cacheinfo', `160000,${await repo.revParse('HEAD')},sub`);
    await repo.commit('executable and submodule');
    const reader = createBlobReader(`${repo.dir}/.git`);
    try {
      const queue = [await repo.revParse('HEAD^{tree}')];
      let trees = 0;
      while (queue.length > 0) {
        const oid = queue.pop()!;
        const object = await reader.read(oid);
        const mine = parseTree(object!.content, 20);
        const theirs = (await git.readTree({ fs, gitdir: `${repo.dir}/.git`, oid })).tree;
        const byPath = (list: { path: string }[]) => [...list].sort((x, y) => (x.path < y.path ? -1 : 1));
        expect(byPath(mine!)).to.deep.equal(byPath(theirs));
        queue.push(...theirs.filter((e) => e.type === 'tree').map((e) => e.oid));
        trees++;
      }
      expect(trees).to.equal(4);
    } finally {
      reader.close();
    }
  });

  it('leaves names isomorphic-git refuses to isomorphic-git, which refuses them', async function () {
    const entry = (mode: string, name: string) => Buffer.concat([Buffer.from(`${mode} ${name}\0`), Buffer.alloc(20, 1)]);
    for (const name of ['..', '.', '.git', '.GIT.', 'git~1', 'a\\b', 'c:d', 'e\u200Cf']) {
      expect(parseTree(entry('100644', name), 20), name).to.equal(undefined);
    }
    expect(parseTree(entry('100600', 'odd mode'), 20)).to.equal(undefined);
    expect(parseTree(Buffer.from('100644 truncated'), 20)).to.equal(undefined);
    expect(parseTree(entry('40000', 'dir'), 20)).to.deep.equal([{ mode: '040000', path: 'dir', oid: '01'.repeat(20), type: 'tree' }]);
  });

  it('list the same files either way', async function () {
    const repo = await gitdir({ files: { 'prompts/s/set.yaml': 'mode: live\n', 'prompts/s/a/b.md': 'b', 'prompts/s/_p.md': 'p', 'x/y/z.txt': 'z' } });
    const viaCatFile = await openGitSnapshot(repo.dir, 'HEAD', { cache: createGitCache() });
    const viaIsomorphicGit = await openGitSnapshot(repo.dir, 'HEAD', { cache: createGitCache({ blobs: 'isomorphic-git' }) });
    expect(await viaCatFile.listFiles('')).to.deep.equal(await viaIsomorphicGit.listFiles(''));
    expect(await viaCatFile.blobId!('prompts/s/a/b.md')).to.equal(await repo.revParse('HEAD:prompts/s/a/b.md'));
    expect(await viaCatFile.blobId!('prompts/s/a')).to.equal(undefined);
  });
});
