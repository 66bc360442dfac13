/**
 * The sets page's review columns (issue 15): per set, the changes pending review on the default
 * branch (the `set_states` the forge keeps as it follows the branch) and the open pull requests
 * that change it with their check's verdict. End to end on a fake GitHub and a real forge, read
 * over HTTP with a signed-in session; plus the pure parts (the state rule, the page's escaping).
 */
import { expect } from 'chai';
import { paging } from '../../src/dashboard/dashboard-data.ts';
import { projectsPage, type PageFrame } from '../../src/dashboard/dashboard-pages.ts';
import { nextSetReview } from '../../src/forge/sync-project.ts';
import { pullRequestUrl } from '../../src/review/check-pull-request.ts';
import { recordClosedPull } from '../../src/review/review-state.ts';
import { cleanupGitdirs } from '../support/gitdir.ts';
import { PROJECT, REPO, startGitHubForge, type GitHubForge } from '../support/github-forge.ts';
import { signInOverHttp } from '../support/dashboard-http.ts';

const WELCOME = (text: string) => `---\ninput:\n  schema:\n    name: string\n---\n${text}`;

const FILES = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/onboarding/set.yaml': 'mode: review\n',
  'prompts/onboarding/welcome.md': WELCOME('Welcome, {{name}}!'),
  'prompts/legal/set.yaml': 'mode: locked\n',
  'prompts/legal/terms.md': 'These are the terms.',
  'prompts/support/set.yaml': 'mode: live\n',
  'prompts/support/answer.md': 'Answer briefly.',
  // Never released nor built: listed because the branch has it.
  'prompts/drafts/set.yaml': 'mode: review\n',
  'prompts/drafts/idea.md': 'An idea.',
};

