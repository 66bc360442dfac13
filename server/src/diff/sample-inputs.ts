/**
 * Example variables for rendering a prompt where no one supplied any: in `anvil diff` and in
 * the pull-request comment, both sides of a change are rendered with the same inputs, and the
 * inputs are shown beside the diff. The prompt's own `input.default` comes first; every other
 * declared variable, optional ones included (so that `{{#if}}` sections show), gets a value from
 * its schema: `default`, `examples`, `const` or the first `enum` value, else a placeholder that
 * names the variable (`‹name›`), so a reader sees where each value lands.
 */
import type { PromptMetadata } from '@anvil/content-schema';
import { isSchema, propertiesOf, type JsonSchema } from '../schema/json-schema.ts';

export function sampleInputs(metadata: PromptMetadata): Record<string, unknown> {
  const defaults = metadata.input?.default ?? {};
  const out: Record<string, unknown> = {};
  const schema = metadata.input?.schema;
  if (isSchema(schema)) {
    for (const [name, property] of Object.entries(propertiesOf(schema))) out[name] = sampleOf(property, name, 0);
  }
  return { ...out, ...defaults };
}

const MAX_DEPTH = 6;

function sampleOf(schema: JsonSchema, name: string, depth: number): unknown {
  if ('default' in schema) return schema['default'];
  if (Array.isArray(schema['examples']) && schema['examples'].length > 0) return schema['examples'][0];
  if ('const' in schema) return schema['const'];
  if (Array.isArray(schema['enum']) && schema['enum'].length > 0) return schema['enum'][0];
  const branches = schema['anyOf'] ?? schema['oneOf'];
  if (Array.isArray(branches)) {
    const first = branches.find((b) => isSchema(b) && b['type'] !== 'null');
    if (isSchema(first)) return sampleOf(first, name, depth);
  }
  const type = Array.isArray(schema['type']) ? schema['type'].find((t) => t !== 'null') : schema['type'];
  switch (type) {
    case 'number':
    case 'integer':
      return typeof schema['minimum'] === 'number' ? schema['minimum'] : 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'array':
      return depth >= MAX_DEPTH ? [] : [sampleOf(isSchema(schema['items']) ? schema['items'] : {}, name, depth + 1)];
    case 'object': {
      if (depth >= MAX_DEPTH) return {};
      const out: Record<string, unknown> = {};
      for (const [key, property] of Object.entries(propertiesOf(schema))) out[key] = sampleOf(property, `${name}.${key}`, depth + 1);
      return out;
    }
    default:
      return `‹${name}›`;
  }
}
