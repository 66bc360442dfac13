/**
 * What GitHub shows for a checked pull request (DESIGN §6): the check run (conclusion, title,
 * Markdown summary, annotations on the files), the commit status used when the app may not
 * create check runs, and the failing status of an unreviewed push or a refused release.
 * Pure: a PullRequestReview in, the GitHub payloads out; the forge does the HTTP.
 */
import { formatProblem, hasErrors, sortProblems, type Problem } from '../lint/problem.ts';
import type { PullRequestReview, SetReview } from './pull-request-review.ts';

/** GitHub takes at most 50 annotations per create/update request. */
export const ANNOTATIONS_PER_REQUEST = 50;
/** Past this many the annotations stop helping; the rest are listed in the check's text. */
export const MAX_ANNOTATIONS = 1000;
/** GitHub's limit for a check run's `summary` and `text`. */
export const CHECK_TEXT_MAX = 65_535;
/** GitHub's limit for a commit status `description`. */
export const STATUS_DESCRIPTION_MAX = 140;
const TITLE_MAX = 100;

export interface CheckAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  start_column?: number;
  end_column?: number;
  annotation_level: 'failure' | 'warning' | 'notice';
  message: string;
  title?: string;
  raw_details?: string;
}

export interface CheckRunReport {
  name: 'Anvil';
  conclusion: 'success' | 'failure';
  title: string;
  summary: string;
  text?: string;
  annotations: CheckAnnotation[];
}

export interface CommitStatusReport {
  state: 'success' | 'failure';
  description: string;
  context: 'anvil';
}

export interface UnreviewedStatusReport {
  state: 'failure';
  description: string;
  context: 'anvil/review';
}

export function composeCheckRun(review: PullRequestReview, options: { detailsUrl?: string } = {}): CheckRunReport {
  const all = allProblems(review);
  const annotatable = sortForAnnotations(all.filter(isAnnotatable));
  const annotations = annotatable.slice(0, MAX_ANNOTATIONS).map(toAnnotation);
  const leftOut = annotatable.slice(MAX_ANNOTATIONS);

  const summary = cutMarkdown(summaryOf(review, leftOut.length, options.detailsUrl), CHECK_TEXT_MAX,
    '**The summary was cut here: it is longer than GitHub allows.** Run `npx anvil lint` and `npx anvil diff` locally to see everything.');
  const report: CheckRunReport = { name: 'Anvil', conclusion: failed(review) ? 'failure' : 'success', title: titleOf(review, TITLE_MAX), summary, annotations };
  if (leftOut.length > 0) {
    // Annotations past the cap are not lost: they are listed as `anvil lint` prints them.
    const lines = leftOut.map(formatProblem).join('\n');
    const fence = fenceFor(lines);
    report.text = cutMarkdown(`### Problems not annotated\n\n${fence}\n${lines}\n${fence}`, CHECK_TEXT_MAX,
      '**The list was cut here.** Run `npx anvil lint` to see every problem.');
  }
  return report;
}

/** Splits annotations into the batches GitHub accepts per request (the first with the create, the rest as updates). */
export function annotationBatches(annotations: readonly CheckAnnotation[]): CheckAnnotation[][] {
  const batches: CheckAnnotation[][] = [];
  for (let i = 0; i < annotations.length; i += ANNOTATIONS_PER_REQUEST) batches.push(annotations.slice(i, i + ANNOTATIONS_PER_REQUEST));
  return batches;
}

/** The fallback when the app may not create check runs: the same verdict in 140 characters. */
export function composeCommitStatus(review: PullRequestReview): CommitStatusReport {
  return { state: failed(review) ? 'failure' : 'success', description: titleOf(review, STATUS_DESCRIPTION_MAX), context: 'anvil' };
}

/**
 * The failing status of a push that changed review/locked sets without an approved merged pull
 * request, or of a release refused because it carries such a change. `subject` names the
 * release (`onboarding@1.3.0`); for a push the status already sits on the commit, so only the
 * sets are named.
 */
export function composeUnreviewedStatus(kind: 'push' | 'release', sets: string[], subject: string): UnreviewedStatusReport {
  let description: string;
  if (kind === 'push') {
    const tail = ': nothing published';
    description = sets.length === 0 ? `unreviewed change${tail}`
      : `unreviewed change to ${fitList(sets, STATUS_DESCRIPTION_MAX - 'unreviewed change to '.length - tail.length, ', ')}${tail}`;
  } else {
    const what = subject !== '' ? subject : fitList(sets, 60, ', ');
    description = `${what} carries an unreviewed change: refused`;
  }
  return { state: 'failure', description: truncate(description, STATUS_DESCRIPTION_MAX), context: 'anvil/review' };
}

