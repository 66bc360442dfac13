/**
 * Which values a JSON Schema accepts, coarsely: per kind of JSON value (string, number, integer,
 * boolean, null, array, object), either any value of that kind or only some literals (`enum`,
 * `const`). Enough to tell whether what an app's types let it pass is still accepted by the
 * prompt it calls — a changed or narrowed type — without a full JSON Schema subset check. Pure.
 */
import { isObject } from './prompt-contract.ts';

export type Kind = 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'array' | 'object';

/** `null` for a kind: any value of it; a list: only those values. */
export type ValueShape = { any: true } | { any: false; kinds: Map<Kind, unknown[] | null> };

const ANY: ValueShape = { any: true };
const KINDS: readonly Kind[] = ['string', 'number', 'integer', 'boolean', 'null', 'array', 'object'];

export function valueShape(schema: unknown): ValueShape {
  if (schema === false) return { any: false, kinds: new Map() };
  if (!isObject(schema)) return ANY;
  const parts: ValueShape[] = [];
  const base = baseShape(schema);
  if (base) parts.push(base);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const members = schema[key];
    if (Array.isArray(members) && members.length > 0) parts.push(members.map(valueShape).reduce(union));
  }
  const all = schema['allOf'];
  if (Array.isArray(all)) parts.push(...all.map(valueShape));
  return parts.reduce(intersect, ANY);
}

function baseShape(schema: Record<string, unknown>): ValueShape | undefined {
  if (Object.hasOwn(schema, 'const')) return literals([schema['const']]);
  const values = schema['enum'];
  if (Array.isArray(values)) return literals(values);
  const declared = schema['type'];
  const types = Array.isArray(declared) ? declared : declared === undefined ? inferred(schema) : [declared];
  const kinds = types.filter((t): t is Kind => KINDS.includes(t as Kind));
  if (kinds.length === 0) return undefined;
  return { any: false, kinds: new Map(kinds.map((k) => [k, null])) };
}

function inferred(schema: Record<string, unknown>): string[] {
  if (isObject(schema['properties']) || schema['additionalProperties'] !== undefined) return ['object'];
  if (schema['items'] !== undefined || schema['prefixItems'] !== undefined) return ['array'];
  return [];
}

function literals(values: readonly unknown[]): ValueShape {
  const kinds = new Map<Kind, unknown[]>();
  for (const value of values) {
    const kind = kindOf(value);
    kinds.set(kind, [...(kinds.get(kind) ?? []), value]);
  }
  return { any: false, kinds };
}

function kindOf(value: unknown): Kind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return 'object';
  }
}

function union(a: ValueShape, b: ValueShape): ValueShape {
  if (a.any || b.any) return ANY;
  const kinds = new Map(a.kinds);
  for (const [kind, values] of b.kinds) {
    const have = kinds.get(kind);
    kinds.set(kind, have === undefined ? values : have === null || values === null ? null : [...have, ...values]);
  }
  return { any: false, kinds };
}

function intersect(a: ValueShape, b: ValueShape): ValueShape {
  if (a.any) return b;
  if (b.any) return a;
  const kinds = new Map<Kind, unknown[] | null>();
  for (const [kind, values] of a.kinds) {
    const other = entry(b, kind);
    if (other === undefined) continue;
    kinds.set(kind, values === null ? other : other === null ? values : values.filter((v) => other.some((o) => same(o, v))));
  }
  // `number` in one and `integer` in the other: integers.
  if (a.kinds.has('number') && !b.kinds.has('number') && b.kinds.has('integer') && !kinds.has('integer')) kinds.set('integer', b.kinds.get('integer') ?? null);
  return { any: false, kinds };
}

/**
 * What of `app` (the values an app's types let it pass) `served` does not accept, in words, or
 * undefined when it accepts all of it.
 */
export function narrowing(app: ValueShape, served: ValueShape): string | undefined {
  if (served.any) return undefined;
  if (app.any) return 'any value';
  const refused: string[] = [];
  for (const [kind, values] of app.kinds) {
    const taken = entry(served, kind);
    const integers = served.kinds.get('integer');
    if (taken === undefined) {
      // Whole numbers are still accepted where only integers are.
      if (kind === 'number' && integers !== undefined && values !== null && values.every(Number.isInteger)) {
        const missing = integers === null ? [] : values.filter((v) => !integers.some((o) => same(o, v)));
        if (missing.length > 0) refused.push(missing.map(show).join(' | '));
        continue;
      }
      refused.push(values === null ? kind : values.map(show).join(' | '));
      continue;
    }
    if (taken === null) continue;
    if (values === null) {
      refused.push(`any ${kind} other than ${taken.map(show).join(' | ')}`);
      continue;
    }
    const missing = values.filter((v) => !taken.some((o) => same(o, v)));
    if (missing.length > 0) refused.push(missing.map(show).join(' | '));
  }
  return refused.length > 0 ? refused.join(', ') : undefined;
}

/** What `shape` takes of `kind` (integers where numbers are taken), or undefined when none of it. */
function entry(shape: { kinds: Map<Kind, unknown[] | null> }, kind: Kind): unknown[] | null | undefined {
  if (shape.kinds.has(kind)) return shape.kinds.get(kind) ?? null;
  if (kind === 'integer' && shape.kinds.has('number')) return shape.kinds.get('number') ?? null;
  return undefined;
}

/** The shape as a short type: `string`, `'free' | 'pro'`, `number | null`, `unknown`. */
export function describeShape(shape: ValueShape): string {
  if (shape.any) return 'unknown';
  if (shape.kinds.size === 0) return 'never';
  return [...shape.kinds].map(([kind, values]) => (values === null ? kind : values.map(show).join(' | '))).join(' | ');
}

function show(value: unknown): string {
  return typeof value === 'string' ? `'${value.replace(/'/g, "\\'")}'` : JSON.stringify(value);
}

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
