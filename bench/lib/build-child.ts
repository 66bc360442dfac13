/**
 * One cold build in a fresh process, for bench/build.bench.ts: no JIT warm-up, no module
 * cache, new git and build caches. Prints one JSON line: how long buildRelease took, the
 * process's peak memory, and the bundle's integrity (so the parent can check the bytes).
 *
 *   node --conditions=anvil-source --import tsx bench/lib/build-child.ts <repo> <tag> [blobs]
 */
import { buildRelease } from '../../server/src/build/build-release.ts';
import { createGitCache } from '../../server/src/repo/git-cache.ts';

const [repoDir, tag, blobs] = process.argv.slice(2);
if (repoDir === undefined || tag === undefined) throw new Error('usage: build-child.ts <repo> <tag> [cat-file|isomorphic-git]');
const start = process.hrtime.bigint();
const result = await buildRelease(repoDir, tag, {
  project: 'bench',
  cache: createGitCache({ blobs: blobs === 'isomorphic-git' ? 'isomorphic-git' : 'cat-file' }),
  buildCache: new Map(),
});
const ms = Number(process.hrtime.bigint() - start) / 1e6;
const errors = result.problems.filter((p) => p.severity === 'error').length;
// maxRSS is in kilobytes.
console.log(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, integrity: result.bundle?.integrity, errors }));
