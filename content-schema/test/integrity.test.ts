import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { bundleIntegrity, canonicalJson, integrityOf, verifyBundleIntegrity } from '../src/index.ts';
import { mutable, sampleBundle } from './support/samples.ts';

function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).reverse()) out[key] = reverseKeys((value as Record<string, unknown>)[key]);
  return out;
}

describe('integrity', () => {
  it('is sha256- and the base64 SHA-256 of the UTF-8 canonical JSON', () => {
    const value = { b: 'é', a: 1 };
    const expected = createHash('sha256').update(Buffer.from('{"a":1,"b":"é"}', 'utf8')).digest('base64');
    expect(integrityOf(value)).to.equal(`sha256-${expected}`);
    expect(integrityOf(value)).to.match(/^sha256-[A-Za-z0-9+/]{43}=$/);
  });

  it('does not depend on key order at any level', () => {
    const bundle = sampleBundle();
    const reordered = reverseKeys(bundle);
    expect(canonicalJson(reordered)).to.equal(canonicalJson(bundle));
    expect(integrityOf(reordered)).to.equal(integrityOf(bundle));
    expect(verifyBundleIntegrity(reordered)).to.equal(true);
  });

  it('changes with a one-character change anywhere', () => {
    const bundle = mutable(sampleBundle());
    const before = bundleIntegrity(bundle);
    bundle.prompts['welcome.message'].variants.fr.template = 'Bonjour {{name}}!';
    expect(bundleIntegrity(bundle)).not.to.equal(before);
  });

  it('keeps unicode intact', () => {
    const bundle = sampleBundle({ partials: { greeting: 'Grüß Gott 👋 — 你好' } });
    const copy = JSON.parse(JSON.stringify(bundle)) as unknown;
    expect(verifyBundleIntegrity(copy)).to.equal(true);
  });

  it('verifies a bundle against its own integrity field, which is left out of the hash', () => {
    const bundle = sampleBundle();
    expect(verifyBundleIntegrity(bundle)).to.equal(true);
    const { integrity, ...content } = bundle;
    expect(integrity).to.equal(integrityOf(content));
    expect(bundleIntegrity(bundle)).to.equal(integrity);
  });

  it('rejects a tampered bundle or one without integrity, without throwing', () => {
    const tampered = mutable(sampleBundle());
    tampered.version = '1.2.1';
    expect(verifyBundleIntegrity(tampered)).to.equal(false);
    const missing = mutable(sampleBundle());
    delete missing.integrity;
    expect(verifyBundleIntegrity(missing)).to.equal(false);
    expect(verifyBundleIntegrity({ ...sampleBundle(), partials: { x: Number.NaN } })).to.equal(false);
    expect(verifyBundleIntegrity(null)).to.equal(false);
    expect(verifyBundleIntegrity('bundle')).to.equal(false);
  });
});
