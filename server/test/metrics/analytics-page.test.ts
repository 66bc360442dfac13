/** The dashboard's analytics page of a set (issue 17), over HTTP from the forge as `anvil serve` runs it. */
import { expect } from 'chai';
import type { MetricsEvent } from '@anvil/content-schema';
import { cleanupGitdirs } from '../support/gitdir.ts';
import { signInOverHttp } from '../support/dashboard-http.ts';
import { startPublishedForge, type PublishedForge } from '../support/published-forge.ts';

const INTEGRITY = `sha256-${'D'.repeat(43)}=`;

describe('dashboard: a set\'s analytics page', function () {
  this.timeout(60_000);
  let f: PublishedForge;
  let cookie: string;

  before(async () => {
    f = await startPublishedForge();
    const event = (version: string, success: boolean, latencyMs: number): MetricsEvent => ({ set: 'core', version, integrity: INTEGRITY, prompt: 'tone', variant: null, rollout: false, success, latencyMs, at: Date.now() });
    const events = [...Array.from({ length: 40 }, (_, i) => event('1.0.0', i % 4 !== 0, 80)), ...Array.from({ length: 10 }, () => event('1.1.0', true, 300))];
    const res = await fetch(`${f.forge.url}/api/v1/projects/acme/metrics`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${f.tokens.acme}` }, body: JSON.stringify({ channel: 'staging', events }),
    });
    expect(res.status).to.equal(202);
    cookie = await signInOverHttp(f.forge.url, f.tokens.acme);
  });
  after(async () => {
    await f?.close();
    await cleanupGitdirs();
  });

  const get = (path: string) => fetch(`${f.forge.url}${path}`, { headers: { cookie } });

  it('shows calls, success rate and percentiles per version in a labelled table, and the comparison', async () => {
    const res = await get('/ui/projects/acme/sets/core/analytics');
    expect(res.status).to.equal(200);
    const page = await res.text();
    expect(page).to.contain('<caption>Calls per version of core, newest first</caption>');
    expect(page).to.match(/<th scope="col">Success rate<\/th>/);
    expect(page).to.match(/>1\.0\.0<\/a><\/th><td>40<\/td><td>75\.0%<\/td>/);
    expect(page).to.match(/>1\.1\.0<\/a><\/th><td>10<\/td><td>100\.0%<\/td>/);
    expect(page).to.contain('<strong>1.1.0</strong> against <strong>1.0.0</strong>: success +25.0 points');
    expect(page).to.contain('<label for="analytics-channel">Channel</label>');
  });

  it('filters by channel, escapes what it echoes, and answers 400 / 404 for bad input', async () => {
    const none = await (await get('/ui/projects/acme/sets/core/analytics?channel=production')).text();
    expect(none).to.contain('No usage reported for core on production yet');
    expect((await get('/ui/projects/acme/sets/core/analytics?channel=%3Cscript%3E')).status).to.equal(400);
    const bad = await get('/ui/projects/acme/sets/core/analytics?since=%3Cscript%3Ealert(1)%3C%2Fscript%3E');
    expect(bad.status).to.equal(400);
    expect(await bad.text()).to.not.contain('<script>alert');
    const escaped = await (await get('/ui/projects/acme/sets/%3Cb%3Ex%3C%2Fb%3E/analytics')).text();
    expect(escaped).to.not.contain('<b>x</b>');
    expect(escaped).to.contain('&lt;b&gt;x&lt;/b&gt;');
    expect((await get('/ui/projects/hello/sets/core/analytics')).status).to.equal(404);
  });
});
