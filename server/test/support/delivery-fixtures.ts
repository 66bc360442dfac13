/**
 * What the delivery tests need around the queue: receivers and envelopes written straight into
 * the store (the HTTP routes that do it in production are tested elsewhere), a loopback server
 * that answers pushes however a test says, and real @anvil/client receivers that record what
 * they answered to each webhook-id.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ENVELOPE_FORMAT, canonicalJson, signEnvelope, signIntegrity, type Bundle, type Channel, type Envelope, type SigningKey } from '@anvil/content-schema';
import { createClient, type AnvilClient } from '@anvil/client';
import type { ForgeContext } from '../../src/forge/forge-context.ts';
import type { PushWorker } from '../../src/deliver/push-worker.ts';
import { storeTime } from '../../src/store/open-store.ts';
import { startFakeForge, type FakeForge } from '../../../client/test/support/fake-forge.ts';

export { makeBundle } from '../../../client/test/support/fake-forge.ts';

export const PROJECT = 'acme';
export const TOKEN = 'anvil_test_token_0123456789abcdef';

export interface ReceiverRow {
  instanceId: string;
  url: string;
  project?: string;
  channel?: string;
  mode?: 'accepting' | 'frozen';
  ranges?: Record<string, string>;
  versions?: Record<string, string>;
  token?: string;
  goneAt?: string | null;
}

export async function addReceiver(ctx: ForgeContext, row: ReceiverRow): Promise<void> {
  const at = storeTime();
  await ctx.db.insertInto('receivers').values({
    project: row.project ?? PROJECT, instance_id: row.instanceId, url: row.url, channel: row.channel ?? 'production',
    mode: row.mode ?? 'accepting', ranges: JSON.stringify(row.ranges ?? {}), versions: JSON.stringify(row.versions ?? {}),
    push_token: ctx.secrets.seal(row.token ?? TOKEN), registered_at: at, last_seen_at: at, gone_at: row.goneAt ?? null,
    last_delivery_at: null, last_delivery_state: null, last_delivery_status: null, last_delivery_code: null, last_delivery_reason: null,
  }).execute();
}

let envelopeCount = 0;

/** A real signed envelope (canonical JSON, as the forge serialises it once), stored. */
export async function addEnvelope(ctx: ForgeContext, bundles: Bundle[], options: { channel?: Channel; project?: string; key?: SigningKey } = {}): Promise<{ id: string; envelope: Envelope; body: string }> {
  const key = options.key ?? ctx.keys.active;
  const envelope: Envelope = signEnvelope([key], {
    format: ENVELOPE_FORMAT, id: `env-${Date.now()}-${++envelopeCount}`, forge: ctx.name, project: options.project ?? PROJECT,
    channel: options.channel ?? 'production', bundles, rollouts: {},
  });
  const body = canonicalJson(envelope);
  await ctx.db.insertInto('envelopes').values({ id: envelope.id, project: envelope.project, channel: envelope.channel, body, created_at: storeTime() }).execute();
  return { id: envelope.id, envelope, body };
}

export interface SeenPush {
  id: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  at: number;
}

export type Answer = { status: number; body?: unknown; headers?: Record<string, string> } | 'hang' | 'reset';

export interface AnswerServer {
  url: string;
  pushes: SeenPush[];
  close(): Promise<void>;
}

/** A loopback receiver that answers each push with what `answer` says (by how many it has seen). */
export async function startAnswerServer(answer: (push: SeenPush, n: number) => Answer): Promise<AnswerServer> {
  const pushes: SeenPush[] = [];
  const server: Server = createServer((req, res) => void handle(req, res));
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const push = { id: String(req.headers['webhook-id']), headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
    pushes.push(push);
    const a = answer(push, pushes.length);
    if (a === 'hang') return;
    if (a === 'reset') {
      res.socket?.destroy();
      return;
    }
    res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
    res.end(a.body === undefined ? '' : typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/anvil`,
    pushes,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Drains until no delivery is pending at all (retries included), or fails after `timeoutMs`. */
export async function settle(ctx: ForgeContext, worker: PushWorker, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await worker.drain();
    const pending = await ctx.db.selectFrom('deliveries').select('id').where('state', '=', 'pending').execute();
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${pending.length} deliveries still pending after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function deliveryStates(ctx: ForgeContext): Promise<Record<string, string>> {
  const rows = await ctx.db.selectFrom('deliveries').select(['instance_id', 'state']).execute();
  return Object.fromEntries(rows.map((r) => [r.instance_id, r.state]));
}

export interface RecordedAnswer {
  webhookId: string;
  status: number;
  code: string;
}

export interface RealReceiver {
  instanceId: string;
  url: string;
  client: AnvilClient;
  answers: RecordedAnswer[];
}

export interface RealReceivers {
  receivers: RealReceiver[];
  /** Every answer of every receiver, in the order they were sent. */
  answers(): (RecordedAnswer & { instanceId: string })[];
  close(): Promise<void>;
}

/**
 * Real LIVE receivers (`createClient` + `listen`), each with its own cache dir, pinned to the
 * test forge's key and taking the test token. Their pulls and registrations go to a fake forge
 * (this forge's HTTP routes are not what is tested here). Each records its answers.
 */
export async function startRealReceivers(key: SigningKey, count: number, options: { channel?: Channel; sets?: Record<string, string>; /** Called as each push arrives, before it is handled. */ onPush?: (webhookId: string) => void } = {}): Promise<RealReceivers> {
  const forge: FakeForge = await startFakeForge({ project: PROJECT, token: TOKEN });
  const root = await mkdtemp(path.join(os.tmpdir(), 'anvil-receivers-'));
  const receivers: RealReceiver[] = [];
  const log: (RecordedAnswer & { instanceId: string })[] = [];
  for (let i = 0; i < count; i++) {
    const instanceId = `receiver-${i}`;
    const client = await createClient({
      forge: forge.url, project: PROJECT, token: TOKEN, channel: options.channel ?? 'production', cacheDir: path.join(root, instanceId),
      instanceId, publicKey: key.publicKey, readyTimeoutMs: 0, pollMs: 0, heartbeatMs: 3_600_000,
      ...(options.sets ? { sets: options.sets } : {}),
    });
    client.on('error', () => undefined);
    const answers: RecordedAnswer[] = [];
    const handler = client.receiver();
    const server = createServer((req, res) => {
      const webhookId = String(req.headers['webhook-id']);
      options.onPush?.(webhookId);
      const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
      res.end = ((chunk?: unknown) => {
        let code = '';
        try {
          code = String((JSON.parse(String(chunk)) as { code?: unknown }).code ?? '');
        } catch { /* not JSON */ }
        answers.push({ webhookId, status: res.statusCode, code });
        log.push({ webhookId, status: res.statusCode, code, instanceId });
        return end(chunk);
      }) as ServerResponse['end'];
      handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    receivers.push({ instanceId, url, client, answers });
    const close = client.close.bind(client);
    client.close = async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await close();
    };
  }
  return {
    receivers,
    answers: () => [...log],
    async close() {
      for (const r of receivers) await r.client.close();
      await forge.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
