import { expect } from 'chai';
import { AnvilError } from '@anvil/content-schema';
import { PromptEnvironment } from '@anvil/client';

function compileError(source: string, env = new PromptEnvironment()): AnvilError {
  try {
    env.compile(source, { file: 'prompts/onboarding/welcome/message.md' });
  } catch (err) {
    expect(err).to.be.instanceOf(AnvilError);
    return err as AnvilError;
  }
  throw new Error('expected a compile error');
}

const FRONT = '---\ndescription: Welcome\nmodel: m\n---\n'; // the body starts on line 5

describe('template errors name the file, line and column, with a hint', function () {
  it('unclosed block: points at the block that is never closed', function () {
    const err = compileError(`${FRONT}Hello {{name}}\n  {{#if premium}}\nWelcome back.`);
    expect(err.code).to.equal('template.unclosed-block');
    expect(err.message).to.include('{{#if}}');
    expect([err.file, err.line, err.column]).to.deep.equal(['prompts/onboarding/welcome/message.md', 6, 3]);
    expect(err.hint).to.include('{{/if}}');
    expect(err.format()).to.match(/^prompts\/onboarding\/welcome\/message\.md:6:3 {2}template\.unclosed-block {2}/);
  });

  it('mismatched closing tag', function () {
    const err = compileError(`${FRONT}{{#each items}}\n- {{this}}\n{{/if}}`);
    expect(err.code).to.equal('template.unclosed-block');
    expect(err.line).to.equal(5);
    expect(err.hint).to.include('{{/each}}');
  });

  it('unknown helper, with a suggestion', function () {
    const err = compileError(`${FRONT}Line one\nData: {{jsn payload}}`);
    expect(err.code).to.equal('template.unknown-helper');
    expect(err.message).to.include('"jsn"');
    expect([err.line, err.column]).to.deep.equal([6, 7]);
    expect(err.hint).to.include('did you mean "json"');
  });

  it('unknown block helper', function () {
    const err = compileError(`${FRONT}{{#repeat 3}}x{{/repeat}}`);
    expect(err.code).to.equal('template.unknown-helper');
    expect([err.line, err.column]).to.deep.equal([5, 1]);
  });

  it('unknown partial, with a suggestion', function () {
    const env = new PromptEnvironment({ partials: { signature: '— Acme' } });
    const err = compileError(`${FRONT}Thanks,\n\n   {{> signatur}}`, env);
    expect(err.code).to.equal('template.unknown-partial');
    expect([err.line, err.column]).to.deep.equal([7, 4]);
    expect(err.hint).to.include('did you mean "signature"');
  });

  it('unknown dependency partial explains where such partials come from', function () {
    const err = compileError(`${FRONT}{{> core/footer}}`);
    expect(err.code).to.equal('template.unknown-partial');
    expect(err.hint).to.include('dependencies');
  });

  it('errors inside a partial point at the partial', function () {
    const env = new PromptEnvironment();
    try {
      env.definePartial('footer', 'Bye {{nope x}}', { file: 'prompts/core/_footer.md' });
      expect.fail('expected an error');
    } catch (err) {
      expect(err).to.have.property('code', 'template.unknown-helper');
      expect(err).to.have.property('file', 'prompts/core/_footer.md');
      expect(err).to.have.property('line', 1);
      expect(err).to.have.property('column', 5);
    }
  });

  it('a partial that includes itself is reported as a cycle', function () {
    const env = new PromptEnvironment({ resolvePartial: (n) => (n === 'a' ? 'A {{> b}}' : n === 'b' ? 'B {{> a}}' : undefined) });
    const err = compileError('{{> a}}', env);
    expect(err.code).to.equal('template.partial-cycle');
    expect(err.hint).to.include('a → b → a');
  });

  it('computed partial names are refused', function () {
    const err = compileError(`${FRONT}{{> (lookup . "name")}}`);
    expect(err.code).to.equal('template.dynamic-partial');
    expect(err.line).to.equal(5);
  });

  it('an expression that is never closed', function () {
    const err = compileError(`${FRONT}Hello {{name`);
    expect(err.code).to.equal('template.syntax');
    expect([err.line, err.column]).to.deep.equal([5, 9]);
    expect(err.hint).to.include('}}');
  });

  it('an empty expression', function () {
    const err = compileError('Hello {{ }} there');
    expect(err.code).to.equal('template.syntax');
    expect([err.line, err.column]).to.deep.equal([1, 10]);
  });

  it('a comment that is never closed', function () {
    const err = compileError(`${FRONT}a\n{{!-- note`);
    expect(err.code).to.equal('template.syntax');
    expect(err.message).to.include('comment');
  });

  it('positions account for a body that does not start on its own line', function () {
    // Dotprompt trims the body; leading blank lines are skipped, so the body starts on line 7.
    const err = compileError(`${FRONT}\n\n  {{oops x}}`);
    expect([err.line, err.column]).to.deep.equal([7, 3]);
  });

  it('malformed front matter: YAML error with its position', function () {
    const err = compileError('---\ndescription: ok\nmodel: [unclosed\n---\nHi');
    expect(err.code).to.equal('frontmatter.yaml');
    expect(err.file).to.equal('prompts/onboarding/welcome/message.md');
    expect(err.line).to.be.within(3, 4);
    expect(err.column).to.be.a('number');
    expect(err.hint).to.be.a('string');
  });

  it('malformed front matter: duplicate key', function () {
    const err = compileError('---\nmodel: a\nmodel: b\n---\nHi');
    expect(err.code).to.equal('frontmatter.yaml');
    expect(err.line).to.equal(3);
  });

  it('malformed front matter: not a mapping', function () {
    expect(compileError('---\n- a\n- b\n---\nHi').code).to.equal('frontmatter.not-a-map');
  });

  it('malformed front matter: never closed', function () {
    const err = compileError('---\nmodel: a\nHello');
    expect(err.code).to.equal('frontmatter.unclosed');
    expect(err.line).to.equal(1);
  });

  it('bad Picoschema names the field', function () {
    const err = compileError('---\ninput:\n  schema:\n    name: strng\n---\nHi');
    expect(err.code).to.equal('schema.picoschema');
    expect(err.message).to.include('"name"');
    expect(err.file).to.equal('prompts/onboarding/welcome/message.md');
  });
});
