import { expect } from 'chai';
import { canonicalJson, generateSigningKey, integrityOfBundleBytes, signEnvelope, signIntegrity, type Bundle } from '@anvil/content-schema';
import { checkEnvelope } from '../../src/receive/check-push.ts';
import { bundleSpans, readEnvelopeBytes, scanBundleSpans } from '../../src/receive/envelope-spans.ts';
import { makeBundle, startFakeForge } from '../support/fake-forge.ts';

describe('integrity on the bytes as received', function () {
  const a = makeBundle('onboarding', '1.0.0', { 'welcome.message': 'Hi {{name}} — "quoted" {braces} [brackets] \\ back' });
  const b = makeBundle('core', '2.0.0', { x: 'X' }, { partials: { signature: '}]"{' } });

  it('finds each bundle of a canonical envelope, byte for byte, by guess and by scan', async function () {
    const forge = await startFakeForge();
    try {
      const body = Buffer.from(canonicalJson(forge.envelope('production', [a, b])));
      for (const find of [bundleSpans, scanBundleSpans]) {
        const spans = find(body)!;
        expect(spans.map((s) => s.toString('utf8'))).to.deep.equal([canonicalJson(a), canonicalJson(b)]);
      }
      expect(bundleSpans(Buffer.from(canonicalJson(forge.envelope('production', []))))).to.deep.equal([]);
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
    for (const find of [bundleSpans, scanBundleSpans]) {
      expect(find(Buffer.from(JSON.stringify({ id: 'x', bundles: [a] })))).to.equal(undefined);
      expect(find(Buffer.from('{"bundles":[{"a":1}'))).to.equal(undefined);
    }
    expect(integrityOfBundleBytes(Buffer.from(JSON.stringify(a)))).to.equal(undefined);
  });

  describe('checkEnvelope', function () {
    const key = generateSigningKey();
    const view = { project: 'acme', channel: 'production', forgeKeys: { [key.keyId]: key.publicKey }, versions: {}, rollouts: {}, ranges: {} };
    const body = (bundles: Bundle[]) => Buffer.from(canonicalJson(signEnvelope([key], {
      format: 'anvil.envelope/1', id: 'env-1', forge: 'f', project: 'acme', channel: 'production', bundles, rollouts: {},
    })));

    it('keeps the exact bytes of each bundle, to write them as received', function () {
      const checked = checkEnvelope(body([a, b]), view);
      expect(checked.ok && [...checked.bundleBytes].map(([i, bytes]) => [i, bytes.toString('utf8')])).to.deep.equal([
        [a.integrity, canonicalJson(a)],
        [b.integrity, canonicalJson(b)],
      ]);
    });

    it('is not misled by content that looks like the join between two bundles: the guess fails its hash, the exact walk finds them', function () {
      // Free-form metadata can hold `…"version":"1.0.0"},{"dependencies":{…`.
      const tricky = makeBundle('onboarding', '1.0.0', { p: { template: 'x', metadata: { metadata: { list: [{ version: '1.0.0' }, { dependencies: { x: 1 } }] } } } });
      const bytes = body([tricky, b]);
      expect(bundleSpans(bytes)!.map((s) => s.toString('utf8'))).not.to.deep.equal([canonicalJson(tricky), canonicalJson(b)]);
      const checked = checkEnvelope(bytes, view);
      expect(checked.ok && [...checked.bundleBytes.values()].map((s) => s.toString('utf8'))).to.deep.equal([canonicalJson(tricky), canonicalJson(b)]);
    });

    it('takes one signature to mean one bundle, and does not look for joins inside it', function () {
      const tricky = makeBundle('onboarding', '1.0.0', { p: { template: 'x', metadata: { metadata: { list: [{ version: '1.0.0' }, { dependencies: { x: 1 } }] } } } });
      expect(bundleSpans(body([tricky]))!.map((s) => s.toString('utf8'))).to.deep.equal([canonicalJson(tricky)]);
    });

    it('reads a canonical body without its prompt entries: the outline is parsed, each entry when first read', function () {
      const read = readEnvelopeBytes(body([a, b]))!;
      const outline = read.outline as { bundles: Bundle[] };
      expect(outline.bundles.map((x) => Object.values(x.prompts))).to.deep.equal([[{}], [{}]]);
      expect(read.bundles.map((x) => body([a, b]).toString('utf8', x.start, x.end))).to.deep.equal([canonicalJson(a), canonicalJson(b)]);

      const checked = checkEnvelope(body([a, b]), view);
      if (!checked.ok) throw new Error(checked.rejection.reason);
      expect(checked.envelope.bundles.map((x) => x.prompts)).to.deep.equal([a.prompts, b.prompts]);
      // Served from the body (bundle/bundle-bytes.ts), not from a parsed copy: the map is a
      // read-only view.
      expect(() => { (checked.envelope.bundles[0]!.prompts as Record<string, unknown>)['x'] = 1; }).to.throw(TypeError);
    });

    it('parses a body that is not canonical whole, and judges it the same', function () {
      const envelope = JSON.parse(body([a, b]).toString('utf8')) as { bundles: Bundle[] };
      const spaced = Buffer.from(JSON.stringify(envelope, null, 2));
      // Unsorted keys, no spaces: walkable, but the bytes do not hash to the integrity.
      const unsorted = Buffer.from(JSON.stringify({ ...envelope, bundles: envelope.bundles.map((x) => Object.fromEntries(Object.entries(x).reverse())) }));
      expect(readEnvelopeBytes(spaced)).to.equal(undefined);
      expect(readEnvelopeBytes(unsorted)).not.to.equal(undefined);
      for (const bytes of [spaced, unsorted]) {
        const checked = checkEnvelope(bytes, view);
        expect(checked.ok && checked.envelope.bundles.map((x) => x.prompts), bytes.toString('utf8', 0, 40)).to.deep.equal([a.prompts, b.prompts]);
      }
      const tamperedUnsorted = Buffer.from(unsorted.toString('utf8').replace('Hi {{name}}', 'Ho {{name}}'));
      const refused = checkEnvelope(tamperedUnsorted, view);
      expect(!refused.ok && refused.rejection.code).to.equal('push.integrity');
    });

    it('declines bodies that are not one canonical envelope object', function () {
      const canonical = body([a]).toString('utf8');
      for (const text of [`${canonical} `, canonical.replace('{"bundles":[', '{"bundles":[],"bundles":['), '[]', canonical.slice(0, -1)]) {
        expect(readEnvelopeBytes(Buffer.from(text)), text.slice(0, 30)).to.equal(undefined);
      }
      // A prompt id with an escape JSON does not have: declined, then refused as not JSON.
      const badEscape = Buffer.from(canonical.replace('"welcome.message":', '"welcome\\x.message":'));
      expect(readEnvelopeBytes(badEscape)).to.equal(undefined);
      const checked = checkEnvelope(badEscape, view);
      expect(!checked.ok && checked.rejection.code).to.equal('push.malformed');
    });

    it('fuzzed bodies: any byte changed, cut or inserted gives an answer, never a throw, and never serves changed prompts', function () {
      const original = body([a, b]);
      let seed = 12345;
      const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
      const noise = Buffer.from('{}[]",:\\ax0');
      for (let round = 0; round < 600; round++) {
        const at = Math.floor(next() * original.length);
        const fill = noise[Math.floor(next() * noise.length)]!;
        const kind = round % 3;
        const fuzzed = kind === 0
          ? Buffer.concat([original.subarray(0, at), Buffer.from([fill]), original.subarray(at + 1)])
          : kind === 1
            ? Buffer.concat([original.subarray(0, at), original.subarray(at + 1 + Math.floor(next() * 20))])
            : Buffer.concat([original.subarray(0, at), Buffer.from([fill]), original.subarray(at)]);
        const checked = checkEnvelope(fuzzed, view);
        if (checked.ok) {
          // Only parts no signature covers can change and pass (the envelope id, say): the prompts are the signed ones.
          expect(checked.envelope.bundles.map((x) => x.prompts), `round ${round}`).to.deep.equal([a.prompts, b.prompts]);
        } else {
          expect(checked.rejection.status, `round ${round}`).to.be.oneOf([400, 422, 409]);
        }
      }
    });

    it('still refuses a tampered bundle, whichever way its bytes were found', function () {
      const tampered = Buffer.from(body([a, b]).toString('utf8').replace('Hi {{name}}', 'Ho {{name}}'));
      const checked = checkEnvelope(tampered, view);
      expect(!checked.ok && checked.rejection.code).to.equal('push.integrity');
    });
  });
});
