/**
 * Issue 18, hole 4: DESIGN §1/§5, "a release is an annotated tag `<set>@<semver>` on a commit of
 * the default branch", held for a plain git remote as for GitHub: a tag on a side branch and a
 * lightweight tag are refused before any policy decision, audited, and nothing is published.
 */
import { expect } from 'chai';
import type { AnvilClient } from '@anvil/client';
import type { RunningForge } from '../../src/forge/start-forge.ts';
import { startGitHubForge, type GitHubForge } from '../support/github-forge.ts';
import { cleanupGitdirs, type GitDir } from '../support/gitdir.ts';
import { until } from '../support/until.ts';

const FILES = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/core/set.yaml': 'mode: locked\n',
  'prompts/core/tone.md': 'Be kind.',
};

describe('release tags must be annotated and on the default branch (issue 18)', function () {
  this.timeout(60_000);

  describe('a plain git remote', () => {
    let f: GitHubForge;
    const versionOf = (client: AnvilClient) => client.status().sets['core']?.version;
    const audit = () => f.audit();
    let repo: GitDir;
    let forge: RunningForge;
    let production: AnvilClient;
    let staging: AnvilClient;

    before(async () => {
      f = await startGitHubForge(FILES, { tags: ['core@1.0.0'], provider: 'git' });
      ({ repo, forge } = f);
      production = await f.receiver('prod-1', 'production');
      staging = await f.receiver('staging-1', 'staging');
      await f.sync();
      await until('production took core 1.0.0', () => versionOf(production) === '1.0.0');
    });

    after(async () => {
      await f?.close();
      await cleanupGitdirs();
    });

    it('an annotated tag on a side branch is refused: audited with the reason and the fix, nothing published', async () => {
      await repo.git('checkout', '--quiet', '-b', 'experiment');
      await repo.commit('experiment', { 'prompts/core/tone.md': 'Be kind, on a side branch.' });
      await f.tag('core@1.1.0');
      await repo.checkout('main');
      const report = await f.sync();
      expect(report.refusedTags.map((t) => t.tag)).to.deep.equal(['core@1.1.0']);
      expect(report.decisions.some((d) => d.source === 'core@1.1.0'), 'no policy decision').to.equal(false);
      const refusal = (await audit()).find((r) => r.subject === 'core core@1.1.0');
      expect(refusal?.kind).to.equal('decision.tag-refused');
      const detail = JSON.parse(refusal!.detail);
      expect(detail.reason).to.include('not on main');
      expect(detail.hint).to.include('tag a commit of main');
      expect(await forge.ctx.db.selectFrom('publications').select('id').where('version', '=', '1.1.0').execute()).to.have.length(0);
      expect(versionOf(production)).to.equal('1.0.0');
      expect(versionOf(staging)).to.equal('1.0.0');
    });

    it('a lightweight tag on main is refused, with "git tag -a" as the fix', async () => {
      await repo.commit('kinder', { 'prompts/core/tone.md': 'Be kinder.' });
      await repo.tag('core@1.2.0', { lightweight: true });
      const report = await f.sync();
      expect(report.refusedTags.map((t) => t.tag)).to.deep.equal(['core@1.2.0']);
      const refusal = (await audit()).find((r) => r.subject === 'core core@1.2.0');
      expect(refusal?.kind).to.equal('decision.tag-refused');
      expect(JSON.parse(refusal!.detail)).to.include({ annotated: false });
      expect(JSON.parse(refusal!.detail).hint).to.include('git tag -a');
      expect(versionOf(production)).to.equal('1.0.0');
      expect(production.prompt('tone', {})).to.equal('Be kind.');
    });

    it('an annotated tag on main is published to production', async () => {
      await f.tag('core@1.3.0');
      const report = await f.sync();
      expect(report.refusedTags).to.deep.equal([]);
      await until('production took core 1.3.0', () => versionOf(production) === '1.3.0');
      expect(production.prompt('tone', {})).to.equal('Be kinder.');
      expect((await audit()).find((r) => r.subject === 'core core@1.3.0')?.kind).to.equal('decision.publish');
    });
  });

  describe('GitHub agrees', () => {
    let f: GitHubForge;

    before(async () => {
      f = await startGitHubForge(FILES, { tags: ['core@1.0.0'] });
      await f.sync();
    });

    after(async () => {
      await f?.close();
      await cleanupGitdirs();
    });

    it('a lightweight tag on a reviewed main is refused as a tag, with a failing status', async () => {
      await f.openPull(1, { 'prompts/core/tone.md': 'Be kind and brief.' });
      await f.approve(1);
      const merge = await f.merge(1);
      await f.repo.tag('core@1.1.0', { lightweight: true });
      await f.sync();
      expect((await f.audit()).find((r) => r.subject === 'core core@1.1.0')?.kind).to.equal('decision.tag-refused');
      await until('the failing status', () => (f.failingStatus(merge)?.description ?? '').includes('core@1.1.0'));
      expect(f.failingStatus(merge)!.description).to.include('lightweight');
    });

    it('an annotated tag on a side branch is refused as a tag, not for review', async () => {
      await f.repo.git('checkout', '--quiet', '-b', 'side');
      const side = await f.repo.commit('side', { 'prompts/core/tone.md': 'Side.' });
      await f.tag('core@1.2.0');
      await f.repo.checkout('main');
      await f.sync();
      const kinds = (await f.audit()).filter((r) => r.subject === 'core core@1.2.0').map((r) => r.kind);
      expect(kinds).to.deep.equal(['decision.tag-refused']);
      await until('the failing status', () => (f.failingStatus(side)?.description ?? '').includes('off the default branch'));
    });
  });
});
