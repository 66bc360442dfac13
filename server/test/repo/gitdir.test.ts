import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { cleanupGitdirs, gitdir } from '../support/gitdir.ts';

describe('gitdir test helper', () => {
  after(cleanupGitdirs);

  it('makes the same commit ids from the same steps, on every run', async () => {
    const steps = {
      files: { 'prompts/core/set.yaml': 'name: core\n' },
      commits: [{ message: 'tone', files: { 'prompts/core/tone.md': 'Hi' }, tags: ['core@1.0.0'] }],
    };
    const [a, b] = await Promise.all([gitdir(steps), gitdir(steps)]);
    expect(await a.revParse('HEAD')).to.equal(await b.revParse('HEAD'));
    expect(await a.revParse('core@1.0.0')).to.equal(await b.revParse('core@1.0.0'));
    expect(await a.git('log', '-1', '--format=%cI %an')).to.equal('2024-01-01T00:02:00+00:00 Anvil Test');
    expect(await a.git('symbolic-ref', '--short', 'HEAD')).to.equal('main');
  });

  it('tags annotated by default, lightweight on request, and can move a tag', async () => {
    const repo = await gitdir({ files: { 'a.txt': 'a' } });
    const first = await repo.revParse('HEAD');
    const annotated = await repo.tag('x@1.0.0');
    const lightweight = await repo.tag('y@1.0.0', { lightweight: true });
    expect(await repo.git('cat-file', '-t', annotated)).to.equal('tag');
    expect(lightweight).to.equal(first);
    const second = await repo.commit('b', { 'b.txt': 'b', 'a.txt': null });
    await repo.tag('x@1.0.0', { force: true });
    expect(await repo.revParse('x@1.0.0^{commit}')).to.equal(second);
    expect(await repo.git('ls-files')).to.equal('b.txt');
  });

  it('makes bare clones and cleans up after itself', async () => {
    const repo = await gitdir({ files: { 'a.txt': 'a' }, tags: ['a@1.0.0'] });
    const bare = await repo.bare();
    expect(bare.isBare).to.equal(true);
    expect(await bare.git('rev-parse', '--is-bare-repository')).to.equal('true');
    expect(await bare.revParse('a@1.0.0')).to.equal(await repo.revParse('a@1.0.0'));
    await repo.cleanup();
    expect(existsSync(repo.dir)).to.equal(false);
    expect(existsSync(bare.dir)).to.equal(false);
  });
});
