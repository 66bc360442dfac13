/**
 * `pushTargets` in anvil-forge.yaml, and a real forge (startForge) applying it (issue 14): by
 * default a receiver on 127.0.0.1 cannot even register; with `allowPrivateNetworks` it can, but
 * the forge's own API is never a push target, however the URL reaches it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createClient, type AnvilClient } from '@anvil/client';
import { createAccessToken } from '../../src/access/access-tokens.ts';
import { enqueueDeliveries } from '../../src/deliver/delivery-queue.ts';
import { readForgeConfig, type ResolvedForgeConfig } from '../../src/forge/forge-config.ts';
import { createLogger } from '../../src/forge/logger.ts';
import { startForge, type RunningForge } from '../../src/forge/start-forge.ts';
import { PROJECT, addEnvelope, addReceiver, makeBundle } from '../support/delivery-fixtures.ts';
import { until } from '../support/until.ts';

const SECRET = 'w'.repeat(32);

describe('push targets in the forge configuration', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'anvil-push-targets-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const read = (extra: string) => {
    const file = path.join(dir, 'anvil-forge.yaml');
    writeFileSync(file, `${extra}projects:\n  - name: acme\n    remote: https://example.com/acme/prompts.git\n`);
    return readForgeConfig(file, { ANVIL_WEBHOOK_SECRET: SECRET });
  };

  it('pushes to public addresses only unless the file allows private networks', () => {
    expect(read('').config!.pushTargets).to.deep.equal({ allowPrivateNetworks: false });
    expect(read('pushTargets: {}\n').config!.pushTargets).to.deep.equal({ allowPrivateNetworks: false });
    expect(read('pushTargets:\n  allowPrivateNetworks: true\n').config!.pushTargets).to.deep.equal({ allowPrivateNetworks: true });
    const wrong = read('pushTargets:\n  allowPrivate: yes\n');
    expect(wrong.config).to.equal(undefined);
    expect(wrong.problems.map((p) => `${p.code}:${p.line}`)).to.include('schema.unknown-field:2');
  });
});

describe('a running forge and its push targets', function () {
  let dataDir: string;
  let cacheDir: string;
  let forge: RunningForge | undefined;
  let client: AnvilClient | undefined;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'anvil-push-targets-forge-'));
    cacheDir = await mkdtemp(path.join(tmpdir(), 'anvil-push-targets-cache-'));
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await forge?.close();
    forge = undefined;
    await rm(dataDir, { recursive: true, force: true });
    await rm(cacheDir, { recursive: true, force: true });
  });

  const config = (pushTargets?: ResolvedForgeConfig['pushTargets']): ResolvedForgeConfig => ({
    name: 'push-targets-forge', dataDir, host: '127.0.0.1', port: 0, keyRotationGraceDays: 7,
    projects: [{ name: PROJECT, remote: dataDir, provider: 'git', webhookSecret: SECRET }], defaultBranches: {},
    ...(pushTargets ? { pushTargets } : {}),
  });
  const start = async (pushTargets?: ResolvedForgeConfig['pushTargets']) => {
    forge = await startForge(config(pushTargets), { logger: createLogger({ level: 'silent' }), syncOnStart: false });
    return forge;
  };

  it('by default, a LIVE receiver on 127.0.0.1 is refused when it registers, and told which setting allows it', async () => {
    const running = await start();
    const { token } = await createAccessToken(running.ctx.db, { project: PROJECT, label: 'test' });
    client = await createClient({ forge: running.url, project: PROJECT, token, channel: 'production', cacheDir, instanceId: 'local-1', pollMs: 0, heartbeatMs: 3_600_000, readyTimeoutMs: 0 });
    const errors: Error[] = [];
    client.on('error', (err) => errors.push(err as Error));
    await client.listen();
    await until('the refusal', () => errors.some((e) => e.message.includes('422')));
    expect(errors.find((e) => e.message.includes('422'))!.message).to.contain('127.0.0.1 is loopback, and pushTargets.allowPrivateNetworks is off');
    expect(await running.ctx.db.selectFrom('receivers').selectAll().execute()).to.deep.equal([]);
  });

  it('with allowPrivateNetworks, the forge\'s own API is still never pushed to, by its URL or by an address that reaches it', async () => {
    const running = await start({ allowPrivateNetworks: true });
    const { port } = new URL(running.url);
    const { token } = await createAccessToken(running.ctx.db, { project: PROJECT, label: 'test' });
    const res = await fetch(`${running.url}/api/v1/projects/${PROJECT}/receivers`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instanceId: 'self', url: `${running.url}/api/v1/projects/${PROJECT}/receivers`, channel: 'production', mode: 'accepting', ranges: {}, versions: {} }),
    });
    expect(res.status).to.equal(422);
    expect(await res.json()).to.include({ code: 'receiver.url-blocked' });

    // Rows a registration could not make (stored before this check, or by name): refused at push time.
    running.ctx.pushTargets!.resolve = async (host) => (host === 'forge.test' ? [{ address: '127.0.0.1', family: 4 }] : []);
    const urls = {
      'by-url': `${running.url}/api/v1/projects/${PROJECT}/receivers`,
      'by-mapped-address': `http://[::ffff:127.0.0.1]:${port}/api/v1/projects/${PROJECT}/receivers`,
      'by-name': `http://forge.test:${port}/api/v1/projects/${PROJECT}/receivers`,
    };
    for (const [instanceId, url] of Object.entries(urls)) await addReceiver(running.ctx, { instanceId, url });
    const env = await addEnvelope(running.ctx, [makeBundle('onboarding', '1.0.0', { 'welcome.message': 'Hello' })]);
    expect(await enqueueDeliveries(running.ctx, { project: PROJECT, channel: 'production', envelopeId: env.id, set: 'onboarding', version: '1.0.0' })).to.equal(3);
    running.worker.wake();
    await running.settle(5_000);
    const rows = await running.ctx.db.selectFrom('deliveries').selectAll().execute();
    expect(rows).to.have.length(3);
    for (const row of rows) {
      // No status: nothing was sent (the forge would have answered the envelope with a 422).
      expect(row, row.instance_id).to.deep.include({ state: 'failed', last_code: 'target.blocked', last_status: null, attempts: 1 });
      expect(row.last_reason, row.instance_id).to.contain('is the forge itself');
    }
  });
});
