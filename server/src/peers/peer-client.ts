/**
 * A small client of a peer forge's API (issue 17, forge peering; http/peer-routes.ts serves it):
 * its projects, a project's sets, a set's releases and a release's bundle, and a rendering on
 * demand. Every call presents the peer's token, is bounded in time and size, and fails with an
 * AnvilError whose code says what went wrong (`peer.unreachable`, `peer.timeout`,
 * `peer.unauthorized`, `peer.forbidden`, `peer.not-found`, `peer.refused`, `peer.failed`,
 * `peer.bad-answer`) and names the peer, never the token.
 *
 * What a peer answers is untrusted: every answer is checked for its shape before it is used, and
 * text from it is only ever shown escaped. Reads are held for a few seconds (`cacheMs`) so that a
 * page and its reload do not ask the peer twice; renderings never are. Nothing is written down.
 */
import { LRUCache } from 'lru-cache';
import { AnvilError, validateBundle, type Bundle } from '@anvil/content-schema';
import type { PeerSet } from '../http/peer-routes.ts';
import type { KnownForge } from './known-forge.ts';

export const PEER_TIMEOUT_MS = 5_000;
export const PEER_CACHE_MS = 5_000;
/** The largest answer read from a peer: a release bundle is the big one. */
export const PEER_MAX_ANSWER_BYTES = 32 * 1024 * 1024;
const REASON_MAX = 300;

export interface PeerClientOptions {
  timeoutMs?: number | undefined;
  /** How long a read is held (0: not at all). */
  cacheMs?: number | undefined;
  fetch?: typeof fetch | undefined;
}

export interface PeerProject {
  name: string;
  /** Sets with at least one release. */
  releasedSets: number;
}

/** A set as the peer's API lists it (http/peer-routes.ts, the one definition of that answer). */
export type { PeerSet } from '../http/peer-routes.ts';

export interface PeerSetPage {
  project: string;
  sets: PeerSet[];
  paging: { page: number; pages: number; total: number };
}

export interface PeerRelease {
  version: string;
  channels: string[];
}

export interface PeerRendering {
  text: string;
  /** Prompts with roles: one entry per message, as the renderer made them. */
  messages?: unknown[] | undefined;
  missing: string[];
  /** The sample inputs the peer used when none were sent. */
  sampleVars?: Record<string, unknown> | undefined;
}

export interface RenderOnPeer {
  prompt: string;
  variant?: string | undefined;
  vars?: Record<string, unknown> | undefined;
}

export interface PeerClient {
  readonly forge: KnownForge;
  projects(): Promise<{ forge: string; projects: PeerProject[] }>;
  sets(project: string, page?: number): Promise<PeerSetPage>;
  releases(project: string, set: string): Promise<PeerRelease[]>;
  bundle(project: string, set: string, version: string): Promise<Bundle>;
  render(project: string, set: string, version: string, request: RenderOnPeer): Promise<PeerRendering>;
}

