/**
 * A forge on loopback for the receiver's tests: the endpoints of DESIGN.md §8 a receiver calls,
 * answered with real signatures, plus a way to push signed envelopes to a receiver. The real
 * forge (issue 5) answers the same way; these tests pin the protocol from the receiver's side.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BUNDLE_FORMAT,
  ENVELOPE_FORMAT,
  bundleIntegrity,
  canonicalJson,
  generateSigningKey,
  signEnvelope,
  signIntegrity,
  signWebhook,
  type Bundle,
  type Envelope,
  type Channel,
  type SigningKey,
} from '@anvil/content-schema';

export interface PromptSpec {
  template: string;
  metadata?: Partial<Bundle['prompts'][string]['metadata']>;
  variants?: Record<string, { template: string; tags?: Record<string, string> }>;
}

/** A sealed bundle with the given prompts; everything else plausible and deterministic. */
export function makeBundle(set: string, version: string, prompts: Record<string, string | PromptSpec>, more: Partial<Pick<Bundle, 'partials' | 'dependencies' | 'project' | 'mode'>> = {}): Bundle {
  const release = !version.includes('-');
  const unsealed: Omit<Bundle, 'integrity'> = {
    format: BUNDLE_FORMAT,
    project: more.project ?? 'acme',
    repository: '@acme',
    set,
    version,
    stage: release ? 'release' : 'head',
    mode: more.mode ?? 'locked',
    source: {
      commit: createHash('sha1').update(`${set}@${version}`).digest('hex'),
      ...(release ? { tag: `${set}@${version}` } : {}),
      tree: createHash('sha1').update(`tree ${set}@${version}`).digest('hex'),
      committedAt: '2026-01-01T00:00:00.000Z',
    },
    dependencies: more.dependencies ?? {},
    prompts: Object.fromEntries(Object.entries(prompts).map(([id, p]) => {
      const spec = typeof p === 'string' ? { template: p } : p;
      const metadata = { config: {}, metadata: {}, ext: {}, ...spec.metadata } as Bundle['prompts'][string]['metadata'];
      const variants = Object.fromEntries(Object.entries(spec.variants ?? {}).map(([name, v]) => [name, {
        template: v.template, tags: v.tags ?? {}, metadata: { config: {}, metadata: {}, ext: {}, ...(v.tags ? { tags: v.tags } : {}) },
      }]));
      return [id, { template: spec.template, metadata, variants }];
    })),
    partials: more.partials ?? {},
  };
  return { ...unsealed, integrity: bundleIntegrity(unsealed) } as Bundle;
}

export interface FakeForge {
  url: string;
  key: SigningKey;
  token: string;
  project: string;
  /** Requests received, for assertions: `GET /api/v1/…` etc. */
  requests: { method: string; path: string; headers: IncomingMessage['headers']; body: string }[];
  /** Receivers that registered (by instance id), with their last heartbeat body. */
  receivers: Map<string, Record<string, unknown>>;
  /**
   * Makes `bundles` the current envelope of `channel` (signed). Each bundle is also a release
   * served by `GET …/sets/:set/versions[/:version]` (as `{versions}` and `{bundle, signatures}`).
   */
  publish(channel: Channel, bundles: Bundle[], rollouts?: Envelope['rollouts']): Envelope;
  /**
   * Makes `body` what a pull of `channel` answers, byte for byte, whatever it holds: how a man in
   * the middle (or a compromised TLS terminator) would answer a receiver's pull.
   */
  serve(channel: Channel, body: Envelope | string): void;
  /** Makes bundles releases (served by the versions endpoints) without publishing an envelope. */
  release(...bundles: Bundle[]): void;
  envelope(channel: Channel, bundles: Bundle[], rollouts?: Envelope['rollouts'], options?: { key?: SigningKey }): Envelope;
  /** Pushes an envelope (or raw bytes) to a receiver as the forge would; returns status and JSON body. */
  push(url: string, body: Envelope | Buffer | string, options?: PushOptions): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>;
  /** Stop answering (the forge is down) until `up()`. */
  down(): void;
  up(): void;
  close(): Promise<void>;
}

export interface PushOptions {
  id?: string;
  /** Unix seconds. */
  timestamp?: number;
  token?: string;
  key?: SigningKey;
  /** Replace the signature header. */
  signature?: string;
}

