import { expect } from 'chai';
import { parsePromptSource, PromptEnvironment } from '@anvil/client';

describe('prompt source: front matter is data only', function () {
  afterEach(function () {
    delete (globalThis as Record<string, unknown>)['__anvilPwned'];
  });

  for (const lang of ['js', 'javascript', 'coffee']) {
    it(`---${lang} front matter is refused and its code never runs`, function () {
      const source = `---${lang}\n{ description: (globalThis.__anvilPwned = true, "x") }\n---\nHi`;
      expect(() => parsePromptSource(source, { file: 'p.md' })).to.throw().with.property('code', 'frontmatter.language');
      expect(() => new PromptEnvironment().compile(source)).to.throw().with.property('line', 1);
      expect((globalThis as Record<string, unknown>)['__anvilPwned']).to.equal(undefined);
    });
  }

  it('a __proto__ key in front matter pollutes nothing', function () {
    const source = '---\n__proto__:\n  polluted: yes\nacme.__proto__: x\nconfig:\n  __proto__:\n    polluted: yes\n---\n{{polluted}}';
    const prompt = new PromptEnvironment().compile(source);
    expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
    expect(Object.getPrototypeOf(prompt.metadata.config)).to.equal(Object.prototype);
    expect((prompt.metadata.config as Record<string, unknown>)['polluted']).to.equal(undefined);
    expect(prompt.renderText({})).to.equal('');
  });

  it('YAML aliases are bounded (no billion laughs)', function () {
    const lines = ['---', 'a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 12; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`);
    lines.push('---', 'Hi');
    expect(() => parsePromptSource(lines.join('\n'))).to.throw().with.property('code', 'frontmatter.yaml');
  });

  it('keeps the body untouched without front matter, and trimmed with it (as Dotprompt)', function () {
    expect(parsePromptSource('  Hi {{x}}\n').template).to.equal('  Hi {{x}}\n');
    const parsed = parsePromptSource('---\nmodel: m\n---\n\n  Hi {{x}}\n\n');
    expect(parsed.template).to.equal('Hi {{x}}');
    expect(parsed.templateStart).to.deep.equal({ line: 5, column: 2 });
    expect(parsed.frontMatter).to.deep.equal({ model: 'm' });
  });

  it('reads CRLF files and a byte-order mark', function () {
    const parsed = parsePromptSource('\uFEFF---\r\nmodel: m\r\n---\r\nHi\r\n');
    expect(parsed.frontMatter).to.deep.equal({ model: 'm' });
    expect(parsed.template).to.equal('Hi');
  });
});
