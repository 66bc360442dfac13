/** Valid documents of every format, built fresh for each test so tests can mutate them. */
import { bundleIntegrity, type Bundle, type Envelope, type LockFile, type PromptMetadata } from '../../src/index.ts';

export const COMMIT = '0123456789abcdef0123456789abcdef01234567';
export const TREE = 'fedcba9876543210fedcba9876543210fedcba98';
export const SIGNATURE = `${'A'.repeat(86)}==`;

export function sampleMetadata(extra: Partial<PromptMetadata> = {}): PromptMetadata {
  return {
    config: { temperature: 0.2 },
    metadata: {},
    ext: {},
    model: 'openai/gpt-4o',
    input: {
      schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
      default: { name: 'friend' },
    },
    ...extra,
  };
}

export function sampleBundle(overrides: Partial<Omit<Bundle, 'integrity'>> = {}): Bundle {
  const content: Omit<Bundle, 'integrity'> = {
    format: 'anvil.bundle/1',
    project: 'acme',
    repository: '@acme',
    set: 'onboarding',
    version: '1.2.0',
    stage: 'release',
    mode: 'locked',
    source: { commit: COMMIT, tag: 'onboarding@1.2.0', tree: TREE, committedAt: '2025-03-01T12:00:00Z' },
    dependencies: { core: '2.0.1' },
    prompts: {
      'welcome.message': {
        template: 'Hello {{name}}! {{> core/signature}}',
        metadata: sampleMetadata({ ext: { acme: { owner: 'growth' } } }),
        variants: {
          fr: { template: 'Bonjour {{name}} !', tags: { locale: 'fr' }, metadata: sampleMetadata({ variant: 'fr' }) },
        },
      },
      'error.not_found': { template: 'Not found.', metadata: { config: {}, metadata: {}, ext: {} }, variants: {} },
    },
    partials: { greeting: 'Hi' },
    ...overrides,
  };
  return { ...content, integrity: bundleIntegrity(content) };
}

export function sampleCoreBundle(): Bundle {
  return sampleBundle({
    set: 'core',
    version: '2.0.1',
    source: { commit: COMMIT, tag: 'core@2.0.1', tree: TREE, committedAt: '2025-02-01T09:30:00+01:00' },
    dependencies: {},
    prompts: {},
    partials: { signature: '-- The team' },
  });
}

export function sampleEnvelope(): Envelope {
  const bundles = [sampleBundle(), sampleCoreBundle(), sampleBundle({ version: '1.3.0', source: { commit: COMMIT, tag: 'onboarding@1.3.0', tree: TREE, committedAt: '2025-03-02T12:00:00Z' } })];
  return {
    format: 'anvil.envelope/1',
    id: 'env_01HZX',
    forge: 'acme-forge',
    project: 'acme',
    channel: 'production',
    bundles,
    rollouts: { onboarding: { version: '1.3.0', percent: 10 } },
    signatures: bundles.map((b) => ({ keyId: 'k1', integrity: b.integrity, signature: SIGNATURE })),
    envelopeSignatures: [{ keyId: 'k1', signature: SIGNATURE }],
  };
}

export function sampleLockFile(): LockFile {
  const onboarding = sampleBundle();
  const core = sampleCoreBundle();
  return {
    format: 'anvil.lock/1',
    project: 'acme',
    forge: 'https://forge.acme.test',
    channel: 'production',
    sets: {
      onboarding: {
        version: '1.2.0',
        integrity: onboarding.integrity,
        resolved: 'https://forge.acme.test/api/v1/projects/acme/sets/onboarding/versions/1.2.0',
        dependencies: { core: '2.0.1' },
      },
      core: {
        version: '2.0.1',
        integrity: core.integrity,
        resolved: 'https://forge.acme.test/api/v1/projects/acme/sets/core/versions/2.0.1',
        dependencies: {},
      },
    },
  };
}

/** A JSON round trip, so a test mutates a copy typed loosely. */
export function mutable<T>(value: T): any {
  return JSON.parse(JSON.stringify(value));
}

/** `code@path` for each issue: compact to assert on. */
export function codes(issues: readonly { code: string; path: string }[]): string[] {
  return issues.map((i) => `${i.code}@${i.path}`);
}
