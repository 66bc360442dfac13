/**
 * A compiled set → a bundle (DESIGN.md §7), as a pure function: same inputs, same bytes.
 * Nothing here reads a clock; `source.committedAt` comes from git.
 *
 * The integrity is computed over a twin of the bundle whose keys are all in canonical order,
 * which never changes the bytes but lets canonicalJson hash a 15 MB bundle with the native
 * JSON.stringify instead of its sorting walk (2.7× faster). The bundle itself keeps metadata as
 * written — tools show input fields in that order — and the sorted twin of each metadata object
 * is kept beside it (by identity) for as long as the object lives, so a prompt reused from the
 * build cache of this process is not sorted again. Built bundles must not be changed in place.
 */
import {
  BUNDLE_FORMAT,
  bundleIntegrity,
  validateBundle,
  validateBundlePrompt,
  type Bundle,
  type BundlePrompt,
  type BundleSource,
  type BundleStage,
  type PromptMetadata,
} from '@anvil/content-schema';
import { problem, type Problem } from '../lint/problem.ts';
import type { LoadedSet, PromptFile } from '../load/load-repo.ts';
import { sortKeys } from './sort-keys.ts';

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

/** A prompt file with what a bundle keeps of its compiled form. */
export interface CompiledFile {
  file: PromptFile;
  compiled: { template: string; metadata: PromptMetadata };
}

/** The prompts (with their variants) and partials of a compiled set. */
export function bundleContent(set: Pick<LoadedSet, 'partials'>, compiled: readonly CompiledFile[]): BundleContent {
  const bases = new Map<string, CompiledFile['compiled']>();
  const variants = new Map<string, [string, CompiledFile['compiled']][]>();
  for (const { file, compiled: prompt } of compiled) {
    if (file.variant === undefined) {
      bases.set(file.id, prompt);
    } else {
      let list = variants.get(file.id);
      if (!list) variants.set(file.id, (list = []));
      list.push([file.variant, prompt]);
    }
  }
  const prompts: Record<string, BundlePrompt> = {};
  for (const id of [...bases.keys()].sort()) {
    const base = bases.get(id)!;
    const entry: BundlePrompt = { metadata: base.metadata, template: base.template, variants: {} };
    // A variant without a base is reported by load; a variant named twice keeps the last.
    for (const [name, prompt] of (variants.get(id) ?? []).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      entry.variants[name] = {
        metadata: prompt.metadata,
        tags: (prompt.metadata.tags ?? {}) as BundlePrompt['variants'][string]['tags'],
        template: prompt.template,
      };
    }
    prompts[id] = entry;
  }
  const partials: Record<string, string> = {};
  for (const p of [...set.partials].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) partials[p.name] = p.source;
  return { prompts, partials };
}

export interface SealOptions {
  /**
   * Prompt ids whose entries are exactly as in a bundle that passed this validation before
   * (the build cache knows): only the rest of the bundle and the other entries are checked,
   * as receivers check a bundle in two steps. Whenever that finds anything, the whole bundle is
   * checked again, so the problems are always the whole check's.
   */
  checkedPrompts?: ReadonlySet<string> | undefined;
}

/** Stamps content with its identity and source, and seals it with its integrity. */
export function sealBundle(content: BundleContent, stamp: BundleStamp, options: SealOptions = {}): { bundle?: Bundle; problems: Problem[] } {
  // Keys in canonical order, here and below (see the top of this file).
  const unsealed: Omit<Bundle, 'integrity'> = {
    dependencies: Object.fromEntries(Object.entries(stamp.dependencies).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    format: BUNDLE_FORMAT,
    mode: stamp.mode,
    partials: content.partials,
    project: stamp.project,
    prompts: content.prompts,
    repository: stamp.repository,
    set: stamp.set,
    source: sortKeys(stamp.source),
    stage: stamp.stage,
    version: stamp.version,
  };
  const integrity = bundleIntegrity({ ...unsealed, prompts: sortedPrompts(content.prompts) });
  const bundle = {
    dependencies: unsealed.dependencies, format: unsealed.format, integrity, mode: unsealed.mode, partials: unsealed.partials,
    project: unsealed.project, prompts: unsealed.prompts, repository: unsealed.repository, set: unsealed.set,
    source: unsealed.source, stage: unsealed.stage, version: unsealed.version,
  } as Bundle;
  if (options.checkedPrompts !== undefined && checksInParts(bundle, options.checkedPrompts)) return { bundle, problems: [] };
  const checked = validateBundle(bundle);
  if (!checked.ok) {
    return {
      problems: checked.errors.map((e) => problem('error', `bundle.${e.code.replace(/^schema\./, '')}`, `the bundle for ${stamp.set}@${stamp.version} is invalid at ${e.path || '/'}: ${e.message}`, { hint: e.hint })),
    };
  }
  return { bundle, problems: [] };
}

/** The bundle's outline, then each entry not in `checked`: true when all of it is valid. */
function checksInParts(bundle: Bundle, checked: ReadonlySet<string>): boolean {
  if (!validateBundle(bundle, { deferPrompts: true }).ok) return false;
  for (const [id, entry] of Object.entries(bundle.prompts)) {
    if (!checked.has(id) && !validateBundlePrompt(entry).ok) return false;
  }
  return true;
}

/** Sorted twins of metadata objects, by identity (see the top of this file). */
const twins = new WeakMap<object, unknown>();

function twin<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  let sorted = twins.get(value);
  if (sorted === undefined) {
    sorted = sortKeys(value);
    twins.set(value, sorted);
  }
  return sorted as T;
}

/** `prompts` with every key in canonical order (ids and entries are built that way already). */
function sortedPrompts(prompts: Bundle['prompts']): Bundle['prompts'] {
  const out: Bundle['prompts'] = {};
  for (const id of Object.keys(prompts).sort()) {
    const entry = prompts[id]!;
    const variants: BundlePrompt['variants'] = {};
    for (const name of Object.keys(entry.variants).sort()) {
      const variant = entry.variants[name]!;
      variants[name] = { metadata: twin(variant.metadata), tags: twin(variant.tags), template: variant.template };
    }
    out[id] = { metadata: twin(entry.metadata), template: entry.template, variants };
  }
  return out;
}
