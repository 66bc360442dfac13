/**
 * Fuzzing what anyone on the network can reach (issue 14, "Measure"): `POST /webhooks/github`,
 * `POST /webhooks/git` of a real forge with something published, and the push endpoint of a
 * real LIVE receiver (@anvil/client's `listen()`) serving it. Bodies are random bytes, GitHub's
 * own example payloads, the hook's and the forge's real requests — truncated, bit-flipped,
 * spliced, re-typed, nested deep — under wrong, missing, foreign or replayed signatures, odd
 * content types and encodings, huge headers, replayed delivery ids and other methods.
 *
 * Whatever comes: never a 5xx; the audit log and the store of deliveries do not grow; and
 * nothing served changes — the forge's envelope ETags and the receiver's rendered prompts are
 * the same before and after.
 *
 * The cases come from a seeded PRNG: a failure prints its seed, and
 * `ANVIL_FUZZ_SEED=<seed> npx mocha server/test/webhooks/intake-fuzz.test.ts` replays it
 * (`ANVIL_FUZZ_RUNS` sets how many requests; default 3,000).
 */
import { createHmac, randomInt, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createClient, type AnvilClient } from '@anvil/client';
import { signWebhook } from '@anvil/content-schema';
import { GITHUB_REPOSITORY, GITHUB_SECRET, GIT_SECRET, startPublishedForge, type PublishedForge } from '../support/published-forge.ts';
import { allGithubExamples, type Json } from './webhook-support.ts';
import { Random } from '../support/seeded-random.ts';

const SEED = Number(process.env['ANVIL_FUZZ_SEED'] ?? randomInt(2 ** 31));
const RUNS = Number(process.env['ANVIL_FUZZ_RUNS'] ?? 3_000);
const CONCURRENCY = 12;
/** The receiver's body limit, small so that an oversized push is cheap to send. */
const RECEIVER_MAX_BODY = 256 * 1024;

type Target = 'github' | 'git' | 'receiver';

interface Case {
  target: Target;
  method: string;
  headers: Record<string, string>;
  body?: Buffer | undefined;
  /** What the generator did, for the failure message. */
  note: string;
  /** Oversized bodies and headers: the server may close the connection instead of answering. */
  mayDrop?: boolean;
}

/** A real request, captured, that the fuzzer mutates and replays. */
interface Captured {
  body: Buffer;
  headers: Record<string, string>;
}

// ——— body mutations ———

function randomJsonValue(r: Random, depth = 0): unknown {
  switch (r.int(depth > 3 ? 6 : 9)) {
    case 0: return null;
    case 1: return r.chance(0.5);
    case 2: return r.pick([0, -1, 1e308, -1e-308, 2 ** 53 + 1, 0.1]);
    case 3: return r.text(r.int(40));
    case 4: return r.pick(['', 'refs/heads/main', '0'.repeat(40), 'acme', GITHUB_REPOSITORY, '__proto__', '../../etc/passwd', '{{constructor}}']);
    case 5: return 'x'.repeat(r.pick([1_000, 70_000]));
    case 6: return Array.from({ length: r.int(4) }, () => randomJsonValue(r, depth + 1));
    case 7: return Object.fromEntries(Array.from({ length: r.int(4) }, () => [r.pick(['__proto__', 'constructor', 'project', 'delivery', 'updates', 'repository', 'full_name', 'ref', r.text(6)]), randomJsonValue(r, depth + 1)]));
    default: return { __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } };
  }
}

/** Changes one random place of a parsed JSON value: replace, delete, or add a key. */
function mutateJson(r: Random, value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return randomJsonValue(r);
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  if (entries.length === 0 || r.chance(0.2)) return randomJsonValue(r);
  const [key, child] = r.pick(entries);
  const copy: Record<string | number, unknown> = Array.isArray(value) ? [...value] as unknown as Record<number, unknown> : { ...value };
  const roll = r.int(4);
  if (roll === 0) delete copy[key];
  else if (roll === 1) copy[key] = randomJsonValue(r);
  else if (roll === 2 && !Array.isArray(value)) copy[r.pick(['__proto__', 'constructor', 'prototype', r.text(5)])] = randomJsonValue(r);
  else copy[key] = mutateJson(r, child);
  return copy;
}

