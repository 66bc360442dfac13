/**
 * Stored versions as the dashboard shows them, read and parsed once and with each prompt
 * compiled once. A stored version never changes (a release is immutable, and a stored head
 * build is keyed by its version too), so what the store gave and what Handlebars compiled from
 * it stay true; re-reading and re-compiling them is most of a compare's time (issue 15: the
 * compare of 60 changed prompts in a 1,000-prompt set spent ~60 ms compiling, ~20 ms parsing).
 *
 * Bounded by the bytes of the bundles held, so that browsing every version of every set keeps
 * only the most recently seen ones in memory.
 */
import { LRUCache } from 'lru-cache';
import { bundleEnvironment, compileBundlePrompt, type CompiledPrompt, type PromptEnvironment } from '@anvil/client';
import type { Store } from '../store/open-store.ts';
import { storedSetVersion, type StoredSetVersion } from './dashboard-data.ts';

/** Bundle text held at most, summed over the cached versions and their dependencies' partials. */
export const STORED_VERSIONS_MAX_BYTES = 64 * 1024 * 1024;

/** A stored version with a compiler that remembers each prompt (or variant) it compiled. */
export interface CompilingSetVersion extends StoredSetVersion {
  /** Throws as `compileBundlePrompt` does; a prompt that failed fails the same way again. */
  compile(id: string, variant?: string): CompiledPrompt;
}

export interface StoredVersions {
  read(project: string, set: string, version: string): Promise<CompilingSetVersion | undefined>;
}

export function storedVersions(db: Store, maxBytes = STORED_VERSIONS_MAX_BYTES): StoredVersions {
  const cache = new LRUCache<string, CompilingSetVersion>({
    maxSize: maxBytes,
    // The bundle's text is what a version costs to hold; its compiled prompts grow with it.
    sizeCalculation: (entry) => Math.max(1, entry.size),
  });
  // Two pages asking for the same version at once share one read.
  const reading = new Map<string, Promise<CompilingSetVersion | undefined>>();
  return {
    read(project, set, version) {
      const key = JSON.stringify([project, set, version]);
      const held = cache.get(key);
      if (held) return Promise.resolve(held);
      let pending = reading.get(key);
      if (!pending) {
        pending = storedSetVersion(db, project, set, version).then((stored) => {
          // Not remembered when absent: the version may be stored a moment later.
          if (!stored) return undefined;
          const entry = compilingVersion(stored);
          cache.set(key, entry);
          return entry;
        }).finally(() => reading.delete(key));
        reading.set(key, pending);
      }
      return pending;
    },
  };
}

/** `stored` with a remembering compiler; the environment (its partials) is made on first use. */
export function compilingVersion(stored: StoredSetVersion): CompilingSetVersion {
  let env: PromptEnvironment | undefined;
  const compiled = new Map<string, { prompt: CompiledPrompt } | { error: unknown }>();
  return {
    ...stored,
    compile(id, variant) {
      const key = variant === undefined ? id : `${id}\u0000${variant}`;
      let found = compiled.get(key);
      if (!found) {
        try {
          found = { prompt: compileBundlePrompt(env ??= bundleEnvironment(stored.bundle, stored.dependencyPartials), stored.bundle, id, variant) };
        } catch (error) {
          found = { error };
        }
        compiled.set(key, found);
      }
      if ('error' in found) throw found.error;
      return found.prompt;
    },
  };
}