/** `minor → 1.3.0`, `first release → 0.1.0`, `none`: the release a set's change implies. */
export function releaseLabel(set: SetReview): string {
  if (set.buildError !== undefined) return 'unknown (does not build)';
  if (set.change === 'removed') return 'none (set removed)';
  if (set.impact === 'none') return 'none';
  if (set.latestRelease === undefined) return set.nextVersion !== undefined ? `first release → ${set.nextVersion}` : 'first release';
  return set.nextVersion !== undefined ? `${set.impact} → ${set.nextVersion}` : set.impact;
}

/**
 * `needs approval (reviewers: @alice)`, `approved by @bob`, `no approval needed (live)`.
 * `quote` puts logins in code spans: in a PR comment a bare `@team` would notify on every edit.
 */
export function approvalLabel(set: SetReview, quote = false): string {
  const login = (l: string) => {
    const at = l.startsWith('@') ? l : `@${l}`;
    return quote ? `\`${at}\`` : at;
  };
  if (!set.needsApproval) return `no approval needed (${set.mode})`;
  const by = set.approval?.approvedBy ?? [];
  if (by.length > 0) return `approved by ${by.map(login).join(', ')}`;
  const reviewers = set.approval?.reviewers ?? [];
  return `needs approval${reviewers.length > 0 ? ` (reviewers: ${reviewers.map(login).join(', ')})` : ''}`;
}

/**
 * `text` cut at a line boundary so that it fits in `max` characters with `note` after it. A
 * code fence or `<details>` the cut leaves open is closed first, or the note would be hidden
 * inside it.
 */
export function cutMarkdown(text: string, max: number, note: string): string {
  if (text.length <= max) return text;
  const tail = `\n\n${note}`;
  if (tail.length >= max) return truncate(note, max);
  const lines = text.split('\n');
  let fence: string | undefined;
  let details = 0;
  let length = -1; // no newline before the first line
  let best: { count: number; closers: string } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    length += line.length + 1;
    if (fence === undefined) {
      const open = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
      if (open !== undefined) fence = open;
      else details += (line.match(/<details[\s>]/g)?.length ?? 0) - (line.match(/<\/details>/g)?.length ?? 0);
    } else {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line)?.[1];
      if (close !== undefined && close[0] === fence[0] && close.length >= fence.length) fence = undefined;
    }
    const closers = `${fence !== undefined ? `\n${fence}` : ''}${'\n\n</details>'.repeat(Math.max(0, details))}`;
    if (length + closers.length + tail.length > max) break;
    best = { count: i + 1, closers };
  }
  // A first line longer than the budget: nothing fits whole, so cut inside it.
  if (best === undefined) return `${text.slice(0, max - tail.length)}${tail}`;
  return `${lines.slice(0, best.count).join('\n')}${best.closers}${tail}`;
}

