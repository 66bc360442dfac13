/** anvil-live.json as the commands and `createClientFromConfig()` read it. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { generateSigningKey, isAnvilError } from '@anvil/content-schema';
import { clientOptionsFromConfig, createClientFromConfig, loadLiveConfig } from '../../src/config/live-config.ts';
import { anvilLive } from './cli-support.ts';

describe('anvil-live.json', function () {
  let dir: string;
  const key = generateSigningKey();
  const valid = { forge: 'https://anvil.example.com', project: 'acme', channel: 'staging', forgeKeys: { [key.keyId]: key.publicKey } };

  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), 'anvil-live-config-'));
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it('fills in defaults and resolves the cache folder against the file, the token from the environment', async function () {
    await writeFile(path.join(dir, 'anvil-live.json'), JSON.stringify({ ...valid, token: { env: 'MY_TOKEN' } }));
    const loaded = await loadLiveConfig(path.join(dir, 'anvil-live.json'));
    expect(loaded.config).to.deep.include({ mode: 'accepting', cacheDir: '.anvil-cache', sets: {}, token: { env: 'MY_TOKEN' } });
    expect(loaded.cacheDir).to.equal(path.join(dir, '.anvil-cache'));
    const options = clientOptionsFromConfig(loaded, { pollMs: 0 }, { MY_TOKEN: 'secret' });
    expect(options).to.deep.include({ token: 'secret', pollMs: 0, channel: 'staging', publicKey: valid.forgeKeys });
    expect(options).not.to.have.property('sets');
    expect(options.transport).to.equal('push');
  });

  it('takes the transport: "stream" opens an outbound stream instead of waiting for pushes (issue 16)', async function () {
    await writeFile(path.join(dir, 'anvil-live.json'), JSON.stringify({ ...valid, transport: 'stream' }));
    const loaded = await loadLiveConfig(path.join(dir, 'anvil-live.json'));
    expect(clientOptionsFromConfig(loaded, {}, { ANVIL_TOKEN: 't' }).transport).to.equal('stream');
    await writeFile(path.join(dir, 'anvil-live.json'), JSON.stringify({ ...valid, transport: 'websocket' }));
    try {
      await loadLiveConfig(path.join(dir, 'anvil-live.json'));
      expect.fail('should throw');
    } catch (err) {
      expect(isAnvilError(err) && err.code).to.equal('config.invalid');
      expect((err as Error).message).to.include('/transport');
    }
  });

  it('without the token, createClientFromConfig names the variable to set', async function () {
    await writeFile(path.join(dir, 'anvil-live.json'), JSON.stringify(valid));
    const saved = process.env['ANVIL_TOKEN'];
    delete process.env['ANVIL_TOKEN'];
    try {
      await createClientFromConfig(path.join(dir, 'anvil-live.json'));
      expect.fail('should throw');
    } catch (err) {
      expect(isAnvilError(err) && err.code).to.equal('config.no-token');
      expect((err as Error).message).to.include('ANVIL_TOKEN');
    } finally {
      if (saved !== undefined) process.env['ANVIL_TOKEN'] = saved;
    }
  });

  it('a config that does not validate is a user error naming the file and the problem', async function () {
    await writeFile(path.join(dir, 'anvil-live.json'), JSON.stringify({ ...valid, forge: 'ftp://x', sets: { onboarding: '>>1' } }));
    const run = await anvilLive(dir, ['status']);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/^anvil-live: .*anvil-live\.json {2}config\.invalid {2}\/forge {2}live-config\.forge-url .*\(and 1 more\)/);
    const json = JSON.parse((await anvilLive(dir, ['status', '--json'])).stdout);
    expect(json.error.details.errors.map((e: { code: string }) => e.code)).to.deep.equal(['live-config.forge-url', 'semver.range']);
    const missing = await anvilLive(dir, ['install', '--config', 'nope.json']);
    expect(missing.stderr).to.include('config.missing').and.include('anvil-live connect');
  });
});
