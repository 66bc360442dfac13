/**
 * Names that appear in files, tags, addresses and bundle maps: set names, prompt ids, variant
 * and partial names, repository scopes and channels. The patterns here are the single source
 * that the JSON Schemas, the validators and the address parser all use.
 */

/** Channels a receiver can follow (DESIGN §1), most to least guarded. */
export const CHANNELS = ['production', 'staging', 'development'] as const;

/** A receiver channel: `production`, `staging` or `development`. */
export type Channel = (typeof CHANNELS)[number];

// Keys that could reach Object.prototype if a consumer ever copies a map naively. Names
// become map keys (bundle `prompts`, `dependencies`, lock `sets`), so they are refused as
// names, not only as keys.
const RESERVED = '(?!(?:__proto__|constructor|prototype)$)';

/**
 * `[a-z0-9][a-z0-9._-]*` (DESIGN §4), without `..`: a set name is the first half of a release
 * tag `<set>@<version>` and git refuses `..` anywhere in a ref name.
 */
export const SET_NAME_PATTERN = `^${RESERVED}(?!.*\\.\\.)[a-z0-9][a-z0-9._-]*$`;
export const SET_NAME_MAX_LENGTH = 128;

/** A repository scope as written in `anvil.yaml` and addresses: `@acme`. */
export const REPOSITORY_NAME_PATTERN = '^@[a-z0-9][a-z0-9._-]*$';
export const REPOSITORY_NAME_MAX_LENGTH = 129;

const SEGMENT = '[A-Za-z0-9_][A-Za-z0-9_-]*';

/** A prompt id: dot-separated path segments inside a set, e.g. `welcome.message`. */
export const PROMPT_ID_PATTERN = `^${RESERVED}${SEGMENT}(?:\\.${SEGMENT})*$`;
export const PROMPT_ID_MAX_LENGTH = 512;

/** A variant name: one segment, the last dot-part of a file name (`message.fr.md` → `fr`). */
export const VARIANT_NAME_PATTERN = `^${RESERVED}${SEGMENT}$`;
export const VARIANT_NAME_MAX_LENGTH = 128;

/**
 * A partial name: segments joined by `.` or `/` (`signature`, `core/signature` for a
 * dependency's partial).
 */
export const PARTIAL_NAME_PATTERN = `^${RESERVED}${SEGMENT}(?:[./]${SEGMENT})*$`;
export const PARTIAL_NAME_MAX_LENGTH = 512;

/** Where a name breaks its rule: a message and the 0-based index of the offending character. */
export interface NameProblem {
  message: string;
  index: number;
}

const SET_NAME_RE = new RegExp(SET_NAME_PATTERN, 'u');
const REPOSITORY_NAME_RE = new RegExp(REPOSITORY_NAME_PATTERN, 'u');
const PROMPT_ID_RE = new RegExp(PROMPT_ID_PATTERN, 'u');
const VARIANT_NAME_RE = new RegExp(VARIANT_NAME_PATTERN, 'u');
const PARTIAL_NAME_RE = new RegExp(PARTIAL_NAME_PATTERN, 'u');
const RESERVED_WORDS = new Set(['__proto__', 'constructor', 'prototype']);

/** True when `value` is a valid set name. */
export function isSetName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= SET_NAME_MAX_LENGTH && SET_NAME_RE.test(value);
}

/** True when `value` is a repository scope such as `@acme`. */
export function isRepositoryName(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length <= REPOSITORY_NAME_MAX_LENGTH &&
    REPOSITORY_NAME_RE.test(value)
  );
}

/** True when `value` is a valid prompt id such as `welcome.message`. */
export function isPromptId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= PROMPT_ID_MAX_LENGTH && PROMPT_ID_RE.test(value);
}

/** True when `value` is a valid variant name such as `fr`. */
export function isVariantName(value: unknown): value is string {
  return (
    typeof value === 'string' && value.length <= VARIANT_NAME_MAX_LENGTH && VARIANT_NAME_RE.test(value)
  );
}

/** True when `value` is a valid partial name such as `signature` or `core/signature`. */
export function isPartialName(value: unknown): value is string {
  return (
    typeof value === 'string' && value.length <= PARTIAL_NAME_MAX_LENGTH && PARTIAL_NAME_RE.test(value)
  );
}

/** True when `value` is one of the three channels. */
export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && (CHANNELS as readonly string[]).includes(value);
}

/** Why `name` is not a set name, or undefined when it is one. */
export function findSetNameProblem(name: string): NameProblem | undefined {
  if (name.length === 0) return { message: 'set name is empty', index: 0 };
  if (name.length > SET_NAME_MAX_LENGTH) {
    return { message: `set name is longer than ${SET_NAME_MAX_LENGTH} characters`, index: SET_NAME_MAX_LENGTH };
  }
  if (RESERVED_WORDS.has(name)) return { message: `"${name}" is reserved and cannot name a set`, index: 0 };
  for (let i = 0; i < name.length; i++) {
    const ch = charAt(name, i);
    const ok = i === 0 ? /[a-z0-9]/.test(ch) : /[a-z0-9._-]/.test(ch);
    if (!ok) {
      const rule = i === 0 ? 'must start with a lowercase letter or digit' : 'may only contain a-z, 0-9, ".", "_" and "-"';
      return { message: `set name ${rule}, found ${describeChar(ch)}`, index: i };
    }
    if (ch === '.' && name[i - 1] === '.') return { message: 'set name contains ".."', index: i - 1 };
  }
  return undefined;
}

