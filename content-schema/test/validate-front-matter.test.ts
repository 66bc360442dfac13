import { expect } from 'chai';
import { validateFrontMatter } from '../src/index.ts';
import { codes } from './support/samples.ts';

describe('validateFrontMatter', () => {
  it('accepts Dotprompt front matter with Anvil tags and extension keys', () => {
    const input = {
      name: 'welcome',
      variant: 'fr',
      version: '3',
      description: 'Greets a new user',
      model: 'googleai/gemini-2.0-flash',
      config: { temperature: 0.7, maxOutputTokens: 400 },
      input: { schema: { name: 'string, the user name', 'plan?': 'string' }, default: { plan: 'free' } },
      output: { format: 'json', schema: { greeting: 'string' } },
      tools: ['lookupUser'],
      toolDefs: [{ name: 'lookupUser', inputSchema: { type: 'object' } }],
      metadata: { owner: 'growth' },
      tags: { locale: 'fr', formal: true, tier: 2 },
      'acme.owner': 'growth',
      'acme.review.level': 2,
    };
    const result = validateFrontMatter(input);
    expect(result.ok, JSON.stringify(result.errors)).to.equal(true);
    expect(result.warnings).to.deep.equal([]);
    expect(result.value).to.deep.equal(input);
  });

  it('accepts an input schema written as JSON Schema or as a named schema', () => {
    expect(validateFrontMatter({ input: { schema: { type: 'object', properties: {} } } }).ok).to.equal(true);
    expect(validateFrontMatter({ input: { schema: 'UserInput' } }).ok).to.equal(true);
  });

  it('warns, without failing, about keys it does not know', () => {
    const result = validateFrontMatter({ model: 'x', temprature: 0.2, ext: { a: 1 }, raw: {}, input: { defaults: {} } });
    expect(result.ok).to.equal(true);
    expect(result.errors).to.deep.equal([]);
    expect(codes(result.warnings)).to.have.members([
      'schema.unknown-field@/temprature',
      'schema.unknown-field@/ext',
      'schema.unknown-field@/raw',
      'schema.unknown-field@/input/defaults',
    ]);
    const hints = Object.fromEntries(result.warnings.map((w) => [w.path, w.hint]));
    expect(hints['/ext']).to.match(/dotted keys/);
    expect(hints['/input/defaults']).to.equal('did you mean "default"?');
  });

  it('reports wrong types as errors', () => {
    const result = validateFrontMatter({ config: 'hot', tools: 'search', tags: { locale: ['fr'] }, input: { default: [] }, model: 5 });
    expect(result.ok).to.equal(false);
    expect(codes(result.errors)).to.have.members([
      'schema.type@/config',
      'schema.type@/tools',
      'schema.type@/tags/locale',
      'schema.type@/input/default',
      'schema.type@/model',
    ]);
    expect(result.errors.find((e) => e.path === '/tags/locale')?.message).to.equal('expected string, number or boolean, got an array');
  });

  it('refuses prototype keys at any depth', () => {
    const input = JSON.parse('{"config": {"nested": {"__proto__": {"x": 1}}}, "metadata": {"constructor": 1}}') as unknown;
    expect(codes(validateFrontMatter(input).errors)).to.have.members([
      'schema.forbidden-key@/config/nested/__proto__',
      'schema.forbidden-key@/metadata/constructor',
    ]);
  });

  it('bounds nesting depth', () => {
    let deep: Record<string, unknown> = {};
    const root = { metadata: deep };
    for (let i = 0; i < 100; i++) {
      const next = {};
      deep['x'] = next;
      deep = next;
    }
    expect(codes(validateFrontMatter(root).errors)).to.have.length(1).and.satisfy((c: string[]) => c[0]?.startsWith('schema.too-deep@/metadata/x/x'));
  });

  it('reports the path with JSON Pointer escaping', () => {
    const result = validateFrontMatter({ tags: { 'a/b~c': 1 } });
    expect(codes(result.errors)).to.deep.equal(['schema.invalid-key@/tags/a~1b~0c']);
    expect(result.errors[0]?.message).to.match(/^invalid key "a\/b~c": "a\/b~c" is not valid\. A tag name/);
  });
});
