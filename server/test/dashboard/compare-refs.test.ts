/**
 * The Compare page with git refs (issue 15: "compare any two versions or refs"): a branch, a tag
 * or a commit id is resolved in the forge's mirror of the project, as it is (the page never
 * fetches), and built there with the forge's builder; a stored version is its stored bundle.
 * Against a real forge and a real git repository, signed in over HTTP as a browser would be.
 */
import { expect } from 'chai';
import { AnvilError } from '@anvil/content-schema';
import { resolveCompareSide, refTextProblem, type CompareRepo, type CompareSource } from '../../src/dashboard/compare-sides.ts';
import { updateMirror } from '../../src/mirror/mirror-repo.ts';
import { formatReleaseMessage } from '../../src/release/release-record.ts';
import { ADMIN_TOKEN, startPublishedForge, type PublishedForge } from '../support/published-forge.ts';
import { signInOverHttp } from '../support/dashboard-http.ts';

const TONE_RELEASED = 'Be kind and brief.';
const TONE_EDITED = 'Be kind, brief and warm.';
const tone = (text: string) => `---\ndescription: house tone\n---\n${text}`;
const HOSTILE = ['--upload-pack=x', '<script>alert(1)</script>', '-b', 'main..core@1.0.0', '../../etc/passwd', 'main\nx', `a${'b'.repeat(250)}`, 'main^{tree}', 'HEAD@{1}', 'a b'];

interface Answer {
  status: number;
  body: string;
}

/** Signs in with a token as the sign-in form would, and returns a GET for the dashboard. */
async function signedIn(url: string, token: string): Promise<(path: string) => Promise<Answer>> {
  const session = await signInOverHttp(url, token);
  return async (path) => {
    const res = await fetch(`${url}${path}`, { headers: { cookie: session }, redirect: 'manual' });
    return { status: res.status, body: await res.text() };
  };
}

const compare = (query: Record<string, string>) => `/ui/projects/acme/sets/core/compare?${new URLSearchParams(query).toString()}`;
/** The text of the page's error notice, tags stripped (entities left as they are). */
const alertText = (body: string) => /<p class="notice notice-error" role="alert">([\s\S]*?)<\/p>/.exec(body)?.[1] ?? '';

