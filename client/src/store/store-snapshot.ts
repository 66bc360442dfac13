/**
 * What a receiver serves at one instant: the bundles of each set (and of a rollout), an id index
 * built once, and prompts compiled on first use. A snapshot never changes what it serves; a new
 * version is a new snapshot, swapped in by `PromptStore`. A call captures one snapshot and uses
 * it to the end, so it sees the old version or the new one, never a mix (client/DESIGN.md).
 */
import { AnvilError, type Bundle, type BundlePrompt, type BundleStage } from '@anvil/content-schema';
import type { CompiledPrompt, RenderData } from '../render/environment.ts';
import type { Message } from '../render/messages.ts';
import type { PromptCallOptions } from '../prompt-types.ts';
import { BundleCompiler, bundleCompilerKey, type CompileEvent } from './bundle-compiler.ts';
import { chooseVariant } from './choose-variant.ts';
import { buildPromptIndex, resolvePromptId, type PromptIndex, type PromptRef } from './prompt-index.ts';
import { inRollout, instanceRolloutSeed } from './rollout.ts';

/** One set as served: its current bundle and, during a rollout, the version rolled out. */
export interface SnapshotSet {
  bundle: Bundle;
  rollout?: { bundle: Bundle; percent: number } | undefined;
}

export interface SnapshotInput {
  /** By set name (the same as each bundle's `set`). */
  sets: Readonly<Record<string, SnapshotSet>>;
  /**
   * Dependency bundles, whose partials the served bundles include (`{{> core/signature}}`),
   * found by their own `set@version`. Served bundles need not be listed again.
   */
  bundles?: Iterable<Bundle> | Readonly<Record<string, Bundle>> | undefined;
  /** The snapshot being replaced: prompts of bundles both serve are not compiled again. */
  previous?: StoreSnapshot | undefined;
  /** Stands for the key of calls that give none; default: drawn once per process. */
  instanceSeed?: string | undefined;
  onCompile?: ((event: CompileEvent) => void) | undefined;
}

/** Which version served a call (or would serve it). */
export interface PromptTrack {
  set: string;
  id: string;
  version: string;
  integrity: string;
  /** The variant served, or null for the base prompt. */
  variant: string | null;
  /** True when the version served is the one being rolled out. */
  rollout: boolean;
}

export interface SetStatus {
  version: string;
  integrity: string;
  stage: BundleStage;
  rollout?: {
    version: string;
    integrity: string;
    stage: BundleStage;
    percent: number;
    /** Whether calls without a key get the rollout on this instance. */
    instance: boolean;
  };
}

export interface StoreSnapshot {
  /** The prompt as text. */
  render(id: string, vars?: Record<string, unknown>, options?: PromptCallOptions, data?: RenderData): string;
  /** The prompt as Dotprompt-style messages. */
  messages(id: string, vars?: Record<string, unknown>, options?: PromptCallOptions, data?: RenderData): Message[];
  /** The Handlebars body that a call with these options would render. */
  template(id: string, options?: PromptCallOptions): string;
  /** Which set, version and variant a call with these options is served from. */
  track(id: string, options?: PromptCallOptions): PromptTrack;
  /** The compiled prompt a call with these options renders (compiling it if needed). */
  compiled(id: string, options?: PromptCallOptions): CompiledPrompt;
  /** Per set: the version served, and the rollout if there is one. */
  status(): Record<string, SetStatus>;
}

export function createStoreSnapshot(input: SnapshotInput): StoreSnapshot {
  return new Snapshot(input);
}

/** One prompt in one bundle; compiled prompts are kept here after the first call. */
class Side {
  private base: CompiledPrompt | undefined;
  private variants: Map<string, CompiledPrompt> | undefined;

  constructor(
    readonly compiler: BundleCompiler,
    readonly id: string,
    readonly prompt: BundlePrompt,
    readonly isRollout: boolean,
  ) {}

  get bundle(): Bundle {
    return this.compiler.bundle;
  }

  label(): string {
    return `${this.bundle.set}@${this.bundle.version}/${this.id}`;
  }

