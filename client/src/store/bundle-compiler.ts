/**
 * Compiles a bundle's prompts on first use and keeps them: one per (bundle, dependency bundles),
 * shared by every snapshot that serves that bundle, so a swap recompiles only what changed.
 */
import { AnvilError, formatIssue, joinPointer, validateBundlePrompt, type Bundle, type BundlePrompt } from '@anvil/content-schema';
import { PromptEnvironment, type CompiledPrompt } from '../render/environment.ts';
import { compileBundlePrompt } from '../bundle/bundle-environment.ts';

/** Reported once per compile (not per render), for logs and metrics. */
export interface CompileEvent {
  set: string;
  version: string;
  integrity: string;
  id: string;
  variant: string | null;
  ms: number;
  /** Set when the prompt does not compile; every render of it throws this error. */
  error?: AnvilError;
}

/** The bundles a bundle's dependencies resolved to, by set; undefined when not loaded. */
export type ResolvedDependencies = ReadonlyMap<string, Bundle | undefined>;

/**
 * What the compiled prompts depend on: the bundle and each dependency bundle, by integrity. A
 * dependency that arrives later gives another key, so a prompt that failed for want of it is
 * compiled again.
 */
export function bundleCompilerKey(bundle: Bundle, dependencies: ResolvedDependencies): string {
  let key = bundle.integrity;
  for (const set of [...dependencies.keys()].sort()) key += ` ${set}=${dependencies.get(set)?.integrity ?? 'missing'}`;
  return key;
}

export class BundleCompiler {
  private env: PromptEnvironment | undefined;
  /** By `id` or `id\0variant`; failures are kept too, so a broken prompt is compiled once. */
  private readonly memo = new Map<string, CompiledPrompt | AnvilError>();
  /** Prompt entries checked against the bundle schema, by id; failures are kept too. */
  private readonly entries = new Map<string, BundlePrompt | AnvilError>();
  /** The prompt being compiled, for errors raised while resolving its partials. */
  private compiling = '';

  constructor(
    readonly bundle: Bundle,
    private readonly dependencies: ResolvedDependencies,
    readonly key: string = bundleCompilerKey(bundle, dependencies),
  ) {}

  /** Throws the prompt's compile error (an AnvilError) if it does not compile. */
  compile(id: string, variant: string | undefined, onCompile?: (event: CompileEvent) => void): CompiledPrompt {
    const memoKey = variant === undefined ? id : `${id}\0${variant}`;
    const known = this.memo.get(memoKey);
    if (known !== undefined) {
      if (known instanceof AnvilError) throw known;
      return known;
    }
    const { set, version, integrity } = this.bundle;
    const started = performance.now();
    this.compiling = `${set}@${version}/${id}${variant === undefined ? '' : `.${variant}`}`;
    try {
      this.entry(id);
      const compiled = compileBundlePrompt(this.environment(), this.bundle, id, variant);
      this.memo.set(memoKey, compiled);
      onCompile?.({ set, version, integrity, id, variant: variant ?? null, ms: performance.now() - started });
      return compiled;
    } catch (err) {
      if (err instanceof AnvilError) {
        this.memo.set(memoKey, err);
        onCompile?.({ set, version, integrity, id, variant: variant ?? null, ms: performance.now() - started, error: err });
      }
      throw err;
    }
  }

  /**
   * The entry of prompt `id`, once it is known to match the bundle schema. A receiver checks a
   * bundle's outline, integrity and signatures when it arrives and each entry here, before the
   * prompt is first served (DESIGN.md §11, "apply"): an entry that fails is never rendered, and
   * every use of it throws `prompt.invalid`, while the bundle's other prompts serve.
   */
  entry(id: string): BundlePrompt {
    const known = this.entries.get(id);
    if (known !== undefined) {
      if (known instanceof AnvilError) throw known;
      return known;
    }
    const { set, version, prompts } = this.bundle;
    const raw: unknown = Object.hasOwn(prompts, id) ? prompts[id] : undefined;
    if (raw === undefined) {
      throw new AnvilError('render.unknown-prompt', `there is no prompt "${id}" in ${set}@${version}`);
    }
    const checked = validateBundlePrompt(raw);
    if (checked.ok) {
      this.entries.set(id, checked.value);
      return checked.value;
    }
    const errors = checked.errors.map((found) => ({ ...found, path: joinPointer('/prompts', id) + found.path }));
    const error = new AnvilError('prompt.invalid', `${set}@${version}/${id} does not match the bundle schema: ${formatIssue(errors[0]!)}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`, {
      hint: 'the forge built this prompt in a shape this client does not accept: check that @anvil/client is as new as the forge, and rebuild the set',
      details: { set, version, id, errors },
    });
    this.entries.set(id, error);
    throw error;
  }

  /**
   * Partials are resolved on demand rather than registered up front, so a broken or missing
   * partial fails only the prompts that include it. Resolution
   * follows the build (server compile-set): `dep/name` is the dependency's partial.
   */
  private environment(): PromptEnvironment {
    this.env ??= new PromptEnvironment({ resolvePartial: (name) => this.resolvePartial(name) });
    return this.env;
  }

  private resolvePartial(name: string): { source: string; file: string } | undefined {
    const { bundle } = this;
    const slash = name.indexOf('/');
    const dep = slash > 0 ? name.slice(0, slash) : undefined;
    if (dep !== undefined && Object.hasOwn(bundle.dependencies, dep)) {
      const version = bundle.dependencies[dep]!;
      const depBundle = this.dependencies.get(dep);
      const rest = name.slice(slash + 1);
      if (depBundle !== undefined && Object.hasOwn(depBundle.partials, rest)) {
        return { source: depBundle.partials[rest]!, file: `${dep}@${version}/_${rest}` };
      }
      if (depBundle === undefined && !Object.hasOwn(bundle.partials, name)) {
        throw new AnvilError('prompt.missing-dependency',
          `${this.compiling} uses partial "${name}" from ${dep}@${version}, and this receiver does not have that bundle`, {
            file: this.compiling,
            hint: `${bundle.set}@${bundle.version} depends on ${dep}@${version}; the forge sends dependency bundles with the set, so sync again`,
            details: { partial: name, dependency: `${dep}@${version}` },
          });
      }
    }
    if (Object.hasOwn(bundle.partials, name)) {
      return { source: bundle.partials[name]!, file: `${bundle.set}@${bundle.version}/_${name}` };
    }
    return undefined;
  }
}
