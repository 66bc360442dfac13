/**
 * The prompt contract of a set and how it changed between two bundles: the semver guard's
 * input (DESIGN.md §5). Pure: two bundles in, a list of changes with their impact out.
 *
 * The contract is what an app's calls depend on: which prompts (and partials, which dependent
 * sets include) exist, and which variables each accepts and requires. So:
 * - major: a prompt or partial removed; a required input added (a new required variable, an
 *   optional one made required, or a default taken away); an input's type narrowed (fewer
 *   types or enum values, a constraint added or tightened); an input removed (typed callers
 *   that still pass it stop compiling, see `anvil types`); the output format changed.
 * - minor: a prompt, partial, variant or optional input added; an input widened; a variant
 *   removed (calls fall back to the base prompt and keep working); the output schema changed.
 * - patch: anything else that changes the bundle (bodies, model, config, descriptions, tags,
 *   mode, dependency versions).
 */
import type { Bundle, BundlePrompt } from '@anvil/content-schema';
import { canonicalJson, jsonEqual } from '@anvil/content-schema';
import { isSchema, propertiesOf, requiredOf, type JsonSchema } from '../schema/json-schema.ts';

export type Bump = 'major' | 'minor' | 'patch';
export type Impact = Bump | 'none';

export interface ContractChange {
  impact: Bump;
  code: string;
  /** `welcome.message`, `welcome.message (fr)`, `partial signature`, or the set itself. */
  subject: string;
  message: string;
}

export interface ContractDiff {
  /** The smallest bump that declares every change; `none` when the bundles have the same content. */
  impact: Impact;
  changes: ContractChange[];
}

type Metadata = BundlePrompt['metadata'];
type BundleContract = Pick<Bundle, 'prompts' | 'partials' | 'mode' | 'dependencies'>;

const RANK: Record<Impact, number> = { none: 0, patch: 1, minor: 2, major: 3 };

export function highestImpact(impacts: Iterable<Impact>): Impact {
  let best: Impact = 'none';
  for (const i of impacts) if (RANK[i] > RANK[best]) best = i;
  return best;
}

/** True when releasing with `declared` covers changes of `required` impact. */
export function bumpCovers(declared: Impact, required: Impact): boolean {
  return RANK[declared] >= RANK[required];
}

export function diffContract(before: BundleContract, after: BundleContract): ContractDiff {
  const changes: ContractChange[] = [];
  const add = (impact: Bump, code: string, subject: string, message: string) => changes.push({ impact, code, subject, message });

  for (const id of sortedKeys(before.prompts, after.prompts)) {
    const old = before.prompts[id];
    const now = after.prompts[id];
    if (!now) add('major', 'prompt.removed', id, `prompt ${id} was removed`);
    else if (!old) add('minor', 'prompt.added', id, `prompt ${id} was added`);
    // Most prompts of a release are untouched: one comparison of the whole prompt (variants
    // included) instead of the field-by-field checks below.
    else if (old.template === now.template && jsonEqual(old, now)) continue;
    else {
      diffPrompt(id, old, now, add);
      for (const variant of sortedKeys(old.variants, now.variants)) {
        const subject = `${id} (${variant})`;
        const was = old.variants[variant];
        const is = now.variants[variant];
        if (!is) add('minor', 'variant.removed', subject, `variant ${variant} of ${id} was removed; its callers get the base prompt`);
        else if (!was) add('minor', 'variant.added', subject, `variant ${variant} of ${id} was added`);
        else {
          diffPrompt(subject, was, is, add);
          if (!jsonEqual(was.tags, is.tags)) add('patch', 'variant.tags', subject, `the tags of ${subject} changed`);
        }
      }
    }
  }

  for (const name of sortedKeys(before.partials, after.partials)) {
    const subject = `partial ${name}`;
    if (after.partials[name] === undefined) add('major', 'partial.removed', subject, `partial ${name} was removed; sets that include it stop compiling`);
    else if (before.partials[name] === undefined) add('minor', 'partial.added', subject, `partial ${name} was added`);
    else if (before.partials[name] !== after.partials[name]) add('patch', 'partial.changed', subject, `partial ${name} changed`);
  }

  if (before.mode !== after.mode) add('patch', 'set.mode', 'set', `mode changed from ${before.mode} to ${after.mode}`);
  for (const dep of sortedKeys(before.dependencies, after.dependencies)) {
    const was = before.dependencies[dep];
    const is = after.dependencies[dep];
    if (was !== is) add('patch', 'set.dependency', 'set', `dependency ${dep}: ${was ?? 'none'} → ${is ?? 'none'}`);
  }

  return { impact: highestImpact(changes.map((c) => c.impact)), changes };
}

type Add = (impact: Bump, code: string, subject: string, message: string) => void;

