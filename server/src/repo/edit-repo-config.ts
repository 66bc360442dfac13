/**
 * Edits of `anvil.yaml` made by commands (`anvil alias`, `anvil canary`; issue 17): aliases and
 * rollouts are recorded in git, so a command changes the file a person would, and the change is
 * reviewed and committed like any other. The edits go through the `yaml` package's Document API,
 * so comments, key order, quoting and blank lines around them stay as the author wrote them.
 *
 * The edits themselves are pure (text in, text out); reading and writing the file, and the
 * optional commit, are the thin I/O at the end.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { diffArrays } from 'diff';
import { isMap, LineCounter, parseDocument, type Document, type YAMLMap } from 'yaml';
import { writeFileAtomic } from '@anvil/client';
import { AnvilError, formatIssue, validateRepoConfig, type Channel, type ResolvedRepoConfig } from '@anvil/content-schema';
import { REPO_CONFIG_FILE } from '../load/load-repo.ts';
import { positionOf } from '../load/read-yaml-config.ts';
import { commitFiles } from './git-cli.ts';

/** One change to anvil.yaml's document. */
export type RepoConfigEdit =
  | { kind: 'set-alias'; set: string; alias: string; version: string }
  | { kind: 'remove-alias'; set: string; alias: string }
  | { kind: 'set-rollout'; set: string; channel: Channel; version: string; percent: number }
  | { kind: 'remove-rollout'; set: string; channel: Channel };

export interface EditedConfig {
  /** The new text; the same as the old when nothing changed. */
  text: string;
  changed: boolean;
  /** The config as validated after the edit. */
  config: ResolvedRepoConfig;
}

/**
 * Applies `edit` to the text of anvil.yaml (empty or undefined: no file yet) and validates the
 * result. Throws `config.invalid` when the file did not parse or validate before the edit (the
 * command must not rewrite a file it cannot read), or `config.edit-invalid` when the edit itself
 * makes it invalid.
 */
export function editRepoConfigText(text: string | undefined, edit: RepoConfigEdit): EditedConfig {
  const source = text ?? '';
  const doc = parseDocument(source, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new AnvilError('config.invalid', `${REPO_CONFIG_FILE} is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`, {
      file: REPO_CONFIG_FILE, hint: `fix it first (\`npx anvil lint\` shows where), then run the command again`,
    });
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new AnvilError('config.invalid', `${REPO_CONFIG_FILE} must hold a mapping (name:, promptsDir:, …)`, { file: REPO_CONFIG_FILE, line: 1, column: 1 });
  }
  const before = validateRepoConfig(doc.toJS() ?? {});
  if (!before.ok) {
    const [first] = before.errors;
    const where = first ? locate(source, first.path) : undefined;
    throw new AnvilError('config.invalid', `${REPO_CONFIG_FILE} does not validate: ${first ? formatIssue(first) : 'invalid'}`, {
      file: REPO_CONFIG_FILE, ...where, hint: 'fix it first (`npx anvil lint` lists every problem), then run the command again',
    });
  }

  const reprinted = doc.toString();
  switch (edit.kind) {
    case 'set-alias':
      doc.setIn(['aliases', edit.set, edit.alias], edit.version);
      break;
    case 'remove-alias':
      removeAndPrune(doc, ['aliases', edit.set, edit.alias]);
      break;
    case 'set-rollout': {
      const at = ['rollouts', edit.set, edit.channel];
      // Keys already there keep their place (and comments); a new rollout is written in order.
      if (isMap(doc.getIn(at, true))) {
        doc.setIn([...at, 'version'], edit.version);
        doc.setIn([...at, 'percent'], edit.percent);
      } else {
        doc.setIn(at, doc.createNode({ version: edit.version, percent: edit.percent }));
      }
      break;
    }
    case 'remove-rollout':
      removeAndPrune(doc, ['rollouts', edit.set, edit.channel]);
      break;
  }

  const next = doc.contents === null || (isMap(doc.contents) && doc.contents.items.length === 0 && !doc.commentBefore && !doc.comment)
    ? ''
    : keepLayout(source, reprinted, doc.toString());
  const after = validateRepoConfig(doc.toJS() ?? {});
  if (!after.ok) {
    const [first] = after.errors;
    throw new AnvilError('config.edit-invalid', `the change would make ${REPO_CONFIG_FILE} invalid: ${first ? formatIssue(first) : 'invalid'}`, {
      file: REPO_CONFIG_FILE, ...(first?.hint ? { hint: first.hint } : {}),
    });
  }
  return { text: next, changed: next !== source, config: after.value };
}

/**
 * The Document API keeps comments but prints the whole file its own way (one space before a
 * trailing comment, its own quoting). Only the lines the edit changed are taken from its print:
 * every other line stays byte for byte as the author wrote it. When the reprint of the unedited
 * file does not line up with the file (a multi-line flow map, a folded string), the print is used.
 */
function keepLayout(source: string, reprinted: string, edited: string): string {
  const written = source.split('\n');
  const before = reprinted.split('\n');
  if (source === '' || written.length !== before.length) return edited;
  const out: string[] = [];
  let line = 0;
  for (const part of diffArrays(before, edited.split('\n'))) {
    if (part.added) out.push(...part.value);
    else if (part.removed) line += part.value.length;
    else {
      out.push(...written.slice(line, line + part.value.length));
      line += part.value.length;
    }
  }
  return out.join('\n');
}

/**
 * Deletes the node at `keys`, then every map above it that the deletion left empty, except the
 * top-level key: `rollouts: {}` stays, with the comments written about it.
 */
function removeAndPrune(doc: Document, keys: string[]): void {
  if (!doc.hasIn(keys)) return;
  doc.deleteIn(keys);
  for (let depth = keys.length - 1; depth > 1; depth--) {
    const parent = keys.slice(0, depth);
    const node = doc.getIn(parent, true);
    if (isMap(node) && (node as YAMLMap).items.length === 0) doc.deleteIn(parent);
    else break;
  }
}

/** The line and column of a JSON Pointer in anvil.yaml's text. */
export function locate(text: string, pointer: string): { line: number; column: number } | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const pos = positionOf(doc, pointer, lineCounter);
  return pos ? { line: pos.line, column: pos.col } : undefined;
}

export interface RepoConfigFile {
  file: string;
  /** undefined: the repository has no anvil.yaml yet. */
  text: string | undefined;
}

export async function readRepoConfigFile(root: string): Promise<RepoConfigFile> {
  const file = path.join(root, REPO_CONFIG_FILE);
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new AnvilError('config.unreadable', `cannot read ${REPO_CONFIG_FILE}: ${err.code ?? err.message}`, { file: REPO_CONFIG_FILE });
  });
  return { file, text };
}

/** Reads anvil.yaml at `root`, applies `edit`, and writes it back when it changed. */
export async function editRepoConfig(root: string, edit: RepoConfigEdit): Promise<EditedConfig & { file: string }> {
  const { file, text } = await readRepoConfigFile(root);
  const edited = editRepoConfigText(text, edit);
  if (edited.changed) await writeFileAtomic(file, Buffer.from(edited.text, 'utf8'));
  return { ...edited, file };
}

/** Commits anvil.yaml alone (anything else staged stays staged); returns the commit id. */
export async function commitRepoConfig(root: string, message: string): Promise<string> {
  return commitFiles(root, message, [REPO_CONFIG_FILE]);
}
