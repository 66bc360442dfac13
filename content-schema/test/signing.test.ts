import { expect } from 'chai';
import { createHash, createPublicKey, verify } from 'node:crypto';
import {
  AnvilError,
  generateSigningKey,
  keyIdOf,
  publicKeyOf,
  signIntegrity,
  signWebhook,
  validateEnvelope,
  verifyBundleSignatures,
  verifyWebhook,
  type SigningKey,
  type WebhookVerification,
} from '../src/index.ts';
import { sampleBundle, sampleCoreBundle, sampleEnvelope } from './support/samples.ts';

/** The same base64 with one bit of byte `index` flipped. */
function flipByte(base64: string, index: number): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return bytes.toString('base64');
}

function flipChar(text: string, index: number): string {
  const code = text.charCodeAt(index);
  return text.slice(0, index) + String.fromCharCode(code === 0x41 ? 0x42 : code ^ 0x01) + text.slice(index + 1);
}

function expectFailure(result: { ok: boolean }, code: string): void {
  expect(result.ok, JSON.stringify(result)).to.equal(false);
  expect((result as { code?: string }).code).to.equal(code);
}

describe('signing keys', () => {
  it('are Ed25519: a raw 32-byte public key in base64, a PKCS#8 PEM private key, a derived key id', () => {
    const key = generateSigningKey();
    const raw = Buffer.from(key.publicKey, 'base64');
    expect(raw).to.have.length(32);
    expect(key.privateKey).to.match(/^-----BEGIN PRIVATE KEY-----\n/);
    const expectedId = `ed25519:${createHash('sha256').update(raw).digest('base64url').slice(0, 16)}`;
    expect(key.keyId).to.equal(expectedId).and.match(/^ed25519:[A-Za-z0-9_-]{16}$/);
    expect(keyIdOf(key.publicKey)).to.equal(key.keyId);
    expect(publicKeyOf(key.privateKey)).to.equal(key.publicKey);
  });

  it('are different every time', () => {
    const a = generateSigningKey();
    const b = generateSigningKey();
    expect(a.publicKey).not.to.equal(b.publicKey);
    expect(a.keyId).not.to.equal(b.keyId);
  });

  it('refuse what is not a key, with an AnvilError', () => {
    expect(() => keyIdOf('not base64 at all')).to.throw(AnvilError).with.property('code', 'signing.key');
    expect(() => keyIdOf(Buffer.alloc(31).toString('base64'))).to.throw(AnvilError);
    expect(() => publicKeyOf('-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n')).to.throw(AnvilError).with.property('code', 'signing.key');
  });
});

