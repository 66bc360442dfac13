/**
 * The one pull request comment the forge keeps up to date (DESIGN §6): for every changed set,
 * its mode, implied release and approval state, and a rendered before/after diff of every
 * changed prompt. Pure apart from reading the default template once.
 *
 * The data is bounded before rendering, so a repository's own template gets the same bounded
 * view, and the rendered body is capped again afterwards: a comment GitHub refuses (over 65,536
 * characters) would leave the pull request with a stale one.
 */
import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { AnvilError } from '@anvil/content-schema';
import { packageFile } from '../package-root.ts';
import type { ContractChange } from '../release/contract-diff.ts';
import type { PromptDiff } from '../diff/rendered-diff.ts';
import { approvalLabel, cutMarkdown, fenceFor, releaseLabel } from './compose-check.ts';
import type { PullRequestReview, SetReview } from './pull-request-review.ts';

/** The forge finds its own comment among the pull request's comments by this line. */
export const REVIEW_COMMENT_MARKER = '<!-- anvil:review-comment -->';
export const DEFAULT_REVIEW_TEMPLATE_PATH = packageFile('templates', 'review', 'pull-request-comment.md.hbs');
/** A repository's own template, read by the forge from the pull request's base branch. */
export const REVIEW_TEMPLATE_OVERRIDE = '.anvil/templates/pull-request-comment.md.hbs';
/** GitHub refuses a comment body longer than this. */
export const GITHUB_COMMENT_MAX = 65_536;
export const DEFAULT_MAX_CHARS = 60_000;
export const DEFAULT_MAX_PATCH_LINES = 300;
/** Below this the notes about what was left out would not fit. */
const MIN_MAX_CHARS = 1_000;

// What the view's text costs beyond its prompts, as rendered by the default template; the
// estimates only decide how many prompts to keep, the hard cap after rendering is exact.
const BODY_OVERHEAD = 1_500;
const SET_OVERHEAD = 500;
const PROMPT_OVERHEAD = 200;

export interface ReviewCommentOptions {
  /** A repository's template (source text), used instead of the default one. */
  template?: string;
  /** Default 60,000; never more than GitHub's 65,536. */
  maxChars?: number;
  /** Lines of one prompt's diff shown; default 300. */
  maxPatchLines?: number;
}

export interface ReviewComment {
  body: string;
  /** Prompts left out, and diff lines cut from the prompts shown. */
  truncated: { prompts: number; lines: number };
  /** Why the repository's template could not be used (the default one was). */
  templateError?: string;
}

/** What a template sees. Strings are final Markdown; nothing is escaped on rendering. */
export interface ReviewCommentView {
  marker: string;
  project: string;
  repository: string;
  number: number;
  head: { sha: string; short: string };
  base: { ref: string; sha: string; short: string };
  sets: SetView[];
  totals: { sets: number; prompts: number; shownPrompts: number; omittedPrompts: number; cutPatches: number; omittedLines: number };
  /** Anything left out, prompts or lines. */
  truncated: boolean;
  /** One sentence saying what was left out (empty when nothing was). */
  truncationNote: string;
}

export interface SetView {
  name: string;
  dir: string;
  mode: string;
  change: SetReview['change'];
  impact: SetReview['impact'];
  /** `minor → 1.3.0`, `first release → 0.1.0`, `none`. */
  release: string;
  /** `needs approval`, `approved by @alice`, `no approval needed (live)`. */
  approval: string;
  needsApproval: boolean;
  approved: boolean;
  lint: { errors: number; warnings: number; label: string };
  buildError?: string;
  changes: ContractChange[];
  prompts: PromptView[];
  /** Changed prompts in the set, shown or not. */
  promptCount: number;
  omittedPrompts: number;
  /** `3 more changed prompts not shown` (empty when none). */
  omittedNote: string;
  truncated: boolean;
  /** The command that shows the whole diff locally. */
  diffCommand: string;
}

export interface PromptView {
  /** `welcome.message (fr)`. */
  title: string;
  id: string;
  variant?: string;
  status: PromptDiff['status'];
  /** The inputs both sides were rendered with, as indented JSON. */
  inputs: string;
  inputsFence: string;
  /** The unified diff, cut to the line limit (the cut says so in its last line). */
  patch: string;
  /** A backtick fence longer than any run of backticks in `patch`. */
  fence: string;
  omittedLines: number;
}

