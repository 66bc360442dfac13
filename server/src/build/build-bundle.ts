/**
 * A compiled set → a bundle (DESIGN.md §7), as a pure function: same inputs, same bytes.
 * Nothing here reads a clock; `source.committedAt` comes from git.
 */
import {
  BUNDLE_FORMAT,
  bundleIntegrity,
  validateBundle,
  type Bundle,
  type BundlePrompt,
  type BundleSource,
  type BundleStage,
} from '@anvil/content-schema';
import { problem, type Problem } from '../lint/problem.ts';
import type { LoadedSet } from '../load/load-repo.ts';
import type { CompiledSetPrompt } from './compile-set.ts';

/** What a bundle's content depends on, besides where and when it was built. */
export interface BundleContent {
  prompts: Bundle['prompts'];
  partials: Bundle['partials'];
}

export interface BundleStamp {
  project: string;
  repository: string;
  set: string;
  version: string;
  stage: BundleStage;
  mode: Bundle['mode'];
  source: BundleSource;
  dependencies: Record<string, string>;
}

/** The prompts (with their variants) and partials of a compiled set. */
export function bundleContent(set: LoadedSet, compiled: CompiledSetPrompt[]): BundleContent {
  const prompts: Record<string, BundlePrompt> = {};
  const sorted = [...compiled].sort((a, b) => (a.file.variant === undefined ? 0 : 1) - (b.file.variant === undefined ? 0 : 1));
  for (const { file, compiled: prompt } of sorted) {
    if (file.variant === undefined) {
      prompts[file.id] = { template: prompt.template, metadata: prompt.metadata, variants: {} };
    } else {
      const base = prompts[file.id];
      if (!base) continue; // reported by load as a variant without a base
      base.variants[file.variant] = {
        template: prompt.template,
        tags: (prompt.metadata.tags ?? {}) as BundlePrompt['variants'][string]['tags'],
        metadata: prompt.metadata,
      };
    }
  }
  const partials: Record<string, string> = {};
  for (const p of set.partials) partials[p.name] = p.source;
  return { prompts, partials };
}

/** Stamps content with its identity and source, and seals it with its integrity. */
export function sealBundle(content: BundleContent, stamp: BundleStamp): { bundle?: Bundle; problems: Problem[] } {
  const unsealed: Omit<Bundle, 'integrity'> = {
    format: BUNDLE_FORMAT,
    project: stamp.project,
    repository: stamp.repository,
    set: stamp.set,
    version: stamp.version,
    stage: stamp.stage,
    mode: stamp.mode,
    source: stamp.source,
    dependencies: stamp.dependencies,
    prompts: content.prompts,
    partials: content.partials,
  };
  const bundle = { ...unsealed, integrity: bundleIntegrity(unsealed) } as Bundle;
  const checked = validateBundle(bundle);
  if (!checked.ok) {
    return {
      problems: checked.errors.map((e) => problem('error', `bundle.${e.code.replace(/^schema\./, '')}`, `the bundle for ${stamp.set}@${stamp.version} is invalid at ${e.path || '/'}: ${e.message}`, { hint: e.hint })),
    };
  }
  return { bundle, problems: [] };
}
