/**
 * The forge's MCP endpoint (issue 17), driven by the official MCP SDK client over Streamable
 * HTTP against a real forge on loopback: a channel's prompts listed and rendered as
 * `anvil-live mcp` does, behind the same token gate as the envelope.
 */
import { expect } from 'chai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { startPublishedForge, type PublishedForge } from '../support/published-forge.ts';

describe('forge: prompts over MCP (Streamable HTTP)', function () {
  this.timeout(60_000);
  let published: PublishedForge;
  let base: string;
  const clients: Client[] = [];

  before(async () => {
    published = await startPublishedForge();
    base = `${published.forge.url}/api/v1/projects/acme/mcp`;
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await published?.close();
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
    expect(stream.status).to.equal(405);
  });

  it('serves only what the channel publishes: production has the release, not the head build', async () => {
    const client = await connect('production');
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).to.deep.equal(['core/tone']);
    const got = await client.getPrompt({ name: 'core/tone' });
    expect(got.messages).to.deep.equal([{ role: 'user', content: { type: 'text', text: 'Be kind and brief.' } }]);
  });
});
