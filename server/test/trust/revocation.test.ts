/**
 * Issue 18, hole 6: revoking an access token ends the pushes to the receivers that registered
 * with it, at once (DESIGN §9: "revocable with immediate effect"). End to end: a real forge on
 * loopback, a real git repository, two real LIVE receivers registered with two tokens of the
 * same project; then, at the push worker, a push already claimed when the revocation lands, and
 * receivers from before tokens were linked to them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createClient, type AnvilClient } from '@anvil/client';
import { createAccessToken, revokeAccessToken } from '../../src/access/access-tokens.ts';
import { enqueueDeliveries } from '../../src/deliver/delivery-queue.ts';
import { startPushWorker, type PushWorker } from '../../src/deliver/push-worker.ts';
import type { ResolvedForgeConfig } from '../../src/forge/forge-config.ts';
import { createLogger } from '../../src/forge/logger.ts';
import { startForge, type RunningForge } from '../../src/forge/start-forge.ts';
import { recordReceiverCall } from '../../src/receivers/register-receiver.ts';
import { listAudit, verifyAuditChain } from '../../src/store/audit-log.ts';
import { storeTime } from '../../src/store/open-store.ts';
import { anvil } from '../cli/cli-support.ts';
import { addEnvelope, makeBundle, startAnswerServer, type AnswerServer } from '../support/delivery-fixtures.ts';
import { createTestForge, type TestForge } from '../support/forge-context.ts';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';
import { until } from '../support/until.ts';

const SECRET = 'revocation-webhook-secret-0123456789ab';
const ADMIN = 'revocation-admin-token-0123456789abcdef';
const answerFile = (text: string) => `---\ninput:\n  schema:\n    question: string\n---\n${text}: {{question}}`;

/** A receiver's push endpoint: the client's own handler behind a server that notes every request's bearer. */
interface PushEndpoint {
  url: string;
  /** Bearer tokens of the requests that reached it, in order. */
  bearers: string[];
  /** Answer 503 (retry in an hour) instead of handing the push to the client. */
  busy: boolean;
  serve(client: AnvilClient): void;
  close(): Promise<void>;
}

