/**
 * The envelope statement (issue 18): the forge's signature over project, channel, bundle list
 * and rollouts together, so that bundles signed for one channel cannot be re-wrapped for another.
 */
import { expect } from 'chai';
import { createPublicKey, verify } from 'node:crypto';
import {
  ENVELOPE_STATEMENT,
  envelopeStatement,
  generateSigningKey,
  signEnvelope,
  signEnvelopeStatement,
  validateEnvelope,
  verifyBundleSignatures,
  verifyEnvelopeStatement,
  type Envelope,
} from '../src/index.ts';
import { sampleBundle, sampleCoreBundle } from './support/samples.ts';

describe('envelope signatures', () => {
  const forge = generateSigningKey();
  const trusted = { [forge.keyId]: forge.publicKey };
  const onboarding = sampleBundle();
  const next = sampleBundle({ version: '1.3.0', source: { commit: onboarding.source.commit, tag: 'onboarding@1.3.0', tree: onboarding.source.tree, committedAt: '2025-03-02T12:00:00Z' } });
  const core = sampleCoreBundle();

  function signed(more: Partial<Envelope> = {}): Envelope {
    return signEnvelope([forge], {
      format: 'anvil.envelope/1', id: 'env-1', forge: 'acme-forge', project: 'acme', channel: 'production',
      bundles: [onboarding, core, next], rollouts: { onboarding: { version: '1.3.0', percent: 10 } }, ...more,
    });
  }

  it('sign a canonical statement of format, forge, id, project, channel, bundles and rollouts', () => {
    const envelope = signed();
    const statement = envelopeStatement(envelope);
    expect(JSON.parse(statement)).to.deep.equal({
      statement: ENVELOPE_STATEMENT, format: 'anvil.envelope/1', forge: 'acme-forge', id: 'env-1', project: 'acme', channel: 'production',
      bundles: [onboarding, core, next].map((b) => ({ integrity: b.integrity, set: b.set, version: b.version, stage: b.stage, mode: b.mode })),
      rollouts: { onboarding: { version: '1.3.0', percent: 10 } },
    });
    // No prompt text in it (the integrities cover the content): small whatever the bundles weigh.
    expect(statement).not.to.include('template');
    const [signature] = envelope.envelopeSignatures;
    expect(signature?.keyId).to.equal(forge.keyId);
    expect(verify(null, Buffer.from(statement, 'utf8'), createPublicKey(forge.privateKey), Buffer.from(signature!.signature, 'base64'))).to.equal(true);
    expect(validateEnvelope(envelope).errors).to.deep.equal([]);
    expect(verifyBundleSignatures(envelope.bundles, envelope.signatures, trusted)).to.deep.equal({ ok: true });
    expect(verifyEnvelopeStatement(envelope, envelope.envelopeSignatures, trusted)).to.deep.equal({ ok: true });
  });

  it('does not depend on the key order the envelope was built with', () => {
    const envelope = signed();
    const reordered = JSON.parse(JSON.stringify({ ...envelope, bundles: undefined, rollouts: envelope.rollouts, project: envelope.project })) as Envelope;
    reordered.bundles = envelope.bundles;
    expect(verifyEnvelopeStatement(reordered, envelope.envelopeSignatures, trusted)).to.deep.equal({ ok: true });
  });

  const changes: [string, (e: Envelope) => void][] = [
    ['another channel', (e) => void (e.channel = 'staging')],
    ['another project', (e) => void (e.project = 'other')],
    ['another forge name', (e) => void (e.forge = 'evil-forge')],
    ['another id', (e) => void (e.id = 'env-2')],
    ['a rollout added', (e) => void (e.rollouts = { ...e.rollouts, core: { version: '2.0.0', percent: 50 } })],
    ['a rollout dropped', (e) => void (e.rollouts = {})],
    ['a rollout share changed', (e) => void (e.rollouts = { onboarding: { version: '1.3.0', percent: 100 } })],
    ['a bundle dropped', (e) => void (e.bundles = e.bundles.slice(0, 2))],
    ['a bundle added', (e) => void (e.bundles = [...e.bundles, sampleBundle({ version: '1.4.0' })])],
    ['the bundles reordered', (e) => void (e.bundles = [...e.bundles].reverse())],
    ['a bundle\'s stage claimed otherwise', (e) => void (e.bundles = e.bundles.map((b, i) => (i === 0 ? { ...b, stage: 'head' as const } : b)))],
    ['a bundle\'s mode claimed otherwise', (e) => void (e.bundles = e.bundles.map((b, i) => (i === 0 ? { ...b, mode: 'live' as const } : b)))],
  ];
  for (const [what, change] of changes) {
    it(`fail to verify with ${what}`, () => {
      const envelope = signed();
      change(envelope);
      const result = verifyEnvelopeStatement(envelope, envelope.envelopeSignatures, trusted);
      expect(result).to.include({ ok: false, code: 'signature.invalid' });
      expect((result as { reason: string }).reason).to.match(/not what the forge signed/);
    });
  }

  it('a statement signed afresh by a key that is not pinned does not verify', () => {
    const envelope = signed();
    const attacker = generateSigningKey();
    const wrapped = { ...envelope, channel: 'staging' as const };
    const forged = [signEnvelopeStatement(attacker, wrapped)];
    expect(verifyEnvelopeStatement(wrapped, forged, trusted)).to.include({ ok: false, code: 'signature.untrusted-key' });
    // …nor one made with the attacker's key under the forge's key id.
    const impostor = [signEnvelopeStatement({ keyId: forge.keyId, privateKey: attacker.privateKey }, wrapped)];
    expect(verifyEnvelopeStatement(wrapped, impostor, trusted)).to.include({ ok: false, code: 'signature.invalid' });
  });

  it('a bundle signature cannot stand in for the statement signature', () => {
    const envelope = signed();
    const moved = envelope.signatures.map((s) => ({ keyId: s.keyId, signature: s.signature }));
    expect(verifyEnvelopeStatement(envelope, moved, trusted)).to.include({ ok: false, code: 'signature.invalid' });
  });

  it('are required by the schema, and missing or empty ones never verify', () => {
    const envelope = signed() as Partial<Envelope>;
    delete envelope.envelopeSignatures;
    expect(validateEnvelope(envelope).ok).to.equal(false);
    expect(validateEnvelope({ ...signed(), envelopeSignatures: [] }).ok).to.equal(false);
    expect(verifyEnvelopeStatement(signed(), [], trusted)).to.include({ ok: false, code: 'signature.missing' });
    expect(verifyEnvelopeStatement(signed(), 'x' as never, trusted)).to.include({ ok: false, code: 'signature.malformed' });
  });

  it('verify during a key rotation with either key pinned (every key signs)', () => {
    const retiring = forge;
    const active = generateSigningKey();
    const envelope = signEnvelope([active, retiring], {
      format: 'anvil.envelope/1', id: 'env-r', forge: 'acme-forge', project: 'acme', channel: 'staging', bundles: [core], rollouts: {},
    });
    expect(envelope.envelopeSignatures.map((s) => s.keyId)).to.deep.equal([active.keyId, retiring.keyId]);
    expect(verifyEnvelopeStatement(envelope, envelope.envelopeSignatures, trusted)).to.deep.equal({ ok: true });
    expect(verifyEnvelopeStatement(envelope, envelope.envelopeSignatures, { [active.keyId]: active.publicKey })).to.deep.equal({ ok: true });
  });
});
