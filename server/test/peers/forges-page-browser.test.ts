/**
 * The Forges page (issue 17, forge peering) in a real browser: Debian's Chromium, driven by
 * playwright-core, against two real forges on loopback. The peer (`partner`) is the published
 * forge with one more locked release, `widgets@1.0.0`, whose prompt's description and text carry
 * HTML; the browsing forge reads `knownForges` from its anvil-forge.yaml with the peer's
 * read-only token in the environment. A third known forge (`stranger`) is a bare HTTP server
 * speaking the peer API with HTML for names, which no Anvil forge would serve but a hostile or
 * broken peer may: the page must show it as text all the same.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { createAccessToken } from '../../src/access/access-tokens.ts';
import { setGrant } from '../../src/dashboard/dashboard-grants.ts';
import { readForgeConfig } from '../../src/forge/forge-config.ts';
import { createLogger } from '../../src/forge/logger.ts';
import { startForge, type RunningForge } from '../../src/forge/start-forge.ts';
import { formatReleaseMessage } from '../../src/release/release-record.ts';
import { listAudit } from '../../src/store/audit-log.ts';
import { axeViolations } from '../support/axe-violations.ts';
import { launchChromium, screenshot, signedIn } from '../support/dashboard-browser.ts';
import { startPublishedForge, type PublishedForge } from '../support/published-forge.ts';

const LOCAL_ADMIN = 'forges-page-admin-token-0123456789abcdef';
const XSS_DESCRIPTION = '<img src=x onerror=window.__xss=1>';
const XSS_TEMPLATE = '<img src=x onerror=window.__xss=2>';
const XSS_INPUT = '<img src=x onerror=window.__xss=3>';
const HOSTILE_PROJECT = '<img src=x onerror=window.__xss=4>';
const HOSTILE_SET = '<script>window.__xss=5</script>';
const HOSTILE_VERSION = '"><img src=x onerror=window.__xss=6>';

/** A "peer" that answers the peer API's two listings with HTML in every name it gives. */
async function startStranger(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const at = new URL(req.url ?? '/', 'http://stranger');
    const answer = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (at.pathname === '/api/v1/projects') return answer(200, { forge: 'stranger', projects: [{ name: HOSTILE_PROJECT, releasedSets: 1 }] });
    if (at.pathname === `/api/v1/projects/${encodeURIComponent(HOSTILE_PROJECT)}/sets`) {
      const now = new Date().toISOString();
      return answer(200, {
        project: HOSTILE_PROJECT,
        sets: [{ name: HOSTILE_SET, mode: '<b>live</b>', prompts: 2, latest: { version: HOSTILE_VERSION, releasedAt: now }, updatedAt: now }],
        paging: { page: 1, pages: 1, total: 1 },
      });
    }
    answer(404, { code: 'not-found', reason: 'no such thing' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** What a page did that a page showing untrusted text must never do: dialogs, console errors, uncaught errors. */
function watch(page: Page): { dialogs: string[]; errors: string[] } {
  const seen = { dialogs: [] as string[], errors: [] as string[] };
  page.on('dialog', (d) => {
    seen.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (m.type() === 'error') seen.errors.push(m.text());
  });
  page.on('pageerror', (e) => seen.errors.push(e.message));
  return seen;
}

describe('the Forges page in Chromium (issue 17): browse a peer, connect, render, disconnect, escaping, roles', function () {
  this.timeout(60_000);
  let peer: PublishedForge;
  let stranger: Awaited<ReturnType<typeof startStranger>>;
  let local: RunningForge;
  let dir: string;
  let browser: Browser;
  let url: string;
  let admin: { context: BrowserContext; page: Page; seen: ReturnType<typeof watch> };

  /** Nothing the peers sent became markup or ran: no element made of it, no script run, no dialog, no console error. */
  async function expectNothingInjected(page: Page, seen: ReturnType<typeof watch>): Promise<void> {
    expect(await page.locator('main img, main script, main iframe, main [onerror]').count(), 'elements injected').to.equal(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: unknown }).__xss)).to.equal(undefined);
    expect(seen.dialogs, 'dialogs').to.deep.equal([]);
    expect(seen.errors, 'console errors').to.deep.equal([]);
    // Every link stays on this dashboard, whatever a peer calls its things.
    const hrefs = await page.locator('main a').evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
    expect(hrefs.filter((h) => !h.startsWith('/ui/')), 'links off the dashboard').to.deep.equal([]);
  }

  /** The cells of a table row, by their column headers. */
  async function rowByColumn(row: Locator): Promise<Record<string, string>> {
    // Their text, not innerText: the stylesheet shows column headers in capitals.
    const headers = await row.locator('xpath=ancestor::table[1]/thead//th').allTextContents();
    const cells = await row.locator('th, td').allInnerTexts();
    expect(cells.length, 'cells').to.equal(headers.length);
    return Object.fromEntries(headers.map((h, i) => [h.trim(), cells[i]!.trim()]));
  }

  before(async () => {
    peer = await startPublishedForge();
    await peer.repo.commit('Add widgets', {
      'prompts/widgets/set.yaml': 'mode: locked\n',
      'prompts/widgets/hello.md': `---\ndescription: 'Greets ${XSS_DESCRIPTION}'\ninput:\n  schema:\n    name: string\n---\nHello {{name}} ${XSS_TEMPLATE}`,
    });
    await peer.repo.tag('widgets@1.0.0', { message: formatReleaseMessage({ set: 'widgets', version: '1.0.0', dependencies: {} }) });
    await peer.forge.sync('acme');
    await peer.forge.settle();
    const readToken = (await createAccessToken(peer.forge.ctx.db, { project: 'acme', label: 'browsing forge', scope: 'read' })).token;
    stranger = await startStranger();

    // The browsing forge as `anvil serve` reads it: knownForges in the file, tokens in the environment.
    dir = mkdtempSync(path.join(tmpdir(), 'anvil-forges-page-'));
    const file = path.join(dir, 'anvil-forge.yaml');
    writeFileSync(file, [
      'name: browsing-forge', 'dataDir: ./data', 'host: 127.0.0.1',
      'projects:', '  - name: local', `    remote: ${JSON.stringify(peer.repo.dir)}`,
      'knownForges:',
      '  - name: partner', `    url: ${peer.forge.url}`, '    token: {env: PARTNER_TOKEN}',
      '  - name: stranger', `    url: ${stranger.url}`, '    token: {env: STRANGER_TOKEN}',
      '',
    ].join('\n'));
    const read = readForgeConfig(file, {
      PORT: '0', ANVIL_ADMIN_TOKEN: LOCAL_ADMIN, ANVIL_WEBHOOK_SECRET: 'forges-page-webhook-secret-0123456789',
      PARTNER_TOKEN: readToken, STRANGER_TOKEN: `anvil_${'s'.repeat(43)}`,
    });
    expect(read.problems.filter((p) => p.severity === 'error')).to.deep.equal([]);
    expect(read.config?.knownForges?.map((f) => f.name)).to.deep.equal(['partner', 'stranger']);
    local = await startForge(read.config!, { logger: createLogger({ level: 'silent' }), syncOnStart: false });
    url = local.url;

    browser = await launchChromium();
    const session = await signedIn(browser, url, LOCAL_ADMIN);
    admin = { ...session, seen: watch(session.page) };
  });

  after(async () => {
    await browser?.close();
    await local?.close();
    await stranger?.close();
    await peer?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('opens Forges from the navigation and lists the peer with its project\'s sets: name, prompt count, last updated', async () => {
    const { page, seen } = admin;
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Forges' }).click();
    await page.getByRole('heading', { name: 'Forges', level: 1 }).waitFor();
    expect(await page.getByRole('link', { name: 'Forges', exact: true }).getAttribute('aria-current')).to.equal('page');
    expect(await page.getByRole('region', { name: 'Connected projects' }).innerText()).to.include('No project of another forge is connected.');

    const partner = page.getByRole('region', { name: 'partner', exact: true });
    expect(await partner.innerText()).to.include(peer.forge.url);
    const acme = partner.locator('section.remote-project', { has: page.getByRole('heading', { name: 'partner / acme' }) });
    expect(await acme.getByRole('button', { name: 'Connect partner / acme', exact: true }).count()).to.equal(1);
    expect(await acme.locator('tbody tr th').allInnerTexts()).to.deep.equal(['core', 'support', 'widgets']);
    const widgets = await rowByColumn(acme.locator('tbody tr', { has: page.getByRole('rowheader', { name: 'widgets' }) }));
    expect(widgets).to.include({ Set: 'widgets', Mode: 'locked', Prompts: '1', 'Latest release': '1.0.0' });
    expect(widgets['Last updated']).to.match(/^\d+[smhd] ago$/);
    const updated = await acme.locator('tbody tr', { has: page.getByRole('rowheader', { name: 'widgets' }) }).locator('time').getAttribute('datetime');
    expect(Date.now() - Date.parse(updated!)).to.be.within(0, 10 * 60_000);
    // A set without a release has no prompt count and no last update to show.
    expect(await rowByColumn(acme.locator('tbody tr', { has: page.getByRole('rowheader', { name: 'support' }) })))
      .to.include({ Prompts: '—', 'Latest release': 'none', 'Last updated': '—' });
    await expectNothingInjected(page, seen);
    await screenshot(page, 'forges');
  });

  it('browses the peer\'s project, a set and its release, showing the peer\'s HTML as text', async () => {
    const { page, seen } = admin;
    await page.getByRole('region', { name: 'partner', exact: true }).getByRole('link', { name: 'partner / acme' }).click();
    await page.getByRole('heading', { name: 'partner / acme', level: 1 }).waitFor();
    expect(await page.locator('dl.facts').innerText()).to.match(/Connected\s+no/);
    expect(await page.getByRole('button', { name: 'Connect partner / acme', exact: true }).count()).to.equal(1);
    const row = await rowByColumn(page.locator('tbody tr', { has: page.getByRole('rowheader', { name: 'core' }) }));
    expect(row).to.include({ Set: 'core', Prompts: '1', 'Latest release': '1.0.0' });
    expect(row['Last updated']).to.match(/^\d+[smhd] ago$/);

    await page.getByRole('link', { name: 'widgets', exact: true }).click();
    await page.getByRole('heading', { name: 'widgets · partner / acme' }).waitFor();
    await page.getByRole('rowheader', { name: '1.0.0' }).getByRole('link').click();
    await page.getByRole('heading', { name: 'widgets@1.0.0 · partner / acme' }).waitFor();
    const hello = page.getByRole('region', { name: 'hello' });
    expect(await hello.locator('p.muted').innerText()).to.equal(`Greets ${XSS_DESCRIPTION}`);
    expect(await hello.locator('pre.template').textContent()).to.equal(`Hello {{name}} ${XSS_TEMPLATE}`);
    expect(await page.locator('main').innerText()).to.include('Read-only, from partner: not stored on this forge.');
    await expectNothingInjected(page, seen);
  });

  it('shows a peer\'s names with HTML in them as text: no element injected, nothing run', async () => {
    const { page, seen } = admin;
    await page.goto(`${url}/ui/forges`);
    const strange = page.getByRole('region', { name: 'stranger', exact: true });
    expect(await strange.getByRole('heading', { level: 3 }).innerText()).to.equal(`stranger / ${HOSTILE_PROJECT}`);
    // Its section is named by that heading, as every project's is, whatever characters the name has.
    expect(await strange.getByRole('region', { name: `stranger / ${HOSTILE_PROJECT}`, exact: true }).count()).to.equal(1);
    const row = await rowByColumn(strange.locator('tbody tr'));
    expect(row).to.include({ Set: HOSTILE_SET, Mode: '?', Prompts: '2', 'Latest release': HOSTILE_VERSION });
    expect(await strange.getByRole('button', { name: `Connect stranger / ${HOSTILE_PROJECT}`, exact: true }).count()).to.equal(1);
    // The project's own page, reached by its (encoded) link, shows the name as text too.
    await strange.getByRole('link', { name: `stranger / ${HOSTILE_PROJECT}` }).click();
    await page.getByRole('heading', { name: `stranger / ${HOSTILE_PROJECT}`, level: 1 }).waitFor();
    expect(await page.getByRole('rowheader').innerText()).to.equal(HOSTILE_SET);
    await expectNothingInjected(page, seen);
  });

  it('connects a project read-only: listed with its source, nothing of it copied, audited', async () => {
    const { page, seen } = admin;
    await page.goto(`${url}/ui/forges`);
    await page.getByRole('button', { name: 'Connect partner / acme', exact: true }).click();
    await page.waitForURL(/\/ui\/forges\?connected=/);
    expect(await page.getByRole('status').innerText()).to.equal('Connected partner / acme.');
    const connected = page.getByRole('region', { name: 'Connected projects' });
    const row = await rowByColumn(connected.locator('tbody tr'));
    expect(row).to.include({ Source: 'partner / acme', By: 'admin' });
    expect(row['Connected']).to.match(/^\d+s ago$/);
    expect(await connected.getByRole('button', { name: 'Disconnect partner / acme', exact: true }).count()).to.equal(1);
    expect(await page.getByRole('heading', { name: 'partner / acme connected', level: 3 }).count()).to.equal(1);
    await expectNothingInjected(page, seen);
    await screenshot(page, 'forges-connected');

    expect(await local.ctx.db.selectFrom('peer_connections').select(['forge', 'project', 'actor']).execute()).to.deep.equal([{ forge: 'partner', project: 'acme', actor: 'admin' }]);
    // Read-only and never copied: this forge holds no bundle, of the peer or otherwise.
    expect(await local.ctx.db.selectFrom('bundles').select('set_name').execute()).to.deep.equal([]);
    expect((await listAudit(local.ctx.db, { kind: 'peer.' })).map((r) => [r.kind, r.subject, r.actor])).to.deep.equal([['peer.connect', 'partner / acme', 'admin']]);
  });

  it('opens a prompt of the connected project and renders it on the peer, its text and the inputs shown as text', async () => {
    const { page, seen } = admin;
    await page.getByRole('region', { name: 'Connected projects' }).getByRole('link', { name: 'partner / acme' }).click();
    await page.getByRole('heading', { name: 'partner / acme', level: 1 }).waitFor();
    expect(await page.locator('dl.facts').innerText()).to.match(/Connected\s+yes \(read-only\)/);
    await page.getByRole('row', { name: /^widgets/ }).getByRole('link', { name: '1.0.0' }).click();
    await page.getByRole('heading', { name: 'widgets@1.0.0 · partner / acme' }).waitFor();
    const hello = page.getByRole('region', { name: 'hello' });
    await hello.getByLabel('Render hello with inputs').fill(JSON.stringify({ name: XSS_INPUT }));
    await hello.getByRole('button', { name: 'Render on partner' }).click();
    await page.waitForURL(/prompt=hello/);
    const result = page.getByRole('region', { name: 'hello' }).locator('.preview-result');
    expect(await result.getByRole('heading', { name: 'Rendered by partner' }).count()).to.equal(1);
    expect(await result.locator('pre.rendered').textContent()).to.equal(`Hello ${XSS_INPUT} ${XSS_TEMPLATE}`);
    await expectNothingInjected(page, seen);
    await screenshot(page, 'forges-rendered');

    // Empty inputs: the peer's sample inputs, shown with the result.
    await page.getByRole('region', { name: 'hello' }).getByLabel('Render hello with inputs').fill('');
    await page.getByRole('region', { name: 'hello' }).getByRole('button', { name: 'Render on partner' }).click();
    await page.waitForURL((u) => u.searchParams.get('vars') === '');
    await page.getByText('Sample inputs used').click();
    expect(await page.locator('.preview-result details pre').innerText()).to.include('"name"');
    await expectNothingInjected(page, seen);
  });

  it('a project admin of this forge sees the connected project, but is offered no Connect and refused one with a clear message', async () => {
    const { id, token } = await createAccessToken(local.ctx.db, { project: 'local', label: 'project admin' });
    await setGrant(local.ctx, { tokenId: id, project: 'local', role: 'admin', actor: 'admin' });
    const { context, page } = await signedIn(browser, url, token);
    try {
      expect(await page.locator('header').innerText()).to.include('admin of local');
      await page.getByRole('link', { name: 'Forges', exact: true }).click();
      await page.getByRole('heading', { name: 'Forges', level: 1 }).waitFor();
      expect(await page.getByRole('region', { name: 'Connected projects' }).getByRole('rowheader').innerText()).to.equal('partner / acme');
      expect(await page.getByRole('button', { name: /connect/i }).count(), 'Connect or Disconnect buttons').to.equal(0);
      expect(await page.getByRole('region', { name: 'partner', exact: true }).innerText()).to.include('Browsing other forges is the forge admin\'s');
      // Nor is a peer browsed for them: the stranger's names are not on their page at all.
      expect(await page.locator('main').innerText()).to.not.include('window.__xss');

      // The connected project is theirs to read, not to change.
      await page.getByRole('link', { name: 'partner / acme' }).click();
      await page.getByRole('heading', { name: 'partner / acme', level: 1 }).waitFor();
      expect(await page.getByRole('rowheader').allInnerTexts()).to.deep.equal(['core', 'support', 'widgets']);
      expect(await page.getByRole('button', { name: /connect/i }).count()).to.equal(0);

      // The form the page does not offer, sent anyway with the session's CSRF token: refused, saying why.
      const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
      for (const [action, project] of [['connect', 'acme'], ['disconnect', 'acme'], ['connect', HOSTILE_PROJECT]] as const) {
        await page.goto(`${url}/ui/forges`);
        const answered = page.waitForResponse((r) => r.url() === `${url}/ui/forges/${action}`);
        await page.evaluate(({ action, fields }) => {
          const doc = (globalThis as unknown as { document: { createElement(tag: string): { method: string; action: string; append(...n: unknown[]): void; submit(): void; name: string; value: string; type: string }; body: { append(n: unknown): void } } }).document;
          const form = doc.createElement('form');
          form.method = 'post';
          form.action = `/ui/forges/${action}`;
          for (const [name, value] of Object.entries(fields)) {
            const input = doc.createElement('input');
            input.type = 'hidden';
            input.name = name;
            input.value = value;
            form.append(input);
          }
          doc.body.append(form);
          form.submit();
        }, { action, fields: { _csrf: csrf, forge: action === 'connect' && project === HOSTILE_PROJECT ? 'stranger' : 'partner', project } });
        expect((await answered).status(), `${action} ${project}`).to.equal(403);
        await page.getByRole('alert').waitFor();
        expect(await page.getByRole('alert').innerText()).to.include('Only the forge\'s admin connects projects of other forges');
      }
      await screenshot(page, 'forges-refused');
    } finally {
      await context.close();
    }
    expect(await local.ctx.db.selectFrom('peer_connections').select(['forge', 'project']).execute()).to.deep.equal([{ forge: 'partner', project: 'acme' }]);
    expect((await listAudit(local.ctx.db, { kind: 'peer.' })).length).to.equal(1);
  });

  it('has no WCAG 2 A/AA violation on the Forges pages (axe-core)', async () => {
    // The pages' CSP allows no inline script; this context bypasses it for the checker only.
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1366, height: 768 } });
    try {
      const page = await context.newPage();
      await page.goto(`${url}/ui/sign-in`);
      await page.getByLabel('Admin token or project access token').fill(LOCAL_ADMIN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${url}/ui/projects`);
      const problems: string[] = [];
      const version = '/ui/forges/partner/projects/acme/sets/widgets/versions/1.0.0';
      for (const p of [
        '/ui/forges', '/ui/forges/partner/projects/acme', '/ui/forges/partner/projects/acme/sets/widgets', version,
        `${version}?prompt=hello&vars=${encodeURIComponent('{"name":"Ada"}')}`, `${version}?prompt=hello&vars=%7Bnope`,
        `/ui/forges/stranger/projects/${encodeURIComponent(HOSTILE_PROJECT)}`,
      ]) {
        await page.goto(`${url}${p}`);
        problems.push(...(await axeViolations(page)).map((v) => `${p}: ${v}`));
      }
      expect(problems, problems.join('\n')).to.deep.equal([]);
    } finally {
      await context.close();
    }
  });

  it('disconnects it: no longer listed, offered to connect again, audited', async () => {
    const { page, seen } = admin;
    await page.goto(`${url}/ui/forges`);
    await page.getByRole('region', { name: 'Connected projects' }).getByRole('button', { name: 'Disconnect partner / acme', exact: true }).click();
    await page.waitForURL(/\/ui\/forges\?disconnected=/);
    expect(await page.getByRole('status').innerText()).to.equal('Disconnected partner / acme.');
    expect(await page.getByRole('region', { name: 'Connected projects' }).innerText()).to.include('No project of another forge is connected.');
    expect(await page.getByRole('region', { name: 'partner', exact: true }).getByRole('button', { name: 'Connect partner / acme', exact: true }).count()).to.equal(1);
    await expectNothingInjected(page, seen);
    expect(await local.ctx.db.selectFrom('peer_connections').selectAll().execute()).to.deep.equal([]);
    expect((await listAudit(local.ctx.db, { kind: 'peer.' })).map((r) => [r.kind, r.subject])).to.have.deep.members([['peer.connect', 'partner / acme'], ['peer.disconnect', 'partner / acme']]);
  });
});
