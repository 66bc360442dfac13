/**
 * The dashboard in a real browser (issue 15): Debian's Chromium, driven by playwright-core,
 * against a real forge on loopback with something published. No skip when Chromium is missing:
 * `.ci/run` installs it, and a dashboard nobody looked at in a browser is not tested.
 */
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, screenshot, signedIn as signInAs } from '../support/dashboard-browser.ts';
import { formatReleaseMessage } from '../../src/release/release-record.ts';
import { storeTime } from '../../src/store/open-store.ts';
import { listAudit } from '../../src/store/audit-log.ts';
import { ADMIN_TOKEN, startPublishedForge, type PublishedForge } from '../support/published-forge.ts';

const XSS_RECEIVER = '<script>window.__xss = "receiver"</script>';
const XSS_PROMPT = '<script>window.__xss=1</script>';
const XSS_INPUT = '<img src=x onerror="window.__xss=2">';
const XSS_LABEL = '<img src=x onerror="window.__xss = \'label\'"><script>window.__xss = "label"</script>';

describe('dashboard in Chromium: sign in, browse, preview, compare, tokens, roles, CSRF, escaping', function () {
  this.timeout(60_000);
  let published: PublishedForge;
  let browser: Browser;
  let url: string;
  /** One admin session for the tests that browse as admin: a browser context costs most of a second. */
  let admin: { context: BrowserContext; page: Page };

  async function addReceiver(instanceId: string, channel: string, lastSeenMs: number, delivery?: { state: string; status: number; code: string; reason: string }): Promise<void> {
    const now = storeTime();
    await published.forge.ctx.db.insertInto('receivers').values({
      project: 'acme', instance_id: instanceId, url: 'https://app.example.com/anvil', channel, mode: 'accepting',
      ranges: JSON.stringify({ core: '^1.0.0' }), versions: JSON.stringify({ core: '1.0.0' }), push_token: 'sealed', token_id: null, revoked_at: null,
      registered_at: now, last_seen_at: storeTime(lastSeenMs), gone_at: null,
      last_delivery_at: delivery ? now : null, last_delivery_state: delivery?.state ?? null, last_delivery_status: delivery?.status ?? null,
      last_delivery_code: delivery?.code ?? null, last_delivery_reason: delivery?.reason ?? null,
    }).execute();
  }

  const signedIn = (token: string) => signInAs(browser, url, token);
  const shot = (page: Page, name: string) => screenshot(page, name);
  const xss = (page: Page) => page.evaluate(() => (globalThis as { __xss?: unknown }).__xss);

  before(async () => {
    published = await startPublishedForge();
    url = published.forge.url;
    // A second release of core, with a prompt whose text is a script, to compare and to preview.
    await published.repo.commit('core 1.1.0', {
      'prompts/core/tone.md': '---\ndescription: house tone\n---\nBe kind, brief and clear.',
      'prompts/core/note.md': `---\ninput:\n  schema:\n    name: string\n---\nHello {{name}}. ${XSS_PROMPT}`,
    });
    await published.repo.tag('core@1.1.0', { message: formatReleaseMessage({ set: 'core', version: '1.1.0', dependencies: {} }) });
    await published.forge.sync('acme');
    await published.forge.settle();
    await addReceiver('web-1', 'production', Date.now(), { state: 'delivered', status: 200, code: '', reason: '' });
    await addReceiver(XSS_RECEIVER, 'development', Date.now(), { state: 'failed', status: 422, code: 'envelope.integrity', reason: '<b>bad</b>' });
    await addReceiver('web-stale', 'production', Date.now() - 3_600_000);
    browser = await launchChromium();
    admin = await signedIn(ADMIN_TOKEN);
  });

  after(async () => {
    await browser?.close();
    await published?.close();
  });

  it('signs in with the admin token and shows projects → sets with modes and channel versions', async () => {
    const { page } = admin;
    const acme = page.locator('section.project', { has: page.getByRole('heading', { name: 'acme' }) });
    const core = acme.locator('tr', { has: page.getByRole('rowheader', { name: 'core' }) });
    expect(await core.innerText()).to.match(/locked/).and.match(/1\.1\.0/);
    const support = acme.locator('tr', { has: page.getByRole('rowheader', { name: 'support' }) });
    expect(await support.innerText()).to.include('live').and.include(published.headVersion);
    await shot(page, 'projects');
    await page.getByRole('link', { name: 'acme' }).click();
    await page.getByRole('heading', { name: 'Project acme' }).waitFor();
  });

  it('opens a set version from projects → sets: each prompt rendered, its template and schema, a script in a prompt shown as text', async () => {
    const { page } = admin;
    await page.goto(`${url}/ui/projects`);
    const core = page.locator('section.project', { has: page.getByRole('heading', { name: 'acme' }) }).locator('tr', { has: page.getByRole('rowheader', { name: 'core' }) });
    // Each channel's version and the last release link to the version page; the last is the release.
    expect(await core.getByRole('link', { name: '1.1.0' }).count()).to.equal(4);
    await core.getByRole('link', { name: '1.1.0' }).last().click();
    await page.getByRole('heading', { name: 'core@1.1.0' }).waitFor();
    const note = page.locator('#prompt-note');
    expect(await note.getByLabel('note rendered with sample inputs').innerText()).to.equal(`Hello ‹name›. ${XSS_PROMPT}`);
    expect(await note.locator('pre.template').textContent()).to.equal(`Hello {{name}}. ${XSS_PROMPT}`);
    expect(await page.locator('#prompt-tone').getByLabel('tone rendered with sample inputs').innerText()).to.equal('Be kind, brief and clear.');
    expect(await page.locator('script:not([src])').count()).to.equal(0);
    expect(await xss(page)).to.equal(undefined);
    await note.getByText('Input schema').click();
    expect(await note.locator('details pre').last().innerText()).to.include('"name"');
    await shot(page, 'set-version');
  });

  it('previews a prompt with new inputs, rendered on the forge and escaped; bad JSON is a clear message', async () => {
    const { page } = admin;
    const note = page.locator('#prompt-note');
    await note.getByLabel('Preview note with inputs (JSON)').fill(JSON.stringify({ name: XSS_INPUT }));
    await note.getByRole('button', { name: 'Preview' }).click();
    await page.waitForURL(/prompt=note/);
    expect(await page.locator('#prompt-note').getByLabel('note preview').innerText()).to.equal(`Hello ${XSS_INPUT}. ${XSS_PROMPT}`);
    expect(await page.locator('#prompt-note img').count()).to.equal(0);
    expect(await xss(page)).to.equal(undefined);
    await shot(page, 'set-version-preview');
    await page.locator('#prompt-note').getByLabel('Preview note with inputs (JSON)').fill('{name: Ada');
    await page.locator('#prompt-note').getByRole('button', { name: 'Preview' }).click();
    await page.waitForURL(/vars=%7Bname/);
    expect(await page.locator('#prompt-note').getByRole('alert').innerText()).to.include('preview.invalid-json').and.include('not valid JSON');
  });

  it('compares two versions of a set with the same rendered diff as anvil diff, escaped', async () => {
    const { page } = admin;
    await page.goto(`${url}/ui/projects`);
    await page.getByRole('link', { name: 'Compare versions of core' }).click();
    await page.getByLabel('From').selectOption('1.0.0');
    await page.getByLabel('To').selectOption('1.1.0');
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.waitForURL(/from=1\.0\.0&to=1\.1\.0/);
    expect(await page.getByRole('heading', { name: 'core: 1.0.0 → 1.1.0' }).count()).to.equal(1);
    expect(await page.locator('main').innerText()).to.include('Needs a minor release').and.include('prompt note was added');
    const added = await page.locator('.diff-add').allInnerTexts();
    expect(added).to.include('+Be kind, brief and clear.').and.include(`+Hello ‹name›. ${XSS_PROMPT}`);
    expect(await page.locator('.diff-del').allInnerTexts()).to.include('-Be kind and brief.');
    expect(await xss(page)).to.equal(undefined);
    await shot(page, 'compare');
    const refused = await page.goto(`${url}/ui/projects/acme/sets/core/compare?from=9.9.9&to=1.1.0`);
    expect(refused?.status()).to.equal(400);
    expect(await page.getByRole('alert').innerText()).to.include('compare.unknown-version').and.include('"9.9.9"');
    const missing = await page.goto(`${url}/ui/projects/acme/sets/core/versions/9.9.9`);
    expect(missing?.status()).to.equal(404);
  });

  it('lists receivers with status and last delivery, highlights stale ones, filters by channel, and escapes ids', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Receivers' }).click();
    await page.getByRole('rowheader', { name: XSS_RECEIVER }).waitFor();
    expect(await xss(page)).to.equal(undefined);
    expect(await page.locator('tr.status-stale').innerText()).to.include('web-stale').and.include('stale');
    expect(await page.locator('tr', { hasText: 'web-1' }).innerText()).to.include('delivered 200');
    expect(await page.locator('tr', { hasText: 'envelope.integrity' }).innerText()).to.include('<b>bad</b>');
    await shot(page, 'receivers');
    await page.getByLabel('Channel').selectOption('production');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/channel=production/);
    expect(await page.locator('tbody tr').count()).to.equal(2);
    expect(await page.content()).not.to.include('envelope.integrity');
  });

  it('creates a token shown once with a copy button, escapes its label, and revokes it', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByLabel('Project').selectOption('acme');
    await page.getByLabel('Label').fill(XSS_LABEL);
    await page.getByRole('button', { name: 'Create token' }).click();
    const shown = await page.getByLabel(/^Token/).inputValue();
    expect(shown).to.match(/^anvil_[A-Za-z0-9_-]{43}$/);
    const row = page.locator('tbody tr', { hasText: shown.slice(0, 14) });
    expect(await row.innerText()).to.include(XSS_LABEL);
    expect(await xss(page)).to.equal(undefined);
    await page.getByRole('button', { name: 'Copy' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    await shot(page, 'tokens-created');

    // Shown once: the list never has it again.
    await page.goto(`${url}/ui/tokens`);
    expect(await page.content()).not.to.include(shown);
    await page.locator('tbody tr', { hasText: shown.slice(0, 14) }).getByRole('button', { name: /Revoke/ }).click();
    await page.waitForURL(/revoked=/);
    expect(await page.locator('tbody tr', { hasText: shown.slice(0, 14) }).innerText()).to.include('revoked');
    expect(await xss(page)).to.equal(undefined);
    await shot(page, 'tokens');
    const audit = await listAudit(published.forge.ctx.db, { kind: 'token.' });
    expect(audit.map((r) => [r.kind, r.actor])).to.deep.include.members([['token.created', 'admin'], ['token.revoked', 'admin']]);
  });

  it('refuses a POST without the session\'s CSRF token, and a sign-in without the form\'s', async () => {
    const { page } = admin;
    const before = (await listAudit(published.forge.ctx.db, { kind: 'token.created', limit: 1000 })).length;
    for (const form of [{ project: 'acme', label: 'csrf' }, { _csrf: 'x'.repeat(43), project: 'acme', label: 'csrf' }]) {
      const res = await page.request.post(`${url}/ui/tokens`, { form, maxRedirects: 0 });
      expect(res.status()).to.equal(403);
      expect(await res.text()).to.include('CSRF token');
    }
    expect((await listAudit(published.forge.ctx.db, { kind: 'token.created', limit: 1000 })).length).to.equal(before);
    const fresh = await browser.newContext();
    const signIn = await fresh.request.post(`${url}/ui/sign-in`, { form: { token: ADMIN_TOKEN }, maxRedirects: 0 });
    expect(signIn.status()).to.equal(403);
    await fresh.close();
  });

  it('shows the audit log with its chain verified, filterable by kind', async () => {
    const { context, page } = admin;
    await page.getByRole('link', { name: 'Audit' }).click();
    expect(await page.getByRole('status').innerText()).to.match(/Chain verified: all \d+ rows/);
    await page.getByLabel('Kind starts with').fill('dashboard.');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/kind=dashboard/);
    const kinds = await page.locator('tbody tr td:nth-child(4)').allInnerTexts();
    expect(kinds.length).to.be.greaterThan(0);
    expect(kinds.every((k) => k.startsWith('dashboard.'))).to.equal(true);
    await shot(page, 'audit');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${url}/ui/sign-in`);
    await page.goto(`${url}/ui/projects`);
    expect(new URL(page.url()).pathname).to.equal('/ui/sign-in');
    await context.close();
  });

  it('signs a project token in as a viewer of its project only, refused the tokens page and its forms', async () => {
    const { context, page } = await signedIn(published.tokens.acme);
    expect(await page.locator('header').innerText()).to.include('viewer');
    expect(await page.getByRole('link', { name: 'Tokens' }).count()).to.equal(0);
    expect(await page.getByRole('heading', { name: 'hello' }).count()).to.equal(0);
    const refused = await page.goto(`${url}/ui/tokens`);
    expect(refused?.status()).to.equal(403);
    expect(await page.getByRole('alert').innerText()).to.include('Only the forge\'s admin');
    await shot(page, 'viewer-refused');
    const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
    const post = await page.request.post(`${url}/ui/tokens`, { form: { _csrf: csrf, project: 'acme', label: 'viewer' }, maxRedirects: 0 });
    expect(post.status()).to.equal(403);
    await context.close();
  });

  it('refuses a garbage token with a clear message and no audit row', async () => {
    const rows = (await listAudit(published.forge.ctx.db, { limit: 100_000 })).length;
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${url}/ui/sign-in`);
    await page.getByLabel('Admin token or project access token').fill('<script>window.__xss=1</script>');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.getByRole('alert').innerText()).to.include('does not sign in');
    expect(await xss(page)).to.equal(undefined);
    await shot(page, 'sign-in-refused');
    expect((await listAudit(published.forge.ctx.db, { limit: 100_000 })).length).to.equal(rows);
    await context.close();
  });
});
