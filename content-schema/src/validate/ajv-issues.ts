/**
 * Ajv's errors → ValidationIssues: one JSON Pointer to the value at fault (the key itself for
 * unknown fields and bad map keys), a stable code, and a sentence instead of Ajv's terse
 * "must NOT have additional properties".
 */
import type { ErrorObject } from 'ajv/dist/2020.js';
import { closest } from '../did-you-mean.ts';
import { issue, joinPointer, type ValidationIssue } from './issues.ts';

type SchemaNode = Record<string, unknown>;

export function issuesFromAjv(errors: readonly ErrorObject[] | null | undefined): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const error of errors ?? []) {
    const mapped = mapError(error);
    if (mapped) out.push(mapped);
  }
  return out;
}

function mapError(error: ErrorObject): ValidationIssue | undefined {
  const params = error.params as Record<string, unknown>;
  const parent = (error.parentSchema ?? {}) as SchemaNode;

  // A bad map key: Ajv reports the key's own failure (with `propertyName`) and then a summary
  // `propertyNames` error; the first says what is wrong, the second adds nothing.
  if (error.keyword === 'propertyNames') return undefined;
  if (error.propertyName !== undefined) {
    const key = error.propertyName;
    return issue(
      joinPointer(error.instancePath, key),
      'schema.invalid-key',
      `invalid key "${key}": ${describeFailure(error, parent, key)}`,
    );
  }

  switch (error.keyword) {
    case 'required': {
      const missing = String(params['missingProperty']);
      const field = propertiesOf(parent)[missing];
      const about = typeof field?.['description'] === 'string' ? ` (${field['description']})` : '';
      return issue(
        joinPointer(error.instancePath, missing),
        'schema.required',
        `missing required field "${missing}"`,
        `add "${missing}"${about}`,
      );
    }
    case 'additionalProperties': {
      const extra = String(params['additionalProperty']);
      const known = Object.keys(propertiesOf(parent));
      const near = closest(extra, known);
      const hint = near
        ? `did you mean "${near}"?`
        : known.length > 0
          ? `known fields: ${known.join(', ')}`
          : undefined;
      return issue(joinPointer(error.instancePath, extra), 'schema.unknown-field', `unknown field "${extra}"`, hint);
    }
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[] | undefined) ?? [];
      const near = typeof error.data === 'string' ? closest(error.data, allowed.map(String)) : undefined;
      return issue(
        error.instancePath,
        'schema.enum',
        `${show(error.data)} is not one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`,
        near ? `did you mean "${near}"?` : undefined,
      );
    }
    default:
      return issue(error.instancePath, codeFor(error.keyword), describeFailure(error, parent, error.data));
  }
}

/** The sentence for a value (or a map key) that failed `error.keyword`. */
function describeFailure(error: ErrorObject, parent: SchemaNode, data: unknown): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type':
      return `expected ${joinTypes(params['type'])}, got ${typeName(data)}`;
    case 'const':
      return `must be ${JSON.stringify(params['allowedValue'])}, got ${show(data)}`;
    case 'enum':
      return `must be one of ${((params['allowedValues'] as unknown[] | undefined) ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern': {
      const explained = parent['patternErrorMessage'];
      return typeof explained === 'string'
        ? `${show(data)} is not valid. ${explained}`
        : `${show(data)} does not match the pattern ${String(params['pattern'])}`;
    }
    case 'maxLength':
      return `is ${lengthOf(data)} characters long, more than the limit of ${String(params['limit'])}`;
    case 'minLength':
      return params['limit'] === 1 ? 'must not be empty' : `must be at least ${String(params['limit'])} characters long`;
    case 'maxProperties':
      return `has ${countKeys(data)} entries, more than the limit of ${String(params['limit'])}`;
    case 'minProperties':
      return `must have at least ${String(params['limit'])} entries`;
    case 'maxItems':
      return `has ${Array.isArray(data) ? data.length : '?'} items, more than the limit of ${String(params['limit'])}`;
    case 'minItems':
      return `must have at least ${String(params['limit'])} items`;
    case 'uniqueItems':
      return `items ${String(params['j'])} and ${String(params['i'])} are the same; each may appear once`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${show(data)} must be ${String(params['comparison'])} ${String(params['limit'])}`;
    default:
      return error.message ?? `fails "${error.keyword}"`;
  }
}

/** `schema.<keyword>` in kebab case: `maxLength` → `schema.max-length`. */
function codeFor(keyword: string): string {
  return `schema.${keyword.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function propertiesOf(schema: SchemaNode): Record<string, SchemaNode | undefined> {
  const props = schema['properties'];
  return typeof props === 'object' && props !== null ? (props as Record<string, SchemaNode | undefined>) : {};
}

function joinTypes(type: unknown): string {
  const types = Array.isArray(type) ? type.map(String) : String(type).split(',');
  if (types.length <= 1) return types[0] ?? 'a value';
  return `${types.slice(0, -1).join(', ')} or ${types.at(-1) ?? ''}`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return `a ${typeof value} (${show(value)})`;
  }
  return typeof value;
}

/** A short rendering of a value for a message, cut so a huge value cannot flood a log. */
function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function lengthOf(value: unknown): string {
  return typeof value === 'string' ? String(value.length) : '?';
}

function countKeys(value: unknown): string {
  return typeof value === 'object' && value !== null ? String(Object.keys(value).length) : '?';
}
