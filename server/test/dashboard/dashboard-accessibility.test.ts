/**
 * The dashboard's accessibility (issue 15: "labels, keyboard use, contrast"), checked by axe-core
 * (WCAG 2 A and AA rules: labels, names, contrast, landmarks, ARIA) in Debian's Chromium on every
 * page of a real forge, and keyboard use: the sign-in form and the navigation work from the
 * keyboard alone, with a skip link first.
 */
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { formatReleaseMessage } from '../../src/release/release-record.ts';
import { axeViolations } from '../support/axe-violations.ts';
import { launchChromium, screenshot } from '../support/dashboard-browser.ts';
import { ADMIN_TOKEN, startPublishedForge, type PublishedForge } from '../support/published-forge.ts';

describe('dashboard accessibility in Chromium (axe-core, keyboard)', function () {
  this.timeout(90_000);
  let published: PublishedForge;
  let browser: Browser;

  before(async () => {
    published = await startPublishedForge();
    await published.repo.commit('core 1.1.0', { 'prompts/core/tone.md': '---\ndescription: house tone\n---\nBe kind, brief and clear.' });
    await published.repo.tag('core@1.1.0', { message: formatReleaseMessage({ set: 'core', version: '1.1.0', dependencies: {} }) });
    await published.forge.sync('acme');
    await published.forge.settle();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await published?.close();
  });

  it('every page has no WCAG 2 A/AA violation', async () => {
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1366, height: 768 } });
    const page = await context.newPage();
    const url = published.forge.url;
    const problems: string[] = [];
    await page.goto(`${url}/ui/sign-in`);
    problems.push(...(await axeViolations(page)).map((v) => `sign-in: ${v}`));
    await page.getByLabel('Admin token or project access token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${url}/ui/projects`);
    for (const path of [
      '/ui/projects', '/ui/projects/acme', '/ui/projects/acme/sets/core/versions/1.1.0', '/ui/projects/acme/sets/core/versions/1.1.0?prompt=tone&vars=%7B%7D',
      '/ui/projects/acme/sets/core/compare', '/ui/projects/acme/sets/core/compare?from=1.0.0&to=1.1.0', '/ui/projects/acme/sets/core/publish',
      '/ui/projects/acme/sets/core/publish?version=1.1.0', '/ui/receivers', '/ui/rollouts', '/ui/tokens', '/ui/audit', '/ui/forges', '/ui/no-such-page',
    ]) {
      await page.goto(`${url}${path}`);
      problems.push(...(await axeViolations(page)).map((v) => `${path}: ${v}`));
    }
    expect(problems, problems.join('\n')).to.deep.equal([]);
    await context.close();
  });

  it('works from the keyboard: sign in with Enter, then the skip link first and Tab through the navigation, with a visible focus ring', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const page = await context.newPage();
    await page.goto(`${published.forge.url}/ui/sign-in`);
    // The token field has the focus on load (autofocus): type and press Enter.
    expect(await page.evaluate('document.activeElement?.id')).to.equal('token');
    await page.keyboard.type(ADMIN_TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${published.forge.url}/ui/projects`);
    const reached: string[] = [];
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab');
      reached.push(String(await page.evaluate("document.activeElement?.textContent?.trim() ?? ''")));
    }
    expect(reached.slice(0, 6)).to.deep.equal(['Skip to content', 'Projects', 'Receivers', 'Rollouts', 'Tokens', 'Audit']);
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${published.forge.url}/ui/tokens`);
    // A visible focus ring: the outline the stylesheet gives :focus-visible.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    expect(outline).to.equal('solid');
    await screenshot(page, 'keyboard-focus');
    await context.close();
  });
});
