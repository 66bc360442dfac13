/**
 * `anvil-live mcp` as an MCP host runs it: a child process on stdio, driven by the official MCP
 * SDK's client, over a cache installed from a forge on loopback.
 */
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError, PromptListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { makeBundle, type PromptSpec } from '../support/fake-forge.ts';
import { anvilLive, connectArgs, useForgeAndApp } from '../cli/cli-support.ts';

const entry = fileURLToPath(new URL('./anvil-live-source.ts', import.meta.url));
const tsx = import.meta.resolve('tsx');

const welcome: PromptSpec = {
  template: '{{role "system"}}You greet people.{{role "user"}}Hello {{name}}, you have {{count}} new messages.',
  metadata: {
    description: 'Greets a new user',
    input: {
      schema: {
        type: 'object',
        properties: { name: { type: 'string', description: 'who to greet' }, count: { type: 'integer' }, tone: { type: 'string' } },
        required: ['name', 'count'],
      },
      default: { count: 0 },
    },
  },
  variants: { formal: { template: 'Good day, {{name}}.', tags: { tone: 'formal' } } },
};
const v1 = makeBundle('onboarding', '1.0.0', { 'welcome.message': welcome });
const v2 = makeBundle('onboarding', '1.1.0', {
  'welcome.message': { ...welcome, template: 'Hi {{name}} (v2)' },
  'farewell': { template: 'Bye {{name}}', metadata: { input: { schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } } } },
});