describe('bundle signatures', () => {
  const forge = generateSigningKey();
  const trusted = { [forge.keyId]: forge.publicKey };
  const onboarding = sampleBundle();
  const core = sampleCoreBundle();

  it('are Ed25519 over the UTF-8 bytes of the integrity string, in the envelope\'s shape', () => {
    const signed = signIntegrity(forge, onboarding.integrity);
    expect(signed.keyId).to.equal(forge.keyId);
    expect(signed.integrity).to.equal(onboarding.integrity);
    const publicKey = createPublicKey(forge.privateKey);
    expect(verify(null, Buffer.from(onboarding.integrity, 'utf8'), publicKey, Buffer.from(signed.signature, 'base64'))).to.equal(true);

    const envelope = sampleEnvelope();
    envelope.signatures = envelope.bundles.map((bundle) => signIntegrity(forge, bundle.integrity));
    expect(validateEnvelope(envelope).errors).to.deep.equal([]);
  });

  it('verify when every bundle carries a valid signature by a trusted key', () => {
    const signatures = [signIntegrity(forge, onboarding.integrity), signIntegrity(forge, core.integrity)];
    expect(verifyBundleSignatures([onboarding, core], signatures, trusted)).to.deep.equal({ ok: true });
    expect(verifyBundleSignatures([], [], trusted)).to.deep.equal({ ok: true });
  });

  it('refuse a bundle without a signature (signature.missing), naming it', () => {
    const result = verifyBundleSignatures([onboarding, core], [signIntegrity(forge, onboarding.integrity)], trusted);
    expectFailure(result, 'signature.missing');
    expect(result).to.include({ integrity: core.integrity });
    expect((result as { reason: string }).reason).to.contain('core@2.0.1');
  });

  it('refuse a signature by a key not trusted (signature.untrusted-key)', () => {
    const stranger = generateSigningKey();
    const result = verifyBundleSignatures([onboarding], [signIntegrity(stranger, onboarding.integrity)], trusted);
    expectFailure(result, 'signature.untrusted-key');
    expect((result as { reason: string }).reason).to.contain(stranger.keyId);
  });

  it('refuse a signature made with another key under a trusted key id (signature.invalid)', () => {
    const impostor = generateSigningKey();
    const forged = signIntegrity({ keyId: forge.keyId, privateKey: impostor.privateKey }, onboarding.integrity);
    expectFailure(verifyBundleSignatures([onboarding], [forged], trusted), 'signature.invalid');
  });

  it('refuse a signature with any one byte flipped', () => {
    const good = signIntegrity(forge, onboarding.integrity);
    for (let i = 0; i < 64; i++) {
      const tampered = { ...good, signature: flipByte(good.signature, i) };
      expectFailure(verifyBundleSignatures([onboarding], [tampered], trusted), 'signature.invalid');
    }
  });

  it('refuse a signature over another integrity relabelled for this bundle', () => {
    const moved = { ...signIntegrity(forge, core.integrity), integrity: onboarding.integrity };
    expectFailure(verifyBundleSignatures([onboarding], [moved], trusted), 'signature.invalid');
  });

  it('accept one valid signature among invalid and untrusted ones', () => {
    const stranger = generateSigningKey();
    const good = signIntegrity(forge, onboarding.integrity);
    const signatures = [
      { ...good, signature: flipByte(good.signature, 3) },
      signIntegrity(stranger, onboarding.integrity),
      good,
    ];
    expect(verifyBundleSignatures([onboarding], signatures, trusted)).to.deep.equal({ ok: true });
  });

  it('follow a key rotation: either of two trusted keys, then only the new one', () => {
    const next = generateSigningKey();
    const both = { [forge.keyId]: forge.publicKey, [next.keyId]: next.publicKey };
    const signatures = [signIntegrity(forge, onboarding.integrity), signIntegrity(next, core.integrity)];
    expect(verifyBundleSignatures([onboarding, core], signatures, both)).to.deep.equal({ ok: true });
    const result = verifyBundleSignatures([onboarding, core], signatures, { [next.keyId]: next.publicKey });
    expectFailure(result, 'signature.untrusted-key');
    expect(result).to.include({ integrity: onboarding.integrity });
  });

  it('never throw on malformed input', () => {
    const good = signIntegrity(forge, onboarding.integrity);
    const cases: [unknown, unknown, unknown, string][] = [
      [null, [good], trusted, 'signature.malformed'],
      [[onboarding], 'nope', trusted, 'signature.malformed'],
      [[{}], [good], trusted, 'signature.malformed'],
      [[null], [good], trusted, 'signature.malformed'],
      [[onboarding], [null, 1, 'x', {}], trusted, 'signature.missing'],
      [[onboarding], [{ ...good, signature: '!!!not base64!!!' }], trusted, 'signature.invalid'],
      [[onboarding], [{ ...good, signature: `${good.signature.slice(0, -2)}A=` }], trusted, 'signature.invalid'],
      [[onboarding], [{ ...good, signature: `${good.signature} ` }], trusted, 'signature.invalid'],
      [[onboarding], [{ ...good, signature: 42 }], trusted, 'signature.invalid'],
      [[onboarding], [good], { [forge.keyId]: 'not a key' }, 'signature.invalid'],
      [[onboarding], [good], { [forge.keyId]: Buffer.alloc(32).toString('base64') }, 'signature.invalid'],
      [[onboarding], [good], null, 'signature.untrusted-key'],
      [[onboarding], [{ ...good, keyId: '__proto__' }], trusted, 'signature.untrusted-key'],
      [[onboarding], [{ ...good, keyId: 'toString' }], {}, 'signature.untrusted-key'],
    ];
    for (const [bundles, signatures, keys, code] of cases) {
      const result = verifyBundleSignatures(bundles as never, signatures as never, keys as never);
      expectFailure(result, code);
    }
  });

  it('refuse to sign what is not an integrity string', () => {
    expect(() => signIntegrity(forge, 'sha256-short')).to.throw(AnvilError).with.property('code', 'signing.integrity');
  });
});

