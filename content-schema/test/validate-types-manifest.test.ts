import { expect } from 'chai';
import { TYPES_MANIFEST_FORMAT, validateTypesManifest, type TypesManifest } from '../src/index.ts';
import { codes, mutable } from './support/samples.ts';

/** What `anvil types` writes for a typed prompt with a variant and an untyped one. */
const good = (): TypesManifest => ({
  format: TYPES_MANIFEST_FORMAT,
  from: '@acme at main (a1b2c3d)',
  prompts: {
    'core/greeting': { set: 'core', id: 'greeting', variants: [], input: null },
    'onboarding/welcome.message': {
      set: 'onboarding',
      id: 'welcome.message',
      variants: ['formal', 'fr'],
      input: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
    },
  },
});

describe('validateTypesManifest', () => {
  it('accepts a manifest as `anvil types` writes it, as is', () => {
    const manifest = good();
    const result = validateTypesManifest(manifest);
    expect(result.ok, JSON.stringify(result.errors)).to.equal(true);
    expect(result.value).to.equal(manifest);
    expect(validateTypesManifest({ ...good(), prompts: {} }).ok).to.equal(true);
  });

  it('refuses another format, naming the one it reads', () => {
    const result = validateTypesManifest({ ...good(), format: 'anvil.types-manifest/2' });
    expect(codes(result.errors)).to.deep.equal(['schema.const@/format']);
    expect(result.errors[0]?.message).to.include('"anvil.types-manifest/1"').and.include('"anvil.types-manifest/2"');
  });

  it('refuses a prompt filed under a key other than its own set/id', () => {
    const manifest = mutable(good());
    manifest.prompts['onboarding/welcome'] = manifest.prompts['onboarding/welcome.message'];
    delete manifest.prompts['onboarding/welcome.message'];
    manifest.prompts['core/greeting'].set = 'shop';
    const result = validateTypesManifest(manifest);
    expect(codes(result.errors)).to.have.members([
      'types-manifest.key-mismatch@/prompts/core~1greeting',
      'types-manifest.key-mismatch@/prompts/onboarding~1welcome',
    ]);
    const mismatch = result.errors.find((e) => e.path === '/prompts/onboarding~1welcome');
    expect(mismatch?.message).to.equal('prompt "onboarding/welcome" names set "onboarding" and id "welcome.message": its key must be "onboarding/welcome.message"');
  });

  it('reports a missing or malformed set or id once, by the schema, not again as a key mismatch', () => {
    const manifest = mutable(good());
    delete manifest.prompts['core/greeting'].set;
    manifest.prompts['onboarding/welcome.message'].id = 'Not An Id';
    expect(codes(validateTypesManifest(manifest).errors)).to.have.members([
      'schema.required@/prompts/core~1greeting/set',
      'schema.pattern@/prompts/onboarding~1welcome.message/id',
    ]);
  });

  it('refuses an input that is neither a JSON Schema object nor null', () => {
    for (const input of ['string', 42, true, [{ type: 'object' }]]) {
      const manifest = mutable(good());
      manifest.prompts['core/greeting'].input = input;
      const result = validateTypesManifest(manifest);
      expect(codes(result.errors), JSON.stringify(input)).to.deep.equal(['schema.type@/prompts/core~1greeting/input']);
      expect(result.errors[0]?.message).to.match(/^expected object or null, got /);
    }
    const missing = mutable(good());
    delete missing.prompts['core/greeting'].input;
    expect(codes(validateTypesManifest(missing).errors)).to.deep.equal(['schema.required@/prompts/core~1greeting/input']);
  });

  it('refuses variants that are not a list of variant names, and unknown fields', () => {
    const manifest = mutable(good());
    manifest.prompts['core/greeting'].variants = 'fr';
    manifest.prompts['onboarding/welcome.message'].variants = ['fr', 'fr', 'no spaces'];
    manifest.prompts['onboarding/welcome.message'].output = null;
    manifest.extra = true;
    expect(codes(validateTypesManifest(manifest).errors)).to.have.members([
      'schema.type@/prompts/core~1greeting/variants',
      'schema.unique-items@/prompts/onboarding~1welcome.message/variants',
      'schema.pattern@/prompts/onboarding~1welcome.message/variants/2',
      'schema.unknown-field@/prompts/onboarding~1welcome.message/output',
      'schema.unknown-field@/extra',
    ]);
  });
});