export function composeReviewComment(review: PullRequestReview, options: ReviewCommentOptions = {}): ReviewComment {
  const maxChars = Math.max(MIN_MAX_CHARS, Math.min(options.maxChars ?? DEFAULT_MAX_CHARS, GITHUB_COMMENT_MAX));
  const maxPatchLines = Math.max(1, Math.floor(options.maxPatchLines ?? DEFAULT_MAX_PATCH_LINES));
  const view = reviewCommentView(review, maxChars, maxPatchLines);

  let body: string | undefined;
  let templateError: string | undefined;
  if (options.template !== undefined) {
    try {
      body = renderTemplate(compile(options.template), view);
    } catch (err) {
      // A broken override must never stop the comment: fall back, and say why.
      templateError = describeTemplateError(err);
    }
  }
  body ??= renderTemplate(defaultTemplate(), view);

  if (!body.includes(REVIEW_COMMENT_MARKER)) body = `${REVIEW_COMMENT_MARKER}\n${body}`;
  if (templateError !== undefined) {
    const note = `> **The repository's template \`${REVIEW_TEMPLATE_OVERRIDE}\` failed, so the default one was used:** ${escapeHtml(templateError)}`;
    body = body.replace(REVIEW_COMMENT_MARKER, `${REVIEW_COMMENT_MARKER}\n${note}\n`);
  }
  body = capBody(body, maxChars, review);

  return {
    body,
    truncated: { prompts: view.totals.omittedPrompts, lines: view.totals.omittedLines },
    ...(templateError !== undefined ? { templateError } : {}),
  };
}

/** The bounded view model: patches cut to `maxPatchLines`, prompts past the budget left out. */
export function reviewCommentView(review: PullRequestReview, maxChars: number, maxPatchLines: number): ReviewCommentView {
  const headShort = review.headSha.slice(0, 7);
  const baseShort = review.baseSha.slice(0, 7);
  const sets = review.sets.map((s) => setView(s, baseShort, headShort));
  let budget = maxChars - BODY_OVERHEAD - sets.reduce((n, s) => n + SET_OVERHEAD + s.name.length * 4 + (s.buildError?.length ?? 0), 0);
  let dropping = false;
  const totals = { sets: sets.length, prompts: 0, shownPrompts: 0, omittedPrompts: 0, cutPatches: 0, omittedLines: 0 };

  review.sets.forEach((s, i) => {
    const view = sets[i]!;
    for (const diff of s.prompts.filter((p) => p.status !== 'unchanged')) {
      view.promptCount++;
      totals.prompts++;
      const prompt = promptView(diff, maxPatchLines);
      const cost = PROMPT_OVERHEAD + prompt.title.length * 2 + prompt.inputs.length + prompt.patch.length + 2 * (prompt.fence.length + prompt.inputsFence.length);
      // Past the budget every later prompt is left out too, so what is shown is a prefix.
      if (dropping || cost > budget) {
        dropping = true;
        view.omittedPrompts++;
        totals.omittedPrompts++;
        continue;
      }
      budget -= cost;
      view.prompts.push(prompt);
      totals.shownPrompts++;
      if (prompt.omittedLines > 0) {
        totals.cutPatches++;
        totals.omittedLines += prompt.omittedLines;
      }
    }
    view.omittedNote = view.omittedPrompts > 0 ? `${view.omittedPrompts} more changed ${view.omittedPrompts === 1 ? 'prompt' : 'prompts'} not shown` : '';
    view.truncated = view.omittedPrompts > 0 || view.prompts.some((p) => p.omittedLines > 0);
  });

  const notes: string[] = [];
  if (totals.omittedPrompts > 0) notes.push(`${totals.omittedPrompts} of ${totals.prompts} changed prompts are not shown`);
  if (totals.cutPatches > 0) notes.push(`${totals.omittedLines} diff ${totals.omittedLines === 1 ? 'line' : 'lines'} of ${totals.cutPatches} ${totals.cutPatches === 1 ? 'prompt' : 'prompts'} are not shown`);
  return {
    marker: REVIEW_COMMENT_MARKER,
    project: review.project,
    repository: review.repository,
    number: review.number,
    head: { sha: review.headSha, short: headShort },
    base: { ref: review.baseRef, sha: review.baseSha, short: baseShort },
    sets,
    totals,
    truncated: notes.length > 0,
    truncationNote: notes.length > 0 ? `${notes.join('; ')}.` : '',
  };
}

function setView(s: SetReview, baseShort: string, headShort: string): SetView {
  const errors = s.problems.filter((p) => p.severity === 'error').length;
  const warnings = s.problems.length - errors;
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return {
    name: s.set,
    dir: s.dir,
    mode: s.mode,
    change: s.change,
    impact: s.impact,
    release: releaseLabel(s),
    approval: approvalLabel(s, true),
    needsApproval: s.needsApproval,
    approved: (s.approval?.approvedBy.length ?? 0) > 0,
    lint: { errors, warnings, label: [errors > 0 ? count(errors, 'error') : '', warnings > 0 ? count(warnings, 'warning') : ''].filter(Boolean).join(', ') || 'clean' },
    ...(s.buildError !== undefined ? { buildError: s.buildError.replace(/\s*\n\s*/g, ' ').trim() } : {}),
    changes: s.contractChanges,
    prompts: [],
    promptCount: 0,
    omittedPrompts: 0,
    omittedNote: '',
    truncated: false,
    diffCommand: `anvil diff ${s.set} ${baseShort} ${headShort}`,
  };
}

