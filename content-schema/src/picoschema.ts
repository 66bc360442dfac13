/**
 * Picoschema → JSON Schema, with Dotprompt's semantics (google/dotprompt js/src/picoschema.ts),
 * so that `input.schema` and `output.schema` mean the same here as in every Dotprompt runtime.
 * Synchronous on purpose: named schemas come from an in-memory map, never from I/O, so a build
 * or a render never waits on a resolver.
 *
 *   name: string, the user's name      → {type: string, description: …}, required
 *   premium?: boolean                   → {type: [boolean, null]}, optional
 *   tags(array): string                 → {type: array, items: {type: string}}
 *   address(object): {street: string}   → nested object
 *   color(enum): [RED, GREEN]           → {enum: [...]}
 *   (*): string                         → additionalProperties
 *   Foo                                 → the named schema Foo
 */
import { AnvilError } from './errors.ts';

export type JsonSchema = Record<string, unknown>;

/** Looks up a named schema (`schema: Foo`); undefined when there is none. */
export type SchemaResolver = (name: string) => JsonSchema | undefined;

export interface PicoschemaOptions {
  resolveSchema?: SchemaResolver | undefined;
}

const SCALAR_TYPES = new Set(['any', 'boolean', 'integer', 'null', 'number', 'string']);
const JSON_SCHEMA_TYPES = new Set([...SCALAR_TYPES, 'object', 'array']);
const WILDCARD = '(*)';

/**
 * Converts a Picoschema (or passes through a JSON Schema) to JSON Schema. Returns null for an
 * empty schema, as Dotprompt does. Throws AnvilError `schema.picoschema` naming the path of the
 * offending field.
 */
export function picoschemaToJsonSchema(schema: unknown, options: PicoschemaOptions = {}): JsonSchema | null {
  if (!schema) return null;
  const resolve = options.resolveSchema;

  if (typeof schema === 'string') {
    const [type, description] = splitDescription(schema);
    if (SCALAR_TYPES.has(type)) return description ? { type, description } : { type };
    const named = mustResolve(type, resolve, []);
    return description ? { ...named, description } : named;
  }
  if (isObject(schema)) {
    // Already JSON Schema: a schema-ish `type` at the top, or `properties` without one.
    if (typeof schema['type'] === 'string' && JSON_SCHEMA_TYPES.has(schema['type'])) return schema;
    if (isObject(schema['properties'])) return { ...schema, type: 'object' };
  }
  return parsePico(schema, resolve, []);
}

function parsePico(value: unknown, resolve: SchemaResolver | undefined, path: string[]): JsonSchema {
  if (typeof value === 'string') {
    const [type, description] = splitDescription(value);
    if (!SCALAR_TYPES.has(type)) {
      const named = mustResolve(type, resolve, path);
      return description ? { ...named, description } : named;
    }
    if (type === 'any') return description ? { description } : {};
    return description ? { type, description } : { type };
  }
  if (!isObject(value)) {
    throw picoError(path, `a Picoschema is made of objects and strings, got ${JSON.stringify(value)}`);
  }

  const properties: Record<string, JsonSchema> = Object.create(null);
  const required: string[] = [];
  let additionalProperties: JsonSchema | false = false;

  for (const key of Object.keys(value)) {
    const child = value[key];
    const childPath = [...path, key];
    if (key === WILDCARD) {
      additionalProperties = parsePico(child, resolve, childPath);
      continue;
    }

    const open = key.indexOf('(');
    const rawName = open === -1 ? key : key.slice(0, open);
    const typeInfo = open === -1 ? undefined : key.slice(open + 1);
    const optional = rawName.endsWith('?');
    const name = optional ? rawName.slice(0, -1) : rawName;
    if (!optional) required.push(name);

    if (typeInfo === undefined) {
      const prop = { ...parsePico(child, resolve, childPath) };
      // Dotprompt makes every optional scalar field nullable as well.
      if (optional && typeof prop['type'] === 'string') prop['type'] = [prop['type'], 'null'];
      properties[name] = prop;
      continue;
    }

    if (!typeInfo.endsWith(')')) throw picoError(childPath, `unclosed "(" in field "${key}"`);
    const [type, description] = splitDescription(typeInfo.slice(0, -1));
    let prop: JsonSchema;
    if (type === 'array') {
      prop = { type: optional ? ['array', 'null'] : 'array', items: parsePico(child, resolve, childPath) };
    } else if (type === 'object') {
      prop = parsePico(child, resolve, childPath);
      if (optional) prop['type'] = [prop['type'], 'null'];
    } else if (type === 'enum') {
      if (!Array.isArray(child)) throw picoError(childPath, `an enum field takes a list of values`);
      const values: unknown[] = [...child];
      if (optional && !values.includes(null)) values.push(null);
      prop = { enum: values };
    } else {
      throw picoError(childPath, `a type in parentheses must be "object", "array" or "enum", got "${type}"`);
    }
    if (description) prop['description'] = description;
    properties[name] = prop;
  }

  const out: JsonSchema = { type: 'object', properties: { ...properties } };
  if (required.length > 0) out['required'] = required;
  out['additionalProperties'] = additionalProperties;
  return out;
}

/** `"string, the user's name"` → `["string", "the user's name"]`, as Dotprompt splits it. */
function splitDescription(input: string): [string, string | null] {
  const comma = input.indexOf(',');
  if (comma === -1) return [input, null];
  return [input.slice(0, comma), input.slice(comma + 1).replace(/^ */, '')];
}

function mustResolve(name: string, resolve: SchemaResolver | undefined, path: string[]): JsonSchema {
  const found = resolve?.(name);
  if (!found) {
    throw picoError(path, `unknown type "${name}"`, `use one of ${[...SCALAR_TYPES].join(', ')}, or a named schema that exists`);
  }
  return found;
}

function picoError(path: string[], message: string, hint?: string): AnvilError {
  const where = path.length > 0 ? ` at "${path.join('.')}"` : '';
  return new AnvilError('schema.picoschema', `Picoschema${where}: ${message}`, hint === undefined ? {} : { hint });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