/** A backtick fence longer than any backtick run in `content`, so the content cannot close it. */
export function fenceFor(content: string): string {
  let longest = 0;
  for (const run of content.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  return '`'.repeat(Math.max(3, longest + 1));
}

function failed(review: PullRequestReview): boolean {
  return hasErrors(review.repoProblems) || review.sets.some((s) => s.buildError !== undefined || hasErrors(s.problems));
}

function allProblems(review: PullRequestReview): Problem[] {
  return [...review.sets.flatMap((s) => s.problems), ...review.repoProblems];
}

function isAnnotatable(p: Problem): p is Problem & { file: string; line: number } {
  return p.file !== undefined && p.file !== '' && p.line !== undefined && p.line >= 1;
}

/** Errors first, so the cap drops warnings before it drops errors. */
function sortForAnnotations(problems: Problem[]): Problem[] {
  const sorted = sortProblems(problems);
  return [...sorted.filter((p) => p.severity === 'error'), ...sorted.filter((p) => p.severity !== 'error')];
}

function toAnnotation(p: Problem): CheckAnnotation {
  const out: CheckAnnotation = {
    path: p.file!,
    start_line: p.line!,
    end_line: p.line!,
    annotation_level: p.severity === 'error' ? 'failure' : 'warning',
    message: p.hint ? `${p.message}\nhint: ${p.hint}` : p.message,
    title: p.code,
  };
  // A Problem is one position on one line; GitHub rejects columns on multi-line annotations,
  // and a problem has no end line, so start and end are the same line here.
  if (p.column !== undefined && p.column >= 1 && out.start_line === out.end_line) {
    out.start_column = p.column;
    out.end_column = p.column;
  }
  return out;
}

function titleOf(review: PullRequestReview, max: number): string {
  const parts: string[] = [];
  const errors = (problems: Problem[]) => problems.filter((p) => p.severity === 'error').length;
  if (failed(review)) {
    for (const s of review.sets) {
      const n = errors(s.problems);
      if (n > 0) parts.push(`${plural(n, 'lint error')} in ${s.set}`);
      if (s.buildError !== undefined) parts.push(`${s.set} does not build`);
    }
    const n = errors(review.repoProblems);
    if (n > 0) parts.push(`${plural(n, 'lint error')} outside the sets`);
  } else {
    for (const s of review.sets) parts.push(`${s.set}: ${setVerdict(s)}`);
    if (parts.length === 0) parts.push('no prompt set changed');
  }
  return fitList(parts, max, ' · ');
}

function setVerdict(s: SetReview): string {
  const words: string[] = [];
  if (s.change === 'added') words.push('new set');
  if (s.change === 'removed') words.push('removed');
  if (s.change !== 'removed') {
    if (s.impact !== 'none') words.push(s.impact);
    else if (s.change === 'changed') words.push('no release needed');
  }
  if (s.needsApproval) words.push((s.approval?.approvedBy.length ?? 0) > 0 ? 'approved' : 'needs approval');
  return words.join(', ');
}

/** `a · b · and 3 more`, as many items as fit in `max`; the last resort cuts with "…". */
function fitList(items: string[], max: number, separator: string): string {
  const whole = items.join(separator);
  if (whole.length <= max) return whole;
  const more = separator === ', ' ? ' and ' : `${separator}and `;
  for (let k = items.length - 1; k >= 1; k--) {
    const text = `${items.slice(0, k).join(separator)}${more}${items.length - k} more`;
    if (text.length <= max) return text;
  }
  return truncate(whole, max);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function summaryOf(review: PullRequestReview, leftOut: number, detailsUrl: string | undefined): string {
  const out: string[] = [];
  const at = `\`${review.headSha.slice(0, 7)}\` against \`${review.baseRef}\` (\`${review.baseSha.slice(0, 7)}\`)`;
  if (review.sets.length === 0) out.push(`This pull request changes no prompt set (head ${at}).`);
  else {
    out.push(`${plural(review.sets.length, 'prompt set')} checked at ${at}.`, '');
    out.push('| set | mode | change | release | approval | lint |', '|---|---|---|---|---|---|');
    for (const s of review.sets) {
      out.push(`| ${[`\`${s.set}\``, s.mode, s.change, releaseLabel(s), approvalLabel(s), lintLabel(s)].map(cell).join(' | ')} |`);
    }
  }

  for (const s of review.sets) {
    const unlocated = s.problems.filter((p) => !isAnnotatable(p));
    if (s.buildError === undefined && s.contractChanges.length === 0 && unlocated.length === 0) continue;
    out.push('', `### ${s.set}`, '');
    if (s.buildError !== undefined) out.push(`**Does not build:** ${oneLine(s.buildError)}`, '');
    if (s.contractChanges.length > 0) {
      out.push('Contract changes:', '');
      for (const c of s.contractChanges) out.push(`- **${c.impact}** ${c.subject === 'set' ? '' : `\`${c.subject}\`: `}${oneLine(c.message)}`);
      out.push('');
    }
    if (unlocated.length > 0) out.push('Problems without a line to annotate:', '', ...sortProblems(unlocated).map(problemItem), '');
  }

  const repoUnlocated = review.repoProblems.filter((p) => !isAnnotatable(p));
  if (repoUnlocated.length > 0) out.push('', '### Outside the sets', '', ...sortProblems(repoUnlocated).map(problemItem));

  if (leftOut > 0) {
    out.push('', `**${plural(leftOut, 'problem')} not annotated:** a check shows at most ${MAX_ANNOTATIONS} annotations. They are listed in the details below, and \`npx anvil lint\` shows them all.`);
  }
  if (detailsUrl !== undefined) out.push('', `[Details](${detailsUrl})`);
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trim();
}

function lintLabel(s: SetReview): string {
  const errors = s.problems.filter((p) => p.severity === 'error').length;
  const warnings = s.problems.length - errors;
  const counts = errors + warnings === 0 ? 'clean' : [errors > 0 ? plural(errors, 'error') : '', warnings > 0 ? plural(warnings, 'warning') : ''].filter(Boolean).join(', ');
  return s.buildError !== undefined ? `${counts}; does not build` : counts;
}

function problemItem(p: Problem): string {
  const where = p.file ? ` ${p.file}${p.line !== undefined ? `:${p.line}` : ''}:` : '';
  return `- **${p.severity}** \`${p.code}\`${where} ${oneLine(p.message)}${p.hint ? ` (hint: ${oneLine(p.hint)})` : ''}`;
}

function cell(text: string): string {
  return oneLine(text).replace(/\|/g, '\\|');
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
