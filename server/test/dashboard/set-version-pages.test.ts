/**
 * A set version's page and the compare page (issue 15): the view renders every prompt and
 * variant with its sample inputs by the receivers' renderer, previews typed inputs with a code
 * and reason for every failure, and the pages escape whatever a prompt holds.
 */
import { expect } from 'chai';
import { paging } from '../../src/dashboard/dashboard-data.ts';
import { comparePage, projectsPage, setVersionPage, type PageFrame } from '../../src/dashboard/dashboard-pages.ts';
import type { DashboardUser } from '../../src/dashboard/dashboard-roles.ts';
import { setVersionView } from '../../src/dashboard/set-version-view.ts';
import { renderedDiff } from '../../src/diff/rendered-diff.ts';
import { diffContract } from '../../src/release/contract-diff.ts';
import { makeBundle } from '../support/delivery-fixtures.ts';

const PAYLOAD = '<script>window.__xss=1</script>';
const ESCAPED = '&lt;script&gt;window.__xss=1&lt;/script&gt;';
const admin: DashboardUser = { role: 'admin', project: null, actor: 'admin' };
const frame: PageFrame = { forgeName: 'forge', user: admin, csrf: 'c'.repeat(43) };

const greet = {
  template: `Hello {{name}}! ${PAYLOAD}`,
  metadata: { input: { schema: { type: 'object', properties: { name: { type: 'string', examples: ['Ada'] } }, required: ['name'] } } },
  variants: { fr: { template: 'Bonjour {{name}}' } },
};
const v1 = makeBundle('core', '1.0.0', { greet, 'broken.one': 'Hi {{> missing}}' }, { partials: {} });
const v2 = makeBundle('core', '1.1.0', { greet: { ...greet, template: `Hi {{name}}. ${PAYLOAD}` }, 'broken.one': 'Hi {{> missing}}' });

describe('set version view', () => {
  it('renders every prompt and variant with its sample inputs, and says why one cannot render', () => {
    const view = setVersionView(v1, {});
    expect(view.prompts.map((p) => [p.id, p.variant])).to.deep.equal([['broken.one', undefined], ['greet', undefined], ['greet', 'fr']]);
    const [broken, base, fr] = view.prompts;
    expect(base!.sample).to.deep.equal({ ok: true, text: `Hello Ada! ${PAYLOAD}`, missing: [] });
    expect(JSON.parse(base!.sampleInputs)).to.deep.equal({ name: 'Ada' });
    expect(JSON.parse(base!.inputSchema!)).to.have.property('required').that.deep.equals(['name']);
    expect(fr!.sample).to.include({ ok: true, text: 'Bonjour ' });
    expect(broken!.sample).to.include({ ok: false });
    expect(broken!.sample).to.include({ code: 'template.unknown-partial' });
  });

  it('previews typed inputs, naming required ones left out; bad JSON and unknown prompts are codes, not throws', () => {
    const preview = (vars: string, prompt = 'greet', variant?: string) => setVersionView(v1, {}, { prompt, variant, vars }).preview!.outcome;
    expect(preview('{"name": "<b>Grace</b>"}')).to.deep.equal({ ok: true, text: `Hello <b>Grace</b>! ${PAYLOAD}`, missing: [] });
    expect(preview('{}')).to.deep.include({ ok: true, missing: ['name'] });
    expect(preview('{"name": "Zoé"}', 'greet', 'fr')).to.include({ text: 'Bonjour Zoé' });
    expect(preview('{name: 1}')).to.include({ ok: false, code: 'preview.invalid-json' });
    expect(preview('[1]')).to.include({ ok: false, code: 'preview.invalid-json' });
    expect(preview('x'.repeat(9000))).to.include({ ok: false, code: 'preview.too-large' });
    expect(preview('{}', 'nope')).to.include({ ok: false, code: 'render.unknown-prompt' });
    expect(preview('{"__proto__": {"polluted": 1}}')).to.include({ ok: true });
    expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
  });
});