describe('dashboard compare with git refs', function () {
  let published: PublishedForge;
  let get: (path: string) => Promise<Answer>;
  let released: string;
  let edited: string;

  before(async () => {
    published = await startPublishedForge();
    get = await signedIn(published.forge.url, ADMIN_TOKEN);
    const { repo } = published;
    released = await repo.revParse('HEAD');
    // Pushed after the forge's last sync: the mirror does not have any of it yet.
    await repo.tag('plain-tag');
    await repo.branch('no-core');
    await repo.branch('broken');
    edited = await repo.commit('edit tone', { 'prompts/core/tone.md': tone(TONE_EDITED) });
    await repo.tag('core@1.2.0', { message: formatReleaseMessage({ set: 'core', version: '1.2.0', dependencies: {} }) });
    await repo.checkout('no-core');
    await repo.commit('remove core', { 'prompts/core/set.yaml': null, 'prompts/core/tone.md': null });
    await repo.checkout('broken');
    await repo.commit('break core', { 'prompts/core/tone.md': tone('Be {{#if kind}}kind.') });
    await repo.checkout('main');
  });

  after(async () => {
    await published?.close();
  });

  it('reads the mirror as it is: a compare does not fetch what was pushed since the last sync', async () => {
    const page = await get(compare({ from: '1.0.0', to: 'main' }));
    expect(page.status).to.equal(200);
    expect(page.body).to.include(`core: 1.0.0 → main (${released.slice(0, 7)})`).and.include('0 of 1 prompts and variants render differently');
    const tag = await get(compare({ from: '1.0.0', to: 'core@1.2.0' }));
    expect(tag.status).to.equal(400);
    expect(alertText(tag.body)).to.include('compare.unknown-ref');
    // The webhook's sync brings the mirror up to date (here without building anything).
    await updateMirror(published.forge.ctx.dataDir, 'acme', published.repo.dir);
  });

  it('compares main with a stored version: the rendered diff of the edit pushed to main', async () => {
    const page = await get(compare({ from: '1.0.0', to: 'main' }));
    expect(page.status).to.equal(200);
    expect(page.body).to.include(`<h2>core: 1.0.0 → main (${edited.slice(0, 7)})</h2>`);
    expect(page.body).to.include('1 of 1 prompts and variants render differently');
    expect(page.body).to.include(`<span class="diff-del">-${TONE_RELEASED}</span>`).and.include(`<span class="diff-add">+${TONE_EDITED}</span>`);
    expect(page.body).to.include(`tone @ main (${edited.slice(0, 7)})`);
    // The typed ref wins over the select beside it, and goes back into its field.
    const typed = await get(compare({ from: '1.0.0', to: '1.0.0', to_ref: 'main' }));
    expect(typed.status).to.equal(200);
    expect(typed.body).to.include(`<span class="diff-add">+${TONE_EDITED}</span>`).and.include('id="to-ref" name="to_ref" type="text" value="main"');
  });

  it('compares commit ids, abbreviated or full, either way round', async () => {
    const short = await get(compare({ from: edited.slice(0, 7), to: '1.0.0' }));
    expect(short.status).to.equal(200);
    expect(short.body).to.include(`core: ${edited.slice(0, 7)} → 1.0.0`);
    expect(short.body).to.include(`<span class="diff-del">-${TONE_EDITED}</span>`).and.include(`<span class="diff-add">+${TONE_RELEASED}</span>`);
    const full = await get(compare({ from: released, to: edited.toUpperCase() }));
    expect(full.status).to.equal(200);
    expect(full.body).to.include(`core: ${released.slice(0, 7)} → ${edited.slice(0, 7)}`).and.include(`<span class="diff-add">+${TONE_EDITED}</span>`);
  });

  it('compares tags: a release tag built as released, a stored release as stored, any other tag at its commit', async () => {
    const release = await get(compare({ from: '1.0.0', to: 'core@1.2.0' }));
    expect(release.status).to.equal(200);
    expect(release.body).to.include('<h2>core: 1.0.0 → core@1.2.0</h2>').and.include(`<span class="diff-add">+${TONE_EDITED}</span>`);
    const stored = await get(compare({ from: 'core@1.0.0', to: 'plain-tag' }));
    expect(stored.status).to.equal(200);
    expect(stored.body).to.include(`<h2>core: core@1.0.0 → plain-tag (${released.slice(0, 7)})</h2>`).and.include('0 of 1 prompts');
  });

  it('an unknown ref is a 400 naming the versions, branches and tags there are', async () => {
    const page = await get(compare({ from: '1.0.0', to: 'mian' }));
    expect(page.status).to.equal(400);
    const text = alertText(page.body);
    expect(text).to.include('compare.unknown-ref: no version or git ref &quot;mian&quot; for set core (did you mean &quot;main&quot;?): versions: 1.0.0; branches: ');
    expect(text).to.include('main').and.include('no-core').and.include('tags: core@1.2.0, core@1.0.0');
    // Text that reads as a version keeps the code the page always gave it.
    const version = await get(compare({ from: '9.9.9', to: 'nope' }));
    expect(version.status).to.equal(400);
    expect(alertText(version.body)).to.include('compare.unknown-version: no version or git ref &quot;9.9.9&quot;')
      .and.include('compare.unknown-ref: no version or git ref &quot;nope&quot;');
  });

  it('hostile text is a 400 that shows it escaped, and is refused before any git lookup', async () => {
    for (const text of HOSTILE) {
      const page = await get(compare({ from: text, to: '1.0.0' }));
      expect(page.status, text).to.equal(400);
      expect(alertText(page.body), text).to.match(/^compare\.invalid-ref: /);
      expect(page.body, text).not.to.include('<script>alert');
    }
    expect(alertText((await get(compare({ from: '<script>alert(1)</script>', to: '1.0.0' }))).body))
      .to.include('&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot; is not a version of core the forge has, nor a git ref it will look up: it may hold only letters, digits and . _ - / @ +.');
    expect(alertText((await get(compare({ from: '--upload-pack=x', to: '1.0.0' }))).body)).to.include('it starts with &quot;-&quot;');
    // Control characters show as escapes, not as themselves.
    expect(alertText((await get(compare({ from: 'main\nx', to: '1.0.0' }))).body)).to.include('&quot;main\\nx&quot; is not a version of core').and.include('it contains control characters');
  });

  it('hostile text never reaches the repository: no lookup, no build (a recording stand-in for the mirror)', async () => {
    const calls: string[] = [];
    const repo: CompareRepo = {
      present: true,
      async commitOf(rev) { calls.push(`commitOf ${rev}`); return undefined; },
      async offered(set) { calls.push(`offered ${set}`); return { branches: ['main'], tags: [] }; },
      async build(set, ref) { calls.push(`build ${set} ${ref}`); throw new Error('not built here'); },
    };
    const source: CompareSource = { project: 'acme', set: 'core', versions: ['1.0.0'], stored: async () => undefined, repo };
    for (const text of HOSTILE) {
      const err = await resolveCompareSide(source, text).then(() => undefined, (e: unknown) => e);
      expect(err, text).to.be.instanceOf(AnvilError).and.have.property('code', 'compare.invalid-ref');
      expect(refTextProblem(text), text).to.be.a('string');
    }
    expect(calls).to.deep.equal([]);
    // Checked text does reach it, as full ref names.
    await resolveCompareSide(source, 'feature/x').catch(() => undefined);
    expect(calls).to.deep.equal(['commitOf refs/heads/feature/x', 'commitOf refs/tags/feature/x', 'offered core']);
    // Before the forge's first sync there is no mirror to look in, and the message says so.
    const unsynced = await resolveCompareSide({ ...source, repo: { ...repo, present: false } }, 'main').then(() => undefined, (e: unknown) => e);
    expect(unsynced).to.have.property('code', 'compare.unknown-ref');
    expect((unsynced as Error).message).to.include("the forge has no copy of acme's repository yet");
  });

  it('a ref where the set does not exist, or does not build, is a 400 that says so', async () => {
    const missing = await get(compare({ from: '1.0.0', to: 'no-core' }));
    expect(missing.status).to.equal(400);
    expect(alertText(missing.body)).to.match(/^compare\.set-missing-at-ref: core does not exist at no-core \([0-9a-f]{7}\)/);
    const broken = await get(compare({ from: 'broken', to: 'main' }));
    expect(broken.status).to.equal(400);
    expect(alertText(broken.body)).to.match(/^compare\.build-failed: core does not build at broken \([0-9a-f]{7}\): template\.[a-z-]+ /);
  });

  it('the form offers the stored versions, and the branches and release tags to type, with a hint', async () => {
    const page = await get(compare({}));
    expect(page.status).to.equal(200);
    expect(page.body).to.include('<label for="from">From</label>').and.include('<label for="from-ref">Before (branch, tag or commit)</label>');
    expect(page.body).to.include('list="compare-refs"').and.include('aria-describedby="compare-hint"');
    expect(page.body).to.include('<option value="main">branch</option>').and.include('<option value="core@1.2.0">release tag</option>');
    expect(page.body).to.include('id="compare-hint">Pick two stored versions, or type a branch');
  });
});
