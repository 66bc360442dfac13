/**
 * The receiver's current snapshot, in one field. `swap` is a single assignment, so the change is
 * atomic: every call reads the field once and finishes on the snapshot it read.
 */
import type { RenderData } from '../render/environment.ts';
import type { Message } from '../render/messages.ts';
import type { PromptCallOptions, PromptId, PromptVars } from '../prompt-types.ts';
import { createStoreSnapshot, type PromptTrack, type SetStatus, type StoreSnapshot } from './store-snapshot.ts';

/**
 * What `render` and `messages` take after the id: `anvil.prompt`'s arguments (`PromptArgs`), then
 * the render data (history, context). Checked against the generated declarations like them.
 */
export type PromptStoreArgs<Id extends string> = {} extends PromptVars<Id>
  ? [vars?: PromptVars<Id> | undefined, options?: PromptCallOptions<Id> | undefined, data?: RenderData | undefined]
  : [vars: PromptVars<Id>, options?: PromptCallOptions<Id> | undefined, data?: RenderData | undefined];

export class PromptStore {
  private snapshot: StoreSnapshot;

  constructor(initial: StoreSnapshot = createStoreSnapshot({ sets: {} })) {
    this.snapshot = initial;
  }

  /** The snapshot served now. Its methods take any string id; the store's own are the checked ones. */
  current(): StoreSnapshot {
    return this.snapshot;
  }

  /** Serves `next` from now on; returns the snapshot it replaces. */
  swap(next: StoreSnapshot): StoreSnapshot {
    const previous = this.snapshot;
    this.snapshot = next;
    return previous;
  }

  // Each typed signature is followed by the untyped implementation, so that the store itself
  // compiles the same with or without generated declarations (prompt-types.ts).

  render<Id extends PromptId>(id: Id, ...args: PromptStoreArgs<Id>): string;
  render(id: string, vars?: Record<string, unknown>, options?: PromptCallOptions, data?: RenderData): string {
    return this.snapshot.render(id, vars, options, data);
  }

  messages<Id extends PromptId>(id: Id, ...args: PromptStoreArgs<Id>): Message[];
  messages(id: string, vars?: Record<string, unknown>, options?: PromptCallOptions, data?: RenderData): Message[] {
    return this.snapshot.messages(id, vars, options, data);
  }

  template<Id extends PromptId>(id: Id, options?: PromptCallOptions<Id>): string;
  template(id: string, options?: PromptCallOptions): string {
    return this.snapshot.template(id, options);
  }

  track<Id extends PromptId>(id: Id, options?: PromptCallOptions<Id>): PromptTrack;
  track(id: string, options?: PromptCallOptions): PromptTrack {
    return this.snapshot.track(id, options);
  }

  status(): Record<string, SetStatus> {
    return this.snapshot.status();
  }
}
