/**
 * What a set version's page shows (issue 15), as plain data: every prompt and variant of a
 * stored bundle rendered with the same sample inputs as `anvil diff` and the PR comment, by the
 * same renderer (`bundleEnvironment` + `compileBundlePrompt`, as `anvil render`), and a preview
 * with inputs a person typed. Pure over the bundle; the route reads it from the store.
 *
 * The page shows one page of prompts at a time, and only that page's prompts are compiled and
 * rendered; a prompt's variants are on its page. Issue 15 asks for a first paint under 300 ms:
 * a 1,000-prompt set on one page was 4.3 MB of HTML, painted after ~1 s (bench/RESULTS.md,
 * "Dashboard first paint").
 */
import { AnvilError, canonicalJson, type Bundle, type PromptMetadata } from '@anvil/content-schema';
import { bundleEnvironment, compileBundlePrompt, type CompiledPrompt, type DependencyPartials } from '@anvil/client';
import { renderForReview } from '../diff/render-for-review.ts';
import { sampleInputs } from '../diff/sample-inputs.ts';
import { paging, type Paging } from './dashboard-data.ts';

/** A rendering, or why there is none: a stable code and a reason a person can act on. */
export type RenderOutcome = { ok: true; text: string; missing: string[] } | { ok: false; code: string; reason: string };

export interface PromptView {
  id: string;
  variant?: string;
  description?: string;
  template: string;
  /** The input schema as pretty JSON, or undefined when the prompt declares none. */
  inputSchema?: string;
  /** The inputs the sample rendering used, as pretty JSON. */
  sampleInputs: string;
  sample: RenderOutcome;
}

export interface PreviewRequest {
  prompt: string;
  variant?: string | undefined;
  /** The JSON object a person typed, unparsed. */
  vars: string;
}

export interface Preview extends PreviewRequest {
  outcome: RenderOutcome;
}

export interface SetVersionView {
  set: string;
  version: string;
  stage: Bundle['stage'];
  mode: Bundle['mode'];
  integrity: string;
  commit: string;
  /** This page's prompts and their variants, by id. */
  prompts: PromptView[];
  /** Pages of prompt ids (a prompt's variants count with it). */
  paging: Paging;
  /** The first prompt id of each page, to jump to a page by name. */
  pageStarts: string[];
  preview?: Preview;
}

export interface SetVersionViewOptions {
  /** The page asked for (1-based, as the query has it); ignored when a preview names a known prompt. */
  page?: unknown;
  pageSize?: number;
  /** Compiles one prompt or variant of the bundle; by default in a new environment for this view. */
  compile?: (id: string, variant?: string) => CompiledPrompt;
}

/** Longest preview input accepted: a preview is a person's JSON, not a data set. */
export const MAX_PREVIEW_VARS = 8000;

/** Prompts per page: each shows its rendering, template, schema and a preview form. */
export const PROMPTS_PER_PAGE = 20;

export function setVersionView(bundle: Bundle, dependencyPartials: DependencyPartials, preview?: PreviewRequest, options: SetVersionViewOptions = {}): SetVersionView {
  const render = renderer(options.compile ?? compilerOf(bundle, dependencyPartials));
  const ids = Object.keys(bundle.prompts).sort();
  const pageSize = options.pageSize ?? PROMPTS_PER_PAGE;
  // A preview is shown on its prompt's page: the preview form sends the prompt, not the page.
  const previewed = preview ? ids.indexOf(preview.prompt) : -1;
  const p = paging(ids.length, previewed >= 0 ? String(Math.floor(previewed / pageSize) + 1) : options.page, pageSize);
  const prompts: PromptView[] = [];
  for (const id of ids.slice(p.offset, p.offset + p.pageSize)) {
    const prompt = bundle.prompts[id]!;
    const bodies: [string | undefined, { template: string; metadata: PromptMetadata }][] = [
      [undefined, prompt],
      ...Object.keys(prompt.variants).sort().map((v) => [v, prompt.variants[v]!] as [string, { template: string; metadata: PromptMetadata }]),
    ];
    for (const [variant, body] of bodies) {
      const inputs = sampleInputs(body.metadata);
      const schema = body.metadata.input?.schema;
      prompts.push({
        id,
        ...(variant !== undefined ? { variant } : {}),
        ...(typeof body.metadata.description === 'string' ? { description: body.metadata.description } : {}),
        template: body.template,
        ...(schema !== undefined ? { inputSchema: pretty(schema) } : {}),
        sampleInputs: pretty(inputs),
        sample: render(id, variant, inputs),
      });
    }
  }
  return {
    set: bundle.set, version: bundle.version, stage: bundle.stage, mode: bundle.mode, integrity: bundle.integrity, commit: bundle.source.commit, prompts,
    paging: p, pageStarts: ids.filter((_, i) => i % pageSize === 0),
    ...(preview ? { preview: { ...preview, outcome: previewOutcome(render, preview) } } : {}),
  };
}

function previewOutcome(render: ReturnType<typeof renderer>, preview: PreviewRequest): RenderOutcome {
  if (preview.vars.length > MAX_PREVIEW_VARS) {
    return { ok: false, code: 'preview.too-large', reason: `the inputs are ${preview.vars.length} characters; at most ${MAX_PREVIEW_VARS} are accepted` };
  }
  let parsed: unknown;
  try {
    parsed = preview.vars.trim() === '' ? {} : JSON.parse(preview.vars);
  } catch (err) {
    return { ok: false, code: 'preview.invalid-json', reason: `the inputs are not valid JSON: ${(err as Error).message}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, code: 'preview.invalid-json', reason: 'the inputs must be one JSON object of variables, e.g. {"name": "Ada"}' };
  }
  // Variables are data: a "__proto__" key must stay a key, never the object's prototype.
  const vars = Object.assign(Object.create(null) as Record<string, unknown>, parsed);
  return render(preview.prompt, preview.variant, vars);
}

function compilerOf(bundle: Bundle, dependencyPartials: DependencyPartials): (id: string, variant?: string) => CompiledPrompt {
  const env = bundleEnvironment(bundle, dependencyPartials);
  return (id, variant) => compileBundlePrompt(env, bundle, id, variant);
}

function renderer(compile: (id: string, variant?: string) => CompiledPrompt) {
  return (id: string, variant: string | undefined, vars: Record<string, unknown>): RenderOutcome => {
    try {
      const compiled = compile(id, variant);
      const defaults = compiled.metadata.input?.default ?? {};
      const required = compiled.metadata.input?.schema?.['required'];
      const missing = (Array.isArray(required) ? required : []).filter((n): n is string => typeof n === 'string' && !(n in vars) && !(n in defaults));
      return { ok: true, text: renderForReview(compiled, vars), missing };
    } catch (err) {
      // A prompt that cannot render is itself worth seeing: the page shows why, never a 500.
      if (err instanceof AnvilError) return { ok: false, code: err.code, reason: err.hint ? `${err.message} (${err.hint})` : err.message };
      return { ok: false, code: 'render.failed', reason: (err as Error)?.message ?? String(err) };
    }
  };
}

function pretty(value: unknown): string {
  // Canonical first (sorted keys, as the bundle stores them), then indented to be read.
  return JSON.stringify(JSON.parse(canonicalJson(value)), null, 2);
}
