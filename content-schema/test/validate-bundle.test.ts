import { expect } from 'chai';
import { BundlePromptSchema, BundleSchema, bundleIntegrity, validateBundle, validateBundlePrompt, validateEnvelope } from '../src/index.ts';
import { COMMIT, codes, mutable, sampleBundle, sampleEnvelope } from './support/samples.ts';

describe('validateBundle', () => {
  it('accepts a release bundle and returns it as is', () => {
    const bundle = sampleBundle();
    const result = validateBundle(bundle);
    expect(result.ok, JSON.stringify(result.errors)).to.equal(true);
    expect(result.value).to.equal(bundle);
  });

  it('accepts a head build with a prerelease version and no tag', () => {
    const { tag: _tag, ...source } = sampleBundle().source;
    const result = validateBundle(sampleBundle({ stage: 'head', version: '1.2.1-head.42+abc1234', source }));
    expect(result.ok, JSON.stringify(result.errors)).to.equal(true);
  });

  it('accepts full Semantic Versioning, build metadata included', () => {
    const version = '2.1.0-gpt4+tokens.1500';
    const bundle = sampleBundle({ version, source: { ...sampleBundle().source, tag: `onboarding@${version}` } });
    expect(validateBundle(bundle).ok).to.equal(true);
  });

  it('reports every shape problem at once', () => {
    const bundle = mutable(sampleBundle());
    bundle.format = 'anvil.bundle/2';
    bundle.stage = 'draft';
    bundle.version = '1.2';
    bundle.source.commit = 'abc';
    bundle.source.committedAt = 'yesterday';
    bundle.dependencies = { core: '^2.0.0' };
    bundle.prompts['bad..id'] = { template: 'x', metadata: { config: {}, metadata: {}, ext: {} }, variants: {} };
    delete bundle.prompts['welcome.message'].metadata.config;
    bundle.prompts['welcome.message'].metadata.colour = 'red';
    bundle.partials.greeting = 7;
    bundle.integrity = 'md5-xyz';
    const result = validateBundle(bundle);
    expect(codes(result.errors)).to.have.members([
      'schema.const@/format',
      'schema.enum@/stage',
      'schema.pattern@/version',
      'schema.pattern@/source/commit',
      'schema.pattern@/source/committedAt',
      'schema.pattern@/dependencies/core',
      'schema.invalid-key@/prompts/bad..id',
      'schema.required@/prompts/welcome.message/metadata/config',
      'schema.unknown-field@/prompts/welcome.message/metadata/colour',
      'schema.type@/partials/greeting',
      'schema.pattern@/integrity',
    ]);
    expect(result.errors.find((e) => e.path === '/format')?.message).to.equal('must be "anvil.bundle/1", got "anvil.bundle/2"');
  });

  it('checks the release tag, the head version and the commit date', () => {
    const wrongTag = sampleBundle({ source: { ...sampleBundle().source, tag: 'onboarding@1.1.0' } });
    expect(codes(validateBundle(wrongTag).errors)).to.deep.equal(['bundle.tag-mismatch@/source/tag']);

    const { tag: _tag, ...untagged } = sampleBundle().source;
    expect(codes(validateBundle(sampleBundle({ source: untagged })).errors)).to.deep.equal(['bundle.tag-missing@/source/tag']);

    const head = sampleBundle({ stage: 'head', version: '1.2.1', source: untagged });
    expect(codes(validateBundle(head).errors)).to.deep.equal(['bundle.head-version@/version']);

    const badDate = sampleBundle({ source: { ...sampleBundle().source, committedAt: '2025-13-45T25:00:00Z' } });
    expect(codes(validateBundle(badDate).errors)).to.deep.equal(['bundle.committed-at@/source/committedAt']);
  });

  it('refuses a bundle that depends on its own set', () => {
    expect(codes(validateBundle(sampleBundle({ dependencies: { onboarding: '1.0.0' } })).errors)).to.deep.equal([
      'bundle.self-dependency@/dependencies/onboarding',
    ]);
  });

  it('refuses prototype keys among prompts and in metadata', () => {
    const text = JSON.stringify(sampleBundle()).replace('"welcome.message":', '"__proto__":').replace('"temperature":', '"constructor":');
    const result = validateBundle(JSON.parse(text));
    expect(codes(result.errors)).to.include.members(['schema.forbidden-key@/prompts/__proto__']);
    expect(codes(result.errors).some((c) => c.startsWith('schema.forbidden-key@/prompts/error.not_found/metadata/config/constructor'))).to.equal(false);
    expect(Object.prototype).not.to.have.property('template');
  });

  it('does not check integrity against content (verifyBundleIntegrity does)', () => {
    const bundle = mutable(sampleBundle());
    bundle.version = '1.2.1';
    bundle.source.tag = 'onboarding@1.2.1';
    expect(validateBundle(bundle).ok).to.equal(true);
    expect(bundleIntegrity(bundle)).not.to.equal(bundle.integrity);
  });
});

