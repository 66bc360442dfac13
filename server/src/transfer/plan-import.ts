/**
 * What an import will do to the target repository (pure): for every incoming file, whether it is
 * created, already there (unchanged), or in conflict with different content under the same id —
 * and then, by the chosen policy, kept, replaced or renamed to a new id. `--dry-run` prints this
 * plan; the import writes exactly it.
 *
 * The unit of a conflict is what an id names: a prompt with all its variants (renaming only one
 * variant would leave it without its base), a partial, a set's set.yaml. Identical content is
 * never a conflict. A renamed partial is renamed where the imported files include it. Version
 * conflicts — an imported dependency range that none of the target's releases satisfies — are
 * reported separately: files cannot resolve them.
 */
import path from 'node:path/posix';
import semver from 'semver';
import { LineCounter, parse as parseYaml, parseDocument } from 'yaml';
import { PROMPT_EXTENSIONS, SET_CONFIG_FILE, promptIdOf, type LoadedSet } from '../load/load-repo.ts';
import { positionOf } from '../load/read-yaml-config.ts';
import { SCHEMAS_DIR } from '../scaffold/templates.ts';
import { problem, type Problem } from '../lint/problem.ts';
import type { Incoming, IncomingSet, Origin } from './incoming.ts';
import { renamePartialReferences } from './rename-references.ts';

export const IMPORT_POLICIES = ['keep', 'replace', 'rename'] as const;
export type ImportPolicy = (typeof IMPORT_POLICIES)[number];

export type PlannedAction = 'create' | 'unchanged' | 'conflict' | 'keep' | 'replace' | 'rename' | 'merge';

export interface PlannedFile {
  /** Repository-relative path in the target. */
  file: string;
  action: PlannedAction;
  /** The text written (create, replace, rename, merge). */
  text?: string;
  /** The target's text before (replace, merge), to put back if writing fails. */
  previous?: string;
  /** rename: where the file would have gone under its own id. */
  renamedFrom?: string;
  set: string;
  /** `prompt welcome.message (variant fr)`, `partial signature`, `set.yaml`. */
  what: string;
  origin: Origin;
  note?: string;
}

export interface PlannedRename {
  set: string;
  kind: 'prompt' | 'partial';
  from: string;
  to: string;
}

export interface ImportPlan {
  files: PlannedFile[];
  renames: PlannedRename[];
  /** Same id, different content, with no policy chosen: the import stops. */
  conflicts: Problem[];
  versionConflicts: Problem[];
  /** Anything else that stops the import (a set folder taken by another set…). */
  errors: Problem[];
  warnings: Problem[];
}

export interface ImportTarget {
  /** anvil.yaml's promptsDir, normalised ("prompts"). */
  promptsDir: string;
  /** The target's sets, as loaded from its working tree. */
  sets: readonly LoadedSet[];
  /** Released versions per set name. */
  releases: Readonly<Record<string, readonly string[]>>;
  /** Every file under promptsDir, whatever it is. */
  files: ReadonlySet<string>;
  /** True when the target keeps schema copies for editors (`.anvil/schemas/set.schema.json`). */
  schemaCopies: boolean;
}

/** The set.yaml schema copy `anvil init` makes for editors. */
export const SCHEMA_COPY = `${SCHEMAS_DIR}/set.schema.json`;

/** `undefined` policy: conflicts are reported and nothing is resolved. */
export function planImport(incoming: Incoming, target: ImportTarget, policy: ImportPolicy | undefined): ImportPlan {
  const plan: ImportPlan = { files: [], renames: [], conflicts: [], versionConflicts: [], errors: [], warnings: [] };
  const targetSets = new Map(target.sets.map((s) => [s.name, s]));
  const placed: PlacedSet[] = [];

  for (const set of incoming.sets) {
    const existing = targetSets.get(set.name);
    const dir = existing?.dir ?? path.join(target.promptsDir, set.name);
    if (!existing) {
      const taken = target.sets.find((s) => s.dir === dir || s.dir.startsWith(`${dir}/`) || dir.startsWith(`${s.dir}/`));
      if (taken) {
        plan.errors.push(problem('error', 'import.set-folder-taken', `set "${set.name}" would go in ${dir}, which ${taken.dir === dir ? 'is' : 'nests with'} the folder of set "${taken.name}" (${taken.dir})`, {
          file: taken.configFile, hint: `rename or move set "${taken.name}" first`,
        }));
        continue;
      }
    }
    placed.push({ set, existing, dir, parts: splitSet(set) });
  }

  // Partials first: a renamed partial is renamed in the files that include it, in its own set
  // (`{{> name}}`) and in the sets that depend on it (`{{> set/name}}`).
  const ownRenames = new Map<string, Map<string, string>>();
  for (const p of placed) ownRenames.set(p.set.name, planPartials(p, target, policy, plan));
  const renamesFor = (setName: string): Map<string, string> => {
    const out = new Map(ownRenames.get(setName));
    for (const [other, renames] of ownRenames) {
      if (other === setName) continue;
      for (const [from, to] of renames) out.set(`${other}/${from}`, `${other}/${to}`);
    }
    return out;
  };
  for (const p of placed) planPrompts(p, target, policy, plan);
  for (const p of placed) {
    const renames = renamesFor(p.set.name);
    if (renames.size === 0) continue;
    for (const f of plan.files) {
      if (f.set === p.set.name && f.text !== undefined && f.what !== SET_CONFIG_FILE) f.text = renamePartialReferences(f.text, renames);
    }
  }
  for (const p of placed) planConfig(p, target, policy, plan);
  checkVersions(placed, target, plan);
  plan.files.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return plan;
}

