/**
 * The forge's MCP endpoint (issue 17), driven by the official MCP SDK client over Streamable
 * HTTP against a real forge on loopback: a channel's prompts listed and rendered as
 * `anvil-live mcp` does, behind the same token gate as the envelope; and its sessions: the
 * server-to-client stream on which a host is told `notifications/prompts/list_changed` when a
 * publish changes what the channel serves, and the refusal of session ids that are not its own.
 * (Across replicas on PostgreSQL: mcp-replicas.test.ts.)
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError, PromptListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { createAccessToken, revokeAccessToken } from '../../src/access/access-tokens.ts';
import { mcpStreamHubOf } from '../../src/deliver/mcp-stream-hub.ts';
import { readServedState } from '../../src/deliver/mcp-served-state.ts';
import { secretBox } from '../../src/forge/secret-box.ts';
import { mintMcpSessionId, readMcpSessionId } from '../../src/http/mcp-session-id.ts';
import { collectStream } from '../support/collect-stream.ts';
import { ADMIN_TOKEN, startPublishedForge, type PublishedForge } from '../support/published-forge.ts';
import { until } from '../support/until.ts';

describe('forge: prompts over MCP (Streamable HTTP)', function () {
  this.timeout(60_000);
  let published: PublishedForge;
  let base: string;
  const clients: Client[] = [];
  const streams: RawStream[] = [];

  before(async () => {
    published = await startPublishedForge();
    base = `${published.forge.url}/api/v1/projects/acme/mcp`;
  });
  after(async () => {
    await published?.close();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    for (const s of streams.splice(0)) s.abort();
  });

  async function connect(channel: string, token: string | null = published.tokens.acme): Promise<Client> {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}?channel=${channel}`), {
      requestInit: token === null ? {} : { headers: { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'anvil-test', version: '1.0.0' });
    clients.push(client);
    await client.connect(transport);
    return client;
  }

  it('lists the channel\'s prompts as set/id with arguments and versions, and renders one with its arguments', async () => {
    const client = await connect('development');
    expect(client.getServerCapabilities()?.prompts).to.not.equal(undefined);
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).to.deep.equal(['core/tone', 'support/answer']);
    const [tone, answer] = prompts;
    expect(tone).to.deep.include({ description: 'house tone', arguments: [] });
    expect(tone!._meta).to.include({ set: 'core', version: '1.0.0', variant: null });
    expect(answer!.arguments).to.deep.equal([{ name: 'question', required: true }]);
    expect(answer!._meta).to.include({ set: 'support', version: published.headVersion });

    const got = await client.getPrompt({ name: 'support/answer', arguments: { question: 'Why?' } });
    expect(got.messages).to.deep.equal([{ role: 'user', content: { type: 'text', text: 'Answer: Why?' } }]);
    expect(got._meta).to.include({ set: 'support', version: published.headVersion });
    const row = await published.forge.ctx.db.selectFrom('channel_heads').select('integrity')
      .where('project', '=', 'acme').where('channel', '=', 'development').where('set_name', '=', 'support').executeTakeFirstOrThrow();
    expect(got._meta?.['integrity']).to.equal(row.integrity);
  });

  it('answers a missing argument and an unknown prompt with MCP errors', async () => {
    const client = await connect('development');
    const failure = (name: string, args: Record<string, string>) => client.getPrompt({ name, arguments: args }).then(() => undefined, (err: unknown) => err as McpError);
    const missing = await failure('support/answer', {});
    expect(missing).to.be.instanceOf(McpError);
    expect(missing!.code).to.equal(-32602);
    expect(missing!.message).to.include('mcp.missing-argument').and.include('"question"');
    const unknown = await failure('support/answr', { question: 'x' });
    expect(unknown!.code).to.equal(-32602);
    expect(unknown!.message).to.include('mcp.unknown-prompt').and.include('support/answer');
  });

  it('needs a token of the project, as the envelope does: 401 without one; 400 without a channel', async () => {
    let refused: unknown;
    try {
      await connect('development', null);
    } catch (err) {
      refused = err;
    }
    expect(refused, 'connecting without a token should fail').to.be.instanceOf(StreamableHTTPError);
    expect((refused as StreamableHTTPError).code).to.equal(401);
    expect((refused as Error).message).to.include('auth.missing');

    const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } } });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const anonymous = await fetch(`${base}?channel=production`, { method: 'POST', headers, body: initialize });
    expect(anonymous.status).to.equal(401);
    expect(anonymous.headers.get('www-authenticate')).to.equal('Bearer realm="anvil"');
    expect(await anonymous.json()).to.include({ ok: false, code: 'auth.missing' });
    const otherProject = await fetch(`${base}?channel=production`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${published.tokens.hello}` }, body: initialize });
    const envelope = await fetch(`${published.forge.url}/api/v1/projects/acme/envelope?channel=production`, { headers: { authorization: `Bearer ${published.tokens.hello}` } });
    expect(otherProject.status).to.equal(envelope.status).and.to.be.oneOf([401, 403]);
    expect(await otherProject.json()).to.deep.equal(await envelope.json());

    const noChannel = await fetch(base, { method: 'POST', headers: { ...headers, authorization: `Bearer ${published.tokens.acme}` }, body: initialize });
    expect(noChannel.status).to.equal(400);
    expect(await noChannel.json()).to.include({ code: 'request.channel' });
    const stream = await fetch(`${base}?channel=production`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${published.tokens.acme}` } });
    expect(stream.status, 'a stream without a session').to.equal(400);
    expect(await stream.json()).to.include({ code: 'mcp.session-missing' });
  });

  it('serves only what the channel publishes: production has the release, not the head build', async () => {
    const client = await connect('production');
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).to.deep.equal(['core/tone']);
    const got = await client.getPrompt({ name: 'core/tone' });
    expect(got.messages).to.deep.equal([{ role: 'user', content: { type: 'text', text: 'Be kind and brief.' } }]);
  });

  // Sessions and the server-to-client stream. The tests below publish new head builds of
  // `support` on development, so they come after those that read its first one.

  const LIST = { jsonrpc: '2.0', id: 2, method: 'prompts/list', params: {} };
  const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } } };
  const jsonHeaders = (token: string, session?: string) => ({
    'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}`,
    ...(session === undefined ? {} : { 'mcp-session-id': session }),
  });
  const post = (channel: string, token: string, body: unknown, session?: string) =>
    fetch(`${base}?channel=${channel}`, { method: 'POST', headers: jsonHeaders(token, session), body: JSON.stringify(body) });

  /** Initializes a session as a host does, and answers its id. */
  async function initialize(channel: string, token: string): Promise<string> {
    const res = await post(channel, token, INITIALIZE);
    expect(res.status).to.equal(200);
    const session = res.headers.get('mcp-session-id');
    expect(session, 'initialize answers an Mcp-Session-Id').to.be.a('string');
    return session!;
  }

  interface RawStream {
    status: number;
    /** Everything read so far. */
    text(): string;
    /** Resolves when the forge ends the stream. */
    ended: Promise<void>;
    abort(): void;
  }

  /** `GET …/mcp` read as it arrives, as an SSE client would. */
  async function openStream(channel: string, token: string, session: string | undefined, extra: Record<string, string> = {}): Promise<RawStream> {
    const abort = new AbortController();
    const res = await fetch(`${base}?channel=${channel}`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${token}`, ...(session ? { 'mcp-session-id': session } : {}), ...extra },
      signal: abort.signal,
    });
    const { text, ended } = collectStream(res);
    const stream = { status: res.status, text, ended, abort: () => abort.abort() };
    if (res.status !== 200) await ended;
    else streams.push(stream);
    return stream;
  }

  const LIST_CHANGED = 'data: {"jsonrpc":"2.0","method":"notifications/prompts/list_changed"}\n\n';
  let revision = 0;

  /** A new head build of `support` on development, as a saved edit makes it; answers its version. */
  async function publishSupport(): Promise<string> {
    revision += 1;
    await published.repo.commit(`support: revision ${revision}`, { 'prompts/support/answer.md': `---\ninput:\n  schema:\n    question: string\n---\nAnswer (revision ${revision}): {{question}}` });
    await published.forge.sync('acme');
    const head = await published.forge.ctx.db.selectFrom('channel_heads').select('version')
      .where('project', '=', 'acme').where('channel', '=', 'development').where('set_name', '=', 'support').executeTakeFirstOrThrow();
    return head.version;
  }

  it('keeps answering POSTs that carry no session (hosts that ignore the header), and gives initialize a session id', async () => {
    const listed = await post('development', published.tokens.acme, LIST);
    expect(listed.status).to.equal(200);
    const body = await listed.json() as { result: { prompts: { name: string }[] } };
    expect(body.result.prompts.map((p) => p.name)).to.deep.equal(['core/tone', 'support/answer']);
    const session = await initialize('development', published.tokens.acme);
    expect(session).to.match(/^[\x21-\x7e]+$/);
    expect(session, 'the id does not show the token').to.not.include(published.tokens.acme.slice(6, 20));
    const inSession = await post('development', published.tokens.acme, LIST, session);
    expect(inSession.status).to.equal(200);
    const deleted = await fetch(`${base}?channel=development`, { method: 'DELETE', headers: jsonHeaders(published.tokens.acme, session) });
    expect(deleted.status).to.equal(405);
    expect(await deleted.json()).to.include({ code: 'mcp.method' });
  });

  it('refuses a forged session id, and one opened with another token, project or channel (404), before and on the stream', async () => {
    const session = await initialize('development', published.tokens.acme);
    const refusal = async (res: Response, code: string) => {
      expect(res.status, code).to.equal(404);
      const body = await res.json() as { code: string; reason: string; hint: string };
      expect(body.code).to.equal(code);
      expect(body.hint).to.include('initialize again');
      return body;
    };

    const otherChannel = await refusal(await post('production', published.tokens.acme, LIST, session), 'mcp.session-mismatch');
    expect(otherChannel.reason).to.include('channel development');
    const { token: second } = await createAccessToken(published.forge.ctx.db, { project: 'acme', label: 'second host' });
    expect((await refusal(await post('development', second, LIST, session), 'mcp.session-mismatch')).reason).to.include('another access token');
    expect((await refusal(await post('development', ADMIN_TOKEN, LIST, session), 'mcp.session-mismatch')).reason).to.include('another access token');

    // The same session, for another project: sealed with this forge's key, still refused.
    const opened = readMcpSessionId(published.forge.ctx.secrets, session)!;
    const elsewhere = mintMcpSessionId(published.forge.ctx.secrets, { ...opened, project: 'hello' });
    expect((await refusal(await post('development', published.tokens.acme, LIST, elsewhere), 'mcp.session-mismatch')).reason).to.include('another project');

    // Forged: one character changed; a well-formed session sealed with another key; not even sealed.
    const i = 20;
    const tampered = `${session.slice(0, i)}${session[i] === 'A' ? 'B' : 'A'}${session.slice(i + 1)}`;
    const otherKey = mintMcpSessionId(secretBox(randomBytes(32)), opened);
    const plain = Buffer.from(JSON.stringify({ k: 'anvil-mcp-session/1', t: opened.tokenId, p: 'acme', c: 'development', s: opened.served, at: 0 })).toString('base64');
    for (const forged of [tampered, otherKey, plain, 'x'.repeat(2000)]) {
      await refusal(await post('development', published.tokens.acme, LIST, forged), 'mcp.session-unknown');
      const stream = await openStream('development', published.tokens.acme, forged);
      expect(stream.status).to.equal(404);
      expect(stream.text()).to.include('mcp.session-unknown');
    }
    const mismatched = await openStream('production', published.tokens.acme, session);
    expect(mismatched.status).to.equal(404);
    expect(mismatched.text()).to.include('mcp.session-mismatch');
    // And the genuine one still works.
    expect((await post('development', published.tokens.acme, LIST, session)).status).to.equal(200);
  });

  it('tells a connected host that the prompts changed when a publish changes the channel, and lists the new version after', async () => {
    const hub = mcpStreamHubOf(published.forge.ctx);
    await until('earlier streams closed', () => hub.count() === 0);
    const client = await connect('development');
    expect((client.transport as StreamableHTTPClientTransport).sessionId, 'the SDK client holds the session').to.be.a('string');
    let notified = 0;
    client.setNotificationHandler(PromptListChangedNotificationSchema, () => void (notified += 1));
    await until('the host\'s stream open', () => hub.count() === 1);
    const before = (await client.listPrompts()).prompts.find((p) => p.name === 'support/answer')!;
    // The stream does not notify on connect when nothing changed since initialize.
    await new Promise((r) => setTimeout(r, 200));
    expect(notified).to.equal(0);

    const version = await publishSupport();
    expect(version).to.not.equal(before._meta?.['version']);
    const synced = Date.now();
    await until('notifications/prompts/list_changed', () => notified === 1, 5_000);
    expect(Date.now() - synced, 'ms from the sync to the notification').to.be.below(2_000);
    const after = (await client.listPrompts()).prompts.find((p) => p.name === 'support/answer')!;
    expect(after._meta).to.include({ set: 'support', version });
    const got = await client.getPrompt({ name: 'support/answer', arguments: { question: 'Why?' } });
    expect(got.messages).to.deep.equal([{ role: 'user', content: { type: 'text', text: `Answer (revision ${revision}): Why?` } }]);

    // A sync that publishes nothing new on the channel tells nobody.
    await published.forge.sync('acme');
    await new Promise((r) => setTimeout(r, 300));
    expect(notified).to.equal(1);
  });

  it('tells a host that opens its stream after a publish, and one that resumes from an older event, but not one that is up to date', async () => {
    const session = await initialize('development', published.tokens.acme);
    const version = await publishSupport();
    expect(version).to.be.a('string');
    const current = await readServedState(published.forge.ctx, 'acme', 'development');

    // Published between initialize and the GET: told at once, with the state as the event id.
    const late = await openStream('development', published.tokens.acme, session);
    expect(late.status).to.equal(200);
    await until('the notification', () => late.text().includes(LIST_CHANGED));
    expect(late.text()).to.equal(`: anvil mcp\n\nevent: message\nid: ${current}\n${LIST_CHANGED}`);

    // Reconnecting with that event id: nothing new. With an older one: told again.
    const resumed = await openStream('development', published.tokens.acme, session, { 'last-event-id': current });
    const behind = await openStream('development', published.tokens.acme, session, { 'last-event-id': readMcpSessionId(published.forge.ctx.secrets, session)!.served });
    await until('the resumed-behind notification', () => behind.text().includes(LIST_CHANGED));
    await new Promise((r) => setTimeout(r, 200));
    expect(resumed.text()).to.equal(': anvil mcp\n\n');
  });

  it('ends the session\'s use when its token is revoked: the stream ends, and its POSTs are 401', async () => {
    const { token, id } = await createAccessToken(published.forge.ctx.db, { project: 'acme', label: 'revoked host' });
    const session = await initialize('development', token);
    const stream = await openStream('development', token, session);
    expect(stream.status).to.equal(200);
    await until('the stream open', () => stream.text().startsWith(': anvil mcp'));
    await revokeAccessToken(published.forge.ctx.db, 'acme', id);
    const revokedAt = Date.now();
    await Promise.race([stream.ended, new Promise((_r, reject) => setTimeout(() => reject(new Error('the stream of a revoked token is still open')), 5_000))]);
    expect(Date.now() - revokedAt).to.be.below(3_000);
    const after = await post('development', token, LIST, session);
    expect(after.status).to.equal(401);
    expect(await after.json()).to.include({ code: 'auth.revoked' });
  });

  it('holds at most `streams.maxPerToken` streams per token (429), and writes keep-alive comments on them', async () => {
    const hub = mcpStreamHubOf(published.forge.ctx);
    await until('earlier streams closed', () => hub.count() === 0);
    const saved = published.forge.ctx.streams;
    published.forge.ctx.streams = { maxPerToken: 1, keepAliveMs: 100 };
    try {
      const { token } = await createAccessToken(published.forge.ctx.db, { project: 'acme', label: 'busy host' });
      const session = await initialize('production', token);
      const first = await openStream('production', token, session);
      expect(first.status).to.equal(200);
      await until('the stream admitted', () => hub.count() === 1);
      const second = await fetch(`${base}?channel=production`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}`, 'mcp-session-id': session } });
      expect(second.status).to.equal(429);
      expect(second.headers.get('retry-after')).to.equal('30');
      expect(await second.json()).to.include({ code: 'mcp.too-many-streams' });
      // Another token of the project is not held to this one's count.
      const other = await openStream('production', published.tokens.acme, await initialize('production', published.tokens.acme));
      expect(other.status).to.equal(200);
      await until('keep-alive comments', () => (first.text().match(/: keep-alive\n\n/g) ?? []).length >= 2, 3_000);
    } finally {
      published.forge.ctx.streams = saved;
    }
  });

  it('refuses a stream without Accept: text/event-stream (406) or with an unsupported protocol version (400)', async () => {
    const session = await initialize('production', published.tokens.acme);
    const plain = await fetch(`${base}?channel=production`, { headers: { accept: 'application/json', authorization: `Bearer ${published.tokens.acme}`, 'mcp-session-id': session } });
    expect(plain.status).to.equal(406);
    expect(await plain.json()).to.include({ code: 'mcp.accept' });
    const old = await openStream('production', published.tokens.acme, session, { 'mcp-protocol-version': '1999-01-01' });
    expect(old.status).to.equal(400);
    expect(old.text()).to.include('mcp.protocol-version');
  });
});
