/**
 * Why the build promise (DESIGN.md §11 "build": a 10,000-prompt set built within 3× of
 * `git archive`) is out of reach here: the parsers the build cannot do without, timed alone over
 * the same 10,992 files, against the same floor in the same run. If parsing alone already costs
 * more than the 3× budget, no build that checks every template can meet it.
 *
 * - `Handlebars.parse` of every body: the mandated template parser (handlebars 4), which a
 *   build must run to reject bad templates (DESIGN.md §9: content from a PR is untrusted).
 * - the front matter through `yaml` (what Anvil uses, for positions and duplicate keys) and
 *   through gray-matter's js-yaml, the cheapest YAML parser in the stack.
 * Files are read into memory first; no candidate touches git or the disk.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import matter from 'gray-matter';
import Handlebars from 'handlebars';
import { parse as parseYaml } from 'yaml';
import { createBigSetRepo } from './lib/bigset.ts';
import { machine } from './lib/measure.ts';
import { measureRuns, type RunCandidate } from './lib/runs.ts';

const sh = promisify(execFile);
const PROMISE = 3;

export async function parseFloorBenchmark(): Promise<string> {
  const rounds = Number(process.env['ANVIL_BENCH_ROUNDS'] ?? 7);
  const big = await createBigSetRepo();
  const shm = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  try {
    const texts: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = path.join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (name.endsWith('.md')) texts.push(readFileSync(p, 'utf8'));
      }
    };
    walk(path.join(big.dir, big.setDir));
    const split = texts.map((t) => {
      const m = /^---\n([\s\S]*?)\n---\n?/.exec(t);
      return m ? { yaml: m[1]!, body: t.slice(m[0].length) } : { yaml: '', body: t };
    });
    let sink = 0;
    const candidates: RunCandidate[] = [
      {
        name: `floor: \`git archive ${big.tag} -- ${big.setDir} \\| tar -x\` into ${shm}`,
        run: async () => {
          const into = mkdtempSync(path.join(shm, 'anvil-parse-floor-'));
          const start = performance.now();
          await sh('sh', ['-c', `git -C '${big.mirror}' archive '${big.tag}' -- '${big.setDir}' | tar -x -C '${into}'`]);
          const ms = performance.now() - start;
          rmSync(into, { recursive: true, force: true });
          return ms;
        },
      },
      { name: `Handlebars.parse of ${split.length} bodies`, run: async () => { for (const f of split) sink += Handlebars.parse(f.body).body.length; } },
      { name: `yaml.parse of ${split.length} front matters (what Anvil uses)`, run: async () => { for (const f of split) sink += parseYaml(f.yaml) ? 1 : 0; } },
      { name: `gray-matter (js-yaml) of ${texts.length} files`, run: async () => { for (const t of texts) sink += Object.keys(matter(t, { language: 'yaml' } as never).data).length; } },
    ];
    const results = await measureRuns(candidates, { rounds });
    if (sink === -1) console.log(sink);
    const floor = results[0]!;
    const ms = (r: { medianUs: number }) => r.medianUs / 1000;
    const budget = PROMISE * ms(floor);
    const hb = ms(results[1]!);
    return [
      '### Parsing alone vs the build budget (`npm run bench parse`)',
      '',
      `Machine: ${machine()}; ${rounds} interleaved rounds; ${split.length} files, ${(texts.reduce((n, t) => n + t.length, 0) / 1024 / 1024).toFixed(1)} MiB.`,
      '',
      '| path | median ms | × floor |',
      '|---|---|---|',
      ...results.map((r) => `| ${r.name} | ${ms(r).toFixed(0)} | ${(ms(r) / ms(floor)).toFixed(2)}× |`),
      '',
      `- Budget for a whole cold build (3× the floor): ${budget.toFixed(0)} ms. \`Handlebars.parse\` alone takes ${hb.toFixed(0)} ms on one core ` +
        `(${(hb / ms(floor)).toFixed(1)}× the floor); split perfectly over this machine's ${os.cpus().length} cores it would still be ${(hb / os.cpus().length).toFixed(0)} ms, ` +
        `before reading git, parsing front matter, converting schemas, hashing and writing the bundle.`,
    ].join('\n');
  } finally {
    big.cleanup();
  }
}
