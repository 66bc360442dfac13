/**
 * The prompts a running client serves, for prompt-catalog.ts: rendered by the client itself
 * (`messages()`, `track()`), listed from the bundles its status names.
 *
 * The bundles are read from the client's disk cache by integrity: a client writes every bundle
 * there, verified, before it serves it (cache/disk-cache.ts), and a file named by an integrity
 * never changes, so what is read is what the client serves. They are kept here by integrity:
 * a list after a new version reads only the new bundle.
 */
import { readFile } from 'node:fs/promises';
import type { Bundle, BundlePrompt } from '@anvil/content-schema';
import type { AnvilClient } from '../client.ts';
import { promptsFromBytes, readBundleBytes } from '../bundle/bundle-bytes.ts';
import { openDiskCache } from '../cache/disk-cache.ts';
import type { McpPromptSet, McpPromptSource } from './prompt-catalog.ts';

export interface ClientPromptSource extends McpPromptSource {
  /** What is served, as one string: it changes exactly when the list may have. */
  servedKey(): string;
}

export function clientPromptSource(client: AnvilClient, cacheDir: string): ClientPromptSource {
  const cache = openDiskCache(cacheDir);
  const prompts = new Map<string, Promise<Bundle['prompts']>>();
  const promptsOf = (integrity: string): Promise<Bundle['prompts']> => {
    let found = prompts.get(integrity);
    if (found === undefined) {
      found = readPrompts(cache.bundlePath(integrity));
      prompts.set(integrity, found);
      found.catch(() => prompts.delete(integrity));
    }
    return found;
  };

  return {
    servedKey: () => JSON.stringify(Object.entries(client.status().sets).sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([set, s]) => [set, s.integrity, s.rollout?.integrity, s.rollout?.instance])),
    async sets(): Promise<McpPromptSet[]> {
      const served = Object.entries(client.status().sets);
      const wanted = new Set(served.flatMap(([, s]) => [s.integrity, ...(s.rollout ? [s.rollout.integrity] : [])]));
      for (const integrity of prompts.keys()) if (!wanted.has(integrity)) prompts.delete(integrity);
      const out: McpPromptSet[] = [];
      for (const [set, status] of served.sort(([a], [b]) => (a < b ? -1 : 1))) {
        const main = await promptsOf(status.integrity);
        if (!status.rollout) {
          out.push({ set, prompts: main });
          continue;
        }
        // During a rollout each prompt is described from the version that serves it here.
        const rollout = await promptsOf(status.rollout.integrity);
        const entries: Record<string, BundlePrompt> = {};
        for (const id of new Set([...Object.keys(main), ...Object.keys(rollout)])) {
          let integrity: string | undefined;
          try {
            integrity = client.track(`${set}/${id}`).integrity;
          } catch {
            continue;
          }
          const entry = integrity === status.rollout.integrity ? rollout[id] : main[id];
          if (entry !== undefined) entries[id] = entry;
        }
        out.push({ set, prompts: entries });
      }
      return out;
    },
    messages: (id, vars, options) => client.messages(id, vars, options),
    track: (id, options) => client.track(id, options),
  };
}

/** The prompt entries of a cached bundle; each is parsed when first read (bundle/bundle-bytes.ts). */
async function readPrompts(file: string): Promise<Bundle['prompts']> {
  const bytes = await readFile(file);
  const located = readBundleBytes(bytes);
  if (located !== undefined) return promptsFromBytes(bytes, located.index);
  return (JSON.parse(bytes.toString('utf8')) as Bundle).prompts;
}