describe('sets page: unreviewed changes and open pull requests per set (issue 15)', function () {
  this.timeout(60_000);
  let f: GitHubForge;
  let cookie: string;

  /** The sets page's row of `set`, as served. */
  async function rowOf(set: string): Promise<string> {
    const res = await fetch(`${f.forge.url}/ui/projects/${PROJECT}`, { headers: { cookie } });
    expect(res.status).to.equal(200);
    const row = new RegExp(`<tr>\\s*<th scope="row">${set}</th>[\\s\\S]*?</tr>`).exec(await res.text());
    return row?.[0] ?? '';
  }
  /** The row's review cell and pull request cell. */
  async function cellsOf(set: string): Promise<{ review: string; pulls: string }> {
    const row = await rowOf(set);
    const cell = (name: string) => new RegExp(`<td class="${name}">([\\s\\S]*?)<\\/td>\\n`).exec(row)?.[1] ?? '';
    return { review: cell('review'), pulls: cell('pull-requests') };
  }

  before(async () => {
    f = await startGitHubForge(FILES, { tags: ['onboarding@1.0.0', 'legal@1.0.0'] });
    await f.sync();
    cookie = await signInOverHttp(f.forge.url, await f.token());
  });

  after(async () => {
    await f?.close();
    await cleanupGitdirs();
  });

  it('as first seen, nothing is pending: review sets are reviewed, the live set needs none; unbuilt sets are listed', async () => {
    expect((await cellsOf('onboarding')).review).to.include('>reviewed<');
    expect((await cellsOf('legal')).review).to.include('>reviewed<');
    expect((await cellsOf('drafts')).review).to.include('>reviewed<');
    const live = await cellsOf('support');
    expect(live.review).to.include('—').and.include('live set');
    expect(live.pulls).to.include('none');
  });

  let unreviewed: string[] = [];

  it('direct pushes to a review set show as commits pending review, with their short ids', async () => {
    unreviewed.push(await f.pushCommit('quick fix', { 'prompts/onboarding/welcome.md': WELCOME('Welcome, {{name}}! Unreviewed.') }));
    await f.settle();
    let cell = (await cellsOf('onboarding')).review;
    expect(cell).to.include('1 commit pending review').and.include(`<code title="${unreviewed[0]}">${unreviewed[0]!.slice(0, 7)}</code>`);
    unreviewed.push(await f.pushCommit('another', { 'prompts/onboarding/welcome.md': WELCOME('Welcome, {{name}}! Unreviewed twice.') }));
    await f.settle();
    cell = (await cellsOf('onboarding')).review;
    expect(cell).to.include('2 commits pending review');
    expect([...cell.matchAll(/<code title="([0-9a-f]+)">/g)].map((m) => m[1]), 'oldest first').to.deep.equal(unreviewed);
    expect((await cellsOf('legal')).review, 'other sets are untouched').to.include('>reviewed<');
    const row = await f.forge.ctx.db.selectFrom('set_states').selectAll().where('project', '=', PROJECT).where('set_name', '=', 'onboarding').executeTakeFirstOrThrow();
    expect(row).to.include({ mode: 'review', dir: 'prompts/onboarding', branch: 'main', commit: unreviewed[1], review: 'pending' });
  });

  it('a reviewed merge on top of them clears nothing: an approval covers only its own diff', async () => {
    await f.mergedPull(1, { 'prompts/onboarding/tips.md': 'Ask us anything.' });
    await f.settle();
    expect((await cellsOf('onboarding')).review).to.include('2 commits pending review');
  });

  it('a reviewed merge that brings the content back to trusted clears it', async () => {
    await f.mergedPull(2, { 'prompts/onboarding/welcome.md': WELCOME('Welcome, {{name}}!'), 'prompts/onboarding/tips.md': null });
    await f.settle();
    const cell = (await cellsOf('onboarding')).review;
    expect(cell).to.include('>reviewed<').and.not.include('pending');
    unreviewed = [];
  });

  it('open pull requests show on the sets they change with their check\'s verdict, and leave when closed or merged', async () => {
    await f.openPull(3, { 'prompts/onboarding/welcome.md': WELCOME('Welcome aboard, {{name}}!') });
    await f.openPull(4, { 'prompts/legal/terms.md': 'These are the terms, {{#if broken}.' }, 'bob');
    await f.settle();
    const onboarding = await cellsOf('onboarding');
    expect(onboarding.pulls).to.include('#3').and.include('class="badge check-success"').and.include('needs approval');
    expect(onboarding.pulls).not.to.include('#4');
    const legal = await cellsOf('legal');
    expect(legal.pulls).to.include('#4').and.include('class="badge check-failure"').and.include('>failure<');
    expect(legal.pulls).not.to.include('#3');
    expect((await cellsOf('support')).pulls).to.include('none');
    // The forge's check run on GitHub says the same.
    const posted = f.github.checkRuns.find((c) => c.headSha === f.github.pulls.get(`${REPO}#4`)!.headSha);
    expect(posted?.conclusion).to.equal('failure');

    // Closed without merging: GitHub says so, the forge records it (as on the `closed` webhook).
    f.github.pulls.get(`${REPO}#4`)!.state = 'closed';
    await recordClosedPull(f.forge.ctx, f.forge.ctx.projects.get(PROJECT)!, 4);
    expect((await cellsOf('legal')).pulls).not.to.include('#4');

    await f.approve(3);
    await f.merge(3);
    await f.settle();
    const after = await cellsOf('onboarding');
    expect(after.pulls).not.to.include('#3');
    expect(after.review, 'a reviewed merge on trusted content').to.include('>reviewed<');
  });

  it('a check that ends after its pull request was closed leaves it closed; one started after the close (a reopen) opens it', async () => {
    const db = f.forge.ctx.db;
    const stateOf = async (n: number) => (await db.selectFrom('reviews').select('state').where('project', '=', PROJECT).where('pull_number', '=', n).executeTakeFirstOrThrow()).state;
    const closedAt = (at: string) => db.updateTable('reviews').set({ updated_at: at }).where('project', '=', PROJECT).where('pull_number', '=', 4).execute();
    // The close recorded after the check started, as when it lands while the check runs.
    await closedAt('9999-12-31T00:00:00.000Z');
    await f.pushToPull(4, { 'prompts/legal/terms.md': 'These are the terms, fixed.' });
    await f.settle();
    expect(await stateOf(4)).to.equal('closed');
    expect((await cellsOf('legal')).pulls).not.to.include('#4');

    f.github.pulls.get(`${REPO}#4`)!.state = 'open';
    await closedAt('2000-01-01T00:00:00.000Z');
    await f.pushToPull(4, { 'prompts/legal/terms.md': 'These are the terms, fixed again.' });
    await f.settle();
    expect(await stateOf(4)).to.equal('open');
    expect((await cellsOf('legal')).pulls).to.include('#4').and.include('class="badge check-success"');
  });

  it('a set that leaves the branch leaves the page once nothing was built for it', async () => {
    await f.pushCommit('drop drafts', { 'prompts/drafts/set.yaml': null, 'prompts/drafts/idea.md': null });
    await f.settle();
    expect(await rowOf('drafts')).to.equal('');
    expect(await f.forge.ctx.db.selectFrom('set_states').select('set_name').where('set_name', '=', 'drafts').execute()).to.have.length(0);
    expect(await rowOf('onboarding')).not.to.equal('');
  });
});

describe('set review state rule', () => {
  const trusted = { unreviewed: [], trusted: true };
  const cases: [string, Parameters<typeof nextSetReview>, ReturnType<typeof nextSetReview>][] = [
    ['a live set needs none', ['live', true, undefined, undefined], { state: 'not-needed', unreviewed: [] }],
    ['without GitHub review nothing can be reviewed', ['locked', false, undefined, undefined], { state: 'no-reviews', unreviewed: [] }],
    ['first sight of the branch: adopted', ['review', true, { state: 'pending', unreviewed: ['a'] }, undefined], { state: 'reviewed', unreviewed: [] }],
    ['untrusted: the new unreviewed commits', ['review', true, { state: 'reviewed', unreviewed: [] }, { unreviewed: ['a'], trusted: false }], { state: 'pending', unreviewed: ['a'] }],
    ['untrusted still: carried, then the new ones, each once', ['review', true, { state: 'pending', unreviewed: ['a', 'b'] }, { unreviewed: ['b', 'c'], trusted: false }],
      { state: 'pending', unreviewed: ['a', 'b', 'c'] }],
    ['untrusted with nothing new (a reviewed merge on top)', ['locked', true, { state: 'pending', unreviewed: ['a'] }, { unreviewed: [], trusted: false }], { state: 'pending', unreviewed: ['a'] }],
    ['trusted again: cleared', ['review', true, { state: 'pending', unreviewed: ['a'] }, trusted], { state: 'reviewed', unreviewed: [] }],
    ['back to a trusted tree through unreviewed commits: cleared', ['review', true, { state: 'pending', unreviewed: ['a'] }, { unreviewed: ['b'], trusted: true }],
      { state: 'reviewed', unreviewed: [] }],
    ['a live set that was pending (mode changed) needs none', ['live', true, { state: 'pending', unreviewed: ['a'] }, undefined], { state: 'not-needed', unreviewed: [] }],
  ];
  for (const [what, args, expected] of cases) it(what, () => expect(nextSetReview(...args)).to.deep.equal(expected));
});