describe('validateEnvelope', () => {
  it('accepts a signed envelope carrying its dependencies and rollout versions', () => {
    const envelope = sampleEnvelope();
    const result = validateEnvelope(envelope);
    expect(result.ok, JSON.stringify(result.errors)).to.equal(true);
    expect(result.value).to.equal(envelope);
  });

  it('reports problems inside its bundles with their full path', () => {
    const envelope = mutable(sampleEnvelope());
    envelope.bundles[1].source.commit = COMMIT.toUpperCase();
    envelope.bundles[2].stage = 'head';
    const result = validateEnvelope(envelope);
    expect(codes(result.errors)).to.have.members(['schema.pattern@/bundles/1/source/commit', 'bundle.head-version@/bundles/2/version']);
  });

  it('checks that the parts agree', () => {
    const envelope = mutable(sampleEnvelope());
    envelope.bundles[0].project = 'other';
    envelope.signatures = envelope.signatures.slice(1);
    envelope.signatures.push({ keyId: 'k1', integrity: `sha256-${'B'.repeat(43)}=`, signature: `${'A'.repeat(86)}==` });
    envelope.rollouts = { onboarding: { version: '1.4.0', percent: 5 } };
    envelope.bundles.splice(1, 1);
    envelope.signatures.splice(0, 1);
    const result = validateEnvelope(envelope);
    expect(codes(result.errors)).to.have.members([
      'envelope.project-mismatch@/bundles/0/project',
      'envelope.unsigned-bundle@/bundles/0/integrity',
      'envelope.missing-dependency@/bundles/0/dependencies/core',
      'envelope.missing-dependency@/bundles/1/dependencies/core',
      'envelope.rollout-without-bundle@/rollouts/onboarding/version',
    ]);
    expect(codes(result.warnings)).to.deep.equal(['envelope.stray-signature@/signatures/1']);
  });

  it('refuses two different bundles for the same set and version', () => {
    const envelope = mutable(sampleEnvelope());
    const twin = sampleBundle({ partials: { greeting: 'Hello' } });
    envelope.bundles.push(twin);
    envelope.signatures.push({ keyId: 'k1', integrity: twin.integrity, signature: `${'A'.repeat(86)}==` });
    expect(codes(validateEnvelope(envelope).errors)).to.deep.equal(['envelope.conflicting-bundles@/bundles/3']);
  });

  it('checks channel, signatures and rollout bounds', () => {
    const envelope = mutable(sampleEnvelope());
    envelope.channel = 'prod';
    envelope.signatures[0].signature = 'c2ln';
    envelope.rollouts.onboarding.percent = -1;
    expect(codes(validateEnvelope(envelope).errors)).to.have.members([
      'schema.enum@/channel',
      'schema.pattern@/signatures/0/signature',
      'schema.minimum@/rollouts/onboarding/percent',
    ]);
  });
});