describe('webhook signatures (Standard Webhooks v1a)', () => {
  const forge = generateSigningKey();
  const trusted = { [forge.keyId]: forge.publicKey };
  const id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
  const timestamp = 1_750_000_000;
  const now = timestamp * 1000;
  const body = JSON.stringify({ format: 'anvil.envelope/1', note: 'é👋' });

  function signed(overrides: Partial<{ id: string; timestamp: string | number; signature: string; body: string | Buffer }> = {}) {
    return { id, timestamp: String(timestamp), signature: signWebhook(forge, { id, timestamp, body }), body, ...overrides };
  }

  function expectRejected(result: WebhookVerification, status: number, code: string): void {
    expect(result.ok, JSON.stringify(result)).to.equal(false);
    expect(result).to.include({ status, code });
  }

  it('are "v1a," and a base64 Ed25519 signature over "id.timestamp.body"', () => {
    const header = signWebhook(forge, { id, timestamp, body });
    expect(header).to.match(/^v1a,[A-Za-z0-9+/]{86}==$/);
    const signature = Buffer.from(header.slice(4), 'base64');
    const content = Buffer.from(`${id}.${timestamp}.${body}`, 'utf8');
    expect(verify(null, content, createPublicKey(forge.privateKey), signature)).to.equal(true);
  });

  it('verify a round trip, with the body as a string or as the same bytes', () => {
    expect(verifyWebhook(trusted, signed(), { now })).to.deep.equal({ ok: true, timestamp });
    expect(verifyWebhook(trusted, signed({ body: Buffer.from(body, 'utf8') }), { now }).ok).to.equal(true);
    const fromBytes = signWebhook(forge, { id, timestamp, body: Buffer.from(body, 'utf8') });
    expect(verifyWebhook(trusted, signed({ signature: fromBytes }), { now }).ok).to.equal(true);
    expect(verifyWebhook(trusted, signed({ timestamp }), { now }).ok, 'timestamp as a number').to.equal(true);
  });

  it('refuse a flipped byte anywhere in the body (401 webhook.signature)', () => {
    const bytes = Buffer.from(body, 'utf8');
    for (let i = 0; i < bytes.length; i++) {
      const tampered = Buffer.from(bytes);
      tampered[i] = (tampered[i] ?? 0) ^ 0x01;
      expectRejected(verifyWebhook(trusted, signed({ body: tampered }), { now }), 401, 'webhook.signature');
    }
  });

  it('refuse a changed id or timestamp', () => {
    for (let i = 0; i < id.length; i++) {
      expectRejected(verifyWebhook(trusted, signed({ id: flipChar(id, i) }), { now }), 401, 'webhook.signature');
    }
    expectRejected(verifyWebhook(trusted, signed({ timestamp: String(timestamp + 1) }), { now }), 401, 'webhook.signature');
    expectRejected(verifyWebhook(trusted, signed({ timestamp: String(timestamp - 10) }), { now }), 401, 'webhook.signature');
  });

  it('refuse a flipped byte anywhere in the signature', () => {
    const header = signWebhook(forge, { id, timestamp, body });
    for (let i = 0; i < 64; i++) {
      const tampered = `v1a,${flipByte(header.slice(4), i)}`;
      expectRejected(verifyWebhook(trusted, signed({ signature: tampered }), { now }), 401, 'webhook.signature');
    }
  });

  it('refuse a signature by another key, and answer 401 when no key is trusted', () => {
    const other = generateSigningKey();
    const header = signWebhook(other, { id, timestamp, body });
    expectRejected(verifyWebhook(trusted, signed({ signature: header }), { now }), 401, 'webhook.signature');
    expectRejected(verifyWebhook({}, signed(), { now }), 401, 'webhook.signature');
  });

  it('accept exactly ±300 s of clock difference and refuse 301 s with 403 webhook.window', () => {
    expect(verifyWebhook(trusted, signed(), { now: now + 300_000 }).ok).to.equal(true);
    expect(verifyWebhook(trusted, signed(), { now: now - 300_000 }).ok).to.equal(true);
    expectRejected(verifyWebhook(trusted, signed(), { now: now + 301_000 }), 403, 'webhook.window');
    expectRejected(verifyWebhook(trusted, signed(), { now: now - 301_000 }), 403, 'webhook.window');
    expect(verifyWebhook(trusted, signed(), { now: now + 60_000, toleranceSeconds: 60 }).ok).to.equal(true);
    expectRejected(verifyWebhook(trusted, signed(), { now: now + 61_000, toleranceSeconds: 60 }), 403, 'webhook.window');
  });

  it('check the signature before the window: a forged stale request is 401, not 403', () => {
    const header = `v1a,${flipByte(signWebhook(forge, { id, timestamp, body }).slice(4), 0)}`;
    expectRejected(verifyWebhook(trusted, signed({ signature: header }), { now: now + 3_600_000 }), 401, 'webhook.signature');
  });

  it('take any matching v1a entry of several, ignoring other versions', () => {
    const good = signWebhook(forge, { id, timestamp, body });
    const other = signWebhook(generateSigningKey(), { id, timestamp, body });
    const header = `v1,${Buffer.alloc(32).toString('base64')} ${other} v1a,@@garbage@@ v2,xyz ${good}`;
    expect(verifyWebhook(trusted, signed({ signature: header }), { now }).ok).to.equal(true);
    expect(verifyWebhook(trusted, signed({ signature: [other, good] as never }), { now }).ok, 'repeated header').to.equal(true);
    expectRejected(verifyWebhook(trusted, signed({ signature: `v1,${good.slice(4)}` }), { now }), 401, 'webhook.signature');
  });

  it('look at no more than eight v1a entries, so a stuffed header costs little', () => {
    const good = signWebhook(forge, { id, timestamp, body });
    const junk = `v1a,${Buffer.alloc(64, 7).toString('base64')}`;
    expect(verifyWebhook(trusted, signed({ signature: [...Array(7).fill(junk), good].join(' ') }), { now }).ok).to.equal(true);
    expectRejected(verifyWebhook(trusted, signed({ signature: [...Array(8).fill(junk), good].join(' ') }), { now }), 401, 'webhook.signature');
  });

  it('follow a key rotation: a request signed by either trusted key verifies', () => {
    const next = generateSigningKey();
    const both = { ...trusted, [next.keyId]: next.publicKey };
    expect(verifyWebhook(both, signed(), { now }).ok).to.equal(true);
    expect(verifyWebhook(both, signed({ signature: signWebhook(next, { id, timestamp, body }) }), { now }).ok).to.equal(true);
  });

  it('refuse malformed base64 in a v1a entry (401 webhook.signature)', () => {
    const good = signWebhook(forge, { id, timestamp, body }).slice(4);
    // Same bytes, but stray padding bits in the last character: lenient decoders accept it.
    const nonCanonical = `${good.slice(0, -3)}${String.fromCharCode(good.charCodeAt(good.length - 3) + 1)}==`;
    expect(Buffer.from(nonCanonical, 'base64').equals(Buffer.from(good, 'base64'))).to.equal(true);
    for (const bad of ['!!!', `${good.slice(0, -2)}`, `${good}==`, nonCanonical, `${good.slice(1)}`, ` ${good}`]) {
      expectRejected(verifyWebhook(trusted, signed({ signature: `v1a,${bad}` }), { now }), 401, 'webhook.signature');
    }
  });

  it('answer 401 webhook.headers for missing or garbled headers', () => {
    const cases: Record<string, unknown>[] = [
      { id: undefined },
      { id: '' },
      { id: 'has space' },
      { id: 'x'.repeat(257) },
      { id: ['a', 'b'] },
      { timestamp: undefined },
      { timestamp: '' },
      { timestamp: 'yesterday' },
      { timestamp: '-5' },
      { timestamp: '1.5' },
      { timestamp: 1.5 },
      { timestamp: '1'.repeat(20) },
      { signature: undefined },
      { signature: '' },
      { signature: '   ' },
      { body: undefined },
      { body: { parsed: true } },
    ];
    for (const overrides of cases) {
      expectRejected(verifyWebhook(trusted, { ...signed(), ...overrides } as never, { now }), 401, 'webhook.headers');
    }
  });

  it('never throw, whatever the trusted keys hold', () => {
    for (const keys of [null, { k: 'garbage' }, { k: 42 }, JSON.parse('{"__proto__": "garbage"}')]) {
      expectRejected(verifyWebhook(keys as never, signed(), { now }), 401, 'webhook.signature');
    }
  });

  it('refuse to sign an invalid id or timestamp', () => {
    expect(() => signWebhook(forge, { id: 'a b', timestamp, body })).to.throw(AnvilError).with.property('code', 'signing.webhook-id');
    expect(() => signWebhook(forge, { id, timestamp: 1.5, body })).to.throw(AnvilError).with.property('code', 'signing.webhook-timestamp');
    expect(() => signWebhook({ privateKey: 'nope' } as SigningKey, { id, timestamp, body })).to.throw(AnvilError).with.property('code', 'signing.key');
  });
});
