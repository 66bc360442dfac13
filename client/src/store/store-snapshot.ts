/**
 * What a receiver serves at one instant: the bundles of each set (and of a rollout), and prompts
 * resolved, schema-checked and compiled on first use. A snapshot never changes what it serves; a
 * new version is a new snapshot, swapped in by `PromptStore`. A call captures one snapshot and
 * uses it to the end, so it sees the old version or the new one, never a mix (client/DESIGN.md).
 *
 * Nothing is done per prompt when a snapshot is made, so that swapping in a bundle of 10,000
 * prompts costs no more than swapping in one (DESIGN.md §11, "apply"): an id is looked up in
 * each set's bundle the first time it is asked for, and the answer kept.
 */
import { AnvilError, type Bundle, type BundlePrompt, type BundleStage } from '@anvil/content-schema';
import type { CompiledPrompt, RenderData } from '../render/environment.ts';
import type { Message } from '../render/messages.ts';
import type { PromptCallOptions } from '../prompt-types.ts';
import { BundleCompiler, bundleCompilerKey, type CompileEvent } from './bundle-compiler.ts';
import { chooseVariant } from './choose-variant.ts';
import { buildPromptIndex, qualifiedId, resolvePromptId, type PromptIndex, type PromptRef } from './prompt-index.ts';
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
    readonly isRollout: boolean,
  ) {}

  get bundle(): Bundle {
    return this.compiler.bundle;
  }

  /** The prompt's entry, checked against the bundle schema (throws `prompt.invalid`). */
  get prompt(): BundlePrompt {
    return this.compiler.entry(this.id);
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
  /** The side for calls without a key. */
  readonly keyless: Side;
  private simpleKnown: boolean | undefined;

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
  }

  /** Options can change nothing but an explicit variant name (which must then be checked). */
  get simple(): boolean {
    return (this.simpleKnown ??= (this.main === undefined || this.rolloutSide === undefined) && isEmpty(this.keyless.prompt.variants));
  }

  side(key: string | undefined): Side {
    if (key === undefined || this.main === undefined || this.rolloutSide === undefined) return this.keyless;
    return inRollout(key, this.set, this.rollout!.version, this.rollout!.percent) ? this.rolloutSide : this.main;
  }
}

/** A served set: the compilers of its bundle and of its rollout. */
interface ServedSet {
  main: BundleCompiler;
  next: BundleCompiler | undefined;
  rollout: SlotRollout | undefined;
  /** Whether calls without a key get the rollout on this instance. */
  instance: boolean;
}

class Snapshot implements StoreSnapshot {
  /** Every name asked for so far (`id`, `set/id`) → its slot; the render path's one lookup. */
  private readonly names = new Map<string, Slot>();
  /** Slots by `set/id`, so both names of a prompt share one. */
  private readonly slots = new Map<string, Slot>();
  private readonly served = new Map<string, ServedSet>();
  /** Every id of every set: built only to explain an id that does not resolve. */
  private index: PromptIndex | undefined;
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

