/**
 * Issue 14: templates that Handlebars compiles and that then fail (or write nonsense) at every
 * render are compile errors, with the file, line and column and a hint.
 */
import { expect } from 'chai';
import type { AnvilError } from '@anvil/content-schema';
import { PromptEnvironment } from '@anvil/client';

const FILE = 'prompts/core/greet.md';
const FRONT = '---\ndescription: Greets\n---\n'; // the body starts on line 4

function errorsOf(body: string, env = new PromptEnvironment()): AnvilError[] {
  const checked = env.check(`${FRONT}${body}`, { file: FILE });
  expect(checked.prompt, 'expected compile errors').to.equal(undefined);
  return checked.errors;
}

/** The one error of `body`, as [code, line, column]. */
function only(body: string): [string, number | undefined, number | undefined] {
  const errors = errorsOf(body);
  expect(errors.map((e) => e.format()), body).to.have.length(1);
  const err = errors[0]!;
  expect(err.file).to.equal(FILE);
  return [err.code, err.line, err.column];
}

describe('helper calls that cannot render are compile errors', function () {
  it('{{role}} meant as a variable: the helper would run; the hint says {{this.role}}', function () {
    const [err] = errorsOf('You are a {{role}}.');
    expect([err!.code, err!.line, err!.column]).to.deep.equal(['template.helper-usage', 4, 11]);
    expect(err!.hint).to.include('{{this.role}}');
    // The way out compiles and prints the variable.
    expect(new PromptEnvironment().compile('You are a {{this.role}}.').renderText({ role: 'pirate' })).to.equal('You are a pirate.');
  });

  it('{{section}} and {{media}} without arguments would write empty markers', function () {
    expect(only('Intro\n  {{section}}')).to.deep.equal(['template.helper-usage', 5, 3]);
    expect(errorsOf('{{section}}')[0]!.hint).to.include('{{this.section}}');
    expect(only('{{media}}')).to.deep.equal(['template.helper-usage', 4, 1]);
    expect(errorsOf('{{media}}')[0]!.message).to.include('url=');
  });

  it('{{json}}, {{lookup}} and {{ifEquals}} without arguments would throw a TypeError at render', function () {
    expect(only('Data: {{json}}')).to.deep.equal(['template.helper-usage', 4, 7]);
    expect(only('{{lookup}}')).to.deep.equal(['template.helper-usage', 4, 1]);
    expect(only('x\n{{ifEquals}}')).to.deep.equal(['template.helper-usage', 5, 1]);
    expect(only('{{lookup person}}')).to.deep.equal(['template.helper-usage', 4, 1]);
  });

  it('{{#if}}, {{#each}}, {{#with}}, {{#unless}} without an argument', function () {
    expect(only('{{#if}}x{{/if}}')).to.deep.equal(['template.helper-usage', 4, 1]);
    expect(only('a\n\t{{#each}}x{{/each}}')).to.deep.equal(['template.helper-usage', 5, 2]);
    expect(only('{{#with}}x{{/with}}')).to.deep.equal(['template.helper-usage', 4, 1]);
    expect(only('{{#unless}}x{{/unless}}')).to.deep.equal(['template.helper-usage', 4, 1]);
    expect(only('{{#if a b}}x{{/if}}')).to.deep.equal(['template.helper-usage', 4, 1]);
  });

  it('block helpers used inline, and inline helpers used as blocks', function () {
    expect(only('{{if ready}}')).to.deep.equal(['template.helper-usage', 4, 1]);
    expect(only('{{ifEquals a b}}')).to.deep.equal(['template.helper-usage', 4, 1]);
    expect(only('{{#json data}}body{{/json}}')).to.deep.equal(['template.helper-usage', 4, 1]);
    expect(only('{{#each (if x)}}{{/each}}')).to.deep.equal(['template.helper-usage', 4, 9]);
  });

  it('a section over a variable named like a helper: the hint says {{#this.section}}', function () {
    const [err] = errorsOf('{{#section}}- {{.}}{{/section}}');
    expect([err!.code, err!.line, err!.column]).to.deep.equal(['template.helper-usage', 4, 1]);
    expect(err!.hint).to.include('{{#this.section}}…{{/this.section}}');
    expect(new PromptEnvironment().compile('{{#this.section}}- {{.}}{{/this.section}}').renderText({ section: ['a'] })).to.equal('- a');
  });

  it('a literal role name that is not one', function () {
    expect(only('{{role "System"}}')).to.deep.equal(['template.helper-usage', 4, 8]);
  });

  it('{{helperMissing …}} and {{#blockHelperMissing …}} are Handlebars internals, unknown here', function () {
    expect(only('{{helperMissing "x"}}')).to.deep.equal(['template.unknown-helper', 4, 1]);
    expect(only('{{#blockHelperMissing x}}y{{/blockHelperMissing}}')).to.deep.equal(['template.unknown-helper', 4, 1]);
    // Without arguments they are plain variables, as any unknown name.
    expect(new PromptEnvironment().compile('[{{helperMissing}}]').renderText({ helperMissing: 'v' })).to.equal('[v]');
  });

  it('decorators other than {{#*inline "name"}}', function () {
    expect(only('{{* foo}}')).to.deep.equal(['template.decorator', 4, 1]);
    expect(only('a {{#* foo}}x{{/foo}}')).to.deep.equal(['template.decorator', 4, 3]);
    expect(only('{{#*inline}}x{{/inline}}')).to.deep.equal(['template.decorator', 4, 1]);
    expect(only('{{#*inline name}}x{{/inline}}')).to.deep.equal(['template.dynamic-partial', 4, 1]);
    expect(new PromptEnvironment().compile('{{#*inline "p"}}P{{/inline}}{{> p}}').renderText()).to.equal('P');
  });

  it('{{> @partial-block}} with no block to render', function () {
    expect(only('{{> @partial-block}}')).to.deep.equal(['template.partial-block', 4, 1]);
    const env = new PromptEnvironment({ partials: { layout: '<{{> @partial-block}}>' } });
    const err = errorsOf('x {{> layout}}', env)[0]!;
    expect([err.code, err.line, err.column]).to.deep.equal(['template.partial-block', 4, 3]);
    expect(env.compile('{{#> layout}}body{{/layout}}').renderText()).to.equal('<body>');
  });

  it('reaches helpers however they are written: {{@json}}, {{this.json x}}', function () {
    expect(only('{{@json}}')).to.deep.equal(['template.helper-usage', 4, 1]);
    // Handlebars calls the json helper for this.json with arguments; it must be registered.
    expect(new PromptEnvironment().compile('{{this.json x}}').renderText({ x: [1] })).to.equal('[1]');
  });

  it('leaves block parameters, and helpers called as Dotprompt does, alone', function () {
    const env = new PromptEnvironment();
    const ok = [
      '{{#each people as |role|}}{{role}} {{/each}}',
      '{{role "system"}}{{history}}{{section "q"}}{{media url=u}}{{json x indent=2}}{{lookup x "a"}}{{log "x"}}',
      '{{#ifEquals a b}}y{{else}}n{{/ifEquals}}{{#unlessEquals a b}}y{{/unlessEquals}}',
      '{{#if a}}1{{else if b}}2{{else}}3{{/if}}{{#each xs}}{{@index}}{{else}}none{{/each}}{{#with a}}{{.}}{{/with}}',
    ];
    for (const source of ok) expect(env.check(source).errors.map((e) => e.format()), source).to.deep.equal([]);
    expect(env.compile('{{#each people as |role|}}{{role}} {{/each}}').renderText({ people: ['a', 'b'] })).to.equal('a b ');
  });
});

describe('every problem of a template at once', function () {
  it('an unknown helper, an unknown partial and a helper misuse in one file: three errors, in order', function () {
    const errors = errorsOf('Hi {{nme}}\n{{> footr}} {{jsn data}}\n{{#if}}x{{/if}}');
    expect(errors.map((e) => [e.code, e.line, e.column])).to.deep.equal([
      ['template.unknown-partial', 5, 1],
      ['template.unknown-helper', 5, 13],
      ['template.helper-usage', 6, 1],
    ]);
    expect(errors[1]!.hint).to.include('did you mean "json"');
  });

  it('front matter that does not normalise, and template errors, together', function () {
    const checked = new PromptEnvironment().check('---\ninput:\n  schema:\n    name: strng\n---\n{{jsn x}}', { file: FILE });
    expect(checked.errors.map((e) => e.code)).to.deep.equal(['schema.picoschema', 'template.unknown-helper']);
    expect(checked.parts?.templateParsed).to.equal(true);
  });

  it('compile() throws the first of them', function () {
    expect(() => new PromptEnvironment().compile('{{> nope}} {{jsn x}}')).to.throw().with.property('code', 'template.unknown-partial');
  });
});
