/**
 * Prompts as an MCP server offers them (issue 17; MCP "prompts" capability): what `prompts/list`
 * answers and what `prompts/get` renders, over plain data. Nothing here knows the MCP SDK or a
 * transport: `anvil-live mcp` (a running client's cache) and the forge (a channel's current
 * envelope) wire the same functions to the SDK (mcp-server.ts), so both name, describe and
 * render a prompt alike.
 *
 * - A prompt is listed as `set/id` — the id `anvil.prompt()` always resolves — and each of its
 *   variants as `set/id:variant` (":" is in no set name, prompt id or variant name), because a
 *   variant has its own front matter, so its own arguments and description.
 * - Arguments are the input schema's top-level properties. MCP arguments are strings: a property
 *   whose schema does not take a string is read as JSON (`3`, `true`, `{"a":1}`), and an empty
 *   string counts as not given, since hosts send "" for a field left blank.
 * - Rendering is the receiver's own (`messages()`, the same output as `anvil.prompt()`). MCP has
 *   the roles user and assistant only, and one content item per message: model → assistant,
 *   system and tool → user with `_meta.role` saying what it was; the text is left as rendered.
 */
import { AnvilError, closest, type BundlePrompt } from '@anvil/content-schema';
import type { Message, Part } from '../render/messages.ts';
import type { PromptCallOptions } from '../prompt-types.ts';
import type { PromptTrack } from '../store/store-snapshot.ts';

/** The prompts of one set as served now. */
export interface McpPromptSet {
  set: string;
  /** Prompt entries by id: for each id, the entry of the version that serves it. */
  prompts: Readonly<Record<string, BundlePrompt>>;
}

/** Where an MCP server takes its prompts from and renders them with. */
export interface McpPromptSource {
  /** The sets served now (read again for every list or get, so a new version shows at once). */
  sets(): readonly McpPromptSet[] | Promise<readonly McpPromptSet[]>;
  messages(id: string, vars: Record<string, unknown>, options: PromptCallOptions): Message[];
  track(id: string, options: PromptCallOptions): PromptTrack;
}

/** What is carried in `_meta` of a listed prompt and of a rendered one. */
export interface McpPromptMeta {
  [key: string]: unknown;
  set: string;
  id: string;
  version: string;
  /** The variant rendered, or null for the base prompt. */
  variant: string | null;
  integrity: string;
  /** True when the version is the one being rolled out on this receiver. */
  rollout: boolean;
}

export interface McpPromptArgument {
  name: string;
  description?: string;
  required: boolean;
}

/** A `prompts/list` entry (MCP `Prompt`). */
export interface McpPrompt {
  name: string;
  title: string;
  description?: string;
  arguments: McpPromptArgument[];
  _meta: McpPromptMeta;
}

type Annotated = { _meta?: Record<string, unknown> };
export type McpContent =
  | ({ type: 'text'; text: string } & Annotated)
  | ({ type: 'image' | 'audio'; data: string; mimeType: string } & Annotated)
  | ({ type: 'resource_link'; uri: string; name: string; mimeType?: string } & Annotated);

/** A `prompts/get` message (MCP `PromptMessage`). */
export interface McpPromptMessage {
  role: 'user' | 'assistant';
  content: McpContent;
}

/** A `prompts/get` result (MCP `GetPromptResult`). */
export interface McpRenderedPrompt {
  [key: string]: unknown;
  description?: string;
  messages: McpPromptMessage[];
  _meta: McpPromptMeta;
}

const VARIANT_SEPARATOR = ':';

/** `onboarding/welcome.message`, `onboarding/welcome.message:formal`. */
export function mcpPromptName(set: string, id: string, variant?: string): string {
  return `${set}/${id}${variant === undefined ? '' : `${VARIANT_SEPARATOR}${variant}`}`;
}

