import { expect } from 'chai';
import {
  compareWithSeen,
  listReleaseTags,
  parseReleaseTagName,
  releasesBySet,
  seenFrom,
  versionsOf,
  type ReleaseTag,
} from '../../src/repo/release-tags.ts';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';

describe('release tags', () => {
  let repo: GitDir;
  let first: string;
  let second: string;

  before(async () => {
    repo = await gitdir({
      files: { 'prompts/core/set.yaml': 'name: core\n' },
      tags: ['core@1.0.0', 'core@1.10.0', { name: 'core@1.2.0', lightweight: true }, 'v1.0.0', 'nightly'],
    });
    first = await repo.revParse('HEAD');
    second = await repo.commit('more', { 'prompts/onboarding/set.yaml': 'name: onboarding\n' });
    for (const name of [
      'core@2.1.0-gpt4+tokens.1500',
      'core@2.1.0-gpt4',
      'core@2.1.0',
      'core@2.0.0-rc.1',
      'onboarding@0.1.0',
      'core@1.2',
      'core@v1.0.0',
      'Core@3.0.0',
      '@1.0.0',
      'core@',
      'core@latest',
    ]) {
      await repo.tag(name);
    }
  });

  after(cleanupGitdirs);

  it('lists <set>@<semver> tags by set, then in semver order, peeled to their commit', async () => {
    const { tags } = await listReleaseTags(repo.dir);
    expect(tags.map((t) => t.name)).to.deep.equal([
      'core@1.0.0',
      'core@1.2.0',
      'core@1.10.0',
      'core@2.0.0-rc.1',
      'core@2.1.0-gpt4',
      'core@2.1.0-gpt4+tokens.1500',
      'core@2.1.0',
      'onboarding@0.1.0',
    ]);
    const build = tags.find((t) => t.name === 'core@2.1.0-gpt4+tokens.1500');
    expect(build).to.deep.equal({
      name: 'core@2.1.0-gpt4+tokens.1500',
      set: 'core',
      version: '2.1.0-gpt4+tokens.1500',
      commit: second,
      tagObject: await repo.revParse('refs/tags/core@2.1.0-gpt4+tokens.1500'),
    });
    expect(tags.find((t) => t.name === 'core@1.0.0')?.commit).to.equal(first);
  });

  it('tells annotated tags from lightweight ones', async () => {
    const { tags } = await listReleaseTags(repo.dir);
    const lightweight = tags.find((t) => t.name === 'core@1.2.0');
    expect(lightweight).to.deep.equal({ name: 'core@1.2.0', set: 'core', version: '1.2.0', commit: first });
    expect(tags.find((t) => t.name === 'core@1.0.0')?.tagObject).to.match(/^[0-9a-f]{40}$/).and.not.equal(first);
  });

  it('returns tags that look like releases but are not, with the reason and the likely fix', async () => {
    const { invalid } = await listReleaseTags(repo.dir);
    expect(invalid.map((t) => t.name)).to.deep.equal(['@1.0.0', 'Core@3.0.0', 'core@', 'core@1.2', 'core@latest', 'core@v1.0.0']);
    const byName = new Map(invalid.map((t) => [t.name, t]));
    expect(byName.get('core@1.2')).to.include({ suggestion: 'core@1.2.0' });
    expect(byName.get('core@1.2')?.reason).to.contain('MAJOR.MINOR.PATCH');
    expect(byName.get('core@v1.0.0')).to.include({ suggestion: 'core@1.0.0' });
    expect(byName.get('core@v1.0.0')?.reason).to.contain('"v" prefix');
    expect(byName.get('Core@3.0.0')).to.include({ suggestion: 'core@3.0.0' });
    expect(byName.get('core@latest')?.reason).to.contain('not semantic versioning');
    expect(byName.get('@1.0.0')?.reason).to.contain('no set name');
  });

  it('lists one set only when asked, and reads bare repositories', async () => {
    const bare = await repo.bare();
    const { tags, invalid } = await listReleaseTags(bare.dir, { set: 'onboarding' });
    expect(tags.map((t) => t.name)).to.deep.equal(['onboarding@0.1.0']);
    expect(invalid).to.deep.equal([]);
  });

  it('reports a tag of a tree as invalid instead of failing the whole listing', async () => {
    const odd = await gitdir({ files: { 'a.md': 'a' }, tags: ['a@1.0.0'] });
    await odd.git('tag', 'a@2.0.0', 'HEAD^{tree}');
    const { tags, invalid } = await listReleaseTags(odd.dir);
    expect(tags.map((t) => t.name)).to.deep.equal(['a@1.0.0']);
    expect(invalid).to.have.length(1);
    expect(invalid[0]?.reason).to.contain('not a commit');
  });

  it('gives a set\'s versions in semver order', async () => {
    const { tags } = await listReleaseTags(repo.dir);
    expect(versionsOf(tags, 'core')).to.deep.equal(['1.0.0', '1.2.0', '1.10.0', '2.0.0-rc.1', '2.1.0-gpt4', '2.1.0-gpt4+tokens.1500', '2.1.0']);
    expect(versionsOf(tags, 'nope')).to.deep.equal([]);
    expect(releasesBySet(tags)).to.deep.equal({
      core: ['1.0.0', '1.2.0', '1.10.0', '2.0.0-rc.1', '2.1.0-gpt4', '2.1.0-gpt4+tokens.1500', '2.1.0'],
      onboarding: ['0.1.0'],
    });
  });

  it('parses tag names without git', () => {
    expect(parseReleaseTagName('core@2.1.0-gpt4+tokens.1500')).to.deep.equal({ ok: true, set: 'core', version: '2.1.0-gpt4+tokens.1500' });
    expect(parseReleaseTagName('web.app_2@0.0.1')).to.deep.equal({ ok: true, set: 'web.app_2', version: '0.0.1' });
    expect(parseReleaseTagName('core@01.0.0')).to.include({ ok: false });
    expect(parseReleaseTagName('core@1.0.0.0')).to.include({ ok: false });
    expect(parseReleaseTagName('v1.0.0')).to.include({ ok: false });
    expect(parseReleaseTagName('core@v2')).to.deep.equal({
      ok: false,
      reason: 'version "v2" has a "v" prefix (release versions are bare semver) and is incomplete (semver needs MAJOR.MINOR.PATCH)',
      suggestion: 'core@2.0.0',
    });
  });

  describe('compareWithSeen', () => {
    const tag = (name: string, commit: string): ReleaseTag => {
      const [set = '', version = ''] = name.split('@');
      return { name, set, version, commit };
    };

    it('finds tags that moved, were deleted or are new', () => {
      const seen = { 'core@1.0.0': 'a'.repeat(40), 'core@1.1.0': 'b'.repeat(40), 'onboarding@1.0.0': 'c'.repeat(40) };
      const current = [tag('core@1.0.0', 'a'.repeat(40)), tag('core@1.1.0', 'd'.repeat(40)), tag('core@1.2.0', 'e'.repeat(40))];
      expect(compareWithSeen(seen, current)).to.deep.equal({
        moved: [{ name: 'core@1.1.0', was: 'b'.repeat(40), now: 'd'.repeat(40) }],
        deleted: [{ name: 'onboarding@1.0.0', was: 'c'.repeat(40) }],
        added: [tag('core@1.2.0', 'e'.repeat(40))],
      });
    });

    it('sees nothing when nothing changed, and treats a "__proto__" key as an ordinary name', () => {
      const current = [tag('core@1.0.0', 'a'.repeat(40))];
      expect(compareWithSeen(seenFrom(current), current)).to.deep.equal({ moved: [], deleted: [], added: [] });
      const seen = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
      expect(compareWithSeen(seen, []).deleted).to.deep.equal([{ name: '__proto__', was: 'x' }]);
    });

    it('detects a real tag moved with --force, and one deleted', async () => {
      const moving = await gitdir({ files: { 'a/set.yaml': 'name: a\n' }, tags: ['a@1.0.0', 'a@1.1.0'] });
      const seen = seenFrom((await listReleaseTags(moving.dir)).tags);
      const was = seen['a@1.0.0'];
      const now = await moving.commit('sneaky change', { 'a/x.md': 'x' });
      await moving.tag('a@1.0.0', { force: true });
      await moving.deleteTag('a@1.1.0');
      const changes = compareWithSeen(seen, (await listReleaseTags(moving.dir)).tags);
      expect(changes.moved).to.deep.equal([{ name: 'a@1.0.0', was, now }]);
      expect(changes.deleted.map((d) => d.name)).to.deep.equal(['a@1.1.0']);
    });
  });
});
