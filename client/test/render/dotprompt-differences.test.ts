/**
 * Where the renderer knowingly differs from Dotprompt (docs/rendering.md), checked against the
 * `dotprompt` devDependency so that the documentation cannot go stale unnoticed.
 */
import { expect } from 'chai';
import { Dotprompt } from 'dotprompt';
import { PromptEnvironment } from '@anvil/client';

const SOURCE = '---\ninput:\n  default:\n    name: friend\n  schema:\n    name?: string\n---\nHi {{name}}!';

describe('differences from Dotprompt', function () {
  it('front-matter input.default: applied here, ignored by Dotprompt 1.1.2 when rendering', async function () {
    expect(new PromptEnvironment().compile(SOURCE).renderText()).to.equal('Hi friend!');
    expect(new PromptEnvironment().compile(SOURCE).renderText({ name: 'Ada' })).to.equal('Hi Ada!');

    const dotprompt = new Dotprompt();
    const rendered = await dotprompt.render(SOURCE, { input: {} });
    expect(rendered.messages).to.deep.equal([{ role: 'user', content: [{ text: 'Hi !' }] }]);
    // Dotprompt applies only defaults passed with the render call.
    const withOptions = await dotprompt.render(SOURCE, { input: {} }, { input: { default: { name: 'friend' } } });
    expect(withOptions.messages).to.deep.equal([{ role: 'user', content: [{ text: 'Hi friend!' }] }]);
  });

  it('partials given together may include one declared later, in both', async function () {
    const partials = { a: 'A({{> b}})', b: 'B' };
    expect(new PromptEnvironment({ partials }).compile('{{> a}}').renderText()).to.equal('A(B)');
    const rendered = await new Dotprompt({ partials }).render('{{> a}}', {});
    expect(rendered.messages).to.deep.equal([{ role: 'user', content: [{ text: 'A(B)' }] }]);
  });
});