function mutateBody(r: Random, original: Buffer): { body: Buffer; note: string } {
  switch (r.int(12)) {
    case 0: return { body: original, note: 'the real body' };
    case 1: {
      const at = r.int(original.length);
      return { body: original.subarray(0, at), note: `truncated at ${at}` };
    }
    case 2: {
      const body = Buffer.from(original);
      const flips = 1 + r.int(8);
      for (let i = 0; i < flips && body.length > 0; i++) {
        const at = r.int(body.length);
        body[at] = body[at]! ^ (1 << r.int(8));
      }
      return { body, note: `${flips} bits flipped` };
    }
    case 3: {
      const at = r.int(original.length);
      const chunk = r.chance(0.5) ? r.bytes(1 + r.int(64)) : Buffer.from(r.pick(['"', '\\', '{', '}', '[', ']', ',', ':', 'null', '\u0000', '\uffff', '\ud800']));
      return { body: Buffer.concat([original.subarray(0, at), chunk, original.subarray(at)]), note: `${chunk.length} bytes inserted at ${at}` };
    }
    case 4: {
      const at = r.int(original.length);
      const n = 1 + r.int(64);
      return { body: Buffer.concat([original.subarray(0, at), original.subarray(at + n)]), note: `${n} bytes cut at ${at}` };
    }
    case 5: {
      let parsed: unknown;
      try {
        parsed = JSON.parse(original.toString('utf8'));
      } catch {
        parsed = {};
      }
      return { body: Buffer.from(JSON.stringify(mutateJson(r, parsed)) ?? 'null'), note: 'JSON mutated' };
    }
    case 6: return { body: r.bytes(r.int(4_096)), note: 'random bytes' };
    case 7: return { body: Buffer.from(r.pick(['[]', 'null', '"str"', '123', 'true', '{}', '{"a":1}{"b":2}', '\ufeff{}', ' ', '{"__proto__":{"x":1}}'])), note: 'another JSON type' };
    case 8: {
      const depth = r.pick([100, 5_000, 50_000]);
      return { body: Buffer.from(r.chance(0.5) ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`), note: `nested ${depth} deep` };
    }
    case 9: {
      // A key twice: which one wins must not decide anything the signature does not cover.
      const text = original.toString('utf8');
      return { body: Buffer.from(text.replace(/^\{/, `{"project":${JSON.stringify(r.pick(['acme', 'hello', 'nope']))},"repository":{"full_name":"${GITHUB_REPOSITORY}"},`)), note: 'keys duplicated' };
    }
    case 10: return { body: Buffer.alloc(0), note: 'empty' };
    default: return { body: Buffer.from(r.text(r.int(512))), note: 'random text' };
  }
}

// ——— header mutations ———

const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/vnd.github+json', 'APPLICATION/JSON', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', '*/*', 'json'];

function contentType(r: Random): Record<string, string> {
  if (r.chance(0.08)) return {};
  return { 'content-type': r.chance(0.75) ? 'application/json' : r.chance(0.8) ? r.pick(CONTENT_TYPES) : r.text(r.int(60)) };
}

function extraHeaders(r: Random): { headers: Record<string, string>; huge: boolean } {
  const headers: Record<string, string> = {};
  let huge = false;
  if (r.chance(0.05)) headers['content-encoding'] = r.pick(['gzip', 'deflate', 'br', 'identity', 'x-unknown']);
  if (r.chance(0.05)) headers['x-forwarded-for'] = r.pick(['127.0.0.1', '::1', r.text(30)]);
  if (r.chance(0.03)) {
    headers['x-padding'] = 'p'.repeat(r.pick([8_000, 20_000, 70_000]));
    huge = true;
  }
  if (r.chance(0.04)) headers[`x-${r.hex(8)}`] = r.text(r.int(200));
  return { headers, huge };
}

function sometimes(r: Random, p: number, value: () => string | undefined): string | undefined {
  return r.chance(p) ? value() : undefined;
}

function defined(headers: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined));
}

const KNOWN_EVENTS = ['push', 'create', 'release', 'pull_request', 'pull_request_review', 'ping', 'issues', 'star', 'delete'];

function githubCase(r: Random, examples: { event: string; payload: Json }[], ping: Captured): Case {
  const replay = r.chance(0.15);
  let original: Buffer;
  let event: string;
  if (replay) {
    original = ping.body;
    event = 'ping';
  } else {
    const example = r.pick(examples);
    const payload = structuredClone(example.payload);
    // Half of them for the real project's repository, the rest for whatever GitHub's examples name.
    if (r.chance(0.5) && typeof payload['repository'] === 'object' && payload['repository'] !== null) payload['repository'].full_name = r.chance(0.8) ? GITHUB_REPOSITORY : r.text(20);
    original = Buffer.from(JSON.stringify(payload));
    event = example.event;
  }
  const { body, note } = mutateBody(r, original);
  // The captured signature (a replay) is right for the captured body, which then must keep its delivery id.
  const { kind: signatureKind, value: signature } = signatureCase(r, GITHUB_SECRET, original, body,
    () => ['sha1=abc', 'sha256=', `sha256=${r.hex(63)}`, r.text(r.int(100)), `sha256=${r.hex(64).toUpperCase()}`],
    replay ? ping.headers['x-hub-signature-256'] : undefined);
  const validSignature = signature === ping.headers['x-hub-signature-256'] && body.equals(ping.body);
  const delivery = validSignature || (replay && r.chance(0.5))
    ? ping.headers['x-github-delivery']
    : sometimes(r, 0.93, () => r.chance(0.85) ? randomUUID() : r.pick(['', '../x', r.text(r.int(300)), 'a'.repeat(129), r.hex(8)]));
  const eventHeader = sometimes(r, 0.95, () => r.chance(0.7) ? event : r.chance(0.5) ? r.pick(KNOWN_EVENTS) : r.pick([r.text(r.int(70)), 'PUSH', 'a'.repeat(5_000), 'brand_new_event']));
  const extra = extraHeaders(r);
  return {
    target: 'github',
    method: r.chance(0.03) ? r.pick(['GET', 'PUT', 'DELETE', 'PATCH']) : 'POST',
    headers: defined({ ...contentType(r), 'x-github-event': eventHeader, 'x-github-delivery': delivery, 'x-hub-signature-256': signature, ...extra.headers }),
    body,
    note: `github ${event}${replay ? ' (captured)' : ''}: ${note}; signature #${signatureKind}`,
    mayDrop: extra.huge,
  };
}

/**
 * A webhook signature header of one of the kinds a sender gets wrong, or for a replay the
 * captured one, and which kind it is (for the case's note). The right secret is only ever used
 * over the body before it was mutated, never over a new body as sent.
 */
function signatureCase(
  r: Random, secret: string, original: Buffer, body: Buffer, malformed: () => string[], captured: string | undefined,
): { kind: number; value: string | undefined } {
  const kinds: (() => string | undefined)[] = [
    () => undefined,
    () => '',
    () => `sha256=${r.hex(64)}`,
    () => `sha256=${createHmac('sha256', 'not the secret').update(body).digest('hex')}`,
    () => r.pick(malformed()),
    () => `sha256=${createHmac('sha256', secret).update(original).digest('hex')}${body.equals(original) ? '0' : ''}`,
    ...(captured === undefined ? [] : [() => captured]),
  ];
  const kind = r.int(kinds.length);
  return { kind, value: kinds[kind]!() };
}

function gitCase(r: Random, captured: Captured): Case {
  const replay = r.chance(0.2);
  let original: Buffer;
  if (replay) {
    original = captured.body;
  } else {
    const delivery = randomUUIDFrom(r);
    const project = r.pick(['acme', 'acme', 'hello', 'nope', '', 'ACME', r.text(12), '__proto__', 'constructor']);
    const updates = Array.from({ length: r.int(4) }, () => ({
      ref: r.pick(['refs/heads/main', 'refs/tags/core@9.9.9', 'refs/notes/x', 'main', r.text(20)]),
      before: r.pick(['0'.repeat(40), r.hex(40), r.hex(64), 'xyz']),
      after: r.pick(['0'.repeat(40), r.hex(40), r.hex(64), 'xyz']),
      ...(r.chance(0.3) ? { forced: r.pick([true, false, 'yes']) } : {}),
    }));
    original = Buffer.from(JSON.stringify({ project, delivery, updates }));
  }
  const { body, note } = mutateBody(r, original);
  // The captured signature (a replay): the delivery id inside the body is signed, so a replay is a duplicate at most.
  const { kind: signatureKind, value: signature } = signatureCase(r, GIT_SECRET, original, body,
    () => ['sha1=abc', 'sha256=', r.text(r.int(100)), ` sha256=${r.hex(64)} `],
    replay ? captured.headers['x-anvil-signature-256'] : undefined);
  const delivery = replay && r.chance(0.6)
    ? captured.headers['x-anvil-delivery']
    : sometimes(r, 0.93, () => r.chance(0.85) ? randomUUIDFrom(r) : r.pick(['', r.text(r.int(200)), 'a'.repeat(200)]));
  const extra = extraHeaders(r);
  return {
    target: 'git',
    method: r.chance(0.03) ? r.pick(['GET', 'PUT', 'DELETE']) : 'POST',
    headers: defined({ ...contentType(r), 'x-anvil-delivery': delivery, 'x-anvil-signature-256': signature, ...extra.headers }),
    body,
    note: `git${replay ? ' (captured)' : ''}: ${note}; signature #${signatureKind}`,
    mayDrop: extra.huge,
  };
}

function receiverCase(r: Random, push: Captured, token: string): Case {
  if (r.chance(0.2)) {
    // The captured push replayed: as it was (an idempotent no-op), with its body changed, or
    // with one header changed (the token passes; the signature or window then fails).
    const { body, note } = r.chance(0.5) ? { body: push.body, note: 'as captured' } : mutateBody(r, push.body);
    const headers = { ...push.headers };
    const changed = r.chance(0.4) ? r.pick(['webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type']) : undefined;
    if (changed !== undefined) headers[changed] = changed === 'webhook-timestamp' ? String(Number(headers[changed]) + r.pick([-1, 1, 400, -400])) : `${headers[changed]}${r.pick(['x', '0', ' ', '='])}`;
    return { target: 'receiver', method: 'POST', headers, body, note: `receiver push replayed: ${note}${changed ? `; ${changed} changed` : ''}` };
  }
  const { body, note } = mutateBody(r, push.body);
  const now = Math.floor(Date.now() / 1000);
  const authorization = r.pick([
    () => push.headers['authorization'],
    () => push.headers['authorization'],
    () => undefined,
    () => `Bearer ${token}x`,
    () => `Bearer anvil_${r.text(43).replace(/\s/g, '_')}`,
    () => 'Basic dXNlcjpwYXNz',
    () => `Bearer ${r.text(r.int(100))}`,
  ])();
  const id = r.chance(0.5) ? push.headers['webhook-id'] : sometimes(r, 0.9, () => r.chance(0.8) ? `msg_${r.hex(20)}` : r.text(r.int(300)));
  const timestamp = r.chance(0.5) ? push.headers['webhook-timestamp'] : sometimes(r, 0.9, () => String(r.pick([now, now - 600, now + 600, 0, -1, 1e20, Number.NaN])));
  const signature = r.pick([
    () => push.headers['webhook-signature'],
    () => push.headers['webhook-signature'],
    () => undefined,
    () => `v1a,${r.bytes(64).toString('base64')}`,
    () => `v1,${r.bytes(32).toString('base64')}`,
    () => `${push.headers['webhook-signature']} v1a,${r.bytes(64).toString('base64')}`,
    () => r.text(r.int(200)),
  ])();
  const extra = extraHeaders(r);
  return {
    target: 'receiver',
    method: r.chance(0.04) ? r.pick(['GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS']) : 'POST',
    headers: defined({ ...contentType(r), authorization, 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature, ...extra.headers }),
    body,
    note: `receiver push: ${note}`,
    mayDrop: extra.huge,
  };
}

/** A UUID drawn from the PRNG, so that the cases are the seed's alone. */
function randomUUIDFrom(r: Random): string {
  const h = r.hex(32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

describe(`fuzzing the webhook and push endpoints (seed ${SEED})`, function () {
  this.timeout(120_000);
  let published: PublishedForge;
  let client: AnvilClient;
  let receiverUrl: string;
  let cacheDir: string;
  const pingDelivery = `fuzz-ping-${SEED}`;
  const gitDelivery = `fuzz-git-${SEED}`;

  before(async () => {
    published = await startPublishedForge();
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'anvil-fuzz-receiver-'));
    client = await createClient({
      forge: published.forge.url, project: 'acme', token: published.tokens.acme, channel: 'development', cacheDir,
      instanceId: 'fuzz-receiver', pollMs: 0, heartbeatMs: 3_600_000, readyTimeoutMs: 10_000, maxBodyBytes: RECEIVER_MAX_BODY,
    });
    // Registration may be refused (a loopback push URL); the receiver serves what it pulled either way.
    client.on('error', () => undefined);
    expect(await client.ready).to.equal(true);
    receiverUrl = (await client.listen(0)).url;
  });
  after(async () => {
    await client?.close();
    await published?.close();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it('never answers 5xx, records nothing unauthenticated, and changes nothing served', async () => {
    console.log(`      fuzz seed ${SEED} (replay: ANVIL_FUZZ_SEED=${SEED}), ${RUNS} requests`);
    const { forge, tokens } = published;
    const auth = { authorization: `Bearer ${tokens.acme}` };

    // Real requests, sent once and accepted, to be replayed and mutated below.
    const pingBody = (() => {
      const payload = allGithubExamples().find((e) => e.event === 'ping' && e.payload['repository'] !== undefined)!.payload;
      payload['repository'].full_name = GITHUB_REPOSITORY;
      return Buffer.from(JSON.stringify(payload));
    })();
    const ping: Captured = {
      body: pingBody,
      headers: {
        'content-type': 'application/json', 'x-github-event': 'ping', 'x-github-delivery': pingDelivery,
        'x-hub-signature-256': `sha256=${createHmac('sha256', GITHUB_SECRET).update(pingBody).digest('hex')}`,
      },
    };
    const head = await published.repo.revParse('HEAD');
    const gitBody = Buffer.from(JSON.stringify({ project: 'acme', delivery: gitDelivery, updates: [{ ref: 'refs/heads/main', before: head, after: head }] }));
    const git: Captured = {
      body: gitBody,
      headers: { 'content-type': 'application/json', 'x-anvil-delivery': gitDelivery, 'x-anvil-signature-256': `sha256=${createHmac('sha256', GIT_SECRET).update(gitBody).digest('hex')}` },
    };
    for (const [route, captured] of [['github', ping], ['git', git]] as const) {
      const res = await fetch(`${forge.url}/webhooks/${route}`, { method: 'POST', headers: captured.headers, body: captured.body });
      expect(res.status, `the real ${route} delivery`).to.equal(202);
    }
    const envelope = await fetch(`${forge.url}/api/v1/projects/acme/envelope?channel=development`, { headers: auth });
    expect(envelope.status).to.equal(200);
    const pushBody = Buffer.from(await envelope.arrayBuffer());
    const pushId = `msg_fuzz_${SEED}`;
    const pushTimestamp = Math.floor(Date.now() / 1000);
    const push: Captured = {
      body: pushBody,
      headers: {
        'content-type': 'application/json', authorization: `Bearer ${tokens.acme}`, 'webhook-id': pushId, 'webhook-timestamp': String(pushTimestamp),
        'webhook-signature': signWebhook(forge.ctx.keys.active, { id: pushId, timestamp: pushTimestamp, body: pushBody }),
      },
    };
    const realPush = await fetch(receiverUrl, { method: 'POST', headers: push.headers, body: push.body });
    expect(realPush.status, 'the real push').to.equal(200);
    await forge.settle();

    // What must not change.
    const snapshot = async () => {
      const etags: Record<string, string | null> = {};
      for (const channel of ['production', 'staging', 'development']) {
        etags[channel] = (await fetch(`${forge.url}/api/v1/projects/acme/envelope?channel=${channel}`, { headers: auth })).headers.get('etag');
      }
      const count = async (table: 'audit_log' | 'webhook_deliveries' | 'receivers' | 'deliveries') =>
        Number((await forge.ctx.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
      return {
        etags,
        rows: { audit: await count('audit_log'), webhooks: await count('webhook_deliveries'), receivers: await count('receivers'), deliveries: await count('deliveries') },
        served: { sets: client.status().sets, tone: client.prompt('tone', {}), answer: client.prompt('answer', { question: 'why?' }) },
      };
    };
    const before = await snapshot();
    expect(before.etags['development']).to.be.a('string');
    expect(before.served.answer).to.equal('Answer: why?');
    let updates = 0;
    client.on('update', () => void updates++);

    const r = new Random(SEED);
    const examples = allGithubExamples();
    const cases: Case[] = [];
    for (let i = 0; i < RUNS; i++) {
      const target = r.pick<Target>(['github', 'git', 'receiver']);
      cases.push(target === 'github' ? githubCase(r, examples, ping) : target === 'git' ? gitCase(r, git) : receiverCase(r, push, tokens.acme));
    }
    // And once each, bodies over each endpoint's limit.
    cases.push(
      { target: 'github', method: 'POST', headers: { ...ping.headers, 'x-github-delivery': randomUUID() }, body: Buffer.alloc(26 * 1024 * 1024, 0x20), note: 'github: 26 MB', mayDrop: true },
      { target: 'git', method: 'POST', headers: { ...git.headers, 'x-anvil-delivery': randomUUID() }, body: Buffer.alloc(6 * 1024 * 1024, 0x20), note: 'git: 6 MB', mayDrop: true },
      { target: 'receiver', method: 'POST', headers: push.headers, body: Buffer.alloc(RECEIVER_MAX_BODY + 1, 0x20), note: 'receiver: over its limit', mayDrop: true },
    );

    const urlOf: Record<Target, string> = { github: `${forge.url}/webhooks/github`, git: `${forge.url}/webhooks/git`, receiver: receiverUrl };
    const failures: string[] = [];
    const statuses = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < cases.length; i = next++) {
        const c = cases[i]!;
        const body = c.method === 'GET' || c.method === 'HEAD' ? undefined : c.body;
        try {
          const res = await fetch(urlOf[c.target], { method: c.method, headers: c.headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(20_000) });
          const text = await res.text();
          const key = `${c.target} ${res.status}`;
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
          if (res.status >= 500) failures.push(`#${i} ${c.note}: ${res.status} ${text.slice(0, 300)}`);
          // A refused signature names nothing, whatever the body claimed.
          if (c.target !== 'receiver' && res.status === 401 && /acme|hello/i.test(text)) failures.push(`#${i} ${c.note}: a 401 names a project: ${text.slice(0, 300)}`);
        } catch (err) {
          if (!c.mayDrop) failures.push(`#${i} ${c.note}: no answer (${(err as Error).message}${(err as { cause?: Error }).cause ? `: ${(err as { cause: Error }).cause.message}` : ''})`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await forge.settle();

    const summary = [...statuses].sort().map(([k, n]) => `${k}×${n}`).join(', ');
    console.log(`      answers: ${summary}`);
    expect(failures, `seed ${SEED} (ANVIL_FUZZ_SEED=${SEED} replays it); answers: ${summary}\n${failures.slice(0, 20).join('\n')}`).to.deep.equal([]);
    const after = await snapshot();
    expect(after, `seed ${SEED}: what is served or recorded changed`).to.deep.equal(before);
    expect(updates, `seed ${SEED}: the receiver applied something`).to.equal(0);
    // Every endpoint saw refusals, and they were counted.
    for (const target of ['github', 'git', 'receiver']) expect(summary, target).to.match(new RegExp(`${target} 401`));
    const metrics = await forge.ctx.metrics.registry.metrics();
    expect(metrics).to.match(/anvil_webhook_rejections_total\{source="github",reason="signature-invalid"\} [1-9]/);
    expect(metrics).to.match(/anvil_webhook_rejections_total\{source="git",reason="signature-invalid"\} [1-9]/);
  });
});