/** Why `id` is not a prompt id, or undefined when it is one. */
export function findPromptIdProblem(id: string): NameProblem | undefined {
  if (id.length === 0) return { message: 'prompt id is empty', index: 0 };
  if (id.length > PROMPT_ID_MAX_LENGTH) {
    return { message: `prompt id is longer than ${PROMPT_ID_MAX_LENGTH} characters`, index: PROMPT_ID_MAX_LENGTH };
  }
  if (RESERVED_WORDS.has(id)) return { message: `"${id}" is reserved and cannot be a prompt id`, index: 0 };
  let segmentStart = 0;
  for (let i = 0; i <= id.length; i++) {
    const ch = id[i];
    if (ch === undefined || ch === '.') {
      if (i === segmentStart) {
        const where = i === 0 ? 'starts with "."' : ch === undefined ? 'ends with "."' : 'contains ".." (an empty segment)';
        return { message: `prompt id ${where}`, index: ch === undefined ? i - 1 : i };
      }
      segmentStart = i + 1;
      continue;
    }
    if (ch === '/' || ch === '\\') {
      return { message: 'prompt id contains a slash; use "." between path segments', index: i };
    }
    const full = charAt(id, i);
    const ok = i === segmentStart ? /[A-Za-z0-9_]/.test(ch) : /[A-Za-z0-9_-]/.test(ch);
    if (!ok) {
      const rule = i === segmentStart
        ? 'each prompt id segment must start with a letter, digit or "_"'
        : 'prompt id segments may only contain letters, digits, "_" and "-"';
      return { message: `${rule}, found ${describeChar(full)}`, index: i };
    }
  }
  return undefined;
}

/** Why `name` is not a partial name, or undefined when it is one. */
export function findPartialNameProblem(name: string): NameProblem | undefined {
  if (name.length === 0) return { message: 'partial name is empty', index: 0 };
  if (name.length > PARTIAL_NAME_MAX_LENGTH) {
    return { message: `partial name is longer than ${PARTIAL_NAME_MAX_LENGTH} characters`, index: PARTIAL_NAME_MAX_LENGTH };
  }
  if (RESERVED_WORDS.has(name)) return { message: `"${name}" is reserved and cannot name a partial`, index: 0 };
  let segmentStart = 0;
  for (let i = 0; i <= name.length; i++) {
    const ch = name[i];
    if (ch === undefined || ch === '.' || ch === '/') {
      if (i === segmentStart) {
        const where = i === 0 ? `starts with "${ch ?? ''}"` : ch === undefined ? `ends with "${name[i - 1]}"` : 'has an empty segment';
        return { message: `partial name ${where}`, index: ch === undefined ? i - 1 : i };
      }
      segmentStart = i + 1;
      continue;
    }
    const full = charAt(name, i);
    const ok = i === segmentStart ? /[A-Za-z0-9_]/.test(ch) : /[A-Za-z0-9_-]/.test(ch);
    if (!ok) {
      const rule = i === segmentStart
        ? 'each partial name segment must start with a letter, digit or "_"'
        : 'partial name segments may only contain letters, digits, "_" and "-"';
      return { message: `${rule}, found ${describeChar(full)}`, index: i };
    }
  }
  return undefined;
}

/** Why `name` is not a repository scope, or undefined when it is one. */
export function findRepositoryNameProblem(name: string): NameProblem | undefined {
  if (!name.startsWith('@')) return { message: 'repository scope must start with "@"', index: 0 };
  if (name.length === 1) return { message: 'repository scope is empty after "@"', index: 1 };
  if (name.length > REPOSITORY_NAME_MAX_LENGTH) {
    return {
      message: `repository scope is longer than ${REPOSITORY_NAME_MAX_LENGTH} characters`,
      index: REPOSITORY_NAME_MAX_LENGTH,
    };
  }
  for (let i = 1; i < name.length; i++) {
    const ch = charAt(name, i);
    const ok = i === 1 ? /[a-z0-9]/.test(ch) : /[a-z0-9._-]/.test(ch);
    if (!ok) {
      const rule = i === 1 ? 'must start with a lowercase letter or digit after "@"' : 'may only contain a-z, 0-9, ".", "_" and "-"';
      return { message: `repository scope ${rule}, found ${describeChar(ch)}`, index: i };
    }
  }
  return undefined;
}

/** The whole character (code point) at UTF-16 index `i`. */
function charAt(text: string, i: number): string {
  const code = text.codePointAt(i);
  return code === undefined ? '' : String.fromCodePoint(code);
}

/** `"x"`, or a code point such as `U+0009` for characters that would not show. */
export function describeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  if (code <= 0x20 || (code >= 0x7f && code <= 0xa0)) {
    return `U+${code.toString(16).toUpperCase().padStart(4, '0')}${code === 0x20 ? ' (space)' : ''}`;
  }
  return `"${ch}"`;
}