function promptView(diff: PromptDiff, maxPatchLines: number): PromptView {
  const lines = diff.patch.split('\n');
  const omittedLines = Math.max(0, lines.length - maxPatchLines);
  const patch = omittedLines > 0
    ? `${lines.slice(0, maxPatchLines).join('\n')}\n… ${omittedLines} more ${omittedLines === 1 ? 'line' : 'lines'} not shown`
    : diff.patch;
  const inputs = JSON.stringify(diff.inputs, null, 2) ?? '{}';
  return {
    title: diff.variant !== undefined ? `${diff.id} (${diff.variant})` : diff.id,
    id: diff.id,
    ...(diff.variant !== undefined ? { variant: diff.variant } : {}),
    status: diff.status,
    inputs,
    inputsFence: fenceFor(inputs),
    patch,
    fence: fenceFor(patch),
    omittedLines,
  };
}

type CompiledTemplate = (view: ReviewCommentView) => string;

let environment: typeof Handlebars | undefined;
let compiledDefault: CompiledTemplate | undefined;

/**
 * An environment of its own, so that nothing registered elsewhere in the process (the prompt
 * renderer's helpers) is reachable from a repository's template, and only these helpers are.
 */
function handlebars(): typeof Handlebars {
  if (environment) return environment;
  const env = Handlebars.create();
  // `log` writes to the server's console on every render; a template has no business there.
  env.unregisterHelper('log');
  env.registerHelper('fenceFor', (content: unknown) => fenceFor(typeof content === 'string' ? content : ''));
  env.registerHelper('html', (text: unknown) => escapeHtml(text === undefined || text === null ? '' : String(text)));
  env.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  environment = env;
  return env;
}

function compile(source: string): CompiledTemplate {
  const template = handlebars().compile<ReviewCommentView>(source, { noEscape: true, strict: false });
  // Explicit `false` keeps Handlebars' prototype protections as they are by default, without
  // its console warning each time a template probes `toString` and the like.
  return (view) => template(view, { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });
}

function renderTemplate(template: CompiledTemplate, view: ReviewCommentView): string {
  const out = template(view);
  return typeof out === 'string' ? out : String(out);
}

function defaultTemplate(): CompiledTemplate {
  if (compiledDefault) return compiledDefault;
  let source: string;
  try {
    source = readFileSync(DEFAULT_REVIEW_TEMPLATE_PATH, 'utf8');
  } catch (err) {
    throw new AnvilError('review.template-missing', `the default review comment template cannot be read: ${(err as Error).message}`, {
      file: DEFAULT_REVIEW_TEMPLATE_PATH, cause: err, hint: 'this is a bug in the installation: templates/ ships with the server',
    });
  }
  compiledDefault = compile(source);
  return compiledDefault;
}

/** One line: where in the template (when Handlebars says) and what went wrong. */
function describeTemplateError(err: unknown): string {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { message?: unknown; lineNumber?: unknown };
  const raw = typeof e.message === 'string' ? e.message : String(err);
  const line = typeof e.lineNumber === 'number' ? e.lineNumber : Number(/on line (\d+)/.exec(raw)?.[1] ?? Number.NaN);
  // Parse errors span four lines: "Parse error on line 3:", the source, a caret, "Expecting …".
  const lines = raw.split('\n').map((l) => l.trim()).filter(Boolean);
  let message = lines.length > 2 ? `${lines[0]} ${lines[lines.length - 1]}` : lines.join(' ');
  message = message.replace(/ - \d+:\d+$/, '').replace(/^Parse error on line \d+:\s*/, 'parse error: ');
  if (message.length > 300) message = `${message.slice(0, 299)}…`;
  const where = Number.isInteger(line) && line > 0 ? `line ${line}: ` : '';
  return `${where}${message}`;
}

function capBody(body: string, maxChars: number, review: PullRequestReview): string {
  if (body.length <= maxChars) return body;
  const command = `npx anvil diff <set> ${review.baseSha.slice(0, 7)} ${review.headSha.slice(0, 7)}`;
  const note = `**This comment was cut here: it would be longer than ${maxChars} characters.** Run \`${command}\` to see every change.`;
  const cut = cutMarkdown(body, maxChars, note);
  // A custom template may put the marker anywhere; the cut must not lose it, or the forge
  // would post a new comment on every update instead of editing this one.
  return cut.includes(REVIEW_COMMENT_MARKER) ? cut : cutMarkdown(`${REVIEW_COMMENT_MARKER}\n${body}`, maxChars, note);
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