describe('sets page rendering of the review columns', () => {
  const PAYLOAD = '<script>alert("x")</script>';
  const ESCAPED = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;';
  const frame: PageFrame = { forgeName: 'forge', user: { role: 'admin', project: null, actor: 'admin' }, csrf: 'c'.repeat(43) };
  const base = { channels: {}, lastRelease: null };
  const sha = (c: string) => c.repeat(40);

  it('pending commits, reviewed, dashes for live and no review, pull requests with badges: all escaped', () => {
    const page = projectsPage(frame, [{
      project: 'acme',
      sets: [
        { name: 'a', mode: 'review', ...base, review: { state: 'pending', unreviewed: [sha('a'), sha('b')] }, pulls: [
          { number: 7, conclusion: 'failure', title: PAYLOAD, url: `https://github.com/acme/prompts/pull/7?${PAYLOAD}` },
          { number: 8, conclusion: 'pending' },
        ] },
        { name: 'b', mode: 'locked', ...base, review: { state: 'reviewed', unreviewed: [] }, pulls: [{ number: 9, conclusion: 'success', title: 'b: patch, approved' }] },
        { name: 'c', mode: 'live', ...base, review: { state: 'not-needed', unreviewed: [] }, pulls: [] },
        { name: 'd', mode: 'locked', ...base, review: { state: 'no-reviews', unreviewed: [] } },
        { name: 'e', mode: 'review', ...base, review: { state: 'pending', unreviewed: Array.from({ length: 25 }, (_, i) => i.toString(16).padStart(40, '0')) } },
        // A summary from before the review columns: no review, no pulls.
        { name: 'f', mode: null, ...base },
      ],
      paging: paging(6, '1', 25),
    }]).toString();
    expect(page).to.include('<th scope="col">Unreviewed</th><th scope="col">Pull requests</th>');
    expect(page).not.to.include(PAYLOAD);
    expect(page).to.include(`title="${ESCAPED}"`).and.include(`href="https://github.com/acme/prompts/pull/7?${ESCAPED}">#7</a>`);
    expect(page).to.include('2 commits pending review').and.include(`<code title="${sha('a')}">aaaaaaa</code>`).and.include('<code title="');
    expect(page).to.include('class="badge check-failure"').and.include('class="badge check-pending"').and.include('class="badge check-success"');
    expect(page).to.include('#8').and.not.include('href="undefined"');
    expect(page).to.include('>reviewed<');
    expect(page).to.include('a live set publishes every change').and.include('its releases are the review');
    expect(page).to.include('25 commits pending review').and.include('and 5 more');
    expect(page).to.include('not known yet');
  });

  it('shows a set\'s aliases beside its last release, each linking to the version it names', () => {
    const page = projectsPage(frame, [{
      project: 'acme',
      sets: [{ name: 'onboarding', mode: 'locked', channels: {}, lastRelease: { version: '1.3.0', at: '2026-12-01T00:00:00Z' }, aliases: { stable: '1.2.0', beta: '1.3.0' } }],
      paging: paging(1, '1', 25),
    }]).toString();
    expect(page).to.include('<span class="alias">@stable → <a href="/ui/projects/acme/sets/onboarding/versions/1.2.0"');
    expect(page).to.include('<span class="alias">@beta → <a href="/ui/projects/acme/sets/onboarding/versions/1.3.0"');
  });

  it('links a pull request on github.com or GitHub Enterprise Server, not on an API it cannot tell the site of', () => {
    const project = (apiUrl: string) => ({
      name: 'acme', remote: '/r', provider: 'github' as const, githubRepository: 'acme/prompts', webhookSecret: 's', github: { apiUrl, auth: { kind: 'token' as const, token: 't' } },
    });
    expect(pullRequestUrl(project('https://api.github.com'), 3)).to.equal('https://github.com/acme/prompts/pull/3');
    expect(pullRequestUrl(project('https://git.example.com/api/v3/'), 3)).to.equal('https://git.example.com/acme/prompts/pull/3');
    expect(pullRequestUrl(project('http://127.0.0.1:9999'), 3)).to.equal(undefined);
  });
});