/** Every prompt and variant served, sorted by name. */
export function listMcpPrompts(sets: readonly McpPromptSet[], source: Pick<McpPromptSource, 'track'>): McpPrompt[] {
  const listed: McpPrompt[] = [];
  for (const { set, prompts } of sets) {
    for (const [id, prompt] of Object.entries(prompts)) {
      const meta = metaOf(source, set, id, undefined);
      if (meta === undefined) continue; // not servable (an entry that does not check): not offered
      listed.push(describe(set, id, undefined, prompt.metadata, meta));
      for (const [variant, body] of Object.entries(prompt.variants ?? {})) {
        listed.push(describe(set, id, variant, body.metadata, { ...meta, variant }));
      }
    }
  }
  return listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Renders the prompt `name` with MCP's string arguments. Throws AnvilError `mcp.unknown-prompt`,
 * `mcp.missing-argument` or `mcp.bad-argument` for a request that cannot be served as asked, and
 * whatever the renderer throws for the template itself.
 */
export function getMcpPrompt(sets: readonly McpPromptSet[], source: McpPromptSource, name: string, args: Readonly<Record<string, string>> = {}): McpRenderedPrompt {
  const { set, id, variant, prompt } = findPrompt(sets, name);
  const metadata = variant === undefined ? prompt.metadata : prompt.variants[variant]!.metadata;
  const vars = promptVariables(name, metadata, args);
  const options: PromptCallOptions = variant === undefined ? {} : { variant };
  const qualified = `${set}/${id}`;
  // The version that renders is the one tracked: both come from the same served snapshot.
  const track = source.track(qualified, options);
  const messages = source.messages(qualified, vars, options);
  return {
    ...(metadata.description ? { description: metadata.description } : {}),
    messages: toMcpMessages(messages),
    _meta: metaOfTrack(track),
  };
}

/** The variables for a render: the arguments, typed by the input schema, required ones checked. */
export function promptVariables(name: string, metadata: BundlePrompt['metadata'], args: Readonly<Record<string, string>>): Record<string, unknown> {
  const { properties, required } = inputSchemaOf(metadata);
  const vars: Record<string, unknown> = {};
  for (const [arg, raw] of Object.entries(args)) {
    if (raw === '' || typeof raw !== 'string') continue;
    vars[arg] = argumentValue(name, arg, properties[arg], raw);
  }
  const missing = required.filter((arg) => !Object.hasOwn(vars, arg));
  if (missing.length > 0) {
    throw new AnvilError('mcp.missing-argument', `prompt "${name}" needs the argument${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}`, {
      hint: `arguments: ${Object.keys(properties).join(', ')}`,
      details: { prompt: name, missing },
    });
  }
  return vars;
}

/** Dotprompt-style messages as MCP prompt messages: one per content part. */
export function toMcpMessages(messages: readonly Message[]): McpPromptMessage[] {
  const out: McpPromptMessage[] = [];
  for (const message of messages) {
    const role = message.role === 'model' ? 'assistant' : 'user';
    // MCP knows no system or tool role: said in _meta, so a host that cares can tell.
    const roleMeta = message.role === 'system' || message.role === 'tool' ? { role: message.role } : undefined;
    for (const part of message.content) {
      const content = contentOf(part);
      if (content === undefined) continue;
      const meta = { ...content._meta, ...roleMeta };
      out.push({ role, content: Object.keys(meta).length > 0 ? { ...content, _meta: meta } : content });
    }
  }
  return out;
}

// ——— internals ———

function describe(set: string, id: string, variant: string | undefined, metadata: BundlePrompt['metadata'], meta: McpPromptMeta): McpPrompt {
  const { properties, required } = inputSchemaOf(metadata);
  // Required ones first, as a host's form should ask for them first (bundles keep properties in
  // canonical, alphabetical order, so the author's order is not known here).
  const names = [...required, ...Object.keys(properties).filter((n) => !required.includes(n))];
  const args = names.map((name): McpPromptArgument => {
    const schema = properties[name]!;
    const description = argumentDescription(schema);
    return { name, ...(description ? { description } : {}), required: required.includes(name) };
  });
  return {
    name: mcpPromptName(set, id, variant),
    title: variant === undefined ? id : `${id} (${variant})`,
    ...(metadata.description ? { description: metadata.description } : {}),
    arguments: args,
    _meta: meta,
  };
}

function metaOf(source: Pick<McpPromptSource, 'track'>, set: string, id: string, variant: string | undefined): McpPromptMeta | undefined {
  try {
    return metaOfTrack(source.track(`${set}/${id}`, variant === undefined ? {} : { variant }));
  } catch {
    return undefined;
  }
}

function metaOfTrack(track: PromptTrack): McpPromptMeta {
  return { set: track.set, id: track.id, version: track.version, variant: track.variant, integrity: track.integrity, rollout: track.rollout };
}

function findPrompt(sets: readonly McpPromptSet[], name: string): { set: string; id: string; variant: string | undefined; prompt: BundlePrompt } {
  const slash = name.indexOf('/');
  const colon = name.indexOf(VARIANT_SEPARATOR, slash + 1);
  const set = slash < 0 ? '' : name.slice(0, slash);
  const id = slash < 0 ? name : name.slice(slash + 1, colon < 0 ? undefined : colon);
  const variant = colon < 0 ? undefined : name.slice(colon + 1);
  const served = sets.find((s) => s.set === set);
  const prompt = served && Object.hasOwn(served.prompts, id) ? served.prompts[id] : undefined;
  if (prompt !== undefined && (variant === undefined || Object.hasOwn(prompt.variants ?? {}, variant))) return { set, id, variant, prompt };
  const names = sets.flatMap((s) => Object.entries(s.prompts).flatMap(([pid, p]) => [mcpPromptName(s.set, pid), ...Object.keys(p.variants ?? {}).map((v) => mcpPromptName(s.set, pid, v))]));
  const near = closest(name, names);
  throw new AnvilError('mcp.unknown-prompt', `there is no prompt "${name}"`, {
    hint: near !== undefined ? `did you mean "${near}"?` : names.length === 0 ? 'no prompts are served yet' : `prompts/list names them (e.g. "${names[0]}")`,
    details: { prompt: name, ...(near === undefined ? {} : { suggestion: near }) },
  });
}

type JsonSchema = Record<string, unknown>;

/** The top-level properties of the input schema, and those a caller must give. */
function inputSchemaOf(metadata: BundlePrompt['metadata']): { properties: Record<string, JsonSchema>; required: string[] } {
  const schema = metadata.input?.schema;
  const raw = isObject(schema) && isObject(schema['properties']) ? schema['properties'] : {};
  const properties: Record<string, JsonSchema> = {};
  for (const [name, value] of Object.entries(raw)) properties[name] = isObject(value) ? value : {};
  const defaults = metadata.input?.default ?? {};
  // A required variable with a default need not be given: the renderer fills it in.
  const required = isObject(schema) && Array.isArray(schema['required'])
    ? schema['required'].filter((r): r is string => typeof r === 'string' && Object.hasOwn(properties, r) && !Object.hasOwn(defaults, r))
    : [];
  return { properties, required };
}

function typesOf(schema: JsonSchema | undefined): string[] {
  const type = schema?.['type'];
  if (typeof type === 'string') return [type];
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === 'string');
  return [];
}

