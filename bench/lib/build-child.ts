/**
 * One build in a fresh process, for bench/build.bench.ts: no JIT warm-up, no module cache, a
 * new git cache; either a new build cache in memory (a cold build) or the build cache on disk
 * in `cacheDir` (what `anvil build` finds after an earlier build). Prints one JSON line: how
 * long buildRelease took, the process's peak memory, the bundle's integrity (so the parent can
 * check the bytes), how many prompt files were compiled and on how many threads.
 *
 *   node --conditions=anvil-source --import tsx bench/lib/build-child.ts <repo> <tag> [cat-file|isomorphic-git] [cacheDir]
 */
import { buildRelease } from '../../server/src/build/build-release.ts';
import { fileBuildCache } from '../../server/src/build/file-build-cache.ts';
import { createGitCache } from '../../server/src/repo/git-cache.ts';

const [repoDir, tag, blobs, cacheDir] = process.argv.slice(2);
if (repoDir === undefined || tag === undefined) throw new Error('usage: build-child.ts <repo> <tag> [cat-file|isomorphic-git] [cacheDir]');
const start = process.hrtime.bigint();
const result = await buildRelease(repoDir, tag, {
  project: 'bench',
  cache: createGitCache({ blobs: blobs === 'isomorphic-git' ? 'isomorphic-git' : 'cat-file' }),
  buildCache: cacheDir === undefined ? new Map() : fileBuildCache(cacheDir),
});
const ms = Number(process.hrtime.bigint() - start) / 1e6;
const errors = result.problems.filter((p) => p.severity === 'error').length;
// maxRSS is in kilobytes.
console.log(JSON.stringify({
  ms, maxRssKb: process.resourceUsage().maxRSS, integrity: result.bundle?.integrity, errors, compiled: result.compiled, threads: result.threads,
}));
