/**
 * The built package checks with validators compiled ahead of time (validators.ts); the sources
 * compile them on first use. Both must answer exactly the same, errors and defaults included.
 * Needs `npm run build` (which `npm test` runs first).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import * as source from '../src/index.ts';
import { mutable, sampleBundle, sampleEnvelope, sampleLockFile, sampleMetadata } from './support/samples.ts';

const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));

type Validate = (input: unknown, options?: never) => unknown;
const VALIDATORS = [
  'validateSetConfig', 'validateRepoConfig', 'validateFrontMatter', 'validateLiveConfig', 'validateForgeConfig',
  'validateBundle', 'validateBundlePrompt', 'validateEnvelope', 'validateLockFile', 'validateReceiverState',
  'validateReceiverRegistration', 'validateReceiverLeave', 'validateReceiverAck', 'validateArchive', 'validateMetricsBatch',
  'validateTypesManifest',
] as const;

/** Valid and invalid inputs for each: shapes, bounds, patterns, defaults, forbidden keys. */
function inputs(): unknown[] {
  const bundle = mutable(sampleBundle());
  const broken = mutable(sampleBundle());
  broken.version = 'not-a-version';
  broken.prompts['welcome.message'].metadata.input = { schema: 42 };
  broken.extra = true;
  const envelope = mutable(sampleEnvelope());
  const badEnvelope = mutable(sampleEnvelope());
  badEnvelope.bundles[0].set = 'Not A Set';
  delete badEnvelope.signatures;
  return [
    {}, null, 42, 'text', [], { __proto__: { x: 1 } }, JSON.parse('{"__proto__": {"polluted": true}}'),
    { name: 'onboarding', mode: 'review', dependencies: { core: '^1.0.0' } },
    { name: 'Bad Name', mode: 'sometimes', dependencies: { core: 'not a range' }, extra: 1 },
    { name: '@acme', promptsDir: 'prompts', rollouts: { onboarding: { production: { version: '1.3.0', percent: 10 } } } },
    { name: 'acme', promptsDir: '/abs', rollouts: { onboarding: { production: { version: 'x', percent: 300 } } } },
    { model: 'gpt-4o', input: { schema: { name: 'string' }, default: { name: 'Ada' } }, tags: { locale: 'fr' } },
    { input: 'x', tags: { locale: 5 }, 'acme.owner': 'me' },
    { forge: 'http://127.0.0.1:1', project: 'acme', channel: 'production', sets: { onboarding: '^1.0.0' } },
    { forge: 'ftp://x', project: 'acme', channel: 'nightly' },
    { projects: [{ name: 'acme', remote: '../prompts' }], port: 0 },
    { projects: [{ name: 'a b', remote: '' }], port: -1 },
    bundle, broken, bundle.prompts['welcome.message'], sampleMetadata(), { template: 1, metadata: [], variants: 'x' },
    envelope, badEnvelope, sampleLockFile(), { ...mutable(sampleLockFile()), sets: { 'x y': {} } },
    { url: 'http://127.0.0.1:9/anvil', channel: 'staging', mode: 'accepting', instanceId: 'i-1', ranges: { onboarding: '^1' } },
    { url: 'http://user:pw@x/', channel: 'x', instanceId: '' },
    { instanceId: 'i-1' },
    { channel: 'production', instanceId: 'i-1', events: [{ set: 'onboarding', version: '1.0.0', integrity: bundle.integrity, prompt: 'welcome.message', variant: null, rollout: false, success: true, latencyMs: 12.5, at: 1 }] },
    { channel: 'nightly', events: [{ set: 'Bad', version: 'x', latencyMs: -1, error: 'no spaces allowed' }] },
    { channel: 'staging', events: [], aggregates: [{ set: 'onboarding', version: '1.0.0', integrity: bundle.integrity, prompt: 'welcome.message', variant: 'short', rollout: true, minute: 29_000_000, events: 3, successes: 2, latencySumMs: 30, latencyMaxMs: 12, histogram: [0, 0, 0, 0, 0, 0, 0, 3, ...new Array(32).fill(0)] }] },
    { channel: 'staging', events: [], aggregates: [{ set: 'onboarding', version: '1.0.0', integrity: 'x', prompt: 'p', variant: null, rollout: false, minute: -1, events: 2, successes: 5, latencySumMs: 1, latencyMaxMs: 9, histogram: [1] }] },
    { format: 'anvil.types-manifest/1', from: '@acme at main', prompts: { 'onboarding/welcome.message': { set: 'onboarding', id: 'welcome.message', variants: ['short'], input: { type: 'object' } } } },
    { format: 'anvil.types-manifest/1', from: 1, prompts: { 'a/b': { set: 'a', id: 'c', variants: [1], input: 5 } } },
  ];
}

describe('validators compiled by the build', function () {
  it('answer exactly as the ones compiled from source, for every validator and input', async function () {
    if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first (npm test does)`);
    const dist = (await import(built)) as Record<string, Validate>;
    let compared = 0;
    for (const name of VALIDATORS) {
      const fromSource = (source as unknown as Record<string, Validate>)[name];
      const fromDist = dist[name];
      expect(fromSource, name).to.be.a('function');
      expect(fromDist, name).to.be.a('function');
      for (const input of inputs()) {
        expect(JSON.parse(JSON.stringify(fromDist!(structuredClone(input) as never))), `${name}(${JSON.stringify(input).slice(0, 80)})`)
          .to.deep.equal(JSON.parse(JSON.stringify(fromSource!(structuredClone(input) as never))));
        compared++;
      }
    }
    expect(compared).to.equal(VALIDATORS.length * inputs().length);
  });

  it('the deferred (outline) validators of a bundle and an envelope agree too', async function () {
    const dist = (await import(built)) as Record<string, (input: unknown, options: { deferPrompts: boolean }) => unknown>;
    for (const input of inputs()) {
      for (const name of ['validateBundle', 'validateEnvelope'] as const) {
        const fromSource = (source as unknown as typeof dist)[name]!;
        expect(JSON.parse(JSON.stringify(dist[name]!(structuredClone(input), { deferPrompts: true }))))
          .to.deep.equal(JSON.parse(JSON.stringify(fromSource(structuredClone(input), { deferPrompts: true }))));
      }
    }
  });
});