/** What a host shows next to the field: the schema's description, and how to write a non-string. */
function argumentDescription(schema: JsonSchema): string | undefined {
  const text = typeof schema['description'] === 'string' ? schema['description'] : undefined;
  const types = typesOf(schema).filter((t) => t !== 'null');
  const choices = Array.isArray(schema['enum']) ? schema['enum'].map((v) => JSON.stringify(v)).join(', ') : undefined;
  const notes = [
    ...(types.length > 0 && !types.includes('string') ? [`${types.join(' or ')}, as JSON`] : []),
    ...(choices ? [`one of ${choices}`] : []),
  ];
  if (notes.length === 0) return text;
  return text ? `${text} (${notes.join('; ')})` : notes.join('; ');
}

function argumentValue(prompt: string, arg: string, schema: JsonSchema | undefined, raw: string): unknown {
  const types = typesOf(schema);
  if (types.length === 0 || types.includes('string')) return raw;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const fits = (t: string): boolean => {
    switch (t) {
      case 'number': return typeof parsed === 'number';
      case 'integer': return Number.isInteger(parsed);
      case 'boolean': return typeof parsed === 'boolean';
      case 'null': return parsed === null;
      case 'array': return Array.isArray(parsed);
      case 'object': return isObject(parsed);
      default: return parsed !== undefined;
    }
  };
  if (types.some(fits)) return parsed;
  throw new AnvilError('mcp.bad-argument', `argument "${arg}" of prompt "${prompt}" must be ${types.join(' or ')} (as JSON), not ${JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}…` : raw)}`, {
    hint: types.includes('object') || types.includes('array') ? 'write it as JSON, e.g. {"key": "value"}' : 'e.g. 3, true',
    details: { prompt, argument: arg, types },
  });
}

function contentOf(part: Part): McpContent | undefined {
  if ('text' in part) return part.text === '' ? undefined : { type: 'text', text: part.text };
  if ('media' in part) {
    const { url, contentType } = part.media;
    const inline = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(url);
    const mimeType = contentType ?? inline?.[1];
    if (inline && inline[2] && mimeType && (mimeType.startsWith('image/') || mimeType.startsWith('audio/'))) {
      return { type: mimeType.startsWith('image/') ? 'image' : 'audio', data: inline[3]!, mimeType };
    }
    return { type: 'resource_link', uri: url, name: url.length > 100 ? `${url.slice(0, 100)}…` : url, ...(mimeType ? { mimeType } : {}) };
  }
  // Parts with no MCP counterpart travel as JSON text, marked so.
  if ('data' in part) return { type: 'text', text: JSON.stringify(part.data), _meta: { part: 'data' } };
  if ('toolRequest' in part) return { type: 'text', text: JSON.stringify(part.toolRequest), _meta: { part: 'toolRequest' } };
  if ('toolResponse' in part) return { type: 'text', text: JSON.stringify(part.toolResponse), _meta: { part: 'toolResponse' } };
  return undefined; // a pending part: nothing to send
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
