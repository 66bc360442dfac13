/**
 * "Publish to LIVE" in a real browser (issue 15): a GitHub project whose release 1.1.0 the forge
 * refused (an unreviewed change), two real LIVE receivers on production, and Debian's Chromium.
 * The admin grants a token the publisher role on the Tokens page; a viewer is refused the publish
 * page and the POST; the publisher sees who takes a release, publishes it and watches the table
 * follow both receivers; the admin overrides the refusal with a reason and both receivers move.
 */
import { expect } from 'chai';
import type { AnvilClient } from '@anvil/client';
import type { Browser, Page } from 'playwright-core';
import { createAccessToken } from '../../src/access/access-tokens.ts';
import { listAudit } from '../../src/store/audit-log.ts';
import { launchChromium, screenshot, signedIn } from '../support/dashboard-browser.ts';
import { cleanupGitdirs } from '../support/gitdir.ts';
import { startGitHubForge, type GitHubForge } from '../support/github-forge.ts';
import { until } from '../support/until.ts';

const FILES = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/legal/set.yaml': 'mode: locked\n',
  'prompts/legal/terms.md': 'Terms v1.',
  'prompts/policy/set.yaml': 'mode: locked\n',
  'prompts/policy/refund.md': 'Refunds within 30 days.',
};
const ADMIN = 'dashboard-publish-admin-token-0123456789abcdef';

