/**
 * Issue 18, hole 5: envelopes are bound to the request. End to end: a real forge on loopback
 * with a real git repository (a `locked` set, a `review` set released to staging, a `live` set's
 * head build on development), and a real production LIVE receiver that reaches the forge
 * through a proxy — a man in the middle, or a compromised TLS terminator. The proxy answers the
 * receiver's production pull with the forge's own staging (or development) envelope, relabelled
 * `production` byte for byte, every signature kept. The forge's envelope signature covers the
 * channel, so the receiver refuses it and keeps serving what it had.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createClient, type AnvilClient } from '@anvil/client';
import { isAnvilError, verifyBundleSignatures, verifyEnvelopeStatement, type Envelope } from '@anvil/content-schema';
import { createAccessToken } from '../../src/access/access-tokens.ts';
import type { ResolvedForgeConfig } from '../../src/forge/forge-config.ts';
import { createLogger } from '../../src/forge/logger.ts';
import { startForge, type RunningForge } from '../../src/forge/start-forge.ts';
import { formatReleaseMessage } from '../../src/release/release-record.ts';
import { ACME_PROMPTS } from '../support/acme-prompts.ts';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';

const SECRET = 'binding-webhook-secret-0123456789abcdef';

const FILES = ACME_PROMPTS;

type ProxyMode = { kind: 'pass' } | { kind: 'rewrap'; from: 'staging' | 'development' };

/** Forwards everything to the forge; in `rewrap` mode answers production pulls with another channel's envelope. */
async function startProxy(forgeUrl: string): Promise<{ url: string; mode: ProxyMode; rewrapped: number; close(): Promise<void> }> {
  const state = { url: '', mode: { kind: 'pass' } as ProxyMode, rewrapped: 0, close: async () => undefined };
  const server: Server = createServer((req, res) => void forward(req, res));
  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const target = new URL(req.url ?? '/', forgeUrl);
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type', 'if-none-match', 'accept']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const mode = state.mode;
    const rewrap = mode.kind === 'rewrap' && target.pathname.endsWith('/envelope') && target.searchParams.get('channel') === 'production';
    if (rewrap) {
      target.searchParams.set('channel', mode.from);
      delete headers['if-none-match'];
    }
    const answer = await fetch(target, { method: req.method ?? 'GET', headers, ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}) });
    let body = Buffer.from(await answer.arrayBuffer());
    if (rewrap && answer.status === 200) {
      // The forge's bytes, relabelled: bundles, bundle signatures and envelope signatures untouched.
      const text = body.toString('utf8');
      const relabelled = text.replace(`],"channel":"${mode.from}",`, '],"channel":"production",');
      expect(relabelled).not.to.equal(text);
      body = Buffer.from(relabelled);
      state.rewrapped++;
    }
    const out: Record<string, string> = { 'content-type': answer.headers.get('content-type') ?? 'application/json' };
    const etag = answer.headers.get('etag');
    if (etag) out['etag'] = rewrap ? `"rewrapped-${state.rewrapped}"` : etag;
    res.writeHead(answer.status, out);
    res.end(body);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise<undefined>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve(undefined));
  });
  return state;
}