describe('anvil-live mcp (stdio, with the MCP SDK client)', function () {
  this.timeout(60_000);
  const ctx = useForgeAndApp();
  let client: Client;
  let transport: StdioClientTransport;
  let stderr: string;

  async function start(...args: string[]): Promise<void> {
    transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--conditions=anvil-source', '--import', tsx, entry, 'mcp', ...args],
      cwd: ctx.app,
      env: { ...process.env, ...ctx.env } as Record<string, string>,
      stderr: 'pipe',
    });
    stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')));
    client = new Client({ name: 'anvil-test', version: '1.0.0' });
    await client.connect(transport);
  }

  beforeEach(async function () {
    ctx.forge.publish('production', [v1]);
    expect((await anvilLive(ctx.app, connectArgs(ctx.forge, 'onboarding@^1.0.0'))).code).to.equal(0);
    const installed = await anvilLive(ctx.app, ['install'], { env: ctx.env });
    expect(installed.code, installed.stderr).to.equal(0);
  });

  afterEach(async function () {
    await client?.close();
  });

  it('lists each prompt and variant as set/id, with arguments from the input schema and the version in _meta', async function () {
    await start();
    expect(client.getServerCapabilities()?.prompts).to.deep.include({ listChanged: true });
    expect(client.getServerVersion()).to.include({ name: 'anvil-live' });
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).to.deep.equal(['onboarding/welcome.message', 'onboarding/welcome.message:formal']);
    const [base, formal] = prompts;
    expect(base).to.deep.include({ title: 'welcome.message', description: 'Greets a new user' });
    // count has a default, so only name must be given; count is written as JSON.
    expect(base!.arguments).to.deep.equal([
      { name: 'name', description: 'who to greet', required: true },
      { name: 'count', description: 'integer, as JSON', required: false },
      { name: 'tone', required: false },
    ]);
    expect(base!._meta).to.deep.equal({ set: 'onboarding', id: 'welcome.message', version: '1.0.0', variant: null, integrity: v1.integrity, rollout: false });
    expect(formal!._meta).to.include({ version: '1.0.0', variant: 'formal' });
    expect(stderr).to.equal('');
  });

  it('renders a prompt with its arguments as anvil.prompt() does: roles mapped, values typed, _meta', async function () {
    await start();
    const got = await client.getPrompt({ name: 'onboarding/welcome.message', arguments: { name: 'Ada', count: '3', tone: '' } });
    expect(got.description).to.equal('Greets a new user');
    expect(got.messages).to.deep.equal([
      { role: 'user', content: { type: 'text', text: 'You greet people.', _meta: { role: 'system' } } },
      { role: 'user', content: { type: 'text', text: 'Hello Ada, you have 3 new messages.' } },
    ]);
    expect(got._meta).to.include({ set: 'onboarding', version: '1.0.0', integrity: v1.integrity, variant: null });

    // The default fills in a left-out optional argument; a variant is its own prompt.
    const defaulted = await client.getPrompt({ name: 'onboarding/welcome.message', arguments: { name: 'Bo' } });
    expect(defaulted.messages[1]!.content).to.deep.equal({ type: 'text', text: 'Hello Bo, you have 0 new messages.' });
    const formal = await client.getPrompt({ name: 'onboarding/welcome.message:formal', arguments: { name: 'Ada' } });
    expect(formal.messages).to.deep.equal([{ role: 'user', content: { type: 'text', text: 'Good day, Ada.' } }]);
    expect(formal._meta).to.include({ variant: 'formal', version: '1.0.0' });
  });

  it('answers a missing argument, a mistyped one and an unknown prompt with MCP errors, and keeps serving', async function () {
    await start();
    const failure = async (name: string, args: Record<string, string>): Promise<McpError> => {
      try {
        await client.getPrompt({ name, arguments: args });
      } catch (err) {
        return err as McpError;
      }
      throw new Error(`getPrompt(${name}) should have failed`);
    };
    const missing = await failure('onboarding/welcome.message', { count: '2' });
    expect(missing).to.be.instanceOf(McpError);
    expect(missing.code).to.equal(-32602);
    expect(missing.message).to.include('mcp.missing-argument').and.include('"name"');

    const typed = await failure('onboarding/welcome.message', { name: 'Ada', count: 'lots' });
    expect(typed.code).to.equal(-32602);
    expect(typed.message).to.include('mcp.bad-argument').and.include('integer');

    const unknown = await failure('onboarding/welcome.mesage', {});
    expect(unknown.code).to.equal(-32602);
    expect(unknown.message).to.include('mcp.unknown-prompt').and.include('did you mean "onboarding/welcome.message"');

    expect((await client.getPrompt({ name: 'onboarding/welcome.message', arguments: { name: 'Ada' } })).messages).to.have.length(2);
  });

  it('sends prompts/list_changed when a newer version is applied, and then serves it', async function () {
    await start();
    expect((await client.listPrompts()).prompts[0]!._meta).to.include({ version: '1.0.0' });
    const changed = new Promise<void>((resolve) => client.setNotificationHandler(PromptListChangedNotificationSchema, () => resolve()));

    // Another process applies 1.1.0 to the same cache (as `anvil-live sync` on the host does);
    // the running server takes it as a running app does, and tells the host.
    ctx.forge.publish('production', [v2]);
    const synced = await anvilLive(ctx.app, ['sync'], { env: ctx.env });
    expect(synced.code, synced.stderr).to.equal(0);
    await changed;

    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).to.deep.equal(['onboarding/farewell', 'onboarding/welcome.message', 'onboarding/welcome.message:formal']);
    expect(prompts.every((p) => p._meta?.['version'] === '1.1.0')).to.equal(true);
    const got = await client.getPrompt({ name: 'onboarding/welcome.message', arguments: { name: 'Ada' } });
    expect(got.messages).to.deep.equal([{ role: 'user', content: { type: 'text', text: 'Hi Ada (v2)' } }]);
    expect(got._meta).to.include({ version: '1.1.0', integrity: v2.integrity });
  });

  it('sends prompts/list_changed for a version the forge pushes to it (--listen)', async function () {
    await start('--listen', '0');
    const url = await waitFor(() => /taking pushes at (\S+)/.exec(stderr)?.[1]);
    const changed = new Promise<void>((resolve) => client.setNotificationHandler(PromptListChangedNotificationSchema, () => resolve()));
    const envelope = ctx.forge.publish('production', [v2]);
    // A receiver still applying what it pulled at start answers 503 busy, and the forge pushes
    // again after its Retry-After: so does this test.
    let pushed = await ctx.forge.push(url, envelope);
    for (let i = 0; pushed.status === 503 && i < 20; i++) {
      await new Promise((r) => setTimeout(r, 250));
      pushed = await ctx.forge.push(url, envelope);
    }
    expect(pushed.status, JSON.stringify(pushed.body)).to.equal(200);
    await changed;
    expect((await client.listPrompts()).prompts.map((p) => p._meta?.['version'])).to.deep.equal(['1.1.0', '1.1.0', '1.1.0']);
  });
});

async function waitFor<T>(probe: () => T | undefined, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
