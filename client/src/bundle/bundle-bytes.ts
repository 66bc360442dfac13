/**
 * A bundle served from the bytes it arrived in: its outline (everything but the prompt entries)
 * is parsed, its prompt entries are only located, and each is parsed the first time it is read.
 *
 * Why (DESIGN.md §11, "apply": within 1.5× of `JSON.parse` + SHA-256 of the bytes): parsing a
 * 10 MB bundle is the whole budget, and keeping 10,000 parsed prompts costs the V8 collector as
 * much again, since it copies every one of them between generations. Bytes kept in a Buffer live
 * outside the V8 heap and are never copied. Locating the entries is one walk of the bytes
 * (json-bytes.ts), about a fifth of a parse; an app then pays for a prompt's parse on its first
 * use, as it already pays for its schema check and its compile (store/bundle-compiler.ts).
 *
 * Only for bytes whose hash the caller checked against the bundle's signed integrity: the
 * positions are believed because the bytes are the forge's canonical JSON.
 */
import { AnvilError, type Bundle, type BundlePrompt } from '@anvil/content-schema';
import { isJsonKey, jsonKey, skipJsonValue, walkJsonObject } from './json-bytes.ts';

const PROMPTS_KEY = Buffer.from('"prompts"');

/** Where a bundle and its prompt entries lie in some bytes. */
export interface BundleBytesIndex {
  /** The bundle object: `bytes.subarray(start, end)`. */
  readonly start: number;
  readonly end: number;
  /** The `prompts` object. */
  readonly promptsStart: number;
  readonly promptsEnd: number;
  /** Prompt id → its entry's ordinal, for `entryStarts` / `entryEnds`. */
  readonly entries: ReadonlyMap<string, number>;
  readonly entryStarts: Uint32Array;
  readonly entryEnds: Uint32Array;
}

/** Locates the bundle object at `at` and its prompt entries; undefined when it is not canonical JSON. */
export function indexBundleBytes(bytes: Buffer, at: number): BundleBytesIndex | undefined {
  if (bytes.length > 0xffff_ffff) return undefined;
  let promptsStart = -1;
  let promptsEnd = -1;
  const entries = new Map<string, number>();
  const starts: number[] = [];
  const ends: number[] = [];
  const end = walkJsonObject(bytes, at, (keyStart, keyEnd, valueStart) => {
    if (!isJsonKey(bytes, keyStart, keyEnd, PROMPTS_KEY)) return skipJsonValue(bytes, valueStart);
    if (promptsStart >= 0) return -1; // two `prompts`: not canonical
    promptsStart = valueStart;
    promptsEnd = walkJsonObject(bytes, valueStart, (idStart, idEnd, entryStart) => {
      const entryEnd = skipJsonValue(bytes, entryStart);
      const id = jsonKey(bytes, idStart, idEnd);
      if (id === undefined) return -1;
      // A repeated id would be a forge fault; like JSON.parse, the last one wins.
      entries.set(id, starts.length);
      starts.push(entryStart);
      ends.push(entryEnd);
      return entryEnd;
    });
    return promptsEnd;
  });
  if (end < 0 || promptsStart < 0) return undefined;
  return { start: at, end, promptsStart, promptsEnd, entries, entryStarts: Uint32Array.from(starts), entryEnds: Uint32Array.from(ends) };
}

/**
 * The text of `bytes[start, end)` with each `[from, to)` of `holes` (in order, inside it)
 * replaced by `{}`: what is parsed instead of the whole, when the holes are prompts objects.
 */
export function textWithoutPrompts(bytes: Buffer, start: number, end: number, holes: readonly (readonly [number, number])[]): string {
  let text = '';
  let at = start;
  for (const [from, to] of holes) {
    text += `${bytes.toString('utf8', at, from)}{}`;
    at = to;
  }
  return text + bytes.toString('utf8', at, end);
}

const STAND_IN: object = Object.freeze({});

/**
 * A prompts map with the bundle's ids and an empty object for each entry: what the bundle's
 * outline schema checks (ids, their number, each entry an object) before the entries are read.
 */
export function standInPrompts(index: BundleBytesIndex): Bundle['prompts'] {
  // fromEntries defines, not assigns: an id such as `__proto__` is an own key (which the schema
  // then refuses), as JSON.parse would make it.
  return Object.fromEntries(Array.from(index.entries.keys(), (id) => [id, STAND_IN])) as Bundle['prompts'];
}

/**
 * A read-only prompts map over the entries `index` located in `bytes`: the same keys and values
 * a parse of the bundle would give (`Object.hasOwn`, `Object.keys`, `in`, reads, JSON.stringify),
 * each entry parsed on first read and kept. It is a Proxy, so `structuredClone` refuses it.
 * Values are not checked here; `validateBundlePrompt` is, before a prompt is served
 * (store/bundle-compiler.ts). It keeps `bytes` alive, and trusts them never to change.
 */
export function promptsFromBytes(bytes: Buffer, index: BundleBytesIndex): Bundle['prompts'] {
  const parsed = new Map<string, BundlePrompt>();
  let ids: string[] | undefined;
  const entry = (id: string): BundlePrompt | undefined => {
    const known = parsed.get(id);
    if (known !== undefined) return known;
    const ordinal = index.entries.get(id);
    if (ordinal === undefined) return undefined;
    let value: BundlePrompt;
    try {
      value = JSON.parse(bytes.toString('utf8', index.entryStarts[ordinal], index.entryEnds[ordinal])) as BundlePrompt;
    } catch (err) {
      throw new AnvilError('prompt.invalid', `the entry of prompt "${id}" is not JSON: ${(err as Error).message}`, {
        hint: 'the bundle bytes were verified when they arrived, so this is a bug',
      });
    }
    parsed.set(id, value);
    return value;
  };
  const own = (key: string | symbol): key is string => typeof key === 'string' && index.entries.has(key);
  return new Proxy(Object.create(null) as Bundle['prompts'], {
    get: (_target, key) => (own(key) ? entry(key) : undefined),
    has: (_target, key) => own(key),
    ownKeys: () => (ids ??= [...index.entries.keys()]),
    // A getter, not a value: listing the ids (Object.keys asks each key's descriptor) parses nothing.
    getOwnPropertyDescriptor: (_target, key) => (own(key) ? { get: () => entry(key), enumerable: true, configurable: true } : undefined),
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
    setPrototypeOf: () => false,
  });
}

/** A whole bundle file's bytes → its outline (prompts standing in) and index; undefined when not canonical. */
export function readBundleBytes(bytes: Buffer): { outline: unknown; index: BundleBytesIndex } | undefined {
  const index = indexBundleBytes(bytes, 0);
  if (index === undefined || index.end !== bytes.length) return undefined;
  let outline: unknown;
  try {
    outline = JSON.parse(textWithoutPrompts(bytes, 0, bytes.length, [[index.promptsStart, index.promptsEnd]]));
  } catch {
    return undefined;
  }
  if (typeof outline !== 'object' || outline === null || Array.isArray(outline)) return undefined;
  (outline as { prompts: unknown }).prompts = standInPrompts(index);
  return { outline, index };
}
