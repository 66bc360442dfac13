/**
 * A prompt's contract with the apps that call it (issue 17, "Compatibility"): which variables
 * its callers must pass, which they may, of what type, and which variant names exist. The same
 * function reads it from the prompt repository (`anvil types`, which records it in the
 * declaration file it writes: types-manifest.ts) and from a served bundle (`anvil-live check`),
 * so the two sides are compared like with like. Pure.
 *
 * The rule for "required" is the one the generated declarations follow
 * (server/src/types/generate-types.ts): a variable in the input schema's `required` list is
 * required unless `input.default` gives it a value, since the renderer fills it in then.
 */
import type { PromptMetadata } from '@anvil/content-schema';

/** A JSON Schema, as plain JSON data. */
export type JsonSchema = boolean | { readonly [key: string]: unknown };

export interface PromptContract {
  /**
   * The variables object as a JSON Schema of type object whose `required` lists exactly what a
   * caller must pass (annotations such as descriptions and defaults left out); `null` when the
   * prompt declares no object schema, so that any variables are accepted.
   */
  input: { readonly [key: string]: unknown } | null;
  /** Variant names, sorted. */
  variants: string[];
}

/** Keywords that say nothing about which values are accepted: left out of a contract. */
const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', '$comment', 'readOnly', 'writeOnly', 'deprecated']);

export function promptContract(input: PromptMetadata['input'] | undefined, variants: Iterable<string> = []): PromptContract {
  const names = [...variants].sort(compare);
  const schema = input?.schema;
  if (!isObject(schema) || !isObjectSchema(schema)) return { input: null, variants: names };
  const defaults = isObject(input?.default) ? input.default : {};
  const stripped = withoutAnnotations(schema) as Record<string, unknown>;
  const required = Array.isArray(schema['required'])
    ? schema['required'].filter((r): r is string => typeof r === 'string' && !(Object.hasOwn(defaults, r) && defaults[r] !== undefined))
    : [];
  const contract: Record<string, unknown> = { ...stripped };
  if (required.length > 0) contract['required'] = [...new Set(required)].sort(compare);
  else delete contract['required'];
  return { input: contract, variants: names };
}

/** The schema without annotation keywords, at every depth; property names stay as they are. */
function withoutAnnotations(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutAnnotations);
  if (!isObject(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(key)) continue;
    // `properties` maps names to schemas: its keys are variable names, never keywords.
    if ((key === 'properties' || key === 'patternProperties' || key === '$defs' || key === 'definitions') && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, withoutAnnotations(sub)]));
    } else if (key === 'const' || key === 'enum') {
      out[key] = value;
    } else {
      out[key] = withoutAnnotations(value);
    }
  }
  return out;
}

/** As the declarations decide it: an object schema gets a typed variables object. */
export function isObjectSchema(schema: Record<string, unknown>): boolean {
  const type = schema['type'];
  if (type === 'object' || (Array.isArray(type) && type.includes('object'))) return true;
  return type === undefined && (isObject(schema['properties']) || schema['additionalProperties'] !== undefined);
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Code-unit order, not the locale's: the output must not depend on the machine. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
