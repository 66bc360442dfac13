/**
 * Debian's Chromium driven by playwright-core, for the dashboard's browser tests (issue 15).
 * No skip when Chromium is missing: `npm test` installs it (scripts/ensure-chromium.mjs), and
 * a dashboard nobody looked at in a browser is not tested. `ANVIL_CHROMIUM` points elsewhere.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env['ANVIL_CHROMIUM'] ?? '/usr/bin/chromium';
/** Screenshots of each page, kept by CI as test artefacts (gitignored). */
export const ARTIFACTS = path.resolve(import.meta.dirname, '../../../test-artifacts/dashboard');

export function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh browser context signed in with `token` through the sign-in form, on the projects page. */
export async function signedIn(browser: Browser, url: string, token: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  await page.goto(`${url}/`);
  expect(new URL(page.url()).pathname).to.equal('/ui/sign-in');
  await page.getByLabel('Admin token or project access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${url}/ui/projects`);
  return { context, page };
}

export function screenshot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}