export function peerClient(forge: KnownForge, options: PeerClientOptions = {}): PeerClient {
  const timeoutMs = options.timeoutMs ?? PEER_TIMEOUT_MS;
  const cacheMs = options.cacheMs ?? PEER_CACHE_MS;
  const doFetch = options.fetch ?? fetch;
  const cache = cacheMs > 0 ? new LRUCache<string, { value: unknown }>({ max: 200, ttl: cacheMs }) : undefined;
  const at = `forge "${forge.name}" (${forge.url})`;

  async function call(method: 'GET' | 'POST', apiPath: string, body?: unknown): Promise<unknown> {
    const url = `${forge.url}${apiPath}`;
    let res: Response;
    try {
      res = await doFetch(url, {
        method,
        headers: { authorization: `Bearer ${forge.token}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw transportError(err, at, timeoutMs);
    }
    let text: string;
    try {
      const length = Number(res.headers.get('content-length') ?? 0);
      if (length > PEER_MAX_ANSWER_BYTES) throw new Error('too large');
      text = await res.text();
      if (text.length > PEER_MAX_ANSWER_BYTES) throw new Error('too large');
    } catch (err) {
      if ((err as Error).message === 'too large') throw new AnvilError('peer.bad-answer', `${at} answered more than ${PEER_MAX_ANSWER_BYTES} bytes`);
      throw transportError(err, at, timeoutMs);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) throw statusError(res.status, json, at, forge);
    if (json === undefined) throw new AnvilError('peer.bad-answer', `${at} did not answer JSON (HTTP ${res.status})`, { hint: 'check the URL in knownForges: it is the peer forge\'s base URL' });
    return json;
  }

  async function read<T>(apiPath: string, parse: (json: unknown) => T): Promise<T> {
    const held = cache?.get(apiPath);
    if (held) return held.value as T;
    const value = parse(await call('GET', apiPath));
    cache?.set(apiPath, { value });
    return value;
  }

  const bad = (what: string) => new AnvilError('peer.bad-answer', `${at} answered ${what} in an unexpected shape`, { hint: 'is it an Anvil forge of a version that serves peers?' });
  const seg = encodeURIComponent;

  return {
    forge,
    projects: () => read('/api/v1/projects', (json) => {
      const list = field(json, 'projects');
      if (!Array.isArray(list)) throw bad('its projects');
      return {
        forge: text(field(json, 'forge'), 200) ?? forge.name,
        projects: list.slice(0, 1_000).map((p) => {
          const name = text(field(p, 'name'), 128);
          if (name === undefined) throw bad('its projects');
          return { name, releasedSets: count(field(p, 'releasedSets')) ?? 0 };
        }),
      };
    }),
    sets: (project, page = 1) => read(`/api/v1/projects/${seg(project)}/sets?page=${page}`, (json) => {
      const list = field(json, 'sets');
      const paging = field(json, 'paging');
      if (!Array.isArray(list)) throw bad('its sets');
      return {
        project,
        sets: list.slice(0, 1_000).map((s) => peerSet(s, () => bad('its sets'))),
        paging: { page: count(field(paging, 'page')) ?? 1, pages: count(field(paging, 'pages')) ?? 1, total: count(field(paging, 'total')) ?? list.length },
      };
    }),
    releases: (project, set) => read(`/api/v1/projects/${seg(project)}/sets/${seg(set)}/versions`, (json) => {
      const list = field(json, 'versions');
      if (!Array.isArray(list)) throw bad('the set\'s releases');
      return list.slice(0, 10_000).map((v) => {
        const version = text(field(v, 'version'), 128);
        const channels = field(v, 'channels');
        if (version === undefined) throw bad('the set\'s releases');
        return { version, channels: Array.isArray(channels) ? channels.filter((c): c is string => typeof c === 'string').slice(0, 10) : [] };
      });
    }),
    bundle: (project, set, version) => read(`/api/v1/projects/${seg(project)}/sets/${seg(set)}/versions/${seg(version)}`, (json) => {
      const checked = validateBundle(field(json, 'bundle'));
      if (!checked.ok) throw new AnvilError('peer.bad-answer', `${at} answered a bundle of ${set}@${version} that is not valid: ${checked.errors[0]?.message.slice(0, REASON_MAX) ?? 'unknown'}`);
      const bundle = checked.value;
      if (bundle.set !== set || bundle.version !== version) throw new AnvilError('peer.bad-answer', `${at} answered ${bundle.set}@${bundle.version} when asked for ${set}@${version}`);
      return bundle;
    }),
    async render(project, set, version, request) {
      const json = await call('POST', `/api/v1/projects/${seg(project)}/sets/${seg(set)}/versions/${seg(version)}/render`, request);
      const rendered = text(field(json, 'text'), 4 * 1024 * 1024);
      if (rendered === undefined) throw bad('the rendering');
      const missing = field(json, 'missing');
      const messages = field(json, 'messages');
      const sampleVars = field(json, 'sampleVars');
      return {
        text: rendered,
        missing: Array.isArray(missing) ? missing.filter((m): m is string => typeof m === 'string').slice(0, 100) : [],
        ...(Array.isArray(messages) ? { messages } : {}),
        ...(isObject(sampleVars) ? { sampleVars } : {}),
      };
    },
  };
}

function peerSet(s: unknown, bad: () => AnvilError): PeerSet {
  const name = text(field(s, 'name'), 128);
  if (name === undefined) throw bad();
  const latest = field(s, 'latest');
  const version = text(field(latest, 'version'), 128);
  const releasedAt = text(field(latest, 'releasedAt'), 64);
  return {
    name, mode: text(field(s, 'mode'), 32) ?? null, prompts: count(field(s, 'prompts')) ?? null,
    latest: version !== undefined && releasedAt !== undefined ? { version, releasedAt } : null,
    updatedAt: text(field(s, 'updatedAt'), 64) ?? null,
  };
}

function transportError(err: unknown, at: string, timeoutMs: number): AnvilError {
  const e = err as { name?: string; cause?: { code?: string; message?: string }; message?: string };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return new AnvilError('peer.timeout', `${at} did not answer within ${timeoutMs / 1000} s`, { hint: 'the peer may be down or overloaded; try again later' });
  }
  const why = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  return new AnvilError('peer.unreachable', `${at} cannot be reached (${why.slice(0, 100)})`, { hint: 'check that the peer is up and that its URL in knownForges is right' });
}

function statusError(status: number, json: unknown, at: string, forge: KnownForge): AnvilError {
  // The peer's own words, bounded: they are shown (escaped) to whoever browses.
  const code = text(field(json, 'code'), 60);
  const reason = text(field(json, 'reason'), REASON_MAX);
  const said = reason !== undefined ? `: ${code ? `${code}: ` : ''}${reason}` : '';
  if (status === 401) return new AnvilError('peer.unauthorized', `${at} refused this forge's token (HTTP 401)${said}`, { hint: `check ${forge.tokenEnv}: the peer's operator makes one with \`anvil token create --project <p> --scope read\`` });
  if (status === 403) return new AnvilError('peer.forbidden', `${at} does not allow this (HTTP 403)${said}`, { hint: `the token in ${forge.tokenEnv} is for another project, or may not do this` });
  if (status === 404) return new AnvilError('peer.not-found', `${at} has no such thing (HTTP 404)${said}`);
  if (status >= 400 && status < 500) return new AnvilError('peer.refused', `${at} refused the request (HTTP ${status})${said}`);
  return new AnvilError('peer.failed', `${at} failed (HTTP ${status})${said}`, { hint: 'the peer is having trouble; try again later' });
}

function field(value: unknown, key: string): unknown {
  return isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown, max: number): string | undefined {
  return typeof value === 'string' ? value.slice(0, max) : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