async function pushEndpoint(): Promise<PushEndpoint> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const endpoint: PushEndpoint = {
    url: '', bearers: [], busy: false,
    serve(client) {
      handler = client.receiver();
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server: Server = createServer((req, res) => {
    endpoint.bearers.push(String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (endpoint.busy || !handler) {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '3600' });
      res.end(JSON.stringify({ ok: false, code: 'busy', reason: 'held by the test' }));
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return endpoint;
}

describe('revoking an access token ends its receivers\' pushes (issue 18)', function () {
  this.timeout(60_000);

  describe('end to end: a forge, a git repository and two LIVE receivers', () => {
    let repo: GitDir;
    let dataDir: string;
    let cacheRoot: string;
    let forge: RunningForge;
    const clients: AnvilClient[] = [];
    const endpoints: PushEndpoint[] = [];

    before(async () => {
      repo = await gitdir({ files: { 'anvil.yaml': 'name: "@acme"\n', 'prompts/support/set.yaml': 'mode: live\n', 'prompts/support/answer.md': answerFile('Answer') } });
      dataDir = mkdtempSync(path.join(tmpdir(), 'anvil-revocation-forge-'));
      cacheRoot = mkdtempSync(path.join(tmpdir(), 'anvil-revocation-receivers-'));
      const config: ResolvedForgeConfig = {
        name: 'revocation-forge', dataDir, host: '127.0.0.1', port: 0, keyRotationGraceDays: 7, adminToken: ADMIN,
        projects: [{ name: 'acme', remote: repo.dir, provider: 'git', webhookSecret: SECRET }], defaultBranches: {},
        // The receivers listen on 127.0.0.1.
        pushTargets: { allowPrivateNetworks: true },
      };
      forge = await startForge(config, { logger: createLogger({ level: 'silent' }), syncOnStart: false, worker: { backoff: { baseMs: 50, maxMs: 200 } } });
      await forge.sync('acme');
      await forge.settle();
    });

    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      for (const e of endpoints) await e.close();
      await forge?.close();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(cacheRoot, { recursive: true, force: true });
      await cleanupGitdirs();
    });

    async function startReceiver(instanceId: string, token: string, endpoint: PushEndpoint): Promise<AnvilClient> {
      const client = await createClient({
        forge: forge.url, project: 'acme', token, channel: 'development', cacheDir: path.join(cacheRoot, instanceId), instanceId,
        pushUrl: endpoint.url, readyTimeoutMs: 0, pollMs: 0, heartbeatMs: 3_600_000,
      });
      client.on('error', () => undefined);
      endpoint.serve(client);
      clients.push(client);
      return client;
    }

    const receiverRow = (instanceId: string) => forge.ctx.db.selectFrom('receivers').selectAll().where('instance_id', '=', instanceId).executeTakeFirstOrThrow();
    const served = (client: AnvilClient) => client.prompt('answer', { question: 'x' });

    /** A saved edit to the live set: the forge builds the head and pushes it to development. */
    async function edit(text: string): Promise<void> {
      await repo.commit(text, { 'prompts/support/answer.md': answerFile(text) });
      await forge.sync('acme');
    }

    it('pushes nothing more with the revoked token, cancels what was pending, shows and audits it; a new token brings the receiver back', async () => {
      const [t1, t2] = [await createAccessToken(forge.ctx.db, { project: 'acme', label: 'web 1' }), await createAccessToken(forge.ctx.db, { project: 'acme', label: 'web 2' })];
      const [e1, e2] = [await pushEndpoint(), await pushEndpoint()];
      endpoints.push(e1, e2);
      const r1 = await startReceiver('web-1', t1.token, e1);
      const r2 = await startReceiver('web-2', t2.token, e2);
      await until('both receivers registered, each linked to its token', async () => {
        const rows = await forge.ctx.db.selectFrom('receivers').select(['instance_id', 'token_id']).orderBy('instance_id').execute();
        return JSON.stringify(rows) === JSON.stringify([{ instance_id: 'web-1', token_id: t1.id }, { instance_id: 'web-2', token_id: t2.id }]);
      });

      await edit('First');
      await until('both receivers on the first edit', () => served(r1) === 'First: x' && served(r2) === 'First: x');
      expect(e1.bearers.at(-1)).to.equal(t1.token);

      // web-1 is busy for the next push: its delivery waits for a retry an hour away.
      e1.busy = true;
      await edit('Second');
      await until('web-2 on the second edit', () => served(r2) === 'Second: x');
      await until('web-1 answered busy', () => e1.bearers.length > 0 && forge.ctx.db.selectFrom('deliveries').select('id')
        .where('instance_id', '=', 'web-1').where('state', '=', 'pending').where('last_status', '=', 503).execute().then((rows) => rows.length === 1));

      // Revoked through the admin API, as an operator would.
      const res = await fetch(`${forge.url}/api/v1/projects/acme/tokens/${t1.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN}` } });
      expect(res.status).to.equal(200);
      const revoked = (await res.json()) as { alreadyRevoked: boolean; receivers: string[]; cancelledDeliveries: number };
      expect(revoked).to.include({ alreadyRevoked: false, cancelledDeliveries: 1 });
      expect(revoked.receivers).to.deep.equal(['web-1']);
      const seenBefore = e1.bearers.length;
      e1.busy = false;

      const cancelled = await forge.ctx.db.selectFrom('deliveries').selectAll().where('instance_id', '=', 'web-1').where('state', '!=', 'delivered').execute();
      expect(cancelled.map((d) => [d.state, d.last_code])).to.deep.equal([['superseded', 'token.revoked']]);
      expect(cancelled[0]!.last_reason).to.contain(t1.prefix).and.contain('revoked');

      await edit('Third');
      await until('web-2 on the third edit', () => served(r2) === 'Third: x');
      await forge.settle();
      expect(served(r1), 'web-1 keeps what it had').to.equal('First: x');
      expect(e1.bearers.length, 'no request at all reached web-1 after the revocation').to.equal(seenBefore);
      expect(e2.bearers.every((b) => b === t2.token)).to.equal(true);
      const web1 = await forge.ctx.db.selectFrom('deliveries').select(['state', 'last_code']).where('instance_id', '=', 'web-1').orderBy('created_at').execute();
      expect(web1.map((d) => `${d.state} ${d.last_code}`), 'nothing queued for web-1 since').to.deep.equal(['delivered applied', 'superseded token.revoked']);

      // Its heartbeats with the revoked token are refused; the listing says why it gets nothing.
      const beat = await fetch(`${forge.url}/api/v1/projects/acme/receivers`, {
        method: 'PUT', headers: { authorization: `Bearer ${t1.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ instanceId: 'web-1', url: e1.url, channel: 'development', mode: 'accepting', ranges: {}, versions: {} }),
      });
      expect(beat.status).to.equal(401);
      const listed = (await (await fetch(`${forge.url}/api/v1/projects/acme/receivers`, { headers: { authorization: `Bearer ${t2.token}` } })).json()) as { receivers: { instanceId: string; status: string; revokedAt: string | null; tokenId: string | null }[] };
      expect(listed.receivers.map((r) => [r.instanceId, r.status, r.tokenId])).to.deep.equal([['web-1', 'revoked', t1.id], ['web-2', 'active', t2.id]]);
      const cli = await anvil(dataDir, 'receivers', '--data-dir', dataDir, '--project', 'acme');
      expect(cli.code, cli.stderr).to.equal(0);
      expect(cli.stdout.split('\n').find((l) => l.startsWith('web-1'))).to.match(/\brevoked\b/);

      const audit = await listAudit(forge.ctx.db, { kind: 'token.revoked' });
      expect(audit.map((a) => JSON.parse(a.detail) as unknown)).to.deep.equal([{ id: t1.id, label: 'web 1', receivers: 1, cancelledDeliveries: 1, receiverIds: ['web-1'] }]);
      expect(audit[0]).to.include({ subject: t1.prefix, actor: 'admin' });
      expect(await verifyAuditChain(forge.ctx.db)).to.include({ ok: true });

      // Back with a new token: the same instance (and cache) registers again and gets pushes again.
      await r1.close();
      const t3 = await createAccessToken(forge.ctx.db, { project: 'acme', label: 'web 1, new' });
      const back = await startReceiver('web-1', t3.token, e1);
      await until('web-1 registered with the new token', async () => {
        const row = await receiverRow('web-1');
        return row.token_id === t3.id && row.revoked_at === null && row.gone_at === null;
      });
      await edit('Fourth');
      await until('both receivers on the fourth edit', () => served(back) === 'Fourth: x' && served(r2) === 'Fourth: x');
      expect(e1.bearers.slice(seenBefore).every((b) => b === t3.token), 'only the new token reached web-1').to.equal(true);
      const registered = (await listAudit(forge.ctx.db, { kind: 'receiver.registered' })).filter((a) => a.subject === 'web-1').at(-1)!;
      expect(JSON.parse(registered.detail)).to.have.property('tokenRevokedAt').that.is.a('string');
    });
  });

  describe('at the push worker', () => {
    let forge: TestForge;
    let server: AnswerServer;
    let worker: PushWorker | undefined;
    beforeEach(async () => {
      forge = await createTestForge();
      forge.ctx.projects.set('acme', { name: 'acme', remote: '/srv/acme.git', provider: 'git', webhookSecret: 'x'.repeat(32) });
      server = await startAnswerServer(() => ({ status: 200, body: { ok: true, code: 'applied' } }));
    });
    afterEach(async () => {
      await worker?.stop();
      worker = undefined;
      await server.close();
      await forge.close();
    });

    const registration = (instanceId: string, url: string) => ({ instanceId, url, channel: 'production' as const, mode: 'accepting' as const, ranges: {}, versions: {} });
    const deliveries = () => forge.ctx.db.selectFrom('deliveries').selectAll().orderBy('instance_id').execute();
    async function publish(): Promise<number> {
      const env = await addEnvelope(forge.ctx, [makeBundle('onboarding', '1.0.0', { welcome: 'Hello {{name}}' })], { project: 'acme' });
      return enqueueDeliveries(forge.ctx, { project: 'acme', channel: 'production', envelopeId: env.id, set: 'onboarding', version: '1.0.0' });
    }

    it('a push already claimed when the token is revoked is not sent', async () => {
      // The receiver's name resolves only when the test lets it: the worker has claimed the
      // delivery and is on its way to push it when the revocation lands.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let looked = false;
      forge.ctx.pushTargets = {
        allowPrivateNetworks: true,
        resolve: async () => {
          looked = true;
          await released;
          return [{ address: '127.0.0.1', family: 4 }];
        },
      };
      const url = server.url.replace('127.0.0.1', 'receiver.test');
      const token = await createAccessToken(forge.ctx.db, { project: 'acme' });
      await recordReceiverCall(forge.ctx, { project: 'acme', kind: 'register', registration: registration('web-1', url), token: token.token, tokenId: token.id, actor: 'test' });
      expect(await publish()).to.equal(1);

      worker = startPushWorker(forge.ctx, { pollMs: 20 });
      await until('the worker took the delivery', () => looked);
      const [leased] = await deliveries();
      expect(leased).to.include({ state: 'pending' });
      expect(leased!.lease_owner).to.be.a('string');

      const revoked = await revokeAccessToken(forge.ctx.db, 'acme', token.id, { actor: 'test' });
      expect(revoked).to.deep.include({ receivers: ['web-1'], cancelledDeliveries: 1 });
      release();
      await worker.drain();
      await new Promise((r) => setTimeout(r, 50));
      await worker.drain();

      expect(server.pushes, 'no request went out with the revoked token').to.have.length(0);
      const [row] = await deliveries();
      expect(row).to.include({ state: 'superseded', last_code: 'token.revoked' });
    });

    it('finds receivers registered before tokens were linked, and never pushes their revoked token', async () => {
      const gone = await createAccessToken(forge.ctx.db, { project: 'acme', label: 'leaked' });
      const kept = await createAccessToken(forge.ctx.db, { project: 'acme', label: 'kept' });
      const at = storeTime();
      // Rows as a forge before migration 005 wrote them: no token_id.
      for (const [instanceId, token] of [['old-1', gone.token], ['old-2', kept.token]] as const) {
        await forge.ctx.db.insertInto('receivers').values({
          project: 'acme', instance_id: instanceId, url: server.url, channel: 'production', mode: 'accepting', ranges: '{}', versions: '{}',
          push_token: forge.ctx.secrets.seal(token), registered_at: at, last_seen_at: at, gone_at: null,
          last_delivery_at: null, last_delivery_state: null, last_delivery_status: null, last_delivery_code: null, last_delivery_reason: null,
        }).execute();
      }
      // Revoked from the CLI, which cannot open sealed tokens: nothing is linked yet to end.
      expect(await revokeAccessToken(forge.ctx.db, 'acme', gone.prefix, { actor: 'cli' })).to.deep.include({ receivers: [], cancelledDeliveries: 0 });
      expect(await publish()).to.equal(2);

      worker = startPushWorker(forge.ctx, { pollMs: 20 });
      await until('both deliveries settled', async () => (await deliveries()).every((d) => d.state !== 'pending'));
      expect(server.pushes.map((p) => p.headers.authorization)).to.deep.equal([`Bearer ${kept.token}`]);
      expect((await deliveries()).map((d) => [d.instance_id, d.state, d.last_code])).to.deep.equal([['old-1', 'superseded', 'token.revoked'], ['old-2', 'delivered', 'applied']]);
      const receivers = await forge.ctx.db.selectFrom('receivers').select(['instance_id', 'token_id', 'revoked_at', 'gone_at']).orderBy('instance_id').execute();
      expect(receivers.map((r) => [r.instance_id, r.token_id, r.revoked_at !== null, r.gone_at !== null])).to.deep.equal([['old-1', gone.id, true, true], ['old-2', kept.id, false, false]]);
      const audit = await listAudit(forge.ctx.db, { kind: 'receiver.revoked' });
      expect(audit.map((a) => [a.subject, JSON.parse(a.detail) as unknown])).to.deep.equal([['old-1', { token: gone.id, foundBy: 'push-worker', cancelledDeliveries: 0 }]]);
      expect(await publish(), 'the next publish queues for the valid one only').to.equal(1);
    });

    it('the revocation with the forge\'s secret box finds unlinked receivers at once', async () => {
      const token = await createAccessToken(forge.ctx.db, { project: 'acme' });
      const at = storeTime();
      await forge.ctx.db.insertInto('receivers').values({
        project: 'acme', instance_id: 'old-1', url: server.url, channel: 'production', mode: 'accepting', ranges: '{}', versions: '{}',
        push_token: forge.ctx.secrets.seal(token.token), registered_at: at, last_seen_at: at, gone_at: null,
        last_delivery_at: null, last_delivery_state: null, last_delivery_status: null, last_delivery_code: null, last_delivery_reason: null,
      }).execute();
      expect(await publish()).to.equal(1);
      const revoked = await revokeAccessToken(forge.ctx.db, 'acme', token.id, { secrets: forge.ctx.secrets });
      expect(revoked).to.deep.include({ receivers: ['old-1'], cancelledDeliveries: 1 });
      expect(await publish()).to.equal(0);
    });

    it('a registration racing the revocation is refused, and the queue passes over a receiver linked to a revoked token', async () => {
      const token = await createAccessToken(forge.ctx.db, { project: 'acme' });
      await recordReceiverCall(forge.ctx, { project: 'acme', kind: 'register', registration: registration('web-1', server.url), token: token.token, tokenId: token.id, actor: 'test' });
      // As if the revocation committed between the request's token check and its write.
      await forge.ctx.db.updateTable('access_tokens').set({ revoked_at: storeTime() }).where('id', '=', token.id).execute();
      let refused: unknown;
      await recordReceiverCall(forge.ctx, { project: 'acme', kind: 'heartbeat', registration: registration('web-1', server.url), token: token.token, tokenId: token.id, actor: 'test' }).catch((err: unknown) => (refused = err));
      expect(refused).to.have.property('code', 'auth.revoked');
      expect(await publish(), 'not marked revoked, yet its token is').to.equal(0);
    });
  });
});
