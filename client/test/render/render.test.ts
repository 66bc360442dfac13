import { expect } from 'chai';
import { PromptEnvironment } from '@anvil/client';

describe('PromptEnvironment rendering', function () {
  it('compiles once and renders synchronously to a string, many times', function () {
    const prompt = new PromptEnvironment().compile('Hello, {{name}}!');
    const out = prompt.renderText({ name: 'Ada' });
    expect(out).to.equal('Hello, Ada!');
    expect(prompt.renderText({ name: 'Grace' })).to.equal('Hello, Grace!');
  });

  it('does not escape HTML', function () {
    const prompt = new PromptEnvironment().compile('{{html}} & {{{html}}}');
    expect(prompt.renderText({ html: '<b>"x"</b>' })).to.equal('<b>"x"</b> & <b>"x"</b>');
  });

  it('applies input defaults from the front matter, under the caller\'s variables', function () {
    const source = '---\ninput:\n  default:\n    name: friend\n    tone: warm\n  schema:\n    name?: string\n    tone?: string\n---\nHi {{name}}, in a {{tone}} tone.';
    const prompt = new PromptEnvironment().compile(source);
    expect(prompt.renderText()).to.equal('Hi friend, in a warm tone.');
    expect(prompt.renderText({ name: 'Ada' })).to.equal('Hi Ada, in a warm tone.');
  });

  it('normalises front matter the Dotprompt way, plus tags, with Picoschema as JSON Schema', function () {
    const source = [
      '---', 'model: googleai/gemini-2.5-flash', 'tags: {locale: fr, tone: formal}', 'acme.owner: growth',
      'unknownField: kept only in raw', 'input:', '  schema:', '    name: string, the user\'s name', '    premium?: boolean', '---', 'Bonjour {{name}}',
    ].join('\n');
    const prompt = new PromptEnvironment().compile(source);
    expect(prompt.metadata).to.deep.equal({
      model: 'googleai/gemini-2.5-flash',
      tags: { locale: 'fr', tone: 'formal' },
      ext: { acme: { owner: 'growth' } },
      config: {},
      metadata: {},
      input: {
        schema: {
          type: 'object',
          properties: { name: { type: 'string', description: "the user's name" }, premium: { type: ['boolean', 'null'] } },
          required: ['name'],
          additionalProperties: false,
        },
      },
    });
    expect(prompt.raw).to.have.property('unknownField', 'kept only in raw');
  });

  it('renders partials, including a dependency\'s partial named <set>/<name>', function () {
    const env = new PromptEnvironment({ partials: { signature: '— {{team}}', 'core/signature': '— The {{team}} team' } });
    const prompt = env.compile('Thanks! {{> signature}} / {{> core/signature}}');
    expect(prompt.renderText({ team: 'Acme' })).to.equal('Thanks! — Acme / — The Acme team');
  });

  it('resolves partials on demand through resolvePartial, once', function () {
    let calls = 0;
    const env = new PromptEnvironment({ resolvePartial: (name) => (calls++, name === 'outer' ? 'A {{> inner}}' : name === 'inner' ? 'B' : undefined) });
    expect(env.compile('{{> outer}}').renderText()).to.equal('A B');
    expect(env.compile('{{> outer}}!').renderText()).to.equal('A B!');
    expect(calls).to.equal(2);
  });

  it('uses a {{#> partial}} block\'s fallback when the partial does not exist', function () {
    const prompt = new PromptEnvironment().compile('{{#> missing}}fallback{{/missing}}');
    expect(prompt.renderText()).to.equal('fallback');
  });

  it('renders Dotprompt messages with roles, history, media and sections', function () {
    const env = new PromptEnvironment();
    const prompt = env.compile('{{role "system"}}Be brief.\n{{history}}{{role "user"}}{{section "q"}}{{question}}{{media url=img contentType="image/png"}}');
    const messages = prompt.renderMessages(
      { question: 'What is this?', img: 'https://example.com/a.png' },
      { messages: [{ role: 'user', content: [{ text: 'hi' }] }, { role: 'model', content: [{ text: 'hello' }] }] },
    );
    expect(messages).to.deep.equal([
      { role: 'system', content: [{ text: 'Be brief.\n' }] },
      { role: 'user', content: [{ text: 'hi' }], metadata: { purpose: 'history' } },
      { role: 'model', content: [{ text: 'hello' }], metadata: { purpose: 'history' } },
      { role: 'user', content: [{ metadata: { purpose: 'q', pending: true } }, { text: 'What is this?' }, { media: { url: 'https://example.com/a.png', contentType: 'image/png' } }] },
    ]);
  });

  it('renderText leaves no marker behind for message helpers', function () {
    const prompt = new PromptEnvironment().compile('{{role "system"}}Be brief.\n{{role "user"}}{{section "s"}}Hi{{media url="u"}}');
    expect(prompt.usesMessageHelpers).to.equal(true);
    expect(prompt.renderText()).to.equal('Be brief.\nHi');
  });

  it('sees message helpers used inside partials', function () {
    const env = new PromptEnvironment({ partials: { sys: '{{role "system"}}System says hi.' } });
    const prompt = env.compile('Intro. {{> sys}}\n{{role "user"}}Question');
    expect(prompt.usesMessageHelpers).to.equal(true);
    expect(prompt.renderMessages().map((m) => m.role)).to.deep.equal(['user', 'system', 'user']);
    expect(prompt.renderText()).to.equal('Intro. System says hi.\nQuestion');
  });

  it('exposes @metadata and context variables as Dotprompt does', function () {
    const prompt = new PromptEnvironment().compile('---\nmodel: m1\n---\n{{@metadata.prompt.model}} {{@auth.user}}');
    expect(prompt.renderText({}, { context: { auth: { user: 'ada' } } })).to.equal('m1 ada');
    expect(prompt.renderText()).to.equal('m1 ');
  });

  it('json, ifEquals and unlessEquals behave as Dotprompt\'s', function () {
    const prompt = new PromptEnvironment().compile('{{json obj}}|{{#ifEquals a b}}same{{else}}diff{{/ifEquals}}|{{#unlessEquals a b}}diff{{/unlessEquals}}');
    expect(prompt.renderText({ obj: { x: [1] }, a: 1, b: 2 })).to.equal('{"x":[1]}|diff|diff');
  });

  it('keeps prototype properties out of reach of templates', function () {
    const prompt = new PromptEnvironment().compile('[{{constructor}}][{{__proto__}}][{{obj.constructor.name}}][{{lookup obj "__proto__"}}]');
    expect(prompt.renderText({ obj: {} })).to.equal('[][][][]');
  });

  it('wraps runtime failures in an AnvilError with a code', function () {
    const prompt = new PromptEnvironment().compile('{{role who}}x');
    expect(() => prompt.renderMessages({ who: 'System' })).to.throw().with.property('code', 'render.invalid-role');
  });
});
