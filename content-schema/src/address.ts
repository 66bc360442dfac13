/**
 * Prompt addresses (DESIGN §4): `@repo/set@version/prompt`, where `@repo/`, `@version` and
 * `/prompt` are each optional:
 *
 *   onboarding                                  a set
 *   onboarding/welcome.message                  a prompt of a set
 *   onboarding@^1.2/welcome.message             …within a version range
 *   @acme/onboarding@1.2.0/welcome.message      fully qualified
 *
 * The version part is an exact version, a semver range, `latest` (highest stable release), a
 * channel name, or an alias (`stable`: a name anvil.yaml's `aliases` maps to one release, issue
 * 17). A string that is both an exact version and a range (`1.2.0`) is exact; a word that is a
 * channel, `latest` or a range (`x`, `v1`) is never an alias.
 */
import { closest } from './did-you-mean.ts';
import { AnvilError } from './errors.ts';
import {
  CHANNELS,
  findPromptIdProblem,
  findRepositoryNameProblem,
  findSetNameProblem,
  isChannel,
  type Channel,
  type NameProblem,
} from './names.ts';
import { isExactVersion, isVersionRange } from './versions.ts';

/** What the version part of an address selects. */
export type VersionSelector =
  | { kind: 'exact'; version: string }
  | { kind: 'range'; range: string }
  | { kind: 'latest' }
  | { kind: 'channel'; channel: Channel }
  | { kind: 'alias'; alias: string };

/** Alias names (`stable`, `canary`, `lts-2024`): a lowercase word, as set names but without dots. */
export const ALIAS_NAME_PATTERN = '^[a-z][a-z0-9_-]*$';
export const ALIAS_NAME_MAX_LENGTH = 64;

/** Why `name` cannot be an alias name (with a hint), or undefined when it can. */
export function findAliasNameProblem(name: string): { message: string; hint: string } | undefined {
  const hint = 'an alias is a lowercase word such as "stable", "beta" or "lts-2024"';
  if (typeof name !== 'string' || name.length === 0) return { message: 'an alias name must be a non-empty string', hint };
  if (name.length > ALIAS_NAME_MAX_LENGTH) return { message: `the alias name is longer than ${ALIAS_NAME_MAX_LENGTH} characters`, hint };
  if (name === 'latest' || isChannel(name)) {
    return { message: `"${name}" is ${name === 'latest' ? '"latest" (the highest stable release)' : 'a channel'}, so it cannot be an alias`, hint: `choose another name; ${hint}` };
  }
  if (!new RegExp(ALIAS_NAME_PATTERN).test(name)) {
    return { message: `"${name}" is not an alias name: lowercase letters, digits, "_" and "-", starting with a letter`, hint };
  }
  // "x" and "v1" are ranges: an address could not tell the alias from the range.
  if (isExactVersion(name) || isVersionRange(name)) return { message: `"${name}" reads as a version range, so it cannot be an alias`, hint: `choose another name; ${hint}` };
  // A near miss of a channel or "latest" ("prod", "lates") is far likelier a typo than an alias.
  const near = closest(name, ['latest', ...CHANNELS]);
  if (near !== undefined) return { message: `"${name}" is too close to "${near}", so it cannot be an alias`, hint: `did you mean "${near}"? otherwise choose a name further from it` };
  return undefined;
}

/** Whether `value` may name an alias (see findAliasNameProblem). */
export function isAliasName(value: unknown): value is string {
  return typeof value === 'string' && findAliasNameProblem(value) === undefined;
}

/** A parsed address; absent parts were absent from the text. */
export interface Address {
  /** Repository scope, with its `@` (`@acme`). */
  repository?: string;
  set: string;
  version?: VersionSelector;
  /** Prompt id (`welcome.message`). */
  prompt?: string;
}

/** Addresses are short; a longer input is refused before any parsing. */
export const ADDRESS_MAX_LENGTH = 1_024;

const EXAMPLE = '@acme/onboarding@1.2.0/welcome.message';
const VERSION_HINT = 'write an exact version ("1.2.0"), a range ("^1.2", ">=1 <2"), "latest", a channel ("production") or an alias ("stable")';
const GENERAL_HINT = `an address looks like "${EXAMPLE}"; "@acme/", "@1.2.0" and "/welcome.message" are optional`;

