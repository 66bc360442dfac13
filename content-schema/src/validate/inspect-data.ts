/**
 * A walk over a parsed document before schema validation, for what JSON Schema cannot say:
 * keys that could pollute prototypes, values that are not JSON (YAML timestamps, `.nan`,
 * functions from programmatic callers), cycles and excessive nesting. It can also copy the
 * document so that defaults are applied to the copy, never to the caller's object.
 */
import { LIMITS } from '../schemas/common.ts';
import { issue, joinPointer, type ValidationIssue } from './issues.ts';

/** Keys refused everywhere: copied naively into an object they would reach its prototype. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export interface InspectOptions {
  /** Return a deep copy (plain objects and arrays) instead of the input itself. */
  copy: boolean;
  maxDepth?: number;
  /**
   * True for a value (reached by these keys from the root) that this walk leaves alone because
   * it is checked on its own later (a bundle's prompt entries, checked before first use).
   */
  opaque?: ((trail: readonly (string | number)[]) => boolean) | undefined;
}

export interface Inspection {
  value: unknown;
  issues: ValidationIssue[];
}

export function inspectData(input: unknown, options: InspectOptions): Inspection {
  const issues: ValidationIssue[] = [];
  const maxDepth = options.maxDepth ?? LIMITS.depth;
  const ancestors = new Set<object>();
  // Keys down to the current value; a JSON Pointer is only built when there is something to
  // report, since building one per node would dominate the walk over a 10 MB bundle.
  const trail: (string | number)[] = [];
  const here = (): string => joinPointer('', ...trail);
  const report = (code: string, message: string, hint?: string): void => {
    issues.push(issue(here(), code, message, hint));
  };

  const visit = (value: unknown, depth: number): unknown => {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        if (!Number.isFinite(value)) {
          report('schema.not-json', `${String(value)} is not a JSON number`, 'YAML reads .nan and .inf as numbers; quote the value or use a finite number');
        }
        return value;
      case 'undefined':
        report('schema.not-json', 'undefined is not a JSON value');
        return value;
      case 'bigint':
      case 'symbol':
      case 'function':
        report('schema.not-json', `a ${typeof value} is not a JSON value`);
        return value;
    }
    if (value === null) return null;
    const object = value as object;
    if (options.opaque?.(trail)) return value;

    if (depth >= maxDepth) {
      report('schema.too-deep', `nested more than ${maxDepth} levels deep`, 'flatten the structure');
      return value;
    }
    if (ancestors.has(object)) {
      report('schema.not-json', 'circular reference');
      return value;
    }

    if (Array.isArray(object)) {
      ancestors.add(object);
      const out: unknown[] | undefined = options.copy ? new Array<unknown>(object.length) : undefined;
      for (let i = 0; i < object.length; i++) {
        trail.push(i);
        const item = visit(object[i], depth + 1);
        trail.pop();
        if (out) out[i] = item;
      }
      ancestors.delete(object);
      return out ?? object;
    }

    const proto = Object.getPrototypeOf(object) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      if (object instanceof Date) {
        report('schema.not-json', 'a date is not allowed here', 'YAML reads an unquoted date as a timestamp; put it in quotes');
      } else {
        report('schema.not-json', `a ${describeObject(object)} is not a JSON value`);
      }
      return value;
    }

    ancestors.add(object);
    const record = object as Record<string, unknown>;
    const out: Record<string, unknown> | undefined = options.copy ? {} : undefined;
    for (const key of Object.keys(record)) {
      const child = record[key];
      if (FORBIDDEN_KEYS.has(key)) {
        trail.push(key);
        report('schema.forbidden-key', `the key "${key}" is not allowed`, 'rename it: this key is reserved because it could alter object prototypes');
        trail.pop();
        continue;
      }
      // Like JSON, an undefined member is simply absent.
      if (child === undefined) continue;
      let copied: unknown = child;
      if (typeof child !== 'string') {
        trail.push(key);
        copied = visit(child, depth + 1);
        trail.pop();
      }
      if (out) out[key] = copied;
    }
    ancestors.delete(object);
    return out ?? object;
  };

  const value = visit(input, 0);
  return { value, issues };
}

function describeObject(object: object): string {
  const name = (object.constructor as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name !== '' ? `${name} object` : 'non-plain object';
}