describe('envelope binding end to end: a man in the middle re-wraps another channel\'s envelope as production (issue 18)', function () {
  this.timeout(60_000);
  let repo: GitDir;
  let dataDir: string;
  let cacheRoot: string;
  let forge: RunningForge;
  let token: string;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  const clients: AnvilClient[] = [];

  before(async () => {
    repo = await gitdir({ files: FILES });
    await repo.tag('core@1.0.0', { message: formatReleaseMessage({ set: 'core', version: '1.0.0', dependencies: {} }) });
    await repo.tag('onboarding@1.0.0', { message: formatReleaseMessage({ set: 'onboarding', version: '1.0.0', dependencies: { core: '1.0.0' } }) });
    dataDir = mkdtempSync(path.join(tmpdir(), 'anvil-binding-forge-'));
    cacheRoot = mkdtempSync(path.join(tmpdir(), 'anvil-binding-receivers-'));
    const config: ResolvedForgeConfig = {
      name: 'binding-forge', dataDir, host: '127.0.0.1', port: 0, keyRotationGraceDays: 7, adminToken: 'binding-admin-token-0123456789abcdef012345',
      projects: [{ name: 'acme', remote: repo.dir, provider: 'git', webhookSecret: SECRET }], defaultBranches: {},
      pushTargets: { allowPrivateNetworks: true },
    };
    forge = await startForge(config, { logger: createLogger({ level: 'silent' }), syncOnStart: false });
    token = (await createAccessToken(forge.ctx.db, { project: 'acme', label: 'binding' })).token;
    await forge.sync('acme');
    await forge.settle();
    proxy = await startProxy(forge.url);
  });

  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await proxy?.close();
    await forge?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(cacheRoot, { recursive: true, force: true });
    await cleanupGitdirs();
  });

  async function productionReceiver(name: string, via: string): Promise<{ client: AnvilClient; errors: unknown[] }> {
    const errors: unknown[] = [];
    const client = await createClient({
      forge: via, project: 'acme', token, channel: 'production', cacheDir: path.join(cacheRoot, name), instanceId: name,
      readyTimeoutMs: 5_000, pollMs: 0, heartbeatMs: 3_600_000,
    });
    client.on('error', (err) => errors.push(err));
    clients.push(client);
    return { client, errors };
  }

  async function envelopeOf(channel: string): Promise<Envelope> {
    const res = await fetch(`${forge.url}/api/v1/projects/acme/envelope?channel=${channel}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).to.equal(200);
    return (await res.json()) as Envelope;
  }

  it('the forge signs each envelope\'s statement (channel, project, bundles, rollouts) with its keys', async () => {
    // What a receiver pins: the keys the forge publishes.
    const wellKnown = (await (await fetch(`${forge.url}/.well-known/anvil.json`)).json()) as { keys: { keyId: string; publicKey: string }[] };
    const trusted = Object.fromEntries(wellKnown.keys.map((k) => [k.keyId, k.publicKey]));
    expect(Object.keys(trusted)).to.include.members(forge.ctx.keys.signers.map((k) => k.keyId));
    for (const channel of ['production', 'staging', 'development']) {
      const envelope = await envelopeOf(channel);
      expect(envelope.envelopeSignatures.map((s) => s.keyId)).to.deep.equal(forge.ctx.keys.signers.map((k) => k.keyId));
      expect(verifyEnvelopeStatement(envelope, envelope.envelopeSignatures, trusted), channel).to.deep.equal({ ok: true });
      expect(verifyBundleSignatures(envelope.bundles, envelope.signatures, trusted)).to.deep.equal({ ok: true });
      const other = channel === 'production' ? 'staging' : 'production';
      expect(verifyEnvelopeStatement({ ...envelope, channel: other }, envelope.envelopeSignatures, trusted)).to.include({ ok: false, code: 'signature.invalid' });
    }
    const staging = await envelopeOf('staging');
    expect(staging.bundles.map((b) => `${b.set}@${b.version} ${b.stage} ${b.mode}`)).to.include('onboarding@1.0.0 release review');
    const development = await envelopeOf('development');
    expect(development.bundles.some((b) => b.set === 'support' && b.stage === 'head' && b.mode === 'live')).to.equal(true);
  });

  it('a receiver pulling through an honest proxy applies production as the forge publishes it', async () => {
    const { client } = await productionReceiver('prod-honest', proxy.url);
    expect(await client.ready).to.equal(true);
    expect(client.status().sets['core']?.version).to.equal('1.0.0');
    expect(client.status().sets['onboarding']).to.equal(undefined);
  });

  for (const from of ['staging', 'development'] as const) {
    it(`refuses the forge's ${from} envelope re-wrapped as production, and keeps serving what it had`, async () => {
      proxy.mode = { kind: 'pass' };
      const { client } = await productionReceiver(`prod-${from}`, proxy.url);
      expect(await client.ready).to.equal(true);
      const before = JSON.stringify({ sets: client.status().sets, tone: client.prompt('tone', {}) });

      proxy.mode = { kind: 'rewrap', from };
      const rewrappedBefore = proxy.rewrapped;
      const refused = await client.sync().then(() => undefined, (err: unknown) => err);
      expect(proxy.rewrapped).to.equal(rewrappedBefore + 1);
      expect(isAnvilError(refused) && refused.code, String(refused)).to.equal('sync.push.envelope-signature');
      expect((refused as Error).message).to.match(/not what the forge signed/);
      expect(JSON.stringify({ sets: client.status().sets, tone: client.prompt('tone', {}) })).to.equal(before);
      expect(client.status().sets['onboarding']).to.equal(undefined);
      expect(client.status().sets['support']).to.equal(undefined);
      proxy.mode = { kind: 'pass' };
    });
  }

  it('a fresh production receiver behind the proxy serves nothing from a re-wrapped envelope', async () => {
    proxy.mode = { kind: 'rewrap', from: 'staging' };
    const { client, errors } = await productionReceiver('prod-fresh', proxy.url);
    const refused = await client.sync().then(() => undefined, (err: unknown) => err);
    expect(isAnvilError(refused) && refused.code).to.equal('sync.push.envelope-signature');
    expect(client.status().ready).to.equal(false);
    expect(client.status().sets).to.deep.equal({});
    expect(errors.every((e) => !isAnvilError(e) || e.code === 'sync.push.envelope-signature')).to.equal(true);
    proxy.mode = { kind: 'pass' };
  });
});