interface Item {
  rel: string;
  text: string;
}

interface SetParts {
  config: Item | undefined;
  partials: Map<string, Item>;
  /** Prompt id → variant ("" for the base) → file. */
  prompts: Map<string, Map<string, Item>>;
}

interface PlacedSet {
  set: IncomingSet;
  existing: LoadedSet | undefined;
  dir: string;
  parts: SetParts;
}

function splitSet(set: IncomingSet): SetParts {
  const parts: SetParts = { config: undefined, partials: new Map(), prompts: new Map() };
  for (const [rel, text] of Object.entries(set.files)) {
    if (rel === SET_CONFIG_FILE) {
      parts.config = { rel, text };
      continue;
    }
    const ext = PROMPT_EXTENSIONS.find((e) => rel.endsWith(e));
    if (!ext) continue;
    const base = path.basename(rel);
    if (base.startsWith('_')) {
      parts.partials.set(path.join(path.dirname(rel), base.slice(1, -ext.length)).replace(/^\.\//, ''), { rel, text });
      continue;
    }
    const { id, variant } = promptIdOf(rel.slice(0, -ext.length));
    let variants = parts.prompts.get(id);
    if (!variants) parts.prompts.set(id, (variants = new Map()));
    variants.set(variant ?? '', { rel, text });
  }
  return parts;
}

function describePrompt(id: string, variant: string): string {
  return variant === '' ? `prompt ${id}` : `prompt ${id} (variant ${variant})`;
}

function conflictProblem(p: PlacedSet, file: string, what: string): Problem {
  return problem('error', 'import.conflict', `${what} of set "${p.set.name}" is already in this repository with different content`, {
    file, hint: 'choose what to do with --on-conflict keep (leave yours), replace (take the imported one) or rename (import it under a new id)',
  });
}

function planPartials(p: PlacedSet, target: ImportTarget, policy: ImportPolicy | undefined, plan: ImportPlan): Map<string, string> {
  const renames = new Map<string, string>();
  const theirs = new Map((p.existing?.partials ?? []).map((x) => [x.name, x]));
  const taken = new Set([...theirs.keys(), ...p.parts.partials.keys()]);
  for (const [name, item] of [...p.parts.partials].sort(([a], [b]) => a.localeCompare(b))) {
    const origin = p.set.origin[item.rel] ?? { file: item.rel, sameText: true };
    const what = `partial ${name}`;
    const current = theirs.get(name);
    const base = { set: p.set.name, what, origin };
    if (!current) {
      plan.files.push({ ...base, file: createPath(p, item.rel, target, plan), action: 'create', text: item.text });
    } else if (current.source === item.text) {
      plan.files.push({ ...base, file: current.file, action: 'unchanged' });
    } else if (policy === undefined) {
      plan.files.push({ ...base, file: current.file, action: 'conflict' });
      plan.conflicts.push(conflictProblem(p, current.file, what));
    } else if (policy === 'keep') {
      plan.files.push({ ...base, file: current.file, action: 'keep', note: 'imported files that include it use this repository\'s version' });
    } else if (policy === 'replace') {
      plan.files.push({ ...base, file: current.file, action: 'replace', text: item.text, previous: current.source });
    } else {
      const to = uniqueName(name, taken);
      taken.add(to);
      renames.set(name, to);
      plan.renames.push({ set: p.set.name, kind: 'partial', from: name, to });
      const ext = PROMPT_EXTENSIONS.find((e) => item.rel.endsWith(e))!;
      const rel = path.join(path.dirname(item.rel), `_${path.basename(to)}${ext}`).replace(/^\.\//, '');
      plan.files.push({ ...base, file: createPath(p, rel, target, plan), action: 'rename', text: item.text, renamedFrom: current.file, note: `partial ${name} → ${to}` });
    }
  }
  return renames;
}

function planPrompts(p: PlacedSet, target: ImportTarget, policy: ImportPolicy | undefined, plan: ImportPlan): void {
  const theirs = new Map<string, Map<string, { file: string; source: string }>>();
  for (const prompt of p.existing?.prompts ?? []) {
    let variants = theirs.get(prompt.id);
    if (!variants) theirs.set(prompt.id, (variants = new Map()));
    variants.set(prompt.variant ?? '', prompt);
  }
  const taken = new Set([...theirs.keys(), ...p.parts.prompts.keys()]);
  for (const [id, variants] of [...p.parts.prompts].sort(([a], [b]) => a.localeCompare(b))) {
    const current = theirs.get(id);
    const entries = [...variants].sort(([a], [b]) => a.localeCompare(b));
    const originOf = (item: Item) => p.set.origin[item.rel] ?? { file: item.rel, sameText: true };
    const differs = current !== undefined && entries.some(([variant, item]) => {
      const mine = current.get(variant);
      return mine !== undefined && mine.source !== item.text;
    });

    if (!differs) {
      // New, or the same as here: new variants are added, the rest is already there.
      for (const [variant, item] of entries) {
        const mine = current?.get(variant);
        const base = { set: p.set.name, what: describePrompt(id, variant), origin: originOf(item) };
        if (mine) plan.files.push({ ...base, file: mine.file, action: 'unchanged' });
        else plan.files.push({ ...base, file: createPath(p, item.rel, target, plan), action: 'create', text: item.text });
      }
      continue;
    }

    if (policy === 'rename') {
      const to = uniqueName(id, taken);
      taken.add(to);
      plan.renames.push({ set: p.set.name, kind: 'prompt', from: id, to });
      const last = to.slice(to.lastIndexOf('.') + 1);
      for (const [variant, item] of entries) {
        const ext = PROMPT_EXTENSIONS.find((e) => item.rel.endsWith(e))!;
        const rel = path.join(path.dirname(item.rel), `${last}${variant === '' ? '' : `.${variant}`}${ext}`).replace(/^\.\//, '');
        plan.files.push({
          set: p.set.name, what: describePrompt(id, variant), origin: originOf(item),
          file: createPath(p, rel, target, plan), action: 'rename', text: item.text,
          renamedFrom: current.get(variant)?.file ?? path.join(p.dir, item.rel), note: `prompt ${id} → ${to}`,
        });
      }
      continue;
    }

    for (const [variant, item] of entries) {
      const mine = current.get(variant);
      const base = { set: p.set.name, what: describePrompt(id, variant), origin: originOf(item) };
      const file = mine?.file ?? path.join(p.dir, item.rel);
      if (mine && mine.source === item.text) {
        plan.files.push({ ...base, file, action: 'unchanged' });
      } else if (policy === undefined) {
        plan.files.push({ ...base, file, action: 'conflict' });
        if (mine) plan.conflicts.push(conflictProblem(p, file, base.what));
      } else if (policy === 'keep') {
        plan.files.push({ ...base, file, action: 'keep', ...(mine ? {} : { note: `not added: the prompt ${id} is kept as it is here` }) });
      } else if (mine) {
        plan.files.push({ ...base, file, action: 'replace', text: item.text, previous: mine.source });
      } else {
        plan.files.push({ ...base, file: createPath(p, item.rel, target, plan), action: 'create', text: item.text });
      }
    }
  }
}

function planConfig(p: PlacedSet, target: ImportTarget, policy: ImportPolicy | undefined, plan: ImportPlan): void {
  const item = p.parts.config;
  if (!item) return;
  const origin = p.set.origin[item.rel] ?? { file: item.rel, sameText: true };
  const base = { set: p.set.name, what: SET_CONFIG_FILE, origin };
  const file = path.join(p.dir, SET_CONFIG_FILE);
  const text = adaptModeline(item.text, p.dir, target.schemaCopies);
  if (!p.existing) {
    plan.files.push({ ...base, file: createPath(p, SET_CONFIG_FILE, target, plan), action: 'create', text });
    return;
  }
  if (p.set.configOnlyIfNew) return;
  const current = p.existing.configText;
  if (current === text) {
    plan.files.push({ ...base, file: p.existing.configFile, action: 'unchanged' });
  } else if (policy === undefined) {
    plan.files.push({ ...base, file: p.existing.configFile, action: 'conflict' });
    plan.conflicts.push(conflictProblem(p, p.existing.configFile, SET_CONFIG_FILE));
  } else if (policy === 'replace') {
    plan.files.push({ ...base, file: p.existing.configFile, action: 'replace', text, previous: current });
  } else {
    // Keeping this repository's set.yaml must not lose the dependencies the imported files
    // include partials of: those are added to it, nothing else changes.
    const merged = addDependencies(current, dependenciesOf(text));
    if (merged.added.length === 0) {
      plan.files.push({ ...base, file: p.existing.configFile, action: 'keep' });
    } else {
      plan.files.push({
        ...base, file: p.existing.configFile, action: 'merge', text: merged.text, previous: current,
        note: `kept, with the imported dependencies it lacked: ${merged.added.join(', ')}`,
      });
    }
  }
}

/**
 * Each imported dependency range that will be in effect must be satisfiable by the target's
 * releases. A dependency with no release at all is not a conflict (lint warns until it is
 * released); one whose releases all miss the range is.
 */
function checkVersions(placed: readonly PlacedSet[], target: ImportTarget, plan: ImportPlan): void {
  const carried = new Map(placed.map((p) => [p.set.name, p.set]));
  for (const p of placed) {
    const planned = plan.files.find((f) => f.set === p.set.name && f.what === SET_CONFIG_FILE && f.text !== undefined);
    if (!planned?.text) continue;
    const imported = dependenciesOf(p.parts.config?.text ?? '');
    const before = dependenciesOf(planned.previous ?? '');
    const effective = dependenciesOf(planned.text);
    const lineCounter = new LineCounter();
    const doc = parseDocument(planned.text, { lineCounter });
    for (const [dep, range] of Object.entries(effective)) {
      // Only ranges the import brings: one this repository already had is not the import's doing.
      if (imported[dep] !== range || before[dep] === range) continue;
      const versions = (target.releases[dep] ?? []).filter((v) => semver.valid(v));
      if (versions.length === 0 || semver.maxSatisfying([...versions], range) !== null) continue;
      const pos = positionOf(doc, `/dependencies/${dep.replace(/~/g, '~0').replace(/\//g, '~1')}`, lineCounter);
      const theirs = carried.get(dep);
      plan.versionConflicts.push(problem('error', 'import.version-conflict', `"${p.set.name}" depends on "${dep}" ${range}, but no release of "${dep}" in this repository satisfies it (releases: ${semver.sort([...versions]).join(', ')})`, {
        file: planned.file, line: pos?.line, column: pos?.col,
        hint: `${theirs?.version ? `the import carries ${dep} ${theirs.version}; ` : ''}release a version of ${dep} in ${range} here, or widen the range after importing; --allow-version-conflicts imports anyway`,
      }));
    }
  }
}

/** The path for a new file, refused when something that is not part of a set is there already. */
function createPath(p: PlacedSet, rel: string, target: ImportTarget, plan: ImportPlan): string {
  const file = path.join(p.dir, rel);
  if (target.files.has(file)) {
    plan.errors.push(problem('error', 'import.path-taken', `${file} exists and is not a file of set "${p.set.name}"`, {
      file, hint: 'move or remove it, then import again',
    }));
  }
  return file;
}

/** `name-imported`, or `name-imported-2`, … : the first not taken. */
function uniqueName(name: string, taken: ReadonlySet<string>): string {
  for (let n = 1; ; n++) {
    const candidate = `${name}-imported${n === 1 ? '' : `-${n}`}`;
    if (!taken.has(candidate)) return candidate;
  }
}

const MODELINE = /^# yaml-language-server: \$schema=\S*set\.schema\.json[ \t]*\r?\n/m;

/**
 * A set.yaml's editor modeline points at the schema copy by a path relative to the set folder,
 * which depends on where promptsDir is: it is pointed at this repository's copy, or dropped when
 * there is none (a broken link helps nobody), as `anvil new set` does.
 */
export function adaptModeline(text: string, dir: string, schemaCopies: boolean): string {
  if (!MODELINE.test(text)) return text;
  return text.replace(MODELINE, (line) => (schemaCopies ? `# yaml-language-server: $schema=${path.relative(dir, SCHEMA_COPY)}${line.endsWith('\r\n') ? '\r\n' : '\n'}` : ''));
}

function dependenciesOf(configText: string): Record<string, string> {
  try {
    const parsed = parseYaml(configText) as { dependencies?: unknown } | null;
    const deps = parsed?.dependencies;
    if (typeof deps !== 'object' || deps === null || Array.isArray(deps)) return {};
    return Object.fromEntries(Object.entries(deps).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}

/** `current` set.yaml with the dependencies it lacks added, comments and layout kept. */
function addDependencies(current: string, wanted: Record<string, string>): { text: string; added: string[] } {
  const have = dependenciesOf(current);
  const missing = Object.keys(wanted).filter((dep) => !(dep in have)).sort();
  if (missing.length === 0) return { text: current, added: [] };
  const doc = parseDocument(current);
  for (const dep of missing) doc.setIn(['dependencies', dep], wanted[dep]);
  return { text: doc.toString(), added: missing.map((dep) => `${dep} ${wanted[dep]}`) };
}
