/**
 * Front matter → normalised prompt metadata, with Dotprompt's rules (parseDocument +
 * resolveMetadata in google/dotprompt js/src): reserved fields are kept, dotted keys become
 * `ext` (`acme.owner: x` → `ext.acme.owner`, one level deep), anything else stays only in
 * `raw`, and `input.schema` / `output.schema` become JSON Schema through Picoschema.
 * Anvil adds two reserved fields: `tags` (to pick variants) and `metadata`.
 */
import { picoschemaToJsonSchema, type PromptMetadata, type SchemaResolver } from '@anvil/content-schema';

const RESERVED_FIELDS = new Set([
  'config', 'description', 'ext', 'input', 'metadata', 'model', 'name', 'output', 'raw', 'tags',
  'toolDefs', 'tools', 'variant', 'version',
]);

export interface NormalizeOptions {
  resolveSchema?: SchemaResolver | undefined;
  /** Metadata laid over the front matter (Dotprompt's "additional metadata"); configs merge. */
  overrides?: Partial<PromptMetadata> | undefined;
}

export function normalizePromptMetadata(
  frontMatter: Record<string, unknown> | undefined,
  options: NormalizeOptions = {},
): PromptMetadata {
  const fields: Record<string, unknown> = { config: {}, metadata: {}, ext: {} };
  const ext: Record<string, Record<string, unknown>> = {};
  for (const key of Object.keys(frontMatter ?? {})) {
    const value = frontMatter![key];
    if (RESERVED_FIELDS.has(key)) {
      setOwn(fields, key, value);
    } else if (key.includes('.')) {
      const dot = key.lastIndexOf('.');
      const ns = key.slice(0, dot);
      if (!Object.hasOwn(ext, ns)) setOwn(ext, ns, {});
      setOwn(ext[ns]!, key.slice(dot + 1), value);
    }
  }
  // Dotprompt builds `ext` from dotted keys only; an `ext:` field is overwritten.
  fields['ext'] = ext;
  delete fields['raw'];

  const overrides = options.overrides;
  if (overrides) {
    const config = { ...asObject(fields['config']), ...asObject(overrides.config) };
    Object.assign(fields, overrides);
    fields['config'] = config;
  }

  const out = withoutUndefined(fields) as Record<string, unknown>;
  const input = asObject(out['input']);
  const output = asObject(out['output']);
  if (input['schema']) {
    out['input'] = { ...input, schema: picoschemaToJsonSchema(input['schema'], { resolveSchema: options.resolveSchema }) };
  }
  if (output['schema']) {
    out['output'] = { ...output, schema: picoschemaToJsonSchema(output['schema'], { resolveSchema: options.resolveSchema }) };
  }
  return out as unknown as PromptMetadata;
}

/** Own data property even for "__proto__", so keys from YAML can never reach a prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) setOwn(out, key, withoutUndefined(v));
  }
  return out;
}