describe('dashboard in Chromium: publish to LIVE with live progress, roles and grants', function () {
  this.timeout(90_000);
  let t: GitHubForge;
  let browser: Browser;
  let receivers: AnvilClient[];
  const tokens: Record<'viewer' | 'publisher', { token: string; prefix: string }> = {} as never;
  const publishUrl = () => `${t.forge.url}/ui/projects/acme/sets/legal/publish`;
  const versions = () => receivers.map((r) => r.status().sets['legal']?.version);

  /** Publishes made from the dashboard (the forge's own, on sync, have no session actor). */
  const dashboardPublishes = async () => (await listAudit(t.forge.ctx.db, { project: 'acme', kind: 'publish' }))
    .filter((a) => a.kind === 'publish' && (a.actor === 'admin' || a.actor?.startsWith('token:')));
  /** The session's CSRF token, from the sign-out form every signed-in page has. */
  const csrfOf = (page: Page) => page.locator('form.who input[name="_csrf"]').inputValue();

  before(async () => {
    t = await startGitHubForge(FILES, { tags: ['legal@1.0.0', 'policy@1.0.0'], adminToken: ADMIN });
    receivers = [await t.receiver('prod-1', 'production'), await t.receiver('prod-2', 'production')];
    await t.sync();
    expect(versions()).to.deep.equal(['1.0.0', '1.0.0']);
    // Pushed straight to main, no pull request, and released: refused.
    await t.pushCommit('direct push', { 'prompts/legal/terms.md': 'Terms nobody reviewed.' }, { tags: ['legal@1.1.0'] });
    await t.settle();
    for (const role of ['viewer', 'publisher'] as const) {
      const created = await createAccessToken(t.forge.ctx.db, { project: 'acme', label: `${role} laptop` });
      tokens[role] = { token: created.token, prefix: created.prefix };
    }
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await t?.close();
    await cleanupGitdirs();
  });

  it('the admin grants a token the publisher role on the Tokens page (audited)', async () => {
    const { context, page } = await signedIn(browser, t.forge.url, ADMIN);
    await page.goto(`${t.forge.url}/ui/tokens`);
    const row = page.locator('tr', { has: page.getByRole('rowheader', { name: `${tokens.publisher.prefix}…` }) });
    expect(await row.getByLabel(`Dashboard role of ${tokens.publisher.prefix}…`).inputValue()).to.equal('viewer');
    await row.getByLabel(`Dashboard role of ${tokens.publisher.prefix}…`).selectOption('publisher');
    await row.getByRole('button', { name: `Set role of ${tokens.publisher.prefix}…` }).click();
    await page.getByText(`${tokens.publisher.prefix}… now signs in as publisher.`).waitFor();
    expect(await page.locator('tr', { has: page.getByRole('rowheader', { name: `${tokens.publisher.prefix}…` }) })
      .getByLabel(`Dashboard role of ${tokens.publisher.prefix}…`).inputValue()).to.equal('publisher');
    // A role that does not exist is a clear message, not a 500.
    const bad = await page.request.post(`${t.forge.url}/ui/tokens/role`, { form: { _csrf: await csrfOf(page), project: 'acme', id: 'nope', role: 'root' }, maxRedirects: 0 });
    expect(bad.status()).to.equal(400);
    expect(await bad.text()).to.include('grant.invalid-role');
    const audit = await listAudit(t.forge.ctx.db, { project: 'acme', kind: 'dashboard.grant' });
    expect(audit.map((a) => [a.subject, a.actor, (JSON.parse(a.detail) as { role: string }).role])).to.deep.equal([[tokens.publisher.prefix, 'admin', 'publisher']]);
    await context.close();
  });

  it('a viewer is refused the publish page and the publish itself, and sees no publish form', async () => {
    const { context, page } = await signedIn(browser, t.forge.url, tokens.viewer.token);
    const answer = await page.goto(publishUrl());
    expect(answer!.status()).to.equal(403);
    expect(await page.getByRole('alert').innerText()).to.include('Publishing needs the publisher or admin role').and.include('viewer of acme');
    await screenshot(page, 'publish-refused-viewer');
    // Not only hidden: the POST itself, with the viewer's own valid CSRF token, is refused.
    const post = await page.request.post(publishUrl(), { form: { _csrf: await csrfOf(page), version: '1.0.0' }, maxRedirects: 0 });
    expect(post.status()).to.equal(403);
    expect(await dashboardPublishes()).to.have.length(0);
    await context.close();
  });

  it('the publisher sees who takes 1.0.0, publishes it, and the table follows both receivers to the result', async () => {
    const { context, page } = await signedIn(browser, t.forge.url, tokens.publisher.token);
    await page.goto(publishUrl());
    await page.getByLabel('Release').selectOption('1.0.0');
    await page.getByRole('button', { name: 'Show who takes it' }).click();
    const audience = page.getByRole('table', { name: 'Receivers of the release\'s channels' });
    for (const id of ['prod-1', 'prod-2']) {
      expect(await audience.locator('tr', { has: page.getByRole('rowheader', { name: id }) }).innerText()).to.include('will take it').and.include('serves it already');
    }
    await screenshot(page, 'publish-confirm');
    await page.getByRole('button', { name: 'Publish legal@1.0.0 to 2 receivers' }).click();
    await page.waitForURL(/\/publish\/progress\?/);
    const progress = page.locator('table#progress');
    // dashboard.js marks the table done on the stream's last event: the page was never reloaded.
    await page.locator('table#progress[data-done="true"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#result').innerText()).to.equal('Done: 2 delivered.');
    for (const id of ['prod-1', 'prod-2']) {
      expect(await progress.locator('tr', { has: page.getByRole('rowheader', { name: id }) }).innerText()).to.match(/delivered\s+1\s+200/);
    }
    expect(await page.evaluate(() => performance.getEntriesByType('navigation' as 'mark').length)).to.equal(1);
    await screenshot(page, 'publish-progress');
    const published = await dashboardPublishes();
    expect(published.map((a) => [a.subject, a.actor])).to.deep.equal([['legal@1.0.0', `token:${tokens.publisher.prefix}`]]);
    expect(versions()).to.deep.equal(['1.0.0', '1.0.0']);

    // The refused 1.1.0: the publisher is told why and gets no publish button.
    await page.goto(`${publishUrl()}?version=1.1.0`);
    expect(await page.getByRole('alert').first().innerText()).to.include('The forge refused legal@1.1.0');
    expect(await page.getByText('Only the forge\'s admin can publish a refused release').count()).to.equal(1);
    expect(await page.getByRole('button', { name: /^Publish / }).count()).to.equal(0);
    // Nor can the POST override it.
    const post = await page.request.post(publishUrl(), { form: { _csrf: await csrfOf(page), version: '1.1.0', override: 'yes', reason: 'please' }, maxRedirects: 0 });
    expect(post.status()).to.equal(403);
    const plain = await page.request.post(publishUrl(), { form: { _csrf: await csrfOf(page), version: '1.1.0' }, maxRedirects: 0 });
    expect(plain.status()).to.equal(409);
    expect(await plain.text()).to.include('release.refused');
    await context.close();
  });

  it('bad publish forms get a clear message: no version, an unknown one, an override without a reason', async () => {
    const { context, page } = await signedIn(browser, t.forge.url, ADMIN);
    await page.goto(publishUrl());
    const csrf = await csrfOf(page);
    const post = (form: Record<string, string>) => page.request.post(publishUrl(), { form: { _csrf: csrf, ...form }, maxRedirects: 0 });
    const none = await post({ version: '<script>x</script>' });
    expect(none.status()).to.equal(400);
    expect(await none.text()).to.include('publish.invalid-version').and.include('&lt;script&gt;').and.not.include('<script>x');
    const unknown = await post({ version: '9.9.9' });
    expect(unknown.status()).to.equal(400);
    expect(await unknown.text()).to.include('publish.unknown-release').and.include('1.1.0, 1.0.0');
    const noReason = await post({ version: '1.1.0', override: 'yes', reason: '  ' });
    expect(noReason.status()).to.equal(400);
    expect(await noReason.text()).to.include('publish.reason-missing');
    const badLink = await page.goto(`${publishUrl()}/progress?version=1.0.0&since=yesterday&envelope=x`);
    expect(badLink!.status()).to.equal(400);
    await context.close();
  });

  it('the admin overrides the refusal with a reason, and both receivers move to 1.1.0 while the page watches', async () => {
    const { context, page } = await signedIn(browser, t.forge.url, ADMIN);
    await page.goto(`${publishUrl()}?version=1.1.0`);
    await page.getByLabel('Why publish a refused release (for the audit log)').fill('legal signed off by mail');
    await page.getByRole('button', { name: 'Publish legal@1.1.0 to 2 receivers' }).click();
    await page.waitForURL(/\/publish\/progress\?/);
    await page.locator('table#progress[data-done="true"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#result').innerText()).to.equal('Done: 2 delivered.');
    expect(await page.locator('ul.plain').innerText()).to.include('production: pushed to 2 receivers');
    await until('both receivers serve 1.1.0', () => versions().every((v) => v === '1.1.0'));
    expect(receivers.map((r) => r.prompt('terms', {}))).to.deep.equal(['Terms nobody reviewed.', 'Terms nobody reviewed.']);
    await screenshot(page, 'publish-override-progress');
    const overrides = await listAudit(t.forge.ctx.db, { project: 'acme', kind: 'publish.override' });
    expect(overrides.map((a) => [a.subject, a.actor, (JSON.parse(a.detail) as { reason: string }).reason])).to.deep.equal([['legal@1.1.0', 'admin', 'legal signed off by mail']]);
    await context.close();
  });

  it('the rollouts page shows a reviewed canary at its percent and which receivers serve which version; the receivers page filters by it', async () => {
    // legal's content carries the unreviewed change, so a reviewed canary goes to policy.
    await t.mergedPull(30, {
      'prompts/policy/refund.md': 'Refunds within 60 days.',
      'anvil.yaml': 'name: "@acme"\nrollouts:\n  policy:\n    production:\n      version: "1.1.0"\n      percent: 25\n',
    }, { tags: ['policy@1.1.0'] });
    await t.settle();
    await until('production has the rollout', () => receivers.every((r) => r.status().sets['policy']?.rollout?.version === '1.1.0'));
    const { context, page } = await signedIn(browser, t.forge.url, tokens.viewer.token);
    await page.getByRole('link', { name: 'Rollouts' }).click();
    await page.getByRole('heading', { name: 'Rollouts' }).waitFor();
    const row = page.locator('tr.has-rollout', { has: page.getByRole('rowheader', { name: 'policy' }) });
    expect(await row.innerText()).to.include('production').and.include('1.0.0').and.include('1.1.0 to 25% of keys').and.include('1.0.0: 2 receivers');
    await screenshot(page, 'rollouts');
    await row.getByRole('link', { name: '1.0.0' }).last().click();
    await page.getByRole('heading', { name: 'Receivers' }).waitFor();
    expect(await page.getByLabel('Serves').inputValue()).to.equal('policy@1.0.0');
    expect(await page.getByRole('rowheader').allInnerTexts()).to.have.members(['prod-1', 'prod-2']);
    await page.getByLabel('Serves').fill('policy@9.9.9');
    await page.getByRole('button', { name: 'Filter' }).click();
    expect(await page.getByText('No receivers on production serving policy@9.9.9.').count()).to.equal(1);
    const bad = await page.goto(`${t.forge.url}/ui/receivers?serves=${encodeURIComponent('<b>legal</b>')}`);
    expect(bad!.status()).to.equal(400);
    expect(await page.getByRole('alert').innerText()).to.include('receivers.invalid-filter').and.include('<b>legal</b>');
    await context.close();
  });
});
