/**
 * `npm start` (examples/start.ts) on a copy of the example repository: forge + example app with
 * an embedded receiver + watcher. A saved edit to the live set reaches the running app; an edit
 * to the review set publishes nothing and is audited; a restart carries on from the data dir.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { EXAMPLE_SOURCE, startBanner, startExample, type RunningExample } from '../../../examples/start.ts';
import { listAudit } from '../../src/store/audit-log.ts';
import { until } from '../support/until.ts';

interface Page { prompts: Record<string, { text?: string; error?: string; served?: { set: string; version: string } }> }

describe('npm start: forge + example app + watcher on embedded defaults', function () {
  this.timeout(60_000);
  let root: string;
  let source: string;
  let running: RunningExample | undefined;
  const page = async (): Promise<Page> => (await (await fetch(`${running!.app.url}/api/prompts`)).json()) as Page;

  before(() => {
    root = mkdtempSync(path.join(tmpdir(), 'anvil-npm-start-'));
    source = path.join(root, 'prompts');
    cpSync(EXAMPLE_SOURCE, source, { recursive: true });
  });
  after(async () => {
    await running?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('starts with every example prompt served by the app, from releases and the live head build', async () => {
    running = await startExample({ source, dataDir: path.join(root, 'data'), quiet: true });
    const shown = await page();
    expect(shown.prompts['onboarding welcome.message']!.text).to.contain('Ada');
    expect(shown.prompts['onboarding welcome.message']!.served).to.include({ set: 'onboarding', version: '1.0.0' });
    expect(shown.prompts['onboarding welcome.message (fr)']!.text).to.be.a('string');
    expect(shown.prompts['support answer']!.served!.version).to.match(/^1\.0\.1-head\.\d+\+[0-9a-f]{7}$/);
    const html = await (await fetch(running.app.url)).text();
    expect(html).to.contain('Anvil example app');
    // The banner names the app and the forge, and every command in it runs as typed (npx).
    const banner = startBanner(running, root);
    expect(banner).to.include(running.app.url).and.include(running.dev.forge.url);
    const commands = [...banner.matchAll(/(\S*) anvil (?=[a-z])/g)].map((m) => m[1]);
    expect(commands).to.deep.equal(['`npx']);
  });

  it('a saved edit to the live set reaches the running app', async () => {
    const file = path.join(source, 'prompts/support/answer.md');
    writeFileSync(file, readFileSync(file, 'utf8').replace('Answer clearly and politely.', 'Answer clearly, politely and briefly.'));
    await until('the app shows the edit', async () => (await page()).prompts['support answer']!.text?.includes('politely and briefly') === true);
  });

  it('an edit to the review set publishes nothing and is audited as an unreviewed change', async () => {
    const file = path.join(source, 'prompts/onboarding/welcome/message.md');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\nP.S. unreviewed line`);
    await until('the audit entry', async () => (await listAudit(running!.dev.forge.ctx.db, { kind: 'decision.unreviewed-change' })).some((r) => r.subject.startsWith('onboarding')));
    await running!.dev.forge.settle();
    expect((await page()).prompts['onboarding welcome.message']!.text).to.not.contain('unreviewed line');
  });

  it('a restart carries on from the data dir: same keys, same token, nothing lost', async () => {
    const keyId = running!.dev.forge.ctx.keys.active.keyId;
    const token = running!.dev.token;
    const served = (await page()).prompts['support answer']!.served!.version;
    await running!.close();
    running = await startExample({ source, dataDir: path.join(root, 'data'), quiet: true });
    expect(running.dev.forge.ctx.keys.active.keyId).to.equal(keyId);
    expect(running.dev.token).to.equal(token);
    expect((await page()).prompts['support answer']!.served!.version).to.equal(served);
  });
});
