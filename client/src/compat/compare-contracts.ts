/**
 * The app's compiled contracts (its types manifest) against the bundles it would be served:
 * every break at once, and — for `--verbose` — what the served versions have that the app's
 * types do not (harmless). Pure: the manifest and the bundles in, findings out; `anvil-live
 * check` (cli/commands/check.ts) reads the files, the lock and the forge.
 *
 * A break is anything that makes a call the app's types accept fail or change meaning: a set,
 * prompt or variant the served version does not have, a variable the served version requires
 * that the app may leave out (absent from its types, or optional there), a variable the app may
 * pass that the served version no longer declares (its schema is closed, as lint reads it), and a
 * type the served version no longer accepts all of (changed or narrowed: value-shape.ts). The
 * same rules apply to the properties of object variables and to array items, so a break inside
 * `order.id` is named as such.
 */
import type { Bundle } from '@anvil/content-schema';
import { compare, isObject, promptContract } from './prompt-contract.ts';
import type { TypesManifest } from './types-manifest.ts';
import { describeShape, narrowing, valueShape } from './value-shape.ts';

/** One bundle that would be served: a set's locked or current version, or a rollout's. */
export interface ServedBundle {
  set: string;
  version: string;
  /** `rollout` when only a share of keys gets it. */
  role: 'current' | 'rollout';
  prompts: Bundle['prompts'];
}

export type FindingCode =
  | 'set-missing'
  | 'prompt-missing'
  | 'variant-missing'
  | 'variable-missing'
  | 'variable-required'
  | 'type-changed'
  | 'set-not-checked'
  | 'prompt-added'
  | 'variant-added'
  | 'variable-added';

export interface CompatFinding {
  /** `break` fails the check; `note` is shown with `--verbose` only. */
  severity: 'break' | 'note';
  code: FindingCode;
  set: string;
  /** `set/id`; absent for a finding about a whole set. */
  prompt?: string;
  /** The served version, when one is. */
  version?: string;
  variant?: string;
  /** The variable, with a path into objects and arrays: `order.id`, `lines[]`. */
  variable?: string;
  message: string;
}

export interface CompatReport {
  ok: boolean;
  breaks: CompatFinding[];
  notes: CompatFinding[];
  /** Prompts of the app's types compared, and the bundles compared with (`set@version`). */
  checked: { prompts: number; bundles: string[] };
}

export interface CompareOptions {
  /**
   * The sets the app serves (its config's sets). Each must be served; a set of the types that is
   * neither one of these nor served (a dependency, say) is not checked. Absent: every set of the
   * types must be served.
   */
  sets?: readonly string[] | undefined;
}

export function compareContracts(manifest: TypesManifest, served: readonly ServedBundle[], options: CompareOptions = {}): CompatReport {
  const findings: CompatFinding[] = [];
  const prompts = Object.values(manifest.prompts);
  const typedSets = [...new Set(prompts.map((p) => p.set))].sort(compare);
  const bundlesBySet = new Map<string, ServedBundle[]>();
  for (const b of served) bundlesBySet.set(b.set, [...(bundlesBySet.get(b.set) ?? []), b]);
  let compared = 0;
  const usedBundles = new Set<string>();

  for (const set of typedSets) {
    const bundles = bundlesBySet.get(set) ?? [];
    const ofSet = prompts.filter((p) => p.set === set);
    if (bundles.length === 0) {
      if (options.sets === undefined || options.sets.includes(set)) {
        findings.push({ severity: 'break', code: 'set-missing', set, message: `no version of ${set} is served, and the app's types have ${ofSet.length} prompt${ofSet.length === 1 ? '' : 's'} of it` });
      } else {
        findings.push({ severity: 'note', code: 'set-not-checked', set, message: `${set} is in the app's types but neither in its config's sets nor served: not checked` });
      }
      continue;
    }
    for (const bundle of bundles) {
      usedBundles.add(`${bundle.set}@${bundle.version}`);
      const at = `${bundle.set}@${bundle.version}${bundle.role === 'rollout' ? ' (rollout)' : ''}`;
      for (const app of ofSet) {
        compared++;
        const prompt = `${set}/${app.id}`;
        const base = { set, prompt, version: bundle.version };
        const servedPrompt = Object.hasOwn(bundle.prompts, app.id) ? bundle.prompts[app.id] : undefined;
        if (servedPrompt === undefined) {
          findings.push({ ...base, severity: 'break', code: 'prompt-missing', message: `${at} has no prompt ${app.id}` });
          continue;
        }
        const contract = promptContract(servedPrompt.metadata?.input, Object.keys(servedPrompt.variants ?? {}));
        for (const variant of app.variants) {
          if (!contract.variants.includes(variant)) findings.push({ ...base, variant, severity: 'break', code: 'variant-missing', message: `${at} has no variant "${variant}" of ${app.id}` });
        }
        for (const variant of contract.variants) {
          if (!app.variants.includes(variant)) findings.push({ ...base, variant, severity: 'note', code: 'variant-added', message: `${at} has a variant "${variant}" of ${app.id} that the app's types do not name` });
        }
        compareObject(app.input, contract.input, { at, push: (f) => findings.push({ ...base, ...f }) }, '');
      }
      const typedIds = new Set(ofSet.map((p) => p.id));
      for (const id of Object.keys(bundle.prompts).sort(compare)) {
        if (!typedIds.has(id)) findings.push({ set, prompt: `${set}/${id}`, version: bundle.version, severity: 'note', code: 'prompt-added', message: `${at} has a prompt ${id} that the app's types do not have` });
      }
    }
  }

  const breaks = findings.filter((f) => f.severity === 'break');
  return { ok: breaks.length === 0, breaks, notes: findings.filter((f) => f.severity === 'note'), checked: { prompts: compared, bundles: [...usedBundles].sort(compare) } };
}

