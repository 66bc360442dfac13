/**
 * `anvil-live install [--frozen-lockfile]`: ranges → anvil.lock.json → bundles in the cache,
 * checked against the pinned forge key, so that the app starts ready without the forge.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { generateSigningKey, validateLockFile, type LockFile } from '@anvil/content-schema';
import { createClientFromConfig } from '../../src/config/live-config.ts';
import { makeBundle } from '../support/fake-forge.ts';
import { anvilLive, connectArgs, readJson, useForgeAndApp } from './cli-support.ts';

const core = makeBundle('core', '1.0.0', { 'tone.formal': 'Be formal.' }, { partials: { signature: '-- The team' } });
const core11 = makeBundle('core', '1.1.0', { 'tone.formal': 'Be formal.' }, { partials: { signature: '-- The new team' } });
const onboarding = (version: string, more: Parameters<typeof makeBundle>[3] = {}) =>
  makeBundle('onboarding', version, { 'welcome.message': `Hello {{name}}! {{> core/signature}} (${version})` }, { dependencies: { core: '1.0.0' }, ...more });

describe('anvil-live install', function () {
  const ctx = useForgeAndApp();
  const file = (name: string) => path.join(ctx.app, name);

  beforeEach(async function () {
    ctx.forge.release(core, core11, onboarding('1.0.0'), onboarding('1.1.0'), onboarding('2.0.0'));
    const connected = await anvilLive(ctx.app, connectArgs(ctx.forge, 'onboarding@^1.0.0'));
    expect(connected.code, connected.stderr).to.equal(0);
  });

  async function editConfig(edit: (config: Record<string, unknown>) => void): Promise<void> {
    const config = await readJson(file('anvil-live.json'));
    edit(config);
    await writeFile(file('anvil-live.json'), JSON.stringify(config));
  }

  it('locks the highest release in range with its dependency, and the app is ready from the cache with the forge down', async function () {
    const run = await anvilLive(ctx.app, ['install'], { env: ctx.env });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include('wrote anvil.lock.json');

    const text = await readFile(file('anvil.lock.json'), 'utf8');
    expect(text.endsWith('}\n')).to.equal(true);
    const lock = JSON.parse(text) as LockFile;
    expect(validateLockFile(lock).ok).to.equal(true);
    expect(Object.keys(lock)).to.deep.equal(['format', 'project', 'forge', 'channel', 'sets']);
    expect(Object.keys(lock.sets)).to.deep.equal(['core', 'onboarding']);
    expect(lock.sets['onboarding']).to.deep.equal({
      version: '1.1.0',
      integrity: onboarding('1.1.0').integrity,
      resolved: `${ctx.forge.url}/api/v1/projects/acme/sets/onboarding/versions/1.1.0`,
      dependencies: { core: '1.0.0' },
    });
    expect(lock.sets['core']).to.include({ version: '1.0.0', integrity: core.integrity });

    ctx.forge.down();
    const before = ctx.forge.requests.length;
    const app = await createClientFromConfig(file('anvil-live.json'), { token: ctx.forge.token, pollMs: 0 });
    try {
      expect(app.status().ready).to.equal(true);
      expect(app.prompt('welcome.message', { name: 'Ada' })).to.equal('Hello Ada! -- The team (1.1.0)');
      expect(ctx.forge.requests.length).to.equal(before);
    } finally {
      await app.close();
    }
  });

  it('writes the same bytes again, and takes bundles already in the cache', async function () {
    await anvilLive(ctx.app, ['install'], { env: ctx.env });
    const first = await readFile(file('anvil.lock.json'), 'utf8');
    const again = await anvilLive(ctx.app, ['install', '--json'], { env: ctx.env });
    expect(again.code, again.stdout).to.equal(0);
    expect(JSON.parse(again.stdout)).to.include({ lockChanged: false, fetched: 0, fromCache: 2 });
    expect(await readFile(file('anvil.lock.json'), 'utf8')).to.equal(first);
  });

  it('--frozen-lockfile installs exactly the lock into a fresh cache folder, even with a newer release in range; from a warm cache, offline', async function () {
    await anvilLive(ctx.app, ['install'], { env: ctx.env });
    const lock = await readFile(file('anvil.lock.json'), 'utf8');
    ctx.forge.release(onboarding('1.2.0'));
    await editConfig((c) => void (c['cacheDir'] = 'fresh-cache'));

    const run = await anvilLive(ctx.app, ['install', '--frozen-lockfile'], { env: ctx.env });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include('anvil.lock.json is up to date');
    expect(await readFile(file('anvil.lock.json'), 'utf8')).to.equal(lock);
    const status = await anvilLive(ctx.app, ['status', '--json']);
    expect(JSON.parse(status.stdout)).to.deep.include({ cacheDir: file('fresh-cache') });
    expect(JSON.parse(status.stdout).sets.onboarding).to.include({ version: '1.1.0', range: '^1.0.0' });

    ctx.forge.down();
    const offline = await anvilLive(ctx.app, ['install', '--frozen-lockfile', '--json']);
    expect(offline.code, offline.stdout).to.equal(0);
    expect(JSON.parse(offline.stdout)).to.include({ fetched: 0, fromCache: 2 });
  });

  it('--frozen-lockfile fails, writing nothing, when the config\'s range no longer matches the lock', async function () {
    await anvilLive(ctx.app, ['install'], { env: ctx.env });
    const lock = await readFile(file('anvil.lock.json'), 'utf8');
    await editConfig((c) => void (c['sets'] = { onboarding: '^2.0.0' }));
    const run = await anvilLive(ctx.app, ['install', '--frozen-lockfile'], { env: ctx.env });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/^anvil-live: lock\.out-of-date {2}anvil\.lock\.json is out of date: onboarding is locked at 1\.1\.0, outside the config's range \^2\.0\.0 \(hint: run `anvil-live install`.*\)\n$/);
    expect(await readFile(file('anvil.lock.json'), 'utf8')).to.equal(lock);

    await editConfig((c) => void (c['sets'] = { onboarding: '^1.0.0', extra: '^1.0.0' }));
    expect((await anvilLive(ctx.app, ['install', '--frozen-lockfile'], { env: ctx.env })).stderr).to.include('extra is not locked');
  });

  it('--frozen-lockfile fails without a lock, and when the forge\'s bundle is not the one locked', async function () {
    const missing = await anvilLive(ctx.app, ['install', '--frozen-lockfile'], { env: ctx.env });
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include('lock.missing');

    await anvilLive(ctx.app, ['install'], { env: ctx.env });
    const lock = await readJson<LockFile>(file('anvil.lock.json'));
    lock.sets['onboarding']!.integrity = onboarding('1.0.0').integrity;
    await writeFile(file('anvil.lock.json'), JSON.stringify(lock));
    await editConfig((c) => void (c['cacheDir'] = 'fresh-cache'));
    const run = await anvilLive(ctx.app, ['install', '--frozen-lockfile'], { env: ctx.env });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include('lock.integrity-mismatch').and.include('onboarding@1.1.0');
  });

  it('refuses bundles not signed by the pinned key, and writes no lock', async function () {
    await editConfig((c) => void (c['forgeKeys'] = { [generateSigningKey().keyId]: generateSigningKey().publicKey }));
    const run = await anvilLive(ctx.app, ['install'], { env: ctx.env });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include('install.signature').and.include('not signed by a pinned forge key');
    expect(await readFile(file('anvil.lock.json'), 'utf8').catch(() => 'none')).to.equal('none');
  });

  it('explains a range nothing satisfies, a missing token and an unknown set', async function () {
    await editConfig((c) => void (c['sets'] = { onboarding: '^3.0.0' }));
    const none = await anvilLive(ctx.app, ['install'], { env: ctx.env });
    expect(none.stderr).to.include('install.no-match').and.include('no release of onboarding satisfies ^3.0.0 (latest releases: 1.0.0, 1.1.0, 2.0.0)');
    expect((await anvilLive(ctx.app, ['install'])).stderr).to.include('config.no-token');
    await editConfig((c) => void (c['sets'] = { nope: '^1.0.0' }));
    expect((await anvilLive(ctx.app, ['install'], { env: ctx.env })).stderr).to.include('install.unknown-set');
  });

  it('takes the version a dependency needs when the app\'s own range allows it', async function () {
    await editConfig((c) => void (c['sets'] = { onboarding: '^1.0.0', core: '^1.0.0' }));
    const run = await anvilLive(ctx.app, ['install', '--json'], { env: ctx.env });
    expect(run.code, run.stdout).to.equal(0);
    const lock = await readJson<LockFile>(file('anvil.lock.json'));
    expect(lock.sets['core']?.version).to.equal('1.0.0');

    await editConfig((c) => void (c['sets'] = { onboarding: '^1.0.0', core: '^1.1.0' }));
    const conflict = await anvilLive(ctx.app, ['install'], { env: ctx.env });
    expect(conflict.code).to.equal(1);
    expect(conflict.stderr).to.include('install.conflict').and.include('onboarding@1.1.0 needs core@1.0.0, but core is locked at 1.1.0');
  });

  it('keeps releases of sets that are not locked out of production', async function () {
    ctx.forge.release(makeBundle('drafts', '1.0.0', { a: 'A' }, { mode: 'review' }));
    await editConfig((c) => void (c['sets'] = { drafts: '^1.0.0' }));
    const run = await anvilLive(ctx.app, ['install'], { env: ctx.env });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include('install.channel').and.include('only releases of "locked" sets reach production');
  });
});
