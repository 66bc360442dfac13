/**
 * A real @anvil/client receiver against the forge's receiver routes on loopback: it registers
 * when it starts listening, heartbeats its mode change, and leaves when it closes — the wire
 * format is the client's own, validated by the forge with content-schema's schema.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createClient, type AnvilClient } from '@anvil/client';
import { listAudit } from '../../src/store/audit-log.ts';
import { startReceiverApp, type ReceiverApp } from './receiver-app.ts';

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a LIVE receiver registering with the forge', function () {
  let app: ReceiverApp;
  let cacheDir: string;
  let client: AnvilClient | undefined;
  beforeEach(async () => {
    app = await startReceiverApp();
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'anvil-live-receiver-'));
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await app.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  const start = (token: string) => createClient({
    forge: app.url, project: 'acme', token, channel: 'staging', cacheDir, sets: { onboarding: '^1.0.0' },
    instanceId: 'live-1', pollMs: 0, heartbeatMs: 60_000, readyTimeoutMs: 50,
  });
  const receiver = () => app.forge.ctx.db.selectFrom('receivers').selectAll().where('instance_id', '=', 'live-1').executeTakeFirst();

  it('registers, heartbeats a mode change, and leaves', async () => {
    const token = await app.token('acme', 'live test');
    client = await start(token);
    const { url } = await client.listen();

    const registered = await until('the registration', receiver);
    expect(registered).to.include({ project: 'acme', url, channel: 'staging', mode: 'accepting', gone_at: null });
    expect(JSON.parse(registered.ranges)).to.deep.equal({ onboarding: '^1.0.0' });
    expect(app.forge.ctx.secrets.open(registered.push_token)).to.equal(token);

    await client.setMode('frozen');
    await until('the frozen heartbeat', async () => ((await receiver())?.mode === 'frozen' ? true : undefined));
    const modes = await listAudit(app.forge.ctx.db, { kind: 'receiver.mode' });
    expect(modes.map((r) => JSON.parse(r.detail) as unknown)).to.deep.equal([{ from: 'accepting', to: 'frozen' }]);

    await client.close();
    client = undefined;
    expect((await receiver())?.gone_at).to.be.a('string');
    expect((await listAudit(app.forge.ctx.db, { kind: 'receiver' })).map((r) => r.kind)).to.deep.equal(['receiver.registered', 'receiver.mode', 'receiver.left']);
  });

  it('with another project\'s token it is refused, and nothing is registered', async () => {
    client = await start(await app.token('beta'));
    const errors: unknown[] = [];
    client.on('error', (err) => errors.push(err));
    await client.listen();
    await until('the refusal', async () => (errors.some((e) => (e as { code?: string }).code === 'forge.unauthorized') ? true : undefined));
    expect(await receiver()).to.equal(undefined);
  });
});
