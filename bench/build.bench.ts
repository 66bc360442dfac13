/**
 * Build benchmark (DESIGN.md §11 "build", issue 5): a generated set of 10,000 prompts, committed
 * and released as `bigset@1.0.0`, read from a packed bare mirror as the forge reads its
 * repositories (DESIGN.md §10). In the same run and interleaved:
 * - the floor: `git archive <tag> -- <set> | tar -x` of the same tree into an empty folder on a
 *   tmpfs (/dev/shm) when there is one, and on disk (after a `sync`) for reference;
 * - a cold build (buildRelease with new git and build caches) in this process, and in a fresh
 *   child process (no warm JIT, no loaded modules), with that process's peak memory;
 * - a warm rebuild of the same tag with the caches kept (the set's tree did not change, so
 *   nothing is read or compiled again);
 * - loading the repository at the tag (what a build reads) with `git cat-file --batch` and
 *   with isomorphic-git, the two ways of reading file contents.
 * Promise: the cold build within 3× of the floor. Every bundle must be byte-identical.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalJson, type Bundle } from '@anvil/content-schema';
import { buildRelease } from '../server/src/build/build-release.ts';
import type { BundleContent } from '../server/src/build/build-bundle.ts';
import { loadRepo } from '../server/src/load/load-repo.ts';
import { createGitCache } from '../server/src/repo/git-cache.ts';
import { openGitSnapshot } from '../server/src/repo/git-snapshot.ts';
import { createBigSetRepo } from './lib/bigset.ts';
import { machine, median, ratioOfMedians, type CandidateResult } from './lib/measure.ts';
import { measureRuns, resultOf, type RunCandidate } from './lib/runs.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const PROMISE = 3;
const SHM = '/dev/shm';

export async function buildBenchmark(): Promise<string> {
  const rounds = Number(process.env['ANVIL_BENCH_ROUNDS'] ?? 5);
  const progress = (text: string) => process.stderr.write(`build bench: ${text}\n`);

  let started = performance.now();
  const big = await createBigSetRepo();
  const generateMs = performance.now() - started;
  progress(`generated ${big.prompts} prompts in ${(generateMs / 1000).toFixed(1)} s (${big.mirror})`);
  const from = big.mirror;
  const tag = big.tag;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'anvil-build-bench-'));
  // The floor extracts into memory where there is a tmpfs: the build writes nothing to disk,
  // and on a shared disk the same extraction took anywhere from 0.3 to 11 s. Onto disk too,
  // for reference.
  const shm = existsSync(SHM) ? mkdtempSync(path.join(SHM, 'anvil-build-bench-')) : undefined;

  try {
    // The reference: a cold build, which also primes the caches the warm rebuilds keep.
    const warmGit = createGitCache();
    const warmBuild = new Map<string, BundleContent>();
    started = performance.now();
    const reference = await buildRelease(from, tag, { project: 'bench', cache: warmGit, buildCache: warmBuild });
    progress(`first cold build in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const errors = reference.problems.filter((p) => p.severity === 'error');
    if (!reference.bundle || errors.length > 0) throw new Error(`the generated set does not build: ${JSON.stringify(errors.slice(0, 3))}`);
    if (Object.keys(reference.bundle.prompts).length !== big.prompts) throw new Error('the bundle lacks prompts');
    const warm = await buildRelease(from, tag, { project: 'bench', cache: warmGit, buildCache: warmBuild });
    if (!warm.reused || canonicalJson(warm.bundle) !== canonicalJson(reference.bundle)) {
      throw new Error('the warm rebuild is not byte-identical to the cold build');
    }
    const integrity = reference.bundle.integrity;
    const sameBytes = (bundle: Bundle | undefined, what: string) => {
      if (bundle?.integrity !== integrity) throw new Error(`${what} gave other bytes (${bundle?.integrity}) than the cold build (${integrity})`);
    };

    const extract = async (parent: string) => {
      const into = mkdtempSync(path.join(parent, 'x-'));
      // On disk, first write out what earlier runs left in the page cache, so that this run
      // does not pay for it (on a shared VM its times still swing from 0.3 to 11 s).
      if (parent !== shm) await sh('sync');
      const start = performance.now();
      await sh(`git -C '${from}' archive '${tag}' -- '${big.setDir}' | tar -x -C '${into}'`);
      const ms = performance.now() - start;
      const files = countFiles(into);
      rmSync(into, { recursive: true, force: true });
      if (files !== big.prompts + big.variants + big.partials + 1) throw new Error(`the floor extracted ${files} files`);
      return ms;
    };
    const childBuildMs: number[] = [];
    const childRssKb: number[] = [];
    const archive = `\`git archive ${tag} -- ${big.setDir} \\| tar -x\``;
    const floors: RunCandidate[] = [
      ...(shm === undefined ? [] : [{ name: `${archive} into ${SHM} (tmpfs)`, run: () => extract(shm) }]),
      { name: `${archive} into ${os.tmpdir()} (disk)`, run: () => extract(scratch) },
    ];
    const builds: RunCandidate[] = [
      {
        name: 'cold build, in this process (new git and build caches)',
        run: async () => {
          const cache = createGitCache();
          sameBytes((await buildRelease(from, tag, { project: 'bench', cache, buildCache: new Map() })).bundle, 'a cold build');
          cache.clear();
        },
      },
      {
        name: 'cold build, fresh child process (Node start + modules + build)',
        run: async () => {
          const out = JSON.parse(await node(['bench/lib/build-child.ts', from, tag])) as { ms: number; maxRssKb: number; integrity?: string };
          if (out.integrity !== integrity) throw new Error(`the child process built other bytes (${out.integrity})`);
          childBuildMs.push(out.ms);
          childRssKb.push(out.maxRssKb);
        },
      },
      {
        name: 'warm rebuild (caches kept, set unchanged)',
        run: async () => {
          const result = await buildRelease(from, tag, { project: 'bench', cache: warmGit, buildCache: warmBuild });
          if (!result.reused) throw new Error('the warm rebuild recompiled');
          sameBytes(result.bundle, 'a warm rebuild');
        },
      },
      {
        name: 'load the repository at the tag (what a cold build reads), `git cat-file --batch`',
        run: async () => {
          const cache = createGitCache({ blobs: 'cat-file' });
          await loadRepo(await openGitSnapshot(from, tag, { cache }));
          cache.clear();
        },
      },
      {
        name: 'load the repository at the tag, isomorphic-git',
        run: async () => {
          await loadRepo(await openGitSnapshot(from, tag, { cache: createGitCache({ blobs: 'isomorphic-git' }) }));
        },
      },
    ];
    const results = await measureRuns([...floors, ...builds], {
      rounds,
      onRound: (r, partial) => progress(`round ${r}/${rounds}: ${partial.map((p) => `${(p.samples.at(-1)! / 1000).toFixed(0)} ms`).join(', ')}`),
    });

    const floorResults = results.slice(0, floors.length);
    const [cold, child, warmRun, catFile, isoGit] = results.slice(floors.length) as [CandidateResult, CandidateResult, CandidateResult, CandidateResult, CandidateResult];
    const floor = floorResults[0]!;
    const diskFloor = floorResults.at(-1)!;
    const childBuild = resultOf('cold build, fresh child process (buildRelease only)', childBuildMs);
    const rows = [...floorResults, cold, childBuild, child, warmRun, catFile, isoGit];
    const verdict = (against: CandidateResult) => {
      const a = ratioOfMedians(cold, against);
      const b = ratioOfMedians(childBuild, against);
      return `**${a.toFixed(1)}×** in process, **${b.toFixed(1)}×** in a fresh process — ${a <= PROMISE && b <= PROMISE ? 'met' : 'NOT met'}`;
    };
    const ms = (us: number) => (us / 1000).toFixed(0);
    const lines = [
      `### Build (${big.prompts.toLocaleString('en')}-prompt set from a tag, ${rounds} rounds)`,
      '',
      `Machine: ${machine()}`,
      '',
      `Set: ${big.prompts.toLocaleString('en')} prompts (+${big.variants} variants, ${big.partials} partials) in ${big.setDir}/ ` +
        `(100 folders), ${(big.bytes / 2 ** 20).toFixed(1)} MiB; a dependency on \`core@1.0.0\`; generated and committed in ` +
        `${(generateMs / 1000).toFixed(1)} s; built from a packed bare mirror. Bundle: ${(canonicalJson(reference.bundle).length / 2 ** 20).toFixed(1)} MiB, ` +
        'byte-identical across cold (in and out of process) and warm builds.',
      '',
      '| path | median ms | ratio to floor |',
      '|---|---|---|',
      ...rows.map((r) => `| ${r.name} | ${ms(r.medianUs)} | ${r === floor ? '1 (floor)' : `${ratioOfMedians(r, floor).toFixed(2)}×`} |`),
      '',
      `- cold build / floor (promise ≤ ${PROMISE}×): ${verdict(floor)}`,
      ...(diskFloor === floor ? [] : [`- cold build / extraction to disk: ${verdict(diskFloor)} (the disk is shared: this floor is the noisy one)`]),
      `- warm rebuild / floor: **${ratioOfMedians(warmRun, floor).toFixed(2)}×**; cold / warm: ${ratioOfMedians(cold, warmRun).toFixed(1)}×`,
      `- reading file contents: isomorphic-git / \`cat-file --batch\`: **${ratioOfMedians(isoGit, catFile).toFixed(1)}×** (cat-file is what builds use)`,
      `- peak memory (maxRSS) of the child process doing one cold build: median ${(median(childRssKb) / 1024).toFixed(0)} MiB (max ${(Math.max(...childRssKb) / 1024).toFixed(0)} MiB)`,
    ];
    return lines.join('\n');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    if (shm !== undefined) rmSync(shm, { recursive: true, force: true });
    big.cleanup();
  }
}

function countFiles(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
}

/** The caller's git environment (inside a hook, say) must not leak into the commands. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value;
  return env;
}

function sh(command: string): Promise<string> {
  return spawned('sh', ['-c', command]);
}

function node(args: string[]): Promise<string> {
  return spawned(process.execPath, ['--conditions=anvil-source', '--import', 'tsx', ...args]);
}

function spawned(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${path.basename(command)} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
  });
}