/**
 * Parses `text` as an address. Throws AnvilError `address.invalid` saying what is wrong and
 * at which column (1-based, also in `error.column`), with a corrected example as hint.
 */
export function parseAddress(text: string): Address {
  if (typeof text !== 'string') {
    throw new AnvilError('address.invalid', `an address must be a string, got ${text === null ? 'null' : typeof text}`, {
      hint: GENERAL_HINT,
    });
  }
  if (text.length === 0) fail(text, 0, 'the address is empty', GENERAL_HINT);
  if (text.length > ADDRESS_MAX_LENGTH) {
    fail(text, ADDRESS_MAX_LENGTH, `the address is longer than ${ADDRESS_MAX_LENGTH} characters`, GENERAL_HINT);
  }
  const space = /^\s|\s$/.exec(text);
  if (space) fail(text, space.index, 'the address starts or ends with whitespace', 'remove the surrounding spaces');

  const address: Partial<Address> = {};
  let pos = 0;

  if (text.startsWith('@')) {
    const slash = text.indexOf('/');
    if (slash === -1) {
      fail(
        text,
        text.length,
        'a leading "@" starts a repository scope, which must be followed by "/<set>"',
        `write "@acme/onboarding", or drop the leading "@" if "${text.slice(1)}" is the set`,
      );
    }
    const repository = text.slice(0, slash);
    const at = repository.indexOf('@', 1);
    if (at !== -1) {
      fail(text, at, 'a version must follow the set name, not the repository scope', `write "${repository.slice(0, at)}/<set>${repository.slice(at)}"`);
    }
    checkName(text, 0, findRepositoryNameProblem(repository), 'the repository scope is like "@acme"');
    address.repository = repository;
    pos = slash + 1;
  }

  const setEnd = firstOf(text, pos, ['@', '/']);
  const set = text.slice(pos, setEnd);
  if (set.length === 0) {
    const what = pos === 0 ? 'the address starts with' : 'the set name is missing before';
    fail(text, pos, `${what} "${text[pos] ?? ''}"`, `name a set first, e.g. "onboarding${text.slice(pos)}"`);
  }
  checkName(text, pos, findSetNameProblem(set), 'set names are lowercase, e.g. "onboarding"');
  address.set = set;
  pos = setEnd;

  if (text[pos] === '@') {
    const versionStart = pos + 1;
    const versionEnd = firstOf(text, versionStart, ['/']);
    const version = text.slice(versionStart, versionEnd);
    address.version = parseVersionAt(text, versionStart, version);
    pos = versionEnd;
  }

  if (text[pos] === '/') {
    const promptStart = pos + 1;
    const prompt = text.slice(promptStart);
    if (prompt.length === 0) {
      fail(text, promptStart, 'the prompt id after "/" is empty', `e.g. "${text}welcome.message", or drop the "/"`);
    }
    const at = prompt.indexOf('@');
    if (at !== -1) {
      fail(
        text,
        promptStart + at,
        'a version cannot follow the prompt id',
        `put the version after the set: "${text.slice(0, pos)}${prompt.slice(at)}/${prompt.slice(0, at)}"`,
      );
    }
    checkName(text, promptStart, findPromptIdProblem(prompt), 'prompt ids are dot-separated, e.g. "welcome.message"');
    address.prompt = prompt;
  }

  return address as Address;
}

/**
 * Parses the version part of an address on its own (`1.2.0`, `^1.2`, `latest`, `production`).
 * Throws AnvilError `address.invalid`.
 */
export function parseVersionSelector(text: string): VersionSelector {
  if (typeof text !== 'string') {
    throw new AnvilError('address.invalid', `a version must be a string, got ${text === null ? 'null' : typeof text}`, {
      hint: VERSION_HINT,
    });
  }
  return parseVersionAt(text, 0, text, 'version');
}

