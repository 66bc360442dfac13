/**
 * The receiver's current snapshot, in one field. `swap` is a single assignment, so the change is
 * atomic: every call reads the field once and finishes on the snapshot it read.
 */
import type { RenderData } from '../render/environment.ts';
import type { Message } from '../render/messages.ts';
import type { PromptCallOptions } from '../prompt-types.ts';
import { createStoreSnapshot, type PromptTrack, type SetStatus, type StoreSnapshot } from './store-snapshot.ts';

export class PromptStore {
  private snapshot: StoreSnapshot;

  constructor(initial: StoreSnapshot = createStoreSnapshot({ sets: {} })) {
    this.snapshot = initial;
  }

  current(): StoreSnapshot {
    return this.snapshot;
  }

  /** Serves `next` from now on; returns the snapshot it replaces. */
  swap(next: StoreSnapshot): StoreSnapshot {
    const previous = this.snapshot;
    this.snapshot = next;
    return previous;
  }

  render(id: string, vars?: Record<string, unknown>, options?: PromptCallOptions, data?: RenderData): string {
    return this.snapshot.render(id, vars, options, data);
  }

  messages(id: string, vars?: Record<string, unknown>, options?: PromptCallOptions, data?: RenderData): Message[] {
    return this.snapshot.messages(id, vars, options, data);
  }

  template(id: string, options?: PromptCallOptions): string {
    return this.snapshot.template(id, options);
  }

  track(id: string, options?: PromptCallOptions): PromptTrack {
    return this.snapshot.track(id, options);
  }

  status(): Record<string, SetStatus> {
    return this.snapshot.status();
  }
}