interface Sink {
  at: string;
  push(finding: Pick<CompatFinding, 'severity' | 'code' | 'message'> & { variable?: string }): void;
}

/** The app's variables object (or a nested object) against the served one; `null` accepts anything. */
function compareObject(app: Record<string, unknown> | null, served: Record<string, unknown> | null, sink: Sink, path: string): void {
  if (served === null) return;
  const appProps = isObject(app?.['properties']) ? app['properties'] : {};
  const servedProps = isObject(served['properties']) ? served['properties'] : {};
  const appRequired = requiredOf(app);
  const where = path ? `${path}.` : '';
  const none = app === null ? ' (they declare no variables for this prompt)' : '';

  for (const name of [...requiredOf(served)].sort(compare)) {
    const variable = `${where}${name}`;
    if (!Object.hasOwn(appProps, name)) {
      sink.push({ severity: 'break', code: 'variable-required', variable, message: `${sink.at} requires ${variable}, which the app's types do not have${none}` });
    } else if (!appRequired.has(name)) {
      sink.push({ severity: 'break', code: 'variable-required', variable, message: `${sink.at} requires ${variable}; the app's types have it optional` });
    }
  }
  const extra = served['additionalProperties'];
  for (const name of Object.keys(appProps).sort(compare)) {
    const variable = `${where}${name}`;
    if (Object.hasOwn(servedProps, name)) {
      compareValue(appProps[name], servedProps[name], sink, variable);
    } else if (extra === undefined || extra === false) {
      sink.push({ severity: 'break', code: 'variable-missing', variable, message: `${sink.at} no longer declares ${variable}, which the app's types have` });
    } else {
      compareValue(appProps[name], extra, sink, variable);
    }
  }
  for (const name of Object.keys(servedProps).sort(compare)) {
    if (!Object.hasOwn(appProps, name) && !requiredOf(served).has(name)) {
      sink.push({ severity: 'note', code: 'variable-added', variable: `${where}${name}`, message: `${sink.at} takes an optional ${where}${name} that the app's types do not have` });
    }
  }
}

function compareValue(app: unknown, served: unknown, sink: Sink, variable: string): void {
  const appShape = valueShape(app);
  const servedShape = valueShape(served);
  const refused = narrowing(appShape, servedShape);
  if (refused !== undefined) {
    sink.push({ severity: 'break', code: 'type-changed', variable, message: `${variable}: the app's types say ${describeShape(appShape)}, ${sink.at} takes ${describeShape(servedShape)} (refuses ${refused})` });
    return;
  }
  // Inside objects and arrays both sides declare: the same rules, one level down.
  if (isObject(app) && isObject(served)) {
    if (isObject(app['properties']) && isObject(served['properties'])) compareObject(app, served, sink, variable);
    if (isObject(app['items']) && isObject(served['items'])) compareValue(app['items'], served['items'], sink, `${variable}[]`);
  }
}

function requiredOf(schema: Record<string, unknown> | null): Set<string> {
  const list = schema?.['required'];
  return new Set(Array.isArray(list) ? list.filter((r): r is string => typeof r === 'string') : []);
}