describe('set version and compare pages', () => {
  it('the version page shows rendering, template, schema and a labelled preview form per prompt, all escaped', () => {
    const page = setVersionPage(frame, { project: 'acme', view: setVersionView(v1, {}, { prompt: 'greet', vars: `{"name": "${'<img src=x onerror=alert(1)>'.replace(/"/g, '\\"')}"}` }) }).toString();
    expect(page).not.to.include(PAYLOAD).and.not.to.include('<img');
    expect(page).to.include(`Hello Ada! ${ESCAPED}`).and.include(`Hello {{name}}! ${ESCAPED}`);
    expect(page).to.include('<label for="vars-greet--fr">').and.include('id="vars-greet--fr"');
    expect(page).to.include('action="/ui/projects/acme/sets/core/versions/1.0.0#prompt-greet"');
    expect(page).to.include('<h3>Preview</h3>').and.include('Hello &lt;img src=x onerror=alert(1)&gt;!');
    expect(page).to.include('role="alert"><code>template.unknown-partial</code>: unknown partial');
  });

  it('pages a large set by prompt, variants beside their base, and shows a preview on its prompt\'s page whatever page was asked', () => {
    // 45 prompts: pages of 20, 20 and 5; the 20th prompt's variant stays on page 1.
    const prompts: Record<string, string | { template: string; variants: Record<string, { template: string }> }> = {};
    for (let i = 0; i < 45; i++) prompts[`p${String(i).padStart(2, '0')}`] = i === 19 ? { template: `Prompt ${i}`, variants: { fr: { template: `Invite ${i}` } } } : `Prompt ${i} {{name}}`;
    const big = makeBundle('big', '1.0.0', prompts);
    const base = '/ui/projects/acme/sets/big/versions/1.0.0';

    const first = setVersionView(big, {});
    expect(first.prompts.map((p) => [p.id, p.variant])).to.have.length(21).and.deep.include.members([['p19', undefined], ['p19', 'fr']]);
    expect(first.paging).to.include({ page: 1, pages: 3, total: 45 });
    expect(first.pageStarts).to.deep.equal(['p00', 'p20', 'p40']);
    expect(setVersionView(big, {}, undefined, { page: '3' }).prompts.map((p) => p.id)).to.deep.equal(['p40', 'p41', 'p42', 'p43', 'p44']);
    expect(setVersionView(big, {}, undefined, { page: '99' }).paging.page).to.equal(3);
    expect(setVersionView(big, {}, undefined, { page: '<b>' }).paging.page).to.equal(1);

    // The preview form sends the prompt and its inputs, not the page: the view finds the page.
    const previewed = setVersionView(big, {}, { prompt: 'p42', vars: '{"name": "Ada"}' }, { page: '1' });
    expect(previewed.paging.page).to.equal(3);
    expect(previewed.preview!.outcome).to.include({ ok: true, text: 'Prompt 42 Ada' });
    const html = setVersionPage(frame, { project: 'acme', view: previewed }).toString();
    expect(html).to.include('id="prompt-p42"').and.include('id="preview-p42"').and.not.include('id="prompt-p00"');
    expect(html).to.include(`action="${base}#prompt-p42"`).and.not.include('preview.unknown-prompt');
    expect(html).to.include('Prompts 41–45 of 45, page 3 of 3.').and.include(`<a href="${base}?page=2" rel="prev">`);
    expect(html).to.include(`<a href="${base}?page=3" aria-current="page">p40</a>`).and.include(`<a href="${base}?page=2">p20</a>`);
    // An unknown prompt is named as before, on the page that was asked.
    const unknown = setVersionView(big, {}, { prompt: 'nope', vars: '{}' }, { page: '2' });
    expect(unknown.paging.page).to.equal(2);
    expect(setVersionPage(frame, { project: 'acme', view: unknown }).toString()).to.include('<code>preview.unknown-prompt</code>');
    // A set that fits on one page has no pager.
    expect(setVersionPage(frame, { project: 'acme', view: setVersionView(v1, {}) }).toString()).not.to.include('class="pager"').and.not.include('All 1 pages');
  });

  it('a preview error shows its code and reason', () => {
    const page = setVersionPage(frame, { project: 'acme', view: setVersionView(v1, {}, { prompt: 'greet', vars: PAYLOAD }) }).toString();
    expect(page).to.include('<code>preview.invalid-json</code>: the inputs are not valid JSON').and.include(ESCAPED);
    expect(page).not.to.include(PAYLOAD);
  });

  it('compare shows the contract change and the rendered diff, escaped, with the two versions chosen', () => {
    const versions = [{ version: '1.1.0', stage: 'release' as const, at: '' }, { version: '1.0.0', stage: 'release' as const, at: '' }];
    const prompts = renderedDiff({ label: '1.0.0', bundle: v1, dependencyPartials: {} }, { label: '1.1.0', bundle: v2, dependencyPartials: {} });
    const page = comparePage(frame, { project: 'acme', set: 'core', versions, from: '1.0.0', to: '1.1.0', result: { contract: diffContract(v1, v2), prompts } }).toString();
    expect(page).to.include(`<span class="diff-del">-Hello Ada! ${ESCAPED}</span>`).and.include(`<span class="diff-add">+Hi Ada. ${ESCAPED}</span>`);
    expect(page).to.include('<option value="1.0.0" selected>').and.include('1 of 3 prompts and variants render differently');
    expect(page).not.to.include(PAYLOAD);
    const refused = comparePage(frame, { project: 'acme', set: 'core', versions, from: PAYLOAD, to: '1.1.0', error: `unknown ${PAYLOAD}` }).toString();
    expect(refused).to.include('role="alert"').and.not.include(PAYLOAD);
  });

  it('without unchanged text, the rendered diff skips rendering same sources with same partials, and finds the same changes', () => {
    const sides = [{ label: '1.0.0', bundle: v1, dependencyPartials: {} }, { label: '1.1.0', bundle: v2, dependencyPartials: {} }] as const;
    const full = renderedDiff(...sides);
    const lean = renderedDiff(...sides, { unchangedText: false });
    expect(lean.map((p) => [p.id, p.variant, p.status, p.patch])).to.deep.equal(full.map((p) => [p.id, p.variant, p.status, p.patch]));
    expect(lean.filter((p) => p.status === 'unchanged').every((p) => p.before === undefined && p.after === undefined)).to.equal(true);
    expect(full.filter((p) => p.status === 'unchanged').every((p) => p.before !== undefined)).to.equal(true);
    // A partial changed: the same source may render differently, so it is rendered and compared.
    const withPartial = (text: string) => makeBundle('core', '1.0.0', { uses: 'Hi {{> sig}}' }, { partials: { sig: text } });
    const changed = renderedDiff({ label: 'a', bundle: withPartial('A'), dependencyPartials: {} }, { label: 'b', bundle: withPartial('B'), dependencyPartials: {} }, { unchangedText: false });
    expect(changed.map((p) => p.status)).to.deep.equal(['changed']);
  });

  it('the projects page links each channel version and the last release to its version page, and the set to compare', () => {
    const page = projectsPage(frame, [{ project: 'acme', sets: [{ name: 'core', mode: 'locked', channels: { development: '2.0.0-head.1+abc' }, lastRelease: { version: '1.0.0', at: '2026-01-01T00:00:00Z' } }], paging: paging(1, '1', 25) }]).toString();
    expect(page).to.include('href="/ui/projects/acme/sets/core/versions/2.0.0-head.1%2Babc"').and.include('href="/ui/projects/acme/sets/core/versions/1.0.0"');
    expect(page).to.include('href="/ui/projects/acme/sets/core/compare"');
  });
});
