/**
 * Read → plan → apply for scaffolding: given the files to write and what is on disk already,
 * decide for each file whether to create, overwrite, merge or leave it, and which existing
 * files stand in the way. Pure, so that a refusal is decided before anything is written.
 */
import type { ScaffoldPolicy } from './templates.ts';

export interface ScaffoldWrite {
  target: string;
  text: string;
  policy: ScaffoldPolicy;
}

export type ScaffoldAction = 'create' | 'overwrite' | 'update' | 'unchanged' | 'skip';

export interface PlannedFile {
  target: string;
  action: ScaffoldAction;
  /** What to write, for create, overwrite and update. */
  text?: string;
}

export interface ScaffoldPlan {
  files: PlannedFile[];
  /** Existing files that differ and would be replaced: refused unless forced. */
  conflicts: string[];
  /** Things the user should know (a settings file that could not be merged). */
  notes: string[];
}

export function planScaffold(
  writes: readonly ScaffoldWrite[],
  existing: ReadonlyMap<string, string>,
  options: { force: boolean },
): ScaffoldPlan {
  const plan: ScaffoldPlan = { files: [], conflicts: [], notes: [] };
  for (const write of writes) {
    const current = existing.get(write.target);
    if (current === undefined) {
      plan.files.push({ target: write.target, action: 'create', text: write.text });
      continue;
    }
    if (current === write.text) {
      plan.files.push({ target: write.target, action: 'unchanged' });
      continue;
    }
    switch (write.policy) {
      case 'create':
        if (!options.force) plan.conflicts.push(write.target);
        plan.files.push({ target: write.target, action: 'overwrite', text: write.text });
        break;
      case 'replace':
        plan.files.push({ target: write.target, action: 'overwrite', text: write.text });
        break;
      case 'merge-lines': {
        const merged = mergeLines(current, write.text);
        plan.files.push(merged === current ? { target: write.target, action: 'unchanged' } : { target: write.target, action: 'update', text: merged });
        break;
      }
      case 'merge-json': {
        const merged = mergeJsonText(current, write.text);
        if (merged === undefined) {
          plan.files.push({ target: write.target, action: 'skip' });
          plan.notes.push(`${write.target} is not plain JSON (comments?), so it was left alone; add this to it yourself:\n${write.text.trimEnd()}`);
        } else {
          plan.files.push(merged === current ? { target: write.target, action: 'unchanged' } : { target: write.target, action: 'update', text: merged });
        }
        break;
      }
      case 'add-dependencies': {
        const merged = addMissingDependencies(current, write.text);
        if (merged === undefined) {
          plan.files.push({ target: write.target, action: 'skip' });
          plan.notes.push(`${write.target} is not a JSON object, so it was left alone; add these devDependencies to it yourself: ${JSON.stringify(devDependenciesOf(write.text))}`);
        } else {
          plan.files.push(merged === current ? { target: write.target, action: 'unchanged' } : { target: write.target, action: 'update', text: merged });
        }
        break;
      }
    }
  }
  return plan;
}

const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;

/**
 * `current` package.json with the `devDependencies` of `wanted` that it has in none of its
 * dependency fields added (sorted in, as `npm install --save-dev` would, in the file's own
 * indentation); nothing else changes, and a package already there keeps its range. `current`
 * itself when nothing is missing; undefined when it is not a JSON object.
 */
export function addMissingDependencies(current: string, wanted: string): string | undefined {
  const pkg = parseJsonObject(current);
  if (!pkg) return undefined;
  const has = (name: string) => DEPENDENCY_FIELDS.some((field) => isObject(pkg[field]) && Object.hasOwn(pkg[field], name));
  const missing = Object.entries(devDependenciesOf(wanted)).filter(([name]) => !has(name));
  if (missing.length === 0) return current;
  if (pkg['devDependencies'] !== undefined && !isObject(pkg['devDependencies'])) return undefined;
  const dev: Record<string, unknown> = { ...(pkg['devDependencies'] as Record<string, unknown> | undefined), ...Object.fromEntries(missing) };
  const updated = { ...pkg, devDependencies: Object.fromEntries(Object.keys(dev).sort().map((k) => [k, dev[k]])) };
  const indent = /^([ \t]+)"/m.exec(current)?.[1] ?? '  ';
  const eol = current.includes('\r\n') ? '\r\n' : '\n';
  return `${JSON.stringify(updated, null, indent).replace(/\n/g, eol)}${eol}`;
}

function devDependenciesOf(packageJson: string): Record<string, string> {
  const parsed = JSON.parse(packageJson) as { devDependencies?: Record<string, string> };
  return parsed.devDependencies ?? {};
}

/** A user's JSON file as an object, or undefined when it is not one (then it is left alone). */
function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** `current` with the rule lines of `wanted` it lacks appended (blank and comment lines are not rules). */
export function mergeLines(current: string, wanted: string): string {
  const have = new Set(current.split(/\r?\n/).map((l) => l.trim()));
  const missing = wanted.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trim().startsWith('#') && !have.has(l.trim()));
  if (missing.length === 0) return current;
  const base = current === '' || current.endsWith('\n') ? current : `${current}\n`;
  return `${base}${missing.join('\n')}\n`;
}

/**
 * `current` JSON with `wanted` merged in: missing keys added, arrays extended with missing
 * items, the user's own values kept where both have one. Undefined when `current` is not a
 * plain JSON object (VS Code accepts comments in settings.json; rewriting would drop them).
 */
export function mergeJsonText(current: string, wanted: string): string | undefined {
  const parsed = parseJsonObject(current);
  if (!parsed) return undefined;
  const merged = mergeJson(parsed, JSON.parse(wanted) as unknown);
  return JSON.stringify(merged) === JSON.stringify(parsed) ? current : `${JSON.stringify(merged, null, 2)}\n`;
}

function mergeJson(current: unknown, wanted: unknown): unknown {
  if (isObject(current) && isObject(wanted)) {
    const out: Record<string, unknown> = { ...current };
    for (const [key, value] of Object.entries(wanted)) {
      out[key] = Object.hasOwn(current, key) ? mergeJson(current[key], value) : value;
    }
    return out;
  }
  if (Array.isArray(current) && Array.isArray(wanted)) {
    const seen = new Set(current.map((item) => JSON.stringify(item)));
    return [...current, ...wanted.filter((item) => !seen.has(JSON.stringify(item)))];
  }
  return current;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
