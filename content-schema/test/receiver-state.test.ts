import { expect } from 'chai';
import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  RECEIVER_STATE_FORMAT,
  RECEIVER_STATE_LIMITS,
  generateSigningKey,
  renderSchemaFiles,
  signIntegrity,
  validateReceiverState,
  type ReceiverState,
} from '../src/index.ts';
import { codes, mutable, sampleBundle, sampleCoreBundle } from './support/samples.ts';

const forge = generateSigningKey();

function sampleState(): ReceiverState {
  const onboarding = sampleBundle();
  const core = sampleCoreBundle();
  const next = sampleBundle({ version: '1.3.0', source: { ...onboarding.source, tag: 'onboarding@1.3.0' } });
  const kept = (bundle: typeof onboarding) => ({
    set: bundle.set,
    version: bundle.version,
    signatures: [signIntegrity(forge, bundle.integrity)],
  });
  return {
    format: RECEIVER_STATE_FORMAT,
    forge: 'https://forge.acme.test',
    project: 'acme',
    channel: 'production',
    mode: 'accepting',
    forgeKeys: { [forge.keyId]: forge.publicKey },
    etag: '"e-42"',
    sets: {
      onboarding: {
        version: '1.2.0',
        integrity: onboarding.integrity,
        rollout: { version: '1.3.0', integrity: next.integrity, percent: 10 },
      },
      core: { version: '2.0.1', integrity: core.integrity },
    },
    bundles: {
      [onboarding.integrity]: kept(onboarding),
      [next.integrity]: kept(next),
      [core.integrity]: kept(core),
    },
    seenWebhookIds: ['msg_1', 'msg_2'],
    instanceId: 'web-1',
  };
}

describe('receiver state (anvil.receiver-state/1)', () => {
  it('accepts a complete state', () => {
    const result = validateReceiverState(sampleState());
    expect(result.errors).to.deep.equal([]);
    expect(result.ok).to.equal(true);
  });

  it('accepts a state without an ETag, sets or bundles (just connected)', () => {
    const state = mutable(sampleState());
    delete state.etag;
    state.sets = {};
    state.bundles = {};
    state.seenWebhookIds = [];
    expect(validateReceiverState(state).errors).to.deep.equal([]);
  });

  it('is what the published JSON Schema accepts', () => {
    const text = renderSchemaFiles().get('receiver-state.schema.json');
    expect(text).to.be.a('string');
    const validate = new Ajv2020({ strict: false }).compile(JSON.parse(text ?? '{}') as object);
    expect(validate(sampleState()), JSON.stringify(validate.errors)).to.equal(true);
  });

  it('refuses unknown fields, a wrong format, an unknown mode or channel', () => {
    const state = mutable(sampleState());
    state.format = 'anvil.receiver-state/2';
    state.mode = 'paused';
    state.channel = 'qa';
    state.extra = true;
    const found = codes(validateReceiverState(state).errors);
    expect(found.some((c) => c.endsWith('@/format'))).to.equal(true);
    expect(found.some((c) => c.endsWith('@/mode'))).to.equal(true);
    expect(found.some((c) => c.endsWith('@/channel'))).to.equal(true);
    expect(found.some((c) => c.startsWith('schema.unknown-field'))).to.equal(true);
  });

  it('requires at least one pinned forge key, each a 32-byte base64 public key', () => {
    const none = mutable(sampleState());
    none.forgeKeys = {};
    expect(validateReceiverState(none).ok).to.equal(false);
    const bad = mutable(sampleState());
    bad.forgeKeys = { k1: Buffer.alloc(31).toString('base64') };
    expect(validateReceiverState(bad).ok).to.equal(false);
  });

  it('refuses a forge that is not an http(s) URL', () => {
    const state = mutable(sampleState());
    state.forge = 'forge.acme.test';
    expect(codes(validateReceiverState(state).errors)).to.deep.equal(['receiver-state.forge-url@/forge']);
  });

  it('refuses a served or rolled-out version whose bundle is not kept', () => {
    const state = mutable(sampleState());
    const rolled = state.sets.onboarding.rollout.integrity;
    delete state.bundles[rolled];
    expect(codes(validateReceiverState(state).errors)).to.deep.equal(['receiver-state.missing-bundle@/sets/onboarding/rollout/integrity']);
  });

  it('refuses a set that names a bundle kept as another set or version', () => {
    const state = mutable(sampleState());
    state.sets.core.integrity = state.sets.onboarding.integrity;
    state.sets.onboarding.version = '1.2.1';
    expect(codes(validateReceiverState(state).errors)).to.deep.equal([
      'receiver-state.bundle-mismatch@/sets/onboarding/integrity',
      'receiver-state.bundle-mismatch@/sets/core/integrity',
    ]);
  });

  it('refuses a kept signature over another integrity, and a kept bundle without signatures', () => {
    const state = mutable(sampleState());
    const [first, second] = Object.keys(state.bundles) as [string, string];
    state.bundles[first].signatures[0].integrity = second;
    state.bundles[second].signatures = [];
    const found = codes(validateReceiverState(state).errors);
    expect(found).to.include(`receiver-state.signature-mismatch@/bundles/${first.replaceAll('/', '~1')}/signatures/0/integrity`);
    expect(found.some((c) => c.endsWith(`@/bundles/${second.replaceAll('/', '~1')}/signatures`))).to.equal(true);
  });

  it('bounds the remembered webhook ids', () => {
    const state = mutable(sampleState());
    state.seenWebhookIds = Array.from({ length: RECEIVER_STATE_LIMITS.seenWebhookIds + 1 }, (_, i) => `msg_${i}`);
    expect(validateReceiverState(state).ok).to.equal(false);
    state.seenWebhookIds.pop();
    expect(validateReceiverState(state).ok).to.equal(true);
  });

  it('refuses non-JSON values and prototype keys without throwing', () => {
    const state = mutable(sampleState());
    state.instanceId = undefined;
    expect(validateReceiverState(state).ok).to.equal(false);
    expect(validateReceiverState(JSON.parse('{"__proto__": {"format": "x"}}')).ok).to.equal(false);
    expect(validateReceiverState(null).ok).to.equal(false);
    expect(validateReceiverState('state').ok).to.equal(false);
  });
});