/** The text of an address; `parseAddress(formatAddress(a))` gives back `a`. */
export function formatAddress(address: Address): string {
  // Each part is checked on its own: a set name "a/b" would otherwise come back as set "a"
  // and prompt "b", a valid but different address.
  if (address.repository !== undefined) checkPart('repository scope', address.repository, findRepositoryNameProblem);
  checkPart('set name', address.set, findSetNameProblem);
  if (address.prompt !== undefined) checkPart('prompt id', address.prompt, findPromptIdProblem);
  let text = address.repository === undefined ? '' : `${address.repository}/`;
  text += address.set;
  if (address.version !== undefined) {
    const version = formatVersionSelector(address.version);
    const parsed = parseVersionSelector(version);
    if (parsed.kind !== address.version.kind) {
      throw new AnvilError(
        'address.invalid',
        `"${version}" would be read back as a ${parsed.kind} version, not as a ${address.version.kind}`,
        { hint: VERSION_HINT },
      );
    }
    text += `@${version}`;
  }
  if (address.prompt !== undefined) text += `/${address.prompt}`;
  return text;
}

function checkPart(what: string, value: string, find: (value: string) => NameProblem | undefined): void {
  const problem = typeof value === 'string' ? find(value) : { message: `${what} must be a string`, index: 0 };
  if (problem) {
    throw new AnvilError('address.invalid', `invalid ${what} "${String(value)}": ${problem.message} at column ${problem.index + 1}`, {
      hint: GENERAL_HINT,
      column: problem.index + 1,
    });
  }
}

/** The text of a version selector, as it appears after `@`. */
export function formatVersionSelector(selector: VersionSelector): string {
  switch (selector.kind) {
    case 'exact':
      return selector.version;
    case 'range':
      return selector.range;
    case 'latest':
      return 'latest';
    case 'channel':
      return selector.channel;
    case 'alias':
      return selector.alias;
  }
}

function parseVersionAt(text: string, start: number, version: string, what: Subject = 'address'): VersionSelector {
  if (version.length === 0) {
    fail(text, start, what === 'address' ? 'the version after "@" is empty' : 'the version is empty', VERSION_HINT, what);
  }
  const space = /^\s|\s$/.exec(version);
  if (space) fail(text, start + space.index, 'the version starts or ends with whitespace', 'remove the spaces around it', what);
  if (version === 'latest') return { kind: 'latest' };
  if (isChannel(version)) return { kind: 'channel', channel: version };
  // Checked before ranges: "1.2.0" is both, and exact wins.
  if (isExactVersion(version)) return { kind: 'exact', version };
  const plain = version.replace(/^[v=]+/i, '');
  if (plain !== version && isExactVersion(plain)) {
    fail(text, start, `the version has a "${version.slice(0, version.length - plain.length)}" prefix`, `write "${plain}"`, what);
  }
  if (isVersionRange(version)) return { kind: 'range', range: version };
  if (isAliasName(version)) return { kind: 'alias', alias: version };
  const near = /^[a-z]/i.test(version) ? closest(version, ['latest', ...CHANNELS]) : undefined;
  fail(
    text,
    start,
    `"${version}" is not an exact version, a semver range, "latest", a channel or an alias`,
    near ? `did you mean "${near}"?` : VERSION_HINT,
    what,
  );
}

type Subject = 'address' | 'version';

function checkName(text: string, offset: number, problem: NameProblem | undefined, hint: string): void {
  if (problem) fail(text, offset + problem.index, problem.message, `${hint}; ${GENERAL_HINT}`);
}

function firstOf(text: string, from: number, chars: string[]): number {
  let end = text.length;
  for (const ch of chars) {
    const i = text.indexOf(ch, from);
    if (i !== -1 && i < end) end = i;
  }
  return end;
}

/** Throws `address.invalid` pointing at `index` (0-based) of `text`. */
function fail(text: string, index: number, problem: string, hint: string, what: Subject = 'address'): never {
  const column = index + 1;
  const shown = text.length > 120 ? `${text.slice(0, 117)}...` : text;
  const where = index < text.length ? `at column ${column}` : `at column ${column} (end of input)`;
  throw new AnvilError('address.invalid', `invalid ${what} "${shown}": ${problem} ${where}`, {
    hint,
    column,
    details: { [what]: shown, column },
  });
}
