/**
 * Build benchmark (DESIGN.md §11 "build", issues 3 and 13): a generated set of 10,000 prompts,
 * committed and released as `bigset@1.0.0`, then changed in one prompt and released again as
 * `bigset@1.0.1`, read from a packed bare mirror as the forge reads its repositories (DESIGN.md
 * §10). In the same run and interleaved:
 * - the floor: `git archive bigset@1.0.1 -- <set> | tar -x` of the same tree into an empty
 *   folder on a tmpfs (/dev/shm) when there is one, and on disk (after a `sync`) for reference;
 * - the one-prompt change: `bigset@1.0.1` built with the build cache kept from building
 *   `bigset@1.0.0`, where the forge and the CLI keep it (`<git dir>/anvil/build-cache/`): in
 *   this process with a new git cache, as the forge syncs (it built the previous release, so
 *   the cache's memory has it); with the git cache kept too; from the disk alone, as a process
 *   that did not build it; and in a fresh child process, as `anvil build`;
 * - a cold build (new git and build caches) on every core and on one thread, in this process
 *   (where the compile worker threads of earlier builds are kept, as in the forge), and on every
 *   core in a fresh child process (which starts its workers), with that process's peak memory;
 * - a warm rebuild of the same tag with the caches kept (nothing compiled);
 * - loading the repository at the tag (what a cold build reads) with `git cat-file --batch` and
 *   with isomorphic-git, the two ways of reading file contents.
 * Promise (issue 13): the one-prompt change within 3× of the floor; the cold build's ratio is
 * reported. Every bundle must be byte-identical to a cold, cache-less, single-thread build.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalJson, type Bundle } from '@anvil/content-schema';
import type { BuildCacheEntry } from '../server/src/build/build-cache.ts';
import { buildRelease } from '../server/src/build/build-release.ts';
import type { BuildResult } from '../server/src/build/build-set.ts';
import { fileBuildCache } from '../server/src/build/file-build-cache.ts';
import { loadRepo } from '../server/src/load/load-repo.ts';
import { createGitCache } from '../server/src/repo/git-cache.ts';
import { openGitSnapshot } from '../server/src/repo/git-snapshot.ts';
import { CHANGED_PROMPT, createBigSetRepo, releaseOnePromptChange } from './lib/bigset.ts';
import { machine, median, ratioOfMedians, type CandidateResult } from './lib/measure.ts';
import { measureRuns, resultOf, type RunCandidate } from './lib/runs.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const PROMISE = 3;
const SHM = '/dev/shm';

interface ChildResult {
  ms: number;
  maxRssKb: number;
  integrity?: string;
  compiled: number;
  threads: number;
}

export async function buildBenchmark(): Promise<string> {
  const rounds = Number(process.env['ANVIL_BENCH_ROUNDS'] ?? 5);
  const progress = (text: string) => process.stderr.write(`build bench: ${text}\n`);
  const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

  let started = performance.now();
  const big = await createBigSetRepo();
  const generateMs = performance.now() - started;
  progress(`generated ${big.prompts} prompts in ${seconds(started)} (${big.mirror})`);
  const from = big.mirror;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'anvil-build-bench-'));
  // The floor extracts into memory where there is a tmpfs: the build writes nothing to disk,
  // and on a shared disk the same extraction took anywhere from 0.3 to 11 s. Onto disk too,
  // for reference.
  const shm = existsSync(SHM) ? mkdtempSync(path.join(SHM, 'anvil-build-bench-')) : undefined;
  const cores = os.availableParallelism();

  try {
    // The references: cold, cache-less, single-thread builds of both releases.
    started = performance.now();
    const reference = await buildRelease(from, big.tag, { project: 'bench', threads: 1 });
    progress(`cold single-thread build of ${big.tag} in ${seconds(started)}`);
    checkBuilt(reference, big.prompts, big.prompts + big.variants);
    const integrity = reference.bundle!.integrity;

    // What the forge keeps from building the previous release: its build cache on disk (in
    // the mirror, as sync-project.ts keeps it) and a git cache.
    const cacheDir = path.join(from, 'anvil', 'build-cache');
    const keptGit = createGitCache();
    started = performance.now();
    const previous = await buildRelease(from, big.tag, { project: 'bench', cache: keptGit, buildCache: fileBuildCache(cacheDir) });
    progress(`cold build of ${big.tag} on ${previous.threads} threads, into the build cache, in ${seconds(started)}`);
    sameBytes(previous.bundle, integrity, 'the cold build on every core');
    const afterPrevious = snapshotFolder(cacheDir);

    const { tag } = await releaseOnePromptChange(big);
    started = performance.now();
    const changed = await buildRelease(from, tag, { project: 'bench', threads: 1 });
    progress(`cold single-thread build of ${tag} in ${seconds(started)}`);
    checkBuilt(changed, big.prompts, big.prompts + big.variants);
    const changedIntegrity = changed.bundle!.integrity;
    if (changedIntegrity === integrity) throw new Error('the one-prompt change did not change the bundle');

    // The warm rebuild keeps its own cache, which has bigset@1.0.1 itself.
    const warmDir = path.join(scratch, 'warm-cache');
    await buildRelease(from, tag, { project: 'bench', cache: keptGit, buildCache: fileBuildCache(warmDir) });

    const oneChange = async (what: string, build: () => Promise<BuildResult>) => {
      afterPrevious.restore();
      const start = performance.now();
      const result = await build();
      const ms = performance.now() - start;
      if (result.compiled !== 1) throw new Error(`${what} compiled ${result.compiled} prompt files, not 1`);
      sameBytes(result.bundle, changedIntegrity, what);
      return ms;
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
    const child = async (args: string[], expect: string, compiled: number, samples: { ms: number[]; rssKb: number[] }) => {
      const out = JSON.parse(await node(['bench/lib/build-child.ts', ...args])) as ChildResult;
      if (out.integrity !== expect) throw new Error(`the child process built other bytes (${out.integrity})`);
      if (out.compiled !== compiled) throw new Error(`the child process compiled ${out.compiled} prompt files, not ${compiled}`);
      samples.ms.push(out.ms);
      samples.rssKb.push(out.maxRssKb);
    };
    const coldChild = { ms: [] as number[], rssKb: [] as number[] };
    const changeChild = { ms: [] as number[], rssKb: [] as number[] };
    const threadsUsed: number[] = [];

    const archive = `\`git archive ${tag} -- ${big.setDir} \\| tar -x\``;
    const floors: RunCandidate[] = [
      ...(shm === undefined ? [] : [{ name: `${archive} into ${SHM} (tmpfs)`, run: () => extract(shm) }]),
      { name: `${archive} into ${os.tmpdir()} (disk)`, run: () => extract(scratch) },
    ];
    const names = {
      change: '**one-prompt change**, build cache kept in this process, new git cache (as the forge syncs)',
      changeGit: 'one-prompt change, build cache and git cache kept in this process',
      changeDisk: 'one-prompt change, build cache from disk only, new git cache (a process that did not build it)',
      changeChild: 'one-prompt change, fresh child process (Node start + modules + build), cache on disk',
      changeChildBuild: 'one-prompt change, fresh child process, `buildRelease` only',
      cold: `**cold build**, every core (${cores}), in this process (new git and build caches; worker threads kept from earlier builds, as in the forge)`,
      coldOne: 'cold build, one thread, in this process',
      coldChild: 'cold build, every core, fresh child process (Node start + modules + build)',
      coldChildBuild: 'cold build, every core, fresh child process, `buildRelease` only',
      warm: 'warm rebuild (same tag, caches kept: nothing compiled)',
      catFile: 'load the repository at the tag (what a cold build reads), `git cat-file --batch`',
      isoGit: 'load the repository at the tag, isomorphic-git',
    };
    const builds: RunCandidate[] = [
      {
        // As sync-project.ts does on each webhook: a new git cache, the mirror's build cache.
        name: names.change,
        run: async () => {
          const git = createGitCache();
          const ms = await oneChange('the one-prompt change', () => buildRelease(from, tag, { project: 'bench', cache: git, buildCache: fileBuildCache(cacheDir) }));
          git.clear();
          return ms;
        },
      },
      {
        name: names.changeGit,
        run: () => oneChange('the one-prompt change with the git cache kept', () => buildRelease(from, tag, { project: 'bench', cache: keptGit, buildCache: fileBuildCache(cacheDir) })),
      },
      {
        name: names.changeDisk,
        run: async () => {
          const git = createGitCache();
          const ms = await oneChange('the one-prompt change from disk', () => buildRelease(from, tag, { project: 'bench', cache: git, buildCache: fileBuildCache(cacheDir, { memory: false }) }));
          git.clear();
          return ms;
        },
      },
      {
        name: names.changeChild,
        run: async () => {
          afterPrevious.restore();
          const start = performance.now();
          await child([from, tag, 'cat-file', cacheDir], changedIntegrity, 1, changeChild);
          return performance.now() - start;
        },
      },
      {
        name: names.cold,
        run: async () => {
          const cache = createGitCache();
          const result = await buildRelease(from, big.tag, { project: 'bench', cache, buildCache: new Map<string, BuildCacheEntry>() });
          sameBytes(result.bundle, integrity, 'a cold build on every core');
          threadsUsed.push(result.threads);
          cache.clear();
        },
      },
      {
        name: names.coldOne,
        run: async () => {
          const cache = createGitCache();
          sameBytes((await buildRelease(from, big.tag, { project: 'bench', cache, threads: 1 })).bundle, integrity, 'a cold single-thread build');
          cache.clear();
        },
      },
      { name: names.coldChild, run: () => child([from, big.tag], integrity, big.prompts + big.variants, coldChild) },
      {
        name: names.warm,
        run: async () => {
          const result = await buildRelease(from, tag, { project: 'bench', cache: keptGit, buildCache: fileBuildCache(warmDir) });
          if (!result.reused || result.compiled !== 0) throw new Error('the warm rebuild recompiled');
          sameBytes(result.bundle, changedIntegrity, 'a warm rebuild');
        },
      },
      {
        name: names.catFile,
        run: async () => {
          const cache = createGitCache({ blobs: 'cat-file' });
          await loadRepo(await openGitSnapshot(from, tag, { cache }));
          cache.clear();
        },
      },
      {
        name: names.isoGit,
        run: async () => {
          await loadRepo(await openGitSnapshot(from, tag, { cache: createGitCache({ blobs: 'isomorphic-git' }) }));
        },
      },
    ];
    const results = await measureRuns([...floors, ...builds], {
      rounds,
      onRound: (r, partial) => progress(`round ${r}/${rounds}: ${partial.map((p) => `${(p.samples.at(-1)! / 1000).toFixed(0)} ms`).join(', ')}`),
    });
    keptGit.clear();

    const floorResults = results.slice(0, floors.length);
    const byName = new Map(results.map((r) => [r.name, r]));
    const get = (name: string) => byName.get(name)!;
    const floor = floorResults[0]!;
    const diskFloor = floorResults.at(-1)!;
    // Child samples are taken in the rounds' order, so they pair with the floor's samples.
    const changeChildBuild = resultOf(names.changeChildBuild, changeChild.ms);
    const coldChildBuild = resultOf(names.coldChildBuild, coldChild.ms);
    const rows = [
      ...floorResults,
      get(names.change), get(names.changeGit), get(names.changeDisk), changeChildBuild, get(names.changeChild),
      get(names.cold), get(names.coldOne), coldChildBuild, get(names.coldChild),
      get(names.warm), get(names.catFile), get(names.isoGit),
    ];
    const ratio = (r: CandidateResult, against = floor) => ratioOfMedians(r, against);
    const met = (x: number) => (x <= PROMISE ? 'met' : 'NOT met');
    const ms = (us: number) => Math.round(us / 1000).toLocaleString('en');
    const mib = (kb: number[]) => `median ${(median(kb) / 1024).toFixed(0)} MiB (max ${(Math.max(...kb) / 1024).toFixed(0)} MiB)`;
    const change = ratio(get(names.change));
    const changeGit = ratio(get(names.changeGit));
    const changeDisk = ratio(get(names.changeDisk));
    const changeFresh = ratio(changeChildBuild);
    const lines = [
      `### Build (${big.prompts.toLocaleString('en')}-prompt set from a tag, ${rounds} rounds)`,
      '',
      `Machine: ${machine()}`,
      '',
      `Set: ${big.prompts.toLocaleString('en')} prompts (+${big.variants} variants, ${big.partials} partials) in ${big.setDir}/ ` +
        `(100 folders), ${(big.bytes / 2 ** 20).toFixed(1)} MiB; a dependency on \`core@1.0.0\`; generated and committed in ` +
        `${(generateMs / 1000).toFixed(1)} s; built from a packed bare mirror. \`${tag}\` changes one prompt (${CHANGED_PROMPT}) of ` +
        `\`${big.tag}\`. Bundle: ${(canonicalJson(changed.bundle).length / 2 ** 20).toFixed(1)} MiB; every build byte-identical to a ` +
        `cold, cache-less, single-thread build of its tag. Build cache after \`${big.tag}\`: ${afterPrevious.describe()}.`,
      '',
      '| path | median ms | ratio to floor |',
      '|---|---|---|',
      ...rows.map((r) => `| ${r.name} | ${ms(r.medianUs)} | ${r === floor ? '1 (floor)' : `${ratio(r).toFixed(2)}×`} |`),
      '',
      `- one-prompt change / floor (promise ≤ ${PROMISE}×): **${change.toFixed(2)}×** as the forge rebuilds (build cache kept in ` +
        `process, new git cache) — ${met(change)}; ${changeGit.toFixed(2)}× with the git cache kept too (${met(changeGit)}); ` +
        `${changeDisk.toFixed(2)}× from the disk cache alone (${met(changeDisk)}); ${changeFresh.toFixed(2)}× in a fresh process, ` +
        `\`buildRelease\` only (${met(changeFresh)}); 1 prompt file compiled each time`,
      ...(diskFloor === floor ? [] : [`- one-prompt change / extraction to disk: ${ratio(get(names.change), diskFloor).toFixed(2)}× (the disk is shared: this floor is the noisy one)`]),
      `- cold build / floor: **${ratio(get(names.cold)).toFixed(1)}×** on every core (${cores}; threads that compiled: ${[...new Set(threadsUsed)].join(', ')}), ` +
        `${ratio(get(names.coldOne)).toFixed(1)}× on one thread (every core is ${ratioOfMedians(get(names.coldOne), get(names.cold)).toFixed(2)}× faster), ` +
        `${ratio(coldChildBuild).toFixed(1)}× in a fresh process (\`buildRelease\` only)`,
      `- warm rebuild / floor: **${ratio(get(names.warm)).toFixed(2)}×**`,
      `- reading file contents: isomorphic-git / \`cat-file --batch\`: ${ratioOfMedians(get(names.isoGit), get(names.catFile)).toFixed(1)}× (cat-file is what builds use)`,
      `- peak memory (maxRSS) of a fresh process: cold build on every core ${mib(coldChild.rssKb)}; one-prompt change ${mib(changeChild.rssKb)}`,
    ];
    return lines.join('\n');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    if (shm !== undefined) rmSync(shm, { recursive: true, force: true });
    big.cleanup();
  }
}

function checkBuilt(result: BuildResult, prompts: number, files: number): void {
  const errors = result.problems.filter((p) => p.severity === 'error');
  if (!result.bundle || errors.length > 0) throw new Error(`the generated set does not build: ${JSON.stringify(errors.slice(0, 3))}`);
  if (Object.keys(result.bundle.prompts).length !== prompts) throw new Error('the bundle lacks prompts');
  if (result.compiled !== files) throw new Error(`a cold build compiled ${result.compiled} prompt files, not ${files}`);
}

function sameBytes(bundle: Bundle | undefined, integrity: string, what: string): void {
  if (bundle?.integrity !== integrity) throw new Error(`${what} gave other bytes (${bundle?.integrity}) than a cold single-thread build (${integrity})`);
}

/**
 * The cache folder as one build left it, to put back before each one-prompt rebuild: the files
 * a later build added are deleted and the ones it rewrote (the link to the set's latest build)
 * written back, while the files that stayed keep their inode — as on the forge, whose memory of
 * them stays valid (file-build-cache.ts).
 */
function snapshotFolder(dir: string): { restore(): void; describe(): string } {
  const saved = new Map(readdirSync(dir).map((name) => [name, readFileSync(path.join(dir, name))]));
  return {
    restore() {
      mkdirSync(dir, { recursive: true });
      for (const name of readdirSync(dir)) if (!saved.has(name)) unlinkSync(path.join(dir, name));
      for (const [name, bytes] of saved) {
        const file = path.join(dir, name);
        if (!existsSync(file) || !readFileSync(file).equals(bytes)) writeFileSync(file, bytes);
      }
    },
    describe() {
      const sizes = [...saved.keys()].map((name) => statSync(path.join(dir, name)).size);
      return `${saved.size} files, ${(sizes.reduce((a, b) => a + b, 0) / 2 ** 20).toFixed(1)} MiB`;
    },
  };
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
