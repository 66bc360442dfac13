/**
 * Reading the JSON Schemas that prompts declare (`input.schema` after Picoschema), where any
 * part may be missing or malformed: the contract diff, sample inputs and `anvil types` walk
 * them with these instead of trusting their shape.
 */
export type JsonSchema = Record<string, unknown>;

export function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `properties`, each a schema (`{}` for a malformed entry). */
export function propertiesOf(schema: JsonSchema): Record<string, JsonSchema> {
  const props = schema['properties'];
  if (!isSchema(props)) return {};
  const out: Record<string, JsonSchema> = {};
  for (const [k, v] of Object.entries(props)) out[k] = isSchema(v) ? v : {};
  return out;
}

export function requiredOf(schema: JsonSchema): Set<string> {
  const required = schema['required'];
  return new Set(Array.isArray(required) ? required.filter((k): k is string => typeof k === 'string') : []);
}
