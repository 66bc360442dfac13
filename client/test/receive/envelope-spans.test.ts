import { expect } from 'chai';
import { canonicalJson, integrityOfBundleBytes } from '@anvil/content-schema';
import { bundleSpans } from '../../src/receive/envelope-spans.ts';
import { makeBundle, startFakeForge } from '../support/fake-forge.ts';

describe('integrity on the bytes as received', function () {
  const a = makeBundle('onboarding', '1.0.0', { 'welcome.message': 'Hi {{name}} — "quoted" {braces} [brackets] \\ back' });
  const b = makeBundle('core', '2.0.0', { x: 'X' }, { partials: { signature: '}]"{' } });

  it('finds each bundle of a canonical envelope, byte for byte', async function () {
    const forge = await startFakeForge();
    try {
      const body = Buffer.from(canonicalJson(forge.envelope('production', [a, b])));
      const spans = bundleSpans(body)!;
      expect(spans.map((s) => s.toString('utf8'))).to.deep.equal([canonicalJson(a), canonicalJson(b)]);
    } finally {
      await forge.close();
    }
  });

  it('computes the same integrity as the parsed route, and a different one for a changed byte', function () {
    const bytes = Buffer.from(canonicalJson(a));
    expect(integrityOfBundleBytes(bytes)).to.equal(a.integrity);
    const tampered = Buffer.from(canonicalJson(a).replace('Hi {{name}}', 'Ho {{name}}'));
    expect(integrityOfBundleBytes(tampered)).not.to.equal(a.integrity);
  });

  it('declines what is not canonical, so the caller falls back', function () {
    expect(bundleSpans(Buffer.from(JSON.stringify({ id: 'x', bundles: [a] })))).to.equal(undefined);
    expect(bundleSpans(Buffer.from('{"bundles":[{"a":1}'))).to.equal(undefined);
    expect(integrityOfBundleBytes(Buffer.from(JSON.stringify(a)))).to.equal(undefined);
  });
});