export async function startFakeForge(options: { project?: string; token?: string } = {}): Promise<FakeForge> {
  const key = generateSigningKey();
  const project = options.project ?? 'acme';
  const token = options.token ?? `anvil_${randomUUID().replace(/-/g, '')}`;
  const envelopes = new Map<string, { envelope: Envelope; body: string; etag: string }>();
  const releases = new Map<string, Bundle>();
  const requests: FakeForge['requests'] = [];
  const receivers = new Map<string, Record<string, unknown>>();
  let isDown = false;

  const server: Server = createServer((req, res) => void handle(req, res));
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://forge');
    requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search, headers: req.headers, body });
    if (isDown) {
      res.socket?.destroy();
      return;
    }
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(typeof value === 'string' ? value : JSON.stringify(value));
    };
    if (url.pathname === '/.well-known/anvil.json') {
      return json(200, { name: 'fake-forge', apiVersion: '1', keys: [{ keyId: key.keyId, publicKey: key.publicKey, status: 'active' }] });
    }
    const prefix = `/api/v1/projects/${project}`;
    if (!url.pathname.startsWith(prefix)) return json(404, { ok: false, code: 'not-found', reason: `no project at ${url.pathname}` });
    if (req.headers.authorization !== `Bearer ${token}`) return json(401, { ok: false, code: 'token', reason: 'bad token' });
    const rest = url.pathname.slice(prefix.length);
    if (rest === '/envelope') {
      const current = envelopes.get(url.searchParams.get('channel') ?? '');
      if (!current) return json(404, { ok: false, code: 'no-envelope', reason: 'nothing published on this channel' });
      if (req.headers['if-none-match'] === current.etag) {
        res.writeHead(304, { etag: current.etag });
        res.end();
        return;
      }
      return json(200, current.body, { etag: current.etag });
    }
    const list = /^\/sets\/([^/]+)\/versions$/.exec(rest);
    if (list) {
      const set = decodeURIComponent(list[1]!);
      const versions = [...releases.values()].filter((b) => b.set === set && b.stage === 'release').map((b) => ({ version: b.version, integrity: b.integrity }));
      return versions.length > 0 ? json(200, { versions }) : json(404, { ok: false, code: 'no-set', reason: `no release of ${set}` });
    }
    const version = /^\/sets\/([^/]+)\/versions\/([^/]+)$/.exec(rest);
    if (version) {
      const bundle = releases.get(`${decodeURIComponent(version[1]!)}@${decodeURIComponent(version[2]!)}`);
      // As the forge does: releases only; head builds come in envelopes.
      if (!bundle || bundle.stage !== 'release') return json(404, { ok: false, code: 'release.unknown', reason: 'unknown version' });
      return json(200, `{"bundle":${canonicalJson(bundle)},"signatures":${JSON.stringify([signIntegrity(key, bundle.integrity)])}}`);
    }
    if (rest === '/receivers') {
      const parsed = JSON.parse(body || '{}') as Record<string, unknown>;
      const id = String(parsed['instanceId']);
      if (req.method === 'DELETE') receivers.delete(id);
      else receivers.set(id, parsed);
      return json(200, { ok: true });
    }
    return json(404, { ok: false, code: 'not-found', reason: rest });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const forge: FakeForge = {
    url, key, token, project, requests, receivers,
    envelope(channel, bundles, rollouts = {}, opts = {}) {
      return signEnvelope([opts.key ?? key], {
        format: ENVELOPE_FORMAT, id: `env-${randomUUID()}`, forge: 'fake-forge', project, channel, bundles, rollouts,
      });
    },
    serve(channel, payload) {
      const body = typeof payload === 'string' ? payload : canonicalJson(payload);
      const envelope = (typeof payload === 'string' ? JSON.parse(payload) : payload) as Envelope;
      envelopes.set(channel, { envelope, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
    },
    release(...bundles) {
      for (const b of bundles) releases.set(`${b.set}@${b.version}`, b);
    },
    publish(channel, bundles, rollouts = {}) {
      forge.release(...bundles);
      const envelope = forge.envelope(channel, bundles, rollouts);
      const body = canonicalJson(envelope);
      envelopes.set(channel, { envelope, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
      return envelope;
    },
    async push(target, payload, opts = {}) {
      const body = Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
      const id = opts.id ?? `msg_${randomUUID()}`;
      const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
      const res = await fetch(target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${opts.token ?? token}`,
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': opts.signature ?? signWebhook(opts.key ?? key, { id, timestamp, body }),
        },
        body,
      });
      const text = await res.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        parsed = { raw: text };
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    down: () => void (isDown = true),
    up: () => void (isDown = false),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  return forge;
}
