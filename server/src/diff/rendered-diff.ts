/**
 * The rendered, per-prompt diff between two builds of a set (`anvil diff`, and the PR comment
 * in review): every prompt and variant rendered on both sides with the same sample inputs, and
 * a unified diff of the two texts. Pure over bundles; the caller builds them.
 */
import { createTwoFilesPatch } from 'diff';
import { jsonEqual, type Bundle, type PromptMetadata } from '@anvil/content-schema';
import { bundleEnvironment, compileBundlePrompt, type CompiledPrompt, type DependencyPartials, type PromptEnvironment } from '@anvil/client';
import { renderForReview } from './render-for-review.ts';
import { sampleInputs } from './sample-inputs.ts';

export interface DiffSide {
  /** For the diff headers: `1.2.0`, `main`, `working tree`. */
  label: string;
  bundle: Bundle;
  dependencyPartials: DependencyPartials;
  /**
   * Compiles one prompt or variant of `bundle`; by default in a new environment for this diff.
   * The dashboard passes its stored versions' compilers, which remember what they compiled.
   */
  compile?: (id: string, variant?: string) => CompiledPrompt;
}

export type PromptDiffStatus = 'added' | 'removed' | 'changed' | 'unchanged';

export interface PromptDiff {
  id: string;
  variant?: string;
  status: PromptDiffStatus;
  /** The variables both sides were rendered with. */
  inputs: Record<string, unknown>;
  before?: string;
  after?: string;
  /** Unified diff of before → after (empty when unchanged). */
  patch: string;
}

export interface RenderedDiffOptions {
  /**
   * false: a prompt whose source and partials are the same on both sides is `unchanged` without
   * being rendered, and carries no text. For callers that show only what changed (the dashboard's
   * compare of a 1,000-prompt set renders the few that changed instead of every one twice).
   */
  unchangedText?: boolean;
}

export function renderedDiff(before: DiffSide | undefined, after: DiffSide | undefined, options: RenderedDiffOptions = {}): PromptDiff[] {
  const left = before && renderSide(before);
  const right = after && renderSide(after);
  const keys = [...new Set([...(left?.keys() ?? []), ...(right?.keys() ?? [])])].sort();
  // Same partials on both sides and the same source: the same text, whatever the inputs.
  const samePartials = before !== undefined && after !== undefined
    && jsonEqual(before.bundle.partials, after.bundle.partials) && jsonEqual(before.dependencyPartials, after.dependencyPartials);
  const out: PromptDiff[] = [];
  for (const key of keys) {
    const [id, variant] = key.split('\u0000') as [string, string | undefined];
    const was = left?.get(key);
    const is = right?.get(key);
    const inputs = { ...(was ? sampleInputs(was.metadata) : {}), ...(is ? sampleInputs(is.metadata) : {}) };
    if (options.unchangedText === false && samePartials && was && is && was.template === is.template && jsonEqual(was.metadata, is.metadata)) {
      out.push({ id, ...(variant ? { variant } : {}), status: 'unchanged', inputs, patch: '' });
      continue;
    }
    const textBefore = was?.render(inputs);
    const textAfter = is?.render(inputs);
    const status: PromptDiffStatus = textBefore === undefined ? 'added' : textAfter === undefined ? 'removed'
      : textBefore === textAfter && jsonEqual(was!.metadata, is!.metadata) ? 'unchanged' : 'changed';
    const name = variant ? `${id} (${variant})` : id;
    out.push({
      id,
      ...(variant ? { variant } : {}),
      status,
      inputs,
      ...(textBefore !== undefined ? { before: textBefore } : {}),
      ...(textAfter !== undefined ? { after: textAfter } : {}),
      patch: status === 'unchanged' ? '' : unifiedDiff(`${name} @ ${before?.label ?? 'nothing'}`, `${name} @ ${after?.label ?? 'nothing'}`, textBefore ?? '', textAfter ?? ''),
    });
  }
  return out;
}

export function unifiedDiff(fromName: string, toName: string, from: string, to: string): string {
  const withNewline = (s: string) => (s === '' || s.endsWith('\n') ? s : `${s}\n`);
  // The "Index:" and "=====" lines createTwoFilesPatch starts with say nothing here.
  return createTwoFilesPatch(fromName, toName, withNewline(from), withNewline(to), undefined, undefined, { context: 3 })
    .split('\n').filter((line) => !line.startsWith('====')).join('\n').trimEnd();
}

interface RenderablePrompt {
  metadata: PromptMetadata;
  /** With the metadata, the source: equal sources render equal texts, given equal partials. */
  template: string;
  render(vars: Record<string, unknown>): string;
}

function renderSide(side: DiffSide): Map<string, RenderablePrompt> {
  let env: PromptEnvironment | undefined;
  const compile = side.compile ?? ((id: string, variant?: string) => compileBundlePrompt(env ??= bundleEnvironment(side.bundle, side.dependencyPartials), side.bundle, id, variant));
  const out = new Map<string, RenderablePrompt>();
  for (const [id, prompt] of Object.entries(side.bundle.prompts)) {
    const bodies: [string | undefined, { template: string; metadata: PromptMetadata }][] = [[undefined, prompt], ...Object.entries(prompt.variants)];
    for (const [variant, body] of bodies) {
      const metadata = body.metadata;
      out.set(variant === undefined ? id : `${id}\u0000${variant}`, {
        metadata,
        template: body.template,
        render: (vars) => {
          try {
            return renderForReview(compile(id, variant), vars);
          } catch (err) {
            // A prompt that cannot render is itself worth seeing in a review.
            return `[cannot render: ${(err as Error).message}]`;
          }
        },
      });
    }
  }
  return out;
}
