/** `anvil-live sync`, `mode` and `status`, on a cache made by `install`. */
import path from 'node:path';
import { expect } from 'chai';
import { createClientFromConfig } from '../../src/config/live-config.ts';
import { makeBundle } from '../support/fake-forge.ts';
import { anvilLive, connectArgs, useForgeAndApp } from './cli-support.ts';

const v1 = makeBundle('onboarding', '1.0.0', { 'welcome.message': 'Hi {{name}} (v1)' });
const v2 = makeBundle('onboarding', '1.1.0', { 'welcome.message': 'Hi {{name}} (v2)' });

describe('anvil-live sync, mode and status', function () {
  const ctx = useForgeAndApp();

  beforeEach(async function () {
    ctx.forge.publish('production', [v1]);
    expect((await anvilLive(ctx.app, connectArgs(ctx.forge, 'onboarding@^1.0.0'))).code).to.equal(0);
    const installed = await anvilLive(ctx.app, ['install'], { env: ctx.env });
    expect(installed.code, installed.stderr).to.equal(0);
  });

  it('sync applies a newly published version and says what changed', async function () {
    ctx.forge.publish('production', [v2]);
    const run = await anvilLive(ctx.app, ['sync'], { env: ctx.env });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/onboarding\s+1\.0\.0 → 1\.1\.0/);
    const status = JSON.parse((await anvilLive(ctx.app, ['status', '--json'])).stdout);
    expect(status.sets.onboarding).to.include({ version: '1.1.0', integrity: v2.integrity });
    expect(status.etag).to.be.a('string');

    const again = await anvilLive(ctx.app, ['sync', '--json'], { env: ctx.env });
    expect(JSON.parse(again.stdout)).to.deep.include({ ok: true, changed: false, sets: { onboarding: { before: '1.1.0', after: '1.1.0' } } });
  });

  it('sync reports a forge that refuses the token as a user error', async function () {
    const run = await anvilLive(ctx.app, ['sync', '--token', 'anvil_wrong']);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/^anvil-live: forge\.unauthorized {2}/);
  });

  it('mode frozen, then status --json shows frozen; a running app picks it up; sync still applies', async function () {
    const app = await createClientFromConfig(path.join(ctx.app, 'anvil-live.json'), { token: ctx.forge.token, pollMs: 0 });
    try {
      const run = await anvilLive(ctx.app, ['mode', 'frozen']);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.include('accepting → frozen');
      const status = JSON.parse((await anvilLive(ctx.app, ['status', '--json'])).stdout);
      expect(status).to.include({ ok: true, mode: 'frozen', channel: 'production', forge: ctx.forge.url, project: 'acme', source: 'current' });
      expect(status.sets.onboarding).to.include({ version: '1.0.0', range: '^1.0.0', rollout: null });
      expect((await anvilLive(ctx.app, ['mode'])).stdout.trim()).to.equal('frozen');

      const deadline = Date.now() + 3_000;
      while (app.status().mode !== 'frozen' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(app.status().mode).to.equal('frozen');
    } finally {
      await app.close();
    }

    ctx.forge.publish('production', [v2]);
    const synced = await anvilLive(ctx.app, ['sync', '--json'], { env: ctx.env });
    expect(JSON.parse(synced.stdout)).to.deep.include({ changed: true, sets: { onboarding: { before: '1.0.0', after: '1.1.0' } } });
    expect(JSON.parse((await anvilLive(ctx.app, ['status', '--json'])).stdout)).to.include({ mode: 'frozen' });
  });

  it('status prints a summary for people, and exits 1 when the cache has no state', async function () {
    const run = await anvilLive(ctx.app, ['status']);
    expect(run.code).to.equal(0);
    expect(run.stdout).to.include('acme at').and.include('mode      accepting').and.match(/onboarding\s+1\.0\.0 \(\^1\.0\.0\)/);

    const other = await anvilLive(ctx.app, [...connectArgs(ctx.forge), '--config', 'other.json', '--cache-dir', 'empty']);
    expect(other.code, other.stderr).to.equal(0);
    const empty = await anvilLive(ctx.app, ['status', '--config', 'other.json']);
    expect(empty.code).to.equal(1);
    expect(empty.stderr).to.include('status.no-state');
  });

  it('mode refuses an unknown mode', async function () {
    const run = await anvilLive(ctx.app, ['mode', 'paused']);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include('unknown mode "paused"');
  });
});
