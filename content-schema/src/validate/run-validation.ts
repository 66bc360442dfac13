/**
 * The pipeline every validator shares: inspect the raw data (prototype keys, non-JSON values,
 * depth), validate against the JSON Schema, then run the format's own checks (semver ranges,
 * cross-references). Every stage runs, so one call reports every problem.
 */
import type { ErrorObject } from 'ajv/dist/2020.js';
import { issuesFromAjv } from './ajv-issues.ts';
import { inspectData, type InspectOptions } from './inspect-data.ts';
import { issue, type ValidationIssue, type ValidationResult } from './issues.ts';
import { VALIDATED_SCHEMAS, validatorFor, type ValidatorName } from './validators.ts';

/** Reports one problem from a format-specific check. */
export type Report = (path: string, code: string, message: string, hint?: string) => void;

export interface CheckContext {
  error: Report;
  warning: Report;
  /**
   * True when an earlier stage already reported the value at `path`: a cross-check that
   * reads it (does the tag match the version?) would only repeat that problem.
   */
  faulted: (path: string) => boolean;
}

export interface ValidationSpec {
  /** The schema, and how it is checked (validators.ts). */
  validator: ValidatorName;
  /** Checks JSON Schema cannot express; `data` may be any shape when the schema failed. */
  check?: (data: unknown, context: CheckContext) => void;
  /** Schema issues to report as warnings instead of errors. */
  demote?: (found: ValidationIssue) => boolean;
  /** Values the data walk skips (the schema must not look into them either): see InspectOptions. */
  opaque?: InspectOptions['opaque'];
  /** Nesting allowed below the input (default LIMITS.depth). */
  maxDepth?: number;
}

/** More than this many problems is noise: the rest are summarised in one last issue. */
const MAX_ISSUES = 1_000;

export function runValidation<T>(input: unknown, spec: ValidationSpec): ValidationResult<T> {
  const errors: ValidationIssue[] = [];
  const warnings: ValidationIssue[] = [];
  // A later stage stays quiet about a value an earlier stage already faulted, so that a
  // YAML date is reported once ("quote it"), not again as "expected string".
  const faulted = new Set<string>();
  const addError = (found: ValidationIssue, skipIfFaulted: boolean): void => {
    if (skipIfFaulted && faulted.has(found.path)) return;
    errors.push(found);
  };

  const inspected = inspectData(input, {
    copy: VALIDATED_SCHEMAS[spec.validator].flavour === 'authored',
    ...(spec.opaque === undefined ? {} : { opaque: spec.opaque }),
    ...(spec.maxDepth === undefined ? {} : { maxDepth: spec.maxDepth }),
  });
  for (const found of inspected.issues) addError(found, false);
  const inspectedPaths = new Set(inspected.issues.map((found) => found.path));

  const validate = validatorFor(spec.validator);
  validate(inspected.value);
  const schemaIssues = issuesFromAjv(validate.errors as ErrorObject[] | null | undefined);
  for (const path of inspectedPaths) faulted.add(path);
  for (const found of schemaIssues) {
    if (spec.demote?.(found)) warnings.push(found);
    else addError(found, true);
  }
  for (const found of schemaIssues) faulted.add(found.path);

  spec.check?.(inspected.value, {
    error: (path, code, message, hint) => addError(issue(path, code, message, hint), true),
    warning: (path, code, message, hint) => warnings.push(issue(path, code, message, hint)),
    faulted: (path) => faulted.has(path),
  });

  const result = { errors: capped(errors), warnings: capped(warnings) };
  if (result.errors.length === 0) return { ok: true, value: inspected.value as T, ...result };
  return { ok: false, ...result };
}

function capped(list: ValidationIssue[]): ValidationIssue[] {
  if (list.length <= MAX_ISSUES) return list;
  const rest = list.length - MAX_ISSUES;
  return [...list.slice(0, MAX_ISSUES), issue('', 'validation.too-many-issues', `${rest} more problems not shown`)];
}
