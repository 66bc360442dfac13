import { expect } from 'chai';
import { AnvilError, picoschemaToJsonSchema } from '@anvil/content-schema';

describe('Picoschema → JSON Schema', function () {
  it('converts fields, optional (nullable) fields, arrays, objects, enums and wildcards', function () {
    const schema = picoschemaToJsonSchema({
      name: 'string, the user\'s name',
      'age?': 'integer',
      'tags(array, labels)': 'string',
      'address?(object)': { street: 'string' },
      'plan(enum)': ['free', 'pro'],
      'meta(object)': { '(*)': 'string' },
      anything: 'any',
    });
    expect(schema).to.deep.equal({
      type: 'object',
      additionalProperties: false,
      required: ['name', 'tags', 'plan', 'meta', 'anything'],
      properties: {
        name: { type: 'string', description: "the user's name" },
        age: { type: ['integer', 'null'] },
        tags: { type: 'array', items: { type: 'string' }, description: 'labels' },
        address: { type: ['object', 'null'], properties: { street: { type: 'string' } }, required: ['street'], additionalProperties: false },
        plan: { enum: ['free', 'pro'] },
        meta: { type: 'object', properties: {}, additionalProperties: { type: 'string' } },
        anything: {},
      },
    });
  });

  it('passes JSON Schema through unchanged', function () {
    const js = { type: 'object', properties: { a: { type: 'string' } } };
    expect(picoschemaToJsonSchema(js)).to.equal(js);
    expect(picoschemaToJsonSchema({ properties: { a: { type: 'string' } } })).to.deep.equal({ type: 'object', properties: { a: { type: 'string' } } });
  });

  it('resolves named schemas and overrides their description', function () {
    const resolveSchema = (name: string) => (name === 'Address' ? { type: 'object', description: 'an address' } : undefined);
    expect(picoschemaToJsonSchema('Address, where to ship', { resolveSchema })).to.deep.equal({ type: 'object', description: 'where to ship' });
  });

  it('returns null for an empty schema', function () {
    expect(picoschemaToJsonSchema(undefined)).to.equal(null);
    expect(picoschemaToJsonSchema('')).to.equal(null);
  });

  it('reports an unknown type with the path of the field', function () {
    try {
      picoschemaToJsonSchema({ user: { 'name': 'strng' } });
      expect.fail('expected an error');
    } catch (err) {
      expect(err).to.be.instanceOf(AnvilError);
      expect((err as AnvilError).code).to.equal('schema.picoschema');
      expect((err as AnvilError).message).to.include('"user.name"');
      expect((err as AnvilError).hint).to.include('string');
    }
  });

  it('reports an unsupported parenthetical type and a non-list enum', function () {
    expect(() => picoschemaToJsonSchema({ 'a(map)': 'string' })).to.throw(/object", "array" or "enum"/);
    expect(() => picoschemaToJsonSchema({ 'a(enum)': 'x' })).to.throw(/list of values/);
    expect(() => picoschemaToJsonSchema({ a: 42 })).to.throw(/objects and strings/);
  });
});
