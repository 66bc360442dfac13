/** prompt-catalog.ts and the SDK loader's error, without a transport. */
import { expect } from 'chai';
import { AnvilError } from '@anvil/content-schema';
import { getMcpPrompt, listMcpPrompts, promptVariables, toMcpMessages } from '../../src/mcp/prompt-catalog.ts';
import { sdkMissing } from '../../src/mcp/mcp-server.ts';
import { createStoreSnapshot } from '../../src/store/store-snapshot.ts';
import { makeBundle } from '../support/fake-forge.ts';

const metadata = (schema: Record<string, unknown>, defaults?: Record<string, unknown>) =>
  ({ config: {}, metadata: {}, ext: {}, input: { schema, ...(defaults ? { default: defaults } : {}) } });

describe('MCP prompt catalog', function () {
  it('types arguments by the input schema; "" is not given; defaults make a required one optional', function () {
    const meta = metadata({
      type: 'object',
      properties: { n: { type: 'integer' }, on: { type: ['boolean', 'null'] }, tags: { type: 'array' }, who: { type: 'string' }, mood: { type: 'string' } },
      required: ['who', 'mood'],
    }, { mood: 'calm' });
    expect(promptVariables('p', meta, { n: '3', on: 'true', tags: '["a"]', who: 'Ada', extra: 'kept', mood: '' }))
      .to.deep.equal({ n: 3, on: true, tags: ['a'], who: 'Ada', extra: 'kept' });
    expect(() => promptVariables('p', meta, { who: '' })).to.throw(AnvilError).with.property('code', 'mcp.missing-argument');
    expect(() => promptVariables('p', meta, { who: 'x', n: '2.5' })).to.throw(AnvilError).with.property('code', 'mcp.bad-argument');
    expect(() => promptVariables('p', meta, { who: 'x', tags: '{' })).to.throw(AnvilError).with.property('code', 'mcp.bad-argument');
  });

  it('maps roles and parts: model → assistant, system/tool → user marked in _meta, media inline or as a link', function () {
    expect(toMcpMessages([
      { role: 'system', content: [{ text: 'rules' }] },
      { role: 'model', content: [{ text: '' }, { text: 'ok' }, { media: { url: 'data:image/png;base64,AAAA' } }] },
      { role: 'user', content: [{ media: { url: 'https://example.com/a.pdf', contentType: 'application/pdf' } }, { data: { a: 1 } }, { metadata: { pending: true, purpose: 'x' } }] },
    ])).to.deep.equal([
      { role: 'user', content: { type: 'text', text: 'rules', _meta: { role: 'system' } } },
      { role: 'assistant', content: { type: 'text', text: 'ok' } },
      { role: 'assistant', content: { type: 'image', data: 'AAAA', mimeType: 'image/png' } },
      { role: 'user', content: { type: 'resource_link', uri: 'https://example.com/a.pdf', name: 'https://example.com/a.pdf', mimeType: 'application/pdf' } },
      { role: 'user', content: { type: 'text', text: '{"a":1}', _meta: { part: 'data' } } },
    ]);
  });

  it('lists and renders from a snapshot, the same text as the store renders', function () {
    const bundle = makeBundle('s', '2.0.0', { 'a.b': { template: 'Hi {{who}}', metadata: metadata({ type: 'object', properties: { who: { type: 'string' } }, required: ['who'] }) } });
    const snapshot = createStoreSnapshot({ sets: { s: { bundle } } });
    const source = { sets: () => [{ set: 's', prompts: bundle.prompts }], messages: snapshot.messages.bind(snapshot), track: snapshot.track.bind(snapshot) };
    const [listed] = listMcpPrompts(source.sets(), source);
    expect(listed).to.deep.include({ name: 's/a.b', arguments: [{ name: 'who', required: true }] });
    const got = getMcpPrompt(source.sets(), source, 's/a.b', { who: 'Ada' });
    expect(got.messages[0]!.content).to.deep.equal({ type: 'text', text: snapshot.render('s/a.b', { who: 'Ada' }) });
    expect(got._meta).to.deep.equal({ set: 's', id: 'a.b', version: '2.0.0', variant: null, integrity: bundle.integrity, rollout: false });
    expect(() => getMcpPrompt(source.sets(), source, 's/a.b:nope', { who: 'x' })).to.throw(AnvilError).with.property('code', 'mcp.unknown-prompt');
  });

  it('turns "the SDK cannot be found" into mcp.sdk-missing with the install command, and leaves other errors alone', function () {
    const notFound = Object.assign(new Error("Cannot find package '@modelcontextprotocol/sdk' imported from /app/x.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    const err = sdkMissing(notFound) as AnvilError;
    expect(err).to.be.instanceOf(AnvilError);
    expect(err.code).to.equal('mcp.sdk-missing');
    expect(err.hint).to.equal('npm install @modelcontextprotocol/sdk');
    const other = Object.assign(new Error("Cannot find package 'zod'"), { code: 'ERR_MODULE_NOT_FOUND' });
    expect(sdkMissing(other)).to.equal(other);
  });
});