function diffPrompt(subject: string, old: { template: string; metadata: Metadata }, now: { template: string; metadata: Metadata }, add: Add): void {
  diffInputs(subject, old.metadata, now.metadata, add);

  const oldOut = old.metadata.output;
  const newOut = now.metadata.output;
  if ((oldOut?.format ?? 'text') !== (newOut?.format ?? 'text')) {
    add('major', 'output.format', subject, `output format changed from ${oldOut?.format ?? 'text'} to ${newOut?.format ?? 'text'}`);
  }
  if (!jsonEqual(oldOut?.schema ?? null, newOut?.schema ?? null)) {
    add('minor', 'output.schema', subject, 'the output schema changed; check the code that reads the answer');
  }

  if (old.template !== now.template) add('patch', 'prompt.body', subject, 'the body changed');
  const oldIn = old.metadata.input;
  const newIn = now.metadata.input;
  if (!jsonEqual(oldIn?.default ?? {}, newIn?.default ?? {})) add('patch', 'input.defaults', subject, 'input defaults changed');
  if (!jsonEqual(oldIn?.schema ?? null, newIn?.schema ?? null)
    && jsonEqual(stripDocs(oldIn?.schema) ?? null, stripDocs(newIn?.schema) ?? null)) {
    add('patch', 'input.docs', subject, 'input descriptions changed');
  }
  const rest = (m: Metadata) => ({ ...m, input: null, output: null });
  if (!jsonEqual(rest(old.metadata), rest(now.metadata))) add('patch', 'prompt.metadata', subject, 'front matter changed (model, config, description, tags or metadata)');
}

/** Variables a caller must pass: required by the schema, with no default to fall back on. */
function requiredInputs(metadata: Metadata): Set<string> {
  const schema = metadata.input?.schema;
  const defaults = metadata.input?.default ?? {};
  const required = Array.isArray(schema?.['required']) ? (schema['required'] as unknown[]) : [];
  return new Set(required.filter((k): k is string => typeof k === 'string' && !Object.hasOwn(defaults, k)));
}

function diffInputs(subject: string, old: Metadata, now: Metadata, add: Add): void {
  const oldSchema = old.input?.schema;
  const newSchema = now.input?.schema;
  const oldRequired = requiredInputs(old);
  const newRequired = requiredInputs(now);

  if (!oldSchema && !newSchema) return;
  if (oldSchema && !newSchema) {
    add('minor', 'input.schema-removed', subject, 'the input schema was removed; any variables are accepted');
    return;
  }
  if (!oldSchema && newSchema) {
    // Before, nothing was declared, so any call compiled; what is required now may be missing.
    for (const name of [...newRequired].sort()) add('major', 'input.required-added', subject, `requires input ${name}`);
    add('minor', 'input.schema-added', subject, 'an input schema was declared');
    return;
  }
  compareObjectSchemas(subject, '', oldSchema!, newSchema!, oldRequired, newRequired, add);
}

function compareObjectSchemas(subject: string, at: string, old: JsonSchema, now: JsonSchema, oldRequired: Set<string>, newRequired: Set<string>, add: Add): void {
  const oldProps = propertiesOf(old);
  const newProps = propertiesOf(now);
  for (const name of sortedKeys(oldProps, newProps)) {
    const path = `${at}${name}`;
    const was = oldProps[name];
    const is = newProps[name];
    if (is === undefined) {
      add('major', 'input.removed', subject, `input ${path} was removed; typed callers that pass it stop compiling`);
      continue;
    }
    if (was === undefined) {
      if (newRequired.has(name)) add('major', 'input.required-added', subject, `requires a new input ${path}`);
      else add('minor', 'input.added', subject, `new optional input ${path}`);
      continue;
    }
    if (newRequired.has(name) && !oldRequired.has(name)) add('major', 'input.now-required', subject, `input ${path} is now required`);
    if (!newRequired.has(name) && oldRequired.has(name)) add('minor', 'input.now-optional', subject, `input ${path} is now optional`);
    compareSchemas(subject, path, was, is, add);
  }
  const oldExtra = old['additionalProperties'];
  const newExtra = now['additionalProperties'];
  if (oldExtra !== false && newExtra === false && at !== '') add('major', 'input.narrowed', subject, `${at.slice(0, -1)} no longer accepts other properties`);
  if (oldExtra === false && newExtra !== false && at !== '') add('minor', 'input.widened', subject, `${at.slice(0, -1)} now accepts other properties`);
}

/** Constraints where a larger value accepts more (max*) or fewer (min*) values. */
const WIDER_WHEN_LARGER = ['maxLength', 'maximum', 'exclusiveMaximum', 'maxItems', 'maxProperties'];
const WIDER_WHEN_SMALLER = ['minLength', 'minimum', 'exclusiveMinimum', 'minItems', 'minProperties'];
const OTHER_CONSTRAINTS = ['pattern', 'format', 'multipleOf', 'uniqueItems', 'const'];

