/**
 * Issue 14: templates from pull requests are bounded before Handlebars parses them, so that
 * none can stall a forge (its parser took > 30 s on 20,000 nested {{#if}}, 4 s on 12,000
 * comments with one unclosed). These assert the codes and positions; each input is answered
 * in milliseconds, without a timing assertion.
 */
import { expect } from 'chai';
import { LIMITS, type AnvilError } from '@anvil/content-schema';
import { PromptEnvironment, TEMPLATE_LIMITS } from '@anvil/client';
import { compileError, parseError } from '../../src/render/template-errors.ts';

function errorsOf(template: string, env = new PromptEnvironment({ checkOnly: true })): [string, number | undefined, number | undefined][] {
  return env.check(template, { file: 'prompts/x.md' }).errors.map((e: AnvilError) => [e.code, e.line, e.column]);
}

const nested = (n: number, open = '{{#if a}}', close = '{{/if}}') => open.repeat(n) + 'x' + close.repeat(n);

describe('template limits, checked before parsing', function () {
  it('are the documented ones', function () {
    expect(TEMPLATE_LIMITS).to.deep.equal({ size: LIMITS.template, tags: 10_000, blockComments: 100, depth: 100 });
  });

  it('20,000 nested {{#if}}: template.too-deep at the block that goes one level too far (and too many tags)', function () {
    expect(errorsOf(nested(20_000))).to.deep.equal([
      ['template.too-deep', 1, 9 * 100 + 1],
      ['template.too-complex', 1, 9 * 10_000 + 1],
    ]);
  });

  it('12,000 comments with one unclosed: too many {{!-- --}} comments, and the unclosed one', function () {
    expect(errorsOf(`${'{{!-- c --}}'.repeat(12_000)}\n{{!-- open`)).to.deep.equal([
      ['template.too-complex', 1, 12 * 100 + 1],
      ['template.syntax', 2, 1],
    ]);
  });

  it('nesting that would overflow the stack: else-if chains and sub-expressions count too', function () {
    expect(errorsOf(`{{#if a}}${'{{else if b}}x'.repeat(5_000)}{{/if}}`)[0]?.[0]).to.equal('template.too-deep');
    expect(errorsOf(`{{log ${'(lookup . '.repeat(5_000)}"b"${')'.repeat(5_000)}}}`)[0]?.[0]).to.equal('template.too-deep');
    expect(errorsOf(nested(5_000, '{{#each a}}', '{{/each}}'))[0]?.[0]).to.equal('template.too-deep');
  });

  it('nesting is counted through partials, and a long chain of partials is refused without recursing through it all', function () {
    const partials: Record<string, string> = {};
    for (let i = 0; i < 60; i++) partials[`p${i}`] = `{{#if a}}{{> p${i + 1}}}{{/if}}`;
    partials['p60'] = 'end';
    const env = new PromptEnvironment({ checkOnly: true, resolvePartial: (name) => partials[name] });
    const errors = env.check('{{> p0}}').errors;
    expect(errors.map((e) => e.code)).to.deep.equal(['template.too-deep']);
    expect(errors[0]!.message).to.match(/nests 1\d\d levels deep/);

    const chain: Record<string, string> = {};
    for (let i = 0; i < 5_000; i++) chain[`c${i}`] = `{{> c${i + 1}}}`;
    chain['c5000'] = 'end';
    const long = new PromptEnvironment({ checkOnly: true, resolvePartial: (name) => chain[name] });
    expect(long.check('{{> c0}}').errors.map((e) => e.code)).to.deep.equal(['template.too-deep']);
  });

  it('a template larger than a bundle allows', function () {
    expect(errorsOf('x'.repeat(LIMITS.template + 1))).to.deep.equal([['template.too-large', 1, 1]]);
  });

  it('too many tags', function () {
    expect(errorsOf('{{a}}\n'.repeat(10_001))).to.deep.equal([['template.too-complex', 10_001, 1]]);
  });

  it('stop short of real templates: at the limits, they compile and render', function () {
    const env = new PromptEnvironment();
    expect(env.compile(nested(99)).renderText({ a: true })).to.equal('x');
    expect(env.compile(`${'{{!-- doc --}}'.repeat(100)}{{a}}`).renderText({ a: 1 })).to.equal('1');
    expect(env.compile(`{{#if z}}${'{{else if a}}y'.repeat(90)}{{/if}}`).renderText({ a: 1 })).to.equal('y');
    // Comments, escaped and raw text do not count as tags or nesting.
    const quiet = `{{!-- ${'{{#if a}}'.repeat(200)} --}}\\{{#if}} {{{{raw}}}}${'{{#if}}'.repeat(200)}{{{{/raw}}}}ok`;
    expect(env.compile(quiet).renderText({ raw: true })).to.equal(`{{#if}} ${'{{#if}}'.repeat(200)}ok`);
  });

  it('a stack overflow while parsing or compiling is template.too-deep, not a syntax error', function () {
    const overflow = new RangeError('Maximum call stack size exceeded');
    expect(parseError(overflow, '{{#if a}}', undefined, { file: 'x.md' }, []).code).to.equal('template.too-deep');
    expect(compileError(overflow, { file: 'x.md' }, []).code).to.equal('template.too-deep');
  });
});
