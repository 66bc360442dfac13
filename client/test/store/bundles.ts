/** Small valid bundles for store tests: prompts given as `id → template` or full entries. */
import { bundleIntegrity, type Bundle, type BundlePrompt, type PromptMetadata } from '@anvil/content-schema';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const TREE = 'fedcba9876543210fedcba9876543210fedcba98';

export function meta(extra: Partial<PromptMetadata> = {}): PromptMetadata {
  return { config: {}, metadata: {}, ext: {}, ...extra };
}

export function prompt(template: string, variants: Record<string, { template: string; tags?: BundlePrompt['variants'][string]['tags'] }> = {}, metadata: Partial<PromptMetadata> = {}): BundlePrompt {
  const out: BundlePrompt = { template, metadata: meta(metadata), variants: {} };
  for (const [name, v] of Object.entries(variants)) out.variants[name] = { template: v.template, tags: v.tags ?? {}, metadata: meta({ variant: name }) };
  return out;
}

export interface BundleSpec {
  set: string;
  version?: string;
  stage?: Bundle['stage'];
  prompts?: Record<string, string | BundlePrompt>;
  partials?: Record<string, string>;
  dependencies?: Record<string, string>;
}

export function bundle(spec: BundleSpec): Bundle {
  const prompts: Bundle['prompts'] = {};
  for (const [id, p] of Object.entries(spec.prompts ?? {})) prompts[id] = typeof p === 'string' ? prompt(p) : p;
  const version = spec.version ?? '1.0.0';
  const content: Omit<Bundle, 'integrity'> = {
    format: 'anvil.bundle/1', project: 'acme', repository: '@acme', set: spec.set, version,
    stage: spec.stage ?? 'release', mode: 'locked',
    source: { commit: COMMIT, tag: `${spec.set}@${version}`, tree: TREE, committedAt: '2025-03-01T12:00:00Z' },
    dependencies: spec.dependencies ?? {}, prompts, partials: spec.partials ?? {},
  };
  return { ...content, integrity: bundleIntegrity(content) };
}