  compiled(variant: string | undefined, onCompile: SnapshotInput['onCompile']): CompiledPrompt {
    if (variant === undefined) return (this.base ??= this.compiler.compile(this.id, undefined, onCompile));
    const known = this.variants?.get(variant);
    if (known !== undefined) return known;
    const compiled = this.compiler.compile(this.id, variant, onCompile);
    (this.variants ??= new Map()).set(variant, compiled);
    return compiled;
  }
}

interface SlotRollout {
  version: string;
  percent: number;
}

/** A prompt id of one set, with the bundle(s) that serve it. */
class Slot implements PromptRef {
  /** What calls without options get, once compiled. */
  plain: CompiledPrompt | undefined;
  /** Options can change nothing but an explicit variant name (which must then be checked). */
  readonly simple: boolean;
  /** The side for calls without a key. */
  readonly keyless: Side;

  constructor(
    readonly set: string,
    readonly id: string,
    readonly main: Side | undefined,
    readonly rolloutSide: Side | undefined,
    readonly rollout: SlotRollout | undefined,
    instanceInRollout: boolean,
  ) {
    // A prompt only one of the two versions has is served from that one, to every key.
    this.keyless = main === undefined ? rolloutSide! : rolloutSide !== undefined && instanceInRollout ? rolloutSide : main;
    const both = main !== undefined && rolloutSide !== undefined;
    this.simple = !both && isEmpty(this.keyless.prompt.variants);
  }

  side(key: string | undefined): Side {
    if (key === undefined || this.main === undefined || this.rolloutSide === undefined) return this.keyless;
    return inRollout(key, this.set, this.rollout!.version, this.rollout!.percent) ? this.rolloutSide : this.main;
  }
}

class Snapshot implements StoreSnapshot {
  private readonly names: ReadonlyMap<string, Slot>;
  private readonly index: PromptIndex<Slot>;
  private readonly compilers = new Map<string, BundleCompiler>();
  private readonly sets: Record<string, SetStatus> = {};
  private readonly onCompile: SnapshotInput['onCompile'];

  constructor(input: SnapshotInput) {
    this.onCompile = input.onCompile;
    const seed = input.instanceSeed ?? instanceRolloutSeed();
    const previous = input.previous instanceof Snapshot ? input.previous.compilers : undefined;

    const available = new Map<string, Bundle>();
    const extra = input.bundles ?? [];
    for (const b of isIterable(extra) ? extra : Object.values(extra)) available.set(`${b.set}@${b.version}`, b);
    for (const s of Object.values(input.sets)) {
      available.set(`${s.bundle.set}@${s.bundle.version}`, s.bundle);
      if (s.rollout) available.set(`${s.rollout.bundle.set}@${s.rollout.bundle.version}`, s.rollout.bundle);
    }
    const compilerOf = (bundle: Bundle): BundleCompiler => {
      const deps = new Map<string, Bundle | undefined>();
      for (const [dep, version] of Object.entries(bundle.dependencies)) deps.set(dep, available.get(`${dep}@${version}`));
      const key = bundleCompilerKey(bundle, deps);
      const compiler = this.compilers.get(key) ?? previous?.get(key) ?? new BundleCompiler(bundle, deps, key);
      this.compilers.set(key, compiler);
      return compiler;
    };

    const slots: Slot[] = [];
    for (const [name, served] of Object.entries(input.sets)) {
      const { bundle, rollout } = served;
      checkSet(name, bundle, rollout);
      const main = compilerOf(bundle);
      const next = rollout && compilerOf(rollout.bundle);
      const slotRollout = rollout && { version: rollout.bundle.version, percent: rollout.percent };
      const instance = rollout !== undefined && inRollout(seed, name, rollout.bundle.version, rollout.percent);
      this.sets[name] = {
        version: bundle.version, integrity: bundle.integrity, stage: bundle.stage,
        ...(rollout && {
          rollout: { version: rollout.bundle.version, integrity: rollout.bundle.integrity, stage: rollout.bundle.stage, percent: rollout.percent, instance },
        }),
      };
      for (const [id, prompt] of Object.entries(bundle.prompts)) {
        const other = next && Object.hasOwn(next.bundle.prompts, id) ? new Side(next, id, next.bundle.prompts[id]!, true) : undefined;
        slots.push(new Slot(name, id, new Side(main, id, prompt, false), other, slotRollout, instance));
      }
      if (next) {
        for (const [id, prompt] of Object.entries(next.bundle.prompts)) {
          if (!Object.hasOwn(bundle.prompts, id)) slots.push(new Slot(name, id, undefined, new Side(next, id, prompt, true), slotRollout, instance));
        }
      }
    }
    this.index = buildPromptIndex(slots);
    this.names = this.index.names;
  }