    for (const [name, served] of Object.entries(input.sets)) {
      const { bundle, rollout } = served;
      checkSet(name, bundle, rollout);
      const instance = rollout !== undefined && inRollout(seed, name, rollout.bundle.version, rollout.percent);
      this.served.set(name, {
        main: compilerOf(bundle),
        next: rollout && compilerOf(rollout.bundle),
        rollout: rollout && { version: rollout.bundle.version, percent: rollout.percent },
        instance,
      });
      this.sets[name] = {
        version: bundle.version, integrity: bundle.integrity, stage: bundle.stage,
        ...(rollout && {
          rollout: { version: rollout.bundle.version, integrity: rollout.bundle.integrity, stage: rollout.bundle.stage, percent: rollout.percent, instance },
        }),
      };
    }
  }

  /** The slot `name` resolves to: `set/id`, or an `id` exactly one set has. */
  private slot(name: string): Slot {
    const known = this.names.get(name);
    if (known !== undefined) return known;
    let found: Slot | undefined;
    const slash = name.indexOf('/');
    if (slash >= 0) {
      const set = name.slice(0, slash);
      const served = this.served.get(set);
      found = served && this.slotOf(set, served, name.slice(slash + 1));
    } else {
      let sets = 0;
      for (const [set, served] of this.served) {
        if (!has(served, name)) continue;
        sets++;
        found ??= this.slotOf(set, served, name);
      }
      if (sets > 1) found = undefined;
    }
    // Unknown or ambiguous: the full index says which, with candidates.
    found ??= this.slotOfRef(resolvePromptId(this.promptIndex(), name));
    this.names.set(name, found);
    return found;
  }

  private slotOf(set: string, served: ServedSet, id: string): Slot | undefined {
    const qualified = `${set}/${id}`;
    const known = this.slots.get(qualified);
    if (known !== undefined) return known;
    const { main, next } = served;
    const inMain = Object.hasOwn(main.bundle.prompts, id);
    const inNext = next !== undefined && Object.hasOwn(next.bundle.prompts, id);
    if (!inMain && !inNext) return undefined;
    // A prompt only one of the two versions has is served from that one, to every key.
    const slot = new Slot(set, id, inMain ? new Side(main, id, false) : undefined, inNext ? new Side(next, id, true) : undefined, served.rollout, served.instance);
    this.slots.set(qualified, slot);
    return slot;
  }

  private slotOfRef(ref: PromptRef): Slot {
    const served = this.served.get(ref.set);
    const slot = served && this.slotOf(ref.set, served, ref.id);
    if (slot === undefined) throw new AnvilError('store.invalid-snapshot', `the id index names ${qualifiedId(ref)}, which no bundle has`, { hint: 'this is a bug' });
    return slot;
  }

  private promptIndex(): PromptIndex {
    if (this.index === undefined) {
      const refs: PromptRef[] = [];
      for (const [set, { main, next }] of this.served) {
        for (const id of Object.keys(main.bundle.prompts)) refs.push({ set, id });
        if (next) for (const id of Object.keys(next.bundle.prompts)) if (!Object.hasOwn(main.bundle.prompts, id)) refs.push({ set, id });
      }
      this.index = buildPromptIndex(refs);
    }
    return this.index;
  }

  render(id: string, vars?: Record<string, unknown>, options?: PromptCallOptions, data?: RenderData): string {
    const slot = this.names.get(id) ?? this.slot(id);
    if (options === undefined || (slot.simple && options.variant === undefined)) {
      return (slot.plain ?? this.plain(slot)).renderText(vars, data);
    }
    return this.pick(slot, options).renderText(vars, data);
  }

  messages(id: string, vars?: Record<string, unknown>, options?: PromptCallOptions, data?: RenderData): Message[] {
    return this.compiled(id, options).renderMessages(vars, data);
  }

  compiled(id: string, options?: PromptCallOptions): CompiledPrompt {
    const slot = this.names.get(id) ?? this.slot(id);
    if (options === undefined || (slot.simple && options.variant === undefined)) return slot.plain ?? this.plain(slot);
    return this.pick(slot, options);
  }

  template(id: string, options?: PromptCallOptions): string {
    const slot = this.names.get(id) ?? this.slot(id);
    const side = slot.side(options?.key);
    const variant = options && variantOf(side, options);
    return variant === undefined ? side.prompt.template : side.prompt.variants[variant]!.template;
  }

  track(id: string, options?: PromptCallOptions): PromptTrack {
    const slot = this.names.get(id) ?? this.slot(id);
    const side = slot.side(options?.key);
    // A prompt whose entry does not check out is not served, so nothing is tracked for it either.
    const prompt = side.prompt;
    const variant = options && variantOf(side, options, prompt);
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

function variantOf(side: Side, options: PromptCallOptions, prompt?: BundlePrompt): string | undefined {
  if (options.variant === undefined && options.tags === undefined) return undefined;
  return chooseVariant(prompt ?? side.prompt, options, side.label());
}

function has(served: ServedSet, id: string): boolean {
  return Object.hasOwn(served.main.bundle.prompts, id) || (served.next !== undefined && Object.hasOwn(served.next.bundle.prompts, id));
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