describe('deferred prompt entries (a receiver checks each entry before first use)', () => {
  // Everything a full check finds, split: the outline now, each entry on its own later.
  const broken = () => {
    const bundle = mutable(sampleBundle());
    bundle.version = '1.2';
    bundle.prompts['bad..id'] = { template: 'x', metadata: { config: {}, metadata: {}, ext: {} }, variants: {} };
    delete bundle.prompts['welcome.message'].metadata.config;
    bundle.prompts['welcome.message'].variants.fr.tags = { locale: ['fr'] };
    bundle.prompts['error.not_found'].template = 7;
    bundle.partials.greeting = 7;
    return bundle;
  };

  it('checks the outline of a bundle, prompt ids included, and no entry', () => {
    expect(codes(validateBundle(broken(), { deferPrompts: true }).errors)).to.have.members([
      'schema.pattern@/version',
      'schema.invalid-key@/prompts/bad..id',
      'schema.type@/partials/greeting',
    ]);
    expect(validateBundle(sampleBundle(), { deferPrompts: true }).ok).to.equal(true);
  });

  it('still requires each entry to be an object', () => {
    const bundle = mutable(sampleBundle());
    bundle.prompts['error.not_found'] = 'Not found.';
    expect(codes(validateBundle(bundle, { deferPrompts: true }).errors)).to.deep.equal(['schema.type@/prompts/error.not_found']);
  });

  it('finds in each entry what the full check finds there, with paths inside the entry', () => {
    const bundle = broken();
    expect(codes(validateBundlePrompt(bundle.prompts['welcome.message']).errors)).to.have.members([
      'schema.required@/metadata/config',
      'schema.type@/variants/fr/tags/locale',
    ]);
    expect(codes(validateBundlePrompt(bundle.prompts['error.not_found']).errors)).to.deep.equal(['schema.type@/template']);
    const full = codes(validateBundle(bundle).errors);
    expect(full).to.include.members([
      'schema.required@/prompts/welcome.message/metadata/config',
      'schema.type@/prompts/welcome.message/variants/fr/tags/locale',
      'schema.type@/prompts/error.not_found/template',
    ]);
    for (const entry of Object.values(sampleBundle().prompts)) expect(validateBundlePrompt(entry).errors).to.deep.equal([]);
  });

  it('refuses prototype keys inside an entry, which the outline walk leaves alone', () => {
    const bundle = JSON.parse(JSON.stringify(sampleBundle()).replace('"metadata":{}', '"metadata":{"__proto__":{"x":1}}')) as ReturnType<typeof sampleBundle>;
    expect(validateBundle(bundle, { deferPrompts: true }).ok).to.equal(true);
    expect(codes(validateBundlePrompt(bundle.prompts['welcome.message']).errors)).to.deep.equal(['schema.forbidden-key@/metadata/metadata/__proto__']);
    expect(codes(validateBundle(bundle).errors)).to.deep.equal(['schema.forbidden-key@/prompts/welcome.message/metadata/metadata/__proto__']);
  });

  it('refuses a prototype key as a prompt id (by the id pattern)', () => {
    const bundle = JSON.parse(JSON.stringify(sampleBundle()).replace('"error.not_found":', '"__proto__":')) as ReturnType<typeof sampleBundle>;
    expect(codes(validateBundle(bundle, { deferPrompts: true }).errors)).to.deep.equal(['schema.invalid-key@/prompts/__proto__']);
  });

  it('checks the outline of an envelope and of every bundle in it', () => {
    const envelope = mutable(sampleEnvelope());
    envelope.bundles[0].prompts['welcome.message'].metadata.colour = 'red';
    envelope.bundles[1].source.commit = COMMIT.toUpperCase();
    expect(codes(validateEnvelope(envelope, { deferPrompts: true }).errors)).to.deep.equal(['schema.pattern@/bundles/1/source/commit']);
    expect(codes(validateEnvelope(envelope).errors)).to.have.members([
      'schema.pattern@/bundles/1/source/commit',
      'schema.unknown-field@/bundles/0/prompts/welcome.message/metadata/colour',
    ]);
  });

  it('is one definition: the bundle schema embeds the prompt entry schema', () => {
    const { $defs, ...entry } = BundlePromptSchema as Record<string, unknown>;
    const embedded = (BundleSchema.$defs as Record<string, unknown>)['BundlePrompt'];
    expect(JSON.parse(JSON.stringify(embedded))).to.deep.equal(JSON.parse(JSON.stringify(entry)));
    expect(Object.keys($defs as object)).to.deep.equal(['PromptMetadata']);
  });
});