  render(id: string, vars?: Record<string, unknown>, options?: PromptCallOptions, data?: RenderData): string {
    const slot = this.names.get(id) ?? resolvePromptId(this.index, id);
    if (options === undefined || (slot.simple && options.variant === undefined)) {
      return (slot.plain ?? this.plain(slot)).renderText(vars, data);
    }
    return this.pick(slot, options).renderText(vars, data);
  }

  messages(id: string, vars?: Record<string, unknown>, options?: PromptCallOptions, data?: RenderData): Message[] {
    return this.compiled(id, options).renderMessages(vars, data);
  }

  compiled(id: string, options?: PromptCallOptions): CompiledPrompt {
    const slot = this.names.get(id) ?? resolvePromptId(this.index, id);
    if (options === undefined || (slot.simple && options.variant === undefined)) return slot.plain ?? this.plain(slot);
    return this.pick(slot, options);
  }

  template(id: string, options?: PromptCallOptions): string {
    const slot = this.names.get(id) ?? resolvePromptId(this.index, id);
    const side = slot.side(options?.key);
    const variant = options && variantOf(side, options);
    return variant === undefined ? side.prompt.template : side.prompt.variants[variant]!.template;
  }

  track(id: string, options?: PromptCallOptions): PromptTrack {
    const slot = this.names.get(id) ?? resolvePromptId(this.index, id);
    const side = slot.side(options?.key);
    const variant = options && variantOf(side, options);
    const { set, version, integrity } = side.bundle;
    return { set, id: slot.id, version, integrity, variant: variant ?? null, rollout: side.isRollout };
  }

  status(): Record<string, SetStatus> {
    return structuredClone(this.sets);
  }

  private plain(slot: Slot): CompiledPrompt {
    slot.plain = slot.keyless.compiled(undefined, this.onCompile);
    return slot.plain;
  }

  private pick(slot: Slot, options: PromptCallOptions): CompiledPrompt {
    const side = slot.side(options.key);
    return side.compiled(variantOf(side, options), this.onCompile);
  }
}

function variantOf(side: Side, options: PromptCallOptions): string | undefined {
  if (options.variant === undefined && options.tags === undefined) return undefined;
  return chooseVariant(side.prompt, options, side.label());
}

function checkSet(name: string, bundle: Bundle, rollout: SnapshotSet['rollout']): void {
  if (bundle.set !== name) {
    throw new AnvilError('store.invalid-snapshot', `set "${name}" was given a bundle of set "${bundle.set}"`, { hint: 'this is a bug in the caller' });
  }
  if (rollout === undefined) return;
  if (rollout.bundle.set !== name) {
    throw new AnvilError('store.invalid-snapshot', `the rollout of set "${name}" was given a bundle of set "${rollout.bundle.set}"`, { hint: 'this is a bug in the caller' });
  }
  if (!(rollout.percent >= 0 && rollout.percent <= 100)) {
    throw new AnvilError('store.invalid-snapshot', `the rollout of set "${name}" has percent ${rollout.percent}`, { hint: 'a percent is a number from 0 to 100' });
  }
}

function isIterable(value: object): value is Iterable<Bundle> {
  return Symbol.iterator in value;
}

function isEmpty(record: object): boolean {
  for (const _ in record) return false;
  return true;
}