function compareSchemas(subject: string, path: string, old: JsonSchema, now: JsonSchema, add: Add): void {
  const narrowed = (why: string) => add('major', 'input.narrowed', subject, `input ${path} ${why}`);
  const widened = (why: string) => add('minor', 'input.widened', subject, `input ${path} ${why}`);

  const oldTypes = typesOf(old);
  const newTypes = typesOf(now);
  if (oldTypes && newTypes) {
    const lost = [...oldTypes].filter((t) => !newTypes.has(t) && !(t === 'integer' && newTypes.has('number')));
    const gained = [...newTypes].filter((t) => !oldTypes.has(t) && !(t === 'integer' && oldTypes.has('number')));
    if (lost.length > 0) narrowed(`no longer accepts ${lost.join(', ')} (was ${[...oldTypes].join(' | ')}, now ${[...newTypes].join(' | ')})`);
    else if (gained.length > 0) widened(`now also accepts ${gained.join(', ')}`);
  } else if (!oldTypes && newTypes) narrowed(`is now restricted to ${[...newTypes].join(' | ')}`);
  else if (oldTypes && !newTypes) widened('now accepts any type');

  const oldEnum = Array.isArray(old['enum']) ? old['enum'].map((v) => canonicalJson(v)) : undefined;
  const newEnum = Array.isArray(now['enum']) ? now['enum'].map((v) => canonicalJson(v)) : undefined;
  if (!oldEnum && newEnum) narrowed(`is now limited to ${newEnum.join(', ')}`);
  else if (oldEnum && !newEnum) widened('is no longer limited to a list of values');
  else if (oldEnum && newEnum) {
    const lost = oldEnum.filter((v) => !newEnum.includes(v));
    const gained = newEnum.filter((v) => !oldEnum.includes(v));
    if (lost.length > 0) narrowed(`no longer accepts ${lost.join(', ')}`);
    if (gained.length > 0) widened(`now also accepts ${gained.join(', ')}`);
  }

  for (const key of WIDER_WHEN_LARGER) compareBound(key, old[key], now[key], 1, narrowed, widened);
  for (const key of WIDER_WHEN_SMALLER) compareBound(key, old[key], now[key], -1, narrowed, widened);
  for (const key of OTHER_CONSTRAINTS) {
    const was = old[key];
    const is = now[key];
    if (jsonEqual(was ?? null, is ?? null)) continue;
    if (is === undefined) widened(`dropped ${key}`);
    else narrowed(was === undefined ? `gained ${key} ${JSON.stringify(is)}` : `changed ${key} from ${JSON.stringify(was)} to ${JSON.stringify(is)}`);
  }

  if (isSchema(old['items']) && isSchema(now['items'])) compareSchemas(subject, `${path}[]`, old['items'], now['items'], add);
  if (old['properties'] !== undefined || now['properties'] !== undefined) {
    compareObjectSchemas(subject, `${path}.`, old, now, requiredOf(old), requiredOf(now), add);
  }
}

function compareBound(key: string, was: unknown, is: unknown, widerSign: 1 | -1, narrowed: (why: string) => void, widened: (why: string) => void): void {
  if (was === is) return;
  if (typeof is !== 'number') {
    if (typeof was === 'number') widened(`dropped ${key}`);
    return;
  }
  if (typeof was !== 'number') return narrowed(`gained ${key} ${is}`);
  if ((is - was) * widerSign > 0) widened(`${key} ${was} → ${is}`);
  else narrowed(`${key} ${was} → ${is}`);
}

/** The JSON types a schema accepts, or undefined for "anything". */
function typesOf(schema: JsonSchema): Set<string> | undefined {
  const type = schema['type'];
  if (typeof type === 'string') return new Set([type]);
  if (Array.isArray(type)) return new Set(type.filter((t): t is string => typeof t === 'string'));
  const branches = (schema['anyOf'] ?? schema['oneOf']) as unknown;
  if (Array.isArray(branches)) {
    const all = new Set<string>();
    for (const b of branches) {
      const t = isSchema(b) ? typesOf(b) : undefined;
      if (!t) return undefined;
      for (const x of t) all.add(x);
    }
    return all;
  }
  return undefined;
}

/** Descriptions and titles are documentation: a change to them alone is a patch, not a contract change. */
function stripDocs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(stripDocs);
  if (!isSchema(schema)) return schema;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(schema)) if (k !== 'description' && k !== 'title') out[k] = stripDocs(v);
  return out;
}

function sortedKeys(a: object, b: object): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}
