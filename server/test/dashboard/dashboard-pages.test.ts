/**
 * The dashboard's pure parts (issue 15): the escaping tag, the page functions, the role rules
 * and paging — no store, no HTTP.
 */
import { expect } from 'chai';
import { paging } from '../../src/dashboard/dashboard-data.ts';
import { auditPage, errorPage, projectsPage, receiversPage, signInPage, tokensPage, type PageFrame } from '../../src/dashboard/dashboard-pages.ts';
import { may, roleOfToken, seesProject, type DashboardUser } from '../../src/dashboard/dashboard-roles.ts';
import { escapeHtml, html, Html } from '../../src/dashboard/html.ts';
import type { ReceiverView } from '../../src/receivers/list-receivers.ts';

const PAYLOAD = '<script>alert("x")</script>';
const ESCAPED = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;';
const CSRF = 'c'.repeat(43);
const admin: DashboardUser = { role: 'admin', project: null, actor: 'admin' };
const viewer: DashboardUser = { role: 'viewer', project: 'acme', actor: 'token:anvil_abcdefgh' };
const frame = (user: DashboardUser): PageFrame => ({ forgeName: 'forge', user, csrf: CSRF });

describe('dashboard html tag', () => {
  it('escapes every interpolated value, in text and in attributes', () => {
    expect(html`<p title="${PAYLOAD}">${PAYLOAD}</p>`.toString()).to.equal(`<p title="${ESCAPED}">${ESCAPED}</p>`);
    expect(escapeHtml(`'&`)).to.equal('&#39;&amp;');
  });

  it('keeps markup made by the tag, joins lists and skips nothing-values', () => {
    const inner = html`<b>${'a&b'}</b>`;
    expect(html`${inner}${[html`<i>1</i>`, 2]}${null}${undefined}${false}`.toString()).to.equal('<b>a&amp;b</b><i>1</i>2');
  });

  it('cannot be made from arbitrary text outside the tag', () => {
    expect(() => new Html(Symbol('html'), PAYLOAD)).to.throw(/html`` tag only/);
  });
});

