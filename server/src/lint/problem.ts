/**
 * A located finding: what `anvil lint` prints as `file:line:col  code  message`, and what every
 * stage (load, lint, build) reports instead of throwing, so that all problems show at once.
 */
import { AnvilError } from '@anvil/content-schema';

export type Severity = 'error' | 'warning';

export interface Problem {
  severity: Severity;
  code: string;
  message: string;
  /** Repository-relative path. */
  file?: string | undefined;
  line?: number | undefined;
  column?: number | undefined;
  hint?: string | undefined;
}

export function problem(severity: Severity, code: string, message: string, at: Omit<Problem, 'severity' | 'code' | 'message'> = {}): Problem {
  return { severity, code, message, ...at };
}

/** An AnvilError raised while compiling a file, as an error Problem. */
export function problemFromError(err: unknown, file: string): Problem {
  if (err instanceof AnvilError) {
    return { severity: 'error', code: err.code, message: err.message, file: err.file ?? file, line: err.line, column: err.column, hint: err.hint };
  }
  throw err;
}

/** The problems in files under `dir` (a set's folder). */
export function problemsInDir(problems: readonly Problem[], dir: string): Problem[] {
  return problems.filter((p) => p.file !== undefined && (p.file === dir || p.file.startsWith(`${dir}/`)));
}

export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}

/** `file:line:col  code  message (hint: …)`, the line `anvil lint` prints. */
export function formatProblem(p: Problem): string {
  let where = p.file ?? '';
  if (p.file && p.line !== undefined) where += `:${p.line}${p.column !== undefined ? `:${p.column}` : ''}`;
  const label = p.severity === 'warning' ? 'warning ' : '';
  return `${where ? `${where}  ` : ''}${label}${p.code}  ${p.message}${p.hint ? ` (hint: ${p.hint})` : ''}`;
}

/** Stable order: by file, line, column, then code. */
export function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) =>
    (a.file ?? '').localeCompare(b.file ?? '') || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0) || a.code.localeCompare(b.code));
}

/** The same problem found twice (a broken partial seen from every set that includes it) once. */
export function dedupeProblems(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.file}:${p.line}:${p.column}:${p.code}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
