/**
 * The build cache on disk, for the CLI: compiled content by content key (set, git tree id,
 * dependency versions), one JSON file per key under `<git dir>/anvil/build-cache/`, so that
 * `anvil build` does not recompile a set whose tree did not change since the last run. A file
 * that cannot be read or parsed is a miss, never an error: the cache is only ever a shortcut.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BundleContent } from './build-bundle.ts';
import type { BuildCache } from './build-set.ts';

export function fileBuildCache(dir: string): BuildCache {
  const fileOf = (key: string) => path.join(dir, `${createHash('sha256').update(key).digest('hex')}.json`);
  return {
    get(key) {
      try {
        const stored = JSON.parse(readFileSync(fileOf(key), 'utf8')) as { key?: unknown; content?: BundleContent };
        return stored.key === key ? stored.content : undefined;
      } catch {
        return undefined;
      }
    },
    set(key, content) {
      try {
        mkdirSync(dir, { recursive: true });
        const file = fileOf(key);
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, JSON.stringify({ key, content }));
        renameSync(tmp, file);
      } catch {
        // A read-only or full disk costs a rebuild next time, nothing more.
      }
    },
  };
}