describe('dashboard pages', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');

  it('the sign-in form has a labelled token field and the form\'s CSRF token', () => {
    const page = signInPage({ forgeName: PAYLOAD, csrf: CSRF, error: PAYLOAD }).toString();
    expect(page).to.include('<label for="token">').and.include('id="token"');
    expect(page).to.include(`name="_csrf" value="${CSRF}"`);
    expect(page).not.to.include(PAYLOAD);
    expect(page).not.to.include('Sign out');
  });

  it('projects show each set\'s mode, channel versions and last release, escaped', () => {
    const page = projectsPage(frame(admin), [{
      project: 'acme',
      sets: [{ name: PAYLOAD, mode: 'locked', channels: { production: '1.0.0', development: `2.0.0-head.1+${PAYLOAD}` }, lastRelease: { version: '1.0.0', at: '2026-01-01T00:00:00.000Z' } }],
      paging: paging(60, '2', 25),
    }]).toString();
    expect(page).to.include('mode-locked').and.include('1.0.0').and.include('2026-01-01');
    expect(page).to.include('Page 2 of 3').and.include('href="/ui/projects/acme?page=1"').and.include('href="/ui/projects/acme?page=3"');
    expect(page).not.to.include(PAYLOAD);
    expect(page).to.include(ESCAPED);
  });

  it('receivers mark stale rows, keep the channel filter in the pager, and escape ids and reasons', () => {
    const receiver: ReceiverView = {
      project: 'acme', instanceId: PAYLOAD, url: 'https://x', transport: 'push', channel: 'production', mode: 'accepting', status: 'stale', ranges: {},
      versions: { core: '1.0.0' }, registeredAt: '2026-01-01T00:00:00Z', lastSeenAt: '2026-01-01T11:00:00Z', goneAt: null, tokenId: null, revokedAt: null,
      lastDelivery: { at: '2026-01-01T11:00:00Z', state: 'failed', status: 422, code: 'envelope.integrity', reason: PAYLOAD },
    };
    const page = receiversPage(frame(viewer), { receivers: [receiver], paging: paging(120, '1', 50), channel: 'production', now }).toString();
    expect(page).to.include('<tr class="status-stale">').and.include('1h ago').and.include('failed 422 envelope.integrity');
    expect(page).to.include('href="/ui/receivers?channel=production&amp;page=2"');
    expect(page).to.include('<option value="production" selected>');
    expect(page).not.to.include(PAYLOAD);
  });

  it('the token page shows a new token once with a copy button, revoke forms with the CSRF token, labels escaped', () => {
    const token = { id: 'tok_1', project: 'acme', prefix: 'anvil_abcdefgh', label: PAYLOAD, createdAt: '2026-01-01T00:00:00Z', lastUsedAt: null, revokedAt: null };
    const page = tokensPage(frame(admin), { tokens: [token, { ...token, id: 'tok_2', revokedAt: '2026-01-01T01:00:00Z' }], projects: ['acme'], now, created: { token: 'anvil_secret', project: 'acme', label: PAYLOAD } }).toString();
    expect(page).to.include('value="anvil_secret"').and.include('data-copy="new-token"');
    expect(page.match(/action="\/ui\/tokens\/revoke"/g)).to.have.length(1);
    expect(page.match(new RegExp(`name="_csrf" value="${CSRF}"`, 'g'))!.length).to.equal(4); // sign-out, create, one role, one revoke
    expect(page.match(/action="\/ui\/tokens\/role"/g)).to.have.length(1);
    expect(page).to.include('<label class="sr-only" for="role-tok_1">Dashboard role of anvil_abcdefgh…</label>');
    expect(page).to.include('<label for="label">').and.include('<label for="project">');
    expect(page).not.to.include(PAYLOAD);
  });

  it('the audit page says whether the chain verified, and pages by sequence', () => {
    const row = { seq: 7, at: '2026-01-01T11:59:00Z', project: null, kind: 'dashboard.sign-in', subject: PAYLOAD, actor: 'admin', detail: '{"role":"admin"}', prev_hash: 'p', hash: 'h' };
    const ok = auditPage(frame(admin), { rows: [row], kind: 'dash', verification: { ok: true, rows: 7 }, older: 7, paged: true, now }).toString();
    expect(ok).to.include('Chain verified: all 7 rows').and.include('href="/ui/audit?kind=dash&amp;before=7"').and.include('href="/ui/audit?kind=dash"');
    expect(ok).not.to.include(PAYLOAD);
    const broken = auditPage(frame(admin), { rows: [], kind: undefined, verification: { ok: false, rows: 3, seq: 4, reason: 'row 4 was changed' }, paged: false, now }).toString();
    expect(broken).to.include('Chain broken at row 4').and.include('role="alert"');
  });

  it('the Tokens link shows for the admin only; an error page is HTML with its message', () => {
    expect(projectsPage(frame(admin), []).toString()).to.include('href="/ui/tokens"');
    expect(projectsPage(frame(viewer), []).toString()).not.to.include('href="/ui/tokens"');
    const page = errorPage({ forgeName: 'forge', status: 403, title: 'Not allowed', message: PAYLOAD }).toString();
    expect(page).to.match(/^<!doctype html>/).and.include(ESCAPED);
  });
});

describe('dashboard roles and paging', () => {
  it('only the forge admin manages tokens; publishers and admins may publish; everyone views', () => {
    const projectAdmin: DashboardUser = { role: 'admin', project: 'acme', actor: 'token:x' };
    const publisher: DashboardUser = { role: 'publisher', project: 'acme', actor: 'token:y' };
    expect([admin, projectAdmin, publisher, viewer].map((u) => [may(u, 'view'), may(u, 'publish'), may(u, 'manage-tokens')])).to.deep.equal([
      [true, true, true], [true, true, false], [true, true, false], [true, false, false],
    ]);
  });

  it('a project session sees its own project only; a token without a grant is a viewer', () => {
    expect([seesProject(viewer, 'acme'), seesProject(viewer, 'other'), seesProject(admin, 'other')]).to.deep.equal([true, false, true]);
    expect([roleOfToken(undefined), roleOfToken('publisher')]).to.deep.equal(['viewer', 'publisher']);
  });

  it('pages clamp to the range and ignore what is not a page number', () => {
    expect(paging(0, '3', 25)).to.deep.include({ page: 1, pages: 1, offset: 0 });
    expect(paging(51, '3', 25)).to.deep.include({ page: 3, pages: 3, offset: 50 });
    expect(paging(51, '9', 25)).to.deep.include({ page: 3 });
    for (const bad of ['0', '-1', 'abc', ['2'], undefined, '1e3']) expect(paging(100, bad, 25).page).to.equal(1);
  });
});
