/**
 * A big, realistic prompt repository for the build benchmark (DESIGN.md §11 "build"): one set
 * `bigset` of 10,000 prompts in 100 nested folders, ~10% of them with a variant, 20 partials,
 * and a dependency on a small `core` set, committed and released as `core@1.0.0` and
 * `bigset@1.0.0` (annotated tags whose messages record the dependency pins, as `anvil release`
 * writes them). A seeded PRNG and fixed git identities and dates make the repository — commit,
 * tree and tag ids included — the same on every run and every machine.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatReleaseMessage } from '../../server/src/release/release-record.ts';

export interface BigSetOptions {
  /** Top-level folders; each holds `topics` folders of `promptsPerFolder` prompts. */
  areas?: number;
  topics?: number;
  promptsPerFolder?: number;
  seed?: number;
}

export interface BigSetRepo {
  /** The repository (a normal clone with a working tree). */
  dir: string;
  /** The folder holding the repository, its mirror and the git config they use. */
  root: string;
  /** A bare mirror of it, packed as the forge's `git fetch` leaves it (DESIGN.md §10). */
  mirror: string;
  tag: string;
  /** The set's folder inside the repository. */
  setDir: string;
  prompts: number;
  variants: number;
  partials: number;
  /** Bytes of all the set's files. */
  bytes: number;
  cleanup(): void;
}

const SET = 'bigset';
const TAG = `${SET}@1.0.0`;
const PARTIALS = 20;
const BASE_TIME = Date.parse('2026-11-01T09:00:00Z') / 1000;

/** mulberry32: tiny, fast, and the same sequence everywhere for one seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ('the customer account order invoice shipment refund policy team product release update ' +
  'request answer summary context detail example reply message tone language support billing plan ' +
  'feature issue report draft review note owner region market partner contract renewal schedule')
  .split(' ');
const FIELDS = ['name', 'company', 'question', 'topic', 'product', 'region', 'plan', 'orderId', 'language', 'audience', 'goal', 'deadline'];

export async function createBigSetRepo(options: BigSetOptions = {}): Promise<BigSetRepo> {
  const areas = options.areas ?? 10;
  const topics = options.topics ?? 10;
  const perFolder = options.promptsPerFolder ?? 100;
  const random = prng(options.seed ?? 20261121);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const sentence = (min: number, max: number): string => {
    const n = min + Math.floor(random() * (max - min + 1));
    const words = Array.from({ length: n }, () => pick(WORDS));
    return `${words.join(' ').replace(/^./, (c) => c.toUpperCase())}.`;
  };

  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'anvil-bigset-')));
  const dir = path.join(root, 'repo');
  const setDir = `prompts/${SET}`;
  const files = new Map<string, string>();
  files.set('anvil.yaml', 'name: "@bench"\n');
  files.set('prompts/core/set.yaml', 'description: Shared partials.\nmode: locked\n');
  files.set('prompts/core/_signature.md', '— The {{company}} team');
  files.set('prompts/core/_disclaimer.md', 'This answer was drafted with help from an assistant; check anything that matters.');
  files.set(`${setDir}/set.yaml`, 'description: A large generated set for the build benchmark.\nmode: locked\ndependencies:\n  core: ^1.0.0\n');

  const partialNames: string[] = [];
  for (let i = 0; i < PARTIALS; i++) {
    const name = i < PARTIALS / 2 ? `p${pad(i, 2)}` : `common/block${pad(i, 2)}`;
    const file = i < PARTIALS / 2 ? `_p${pad(i, 2)}.md` : `common/_block${pad(i, 2)}.md`;
    partialNames.push(name);
    files.set(`${setDir}/${file}`, `${sentence(8, 30)} {{#if company}}({{company}}){{/if}}\n${sentence(5, 20)}\n`);
  }

  let prompts = 0;
  let variants = 0;
  for (let a = 0; a < areas; a++) {
    for (let t = 0; t < topics; t++) {
      for (let p = 0; p < perFolder; p++) {
        const rel = `area${pad(a, 2)}/topic${pad(t, 2)}/prompt_${pad(p, 3)}`;
        // Sizes spread log-uniformly from ~200 B to ~3 KB, as real prompts are mostly short.
        const target = Math.round(200 * Math.exp(random() * Math.log(15)));
        const fields = FIELDS.slice(0, 1 + Math.floor(random() * 5));
        files.set(`${setDir}/${rel}.md`, promptFile(fields, target, { random, pick, sentence, partials: partialNames }));
        prompts++;
        const r = random();
        if (r < 0.06) {
          files.set(`${setDir}/${rel}.fr.md`, variantFile(fields, 'locale: fr', Math.round(target * 0.8), sentence));
          variants++;
        } else if (r < 0.1) {
          files.set(`${setDir}/${rel}.formal.md`, variantFile(fields, 'tone: formal', Math.round(target * 0.8), sentence));
          variants++;
        }
      }
    }
  }

  let bytes = 0;
  for (const [file, text] of files) {
    const target = path.join(dir, ...file.split('/'));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text);
    if (file.startsWith(`${setDir}/`)) bytes += Buffer.byteLength(text);
  }

  const env = gitEnv(root);
  const git = (cwd: string, args: string[], date?: number) => run(cwd, args, date === undefined ? env : { ...env, ...dated(date) });
  await git(dir, ['init', '--quiet', '--initial-branch=main']);
  for (const [key, value] of [['commit.gpgSign', 'false'], ['tag.gpgSign', 'false'], ['core.autocrlf', 'false'], ['gc.auto', '0'], ['maintenance.auto', 'false']]) {
    await git(dir, ['config', key!, value!]);
  }
  await git(dir, ['add', '--all']);
  await git(dir, ['commit', '--quiet', '--no-verify', '-m', `Add ${prompts} generated prompts`], BASE_TIME);
  await git(dir, ['tag', '--annotate', '--message', formatReleaseMessage({ set: 'core', version: '1.0.0', dependencies: {} }), 'core@1.0.0'], BASE_TIME + 60);
  await git(dir, ['tag', '--annotate', '--message', formatReleaseMessage({ set: SET, version: '1.0.0', dependencies: { core: '1.0.0' } }), TAG], BASE_TIME + 120);
  const mirror = path.join(root, 'mirror.git');
  await git(root, ['clone', '--quiet', '--mirror', '--no-local', dir, mirror]);

  return {
    dir, root, mirror, tag: TAG, setDir, prompts, variants, partials: PARTIALS, bytes,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** The prompt file that releaseOnePromptChange edits, inside the set's folder. */
export const CHANGED_PROMPT = 'area05/topic05/prompt_050.md';

/**
 * A one-prompt change (DESIGN.md §11 "build"): one more line at the end of one prompt, committed
 * and released as `bigset@1.0.1` (still pinned to `core@1.0.0`), then fetched into the mirror as
 * the forge fetches (a new small pack beside the old one). Dates and identities are fixed, so
 * the commit and tag ids are the same on every run.
 */
export async function releaseOnePromptChange(big: BigSetRepo): Promise<{ tag: string; file: string }> {
  const file = `${big.setDir}/${CHANGED_PROMPT}`;
  const target = path.join(big.dir, ...file.split('/'));
  writeFileSync(target, `${readFileSync(target, 'utf8')}Answer in at most three sentences.\n`);
  const env = gitEnv(big.root);
  const git = (cwd: string, args: string[], date?: number) => run(cwd, args, date === undefined ? env : { ...env, ...dated(date) });
  const tag = `${SET}@1.0.1`;
  await git(big.dir, ['commit', '--quiet', '--no-verify', '-m', `Shorter answers in ${CHANGED_PROMPT}`, '--', file], BASE_TIME + 3600);
  await git(big.dir, ['tag', '--annotate', '--message', formatReleaseMessage({ set: SET, version: '1.0.1', dependencies: { core: '1.0.0' } }), tag], BASE_TIME + 3660);
  await git(big.mirror, ['fetch', '--quiet', 'origin']);
  return { tag, file };
}

interface Gen {
  random: () => number;
  pick: <T>(list: readonly T[]) => T;
  sentence: (min: number, max: number) => string;
  partials: string[];
}

function promptFile(fields: string[], target: number, gen: Gen): string {
  const { random, pick, sentence } = gen;
  const schema = fields.map((f, i) => {
    if (f === 'plan') return '    plan(enum): [free, pro, enterprise]';
    if (i === fields.length - 1 && fields.length > 2) return `    ${f}?: string, optional ${f}`;
    return `    ${f}: string`;
  });
  const withList = random() < 0.4;
  const withFlag = random() < 0.5;
  if (withList) schema.push('    items?(array, things to mention): string');
  if (withFlag) schema.push('    urgent?: boolean');
  const lines = ['---', `description: ${sentence(4, 12)}`];
  if (random() < 0.5) lines.push('model: googleai/gemini-2.5-flash', 'config:', `  temperature: ${(random()).toFixed(1)}`);
  lines.push('input:', '  schema:', ...schema);
  if (random() < 0.6) lines.push('  default:', `    ${fields[0]}: ${pick(WORDS)}`);
  if (random() < 0.2) lines.push(`bench.owner: team-${Math.floor(random() * 20)}`);
  lines.push('---');

  const body: string[] = [];
  if (random() < 0.3) body.push('{{role "system"}}', `You help ${fields.includes('company') ? '{{company}}' : 'the team'} with ${sentence(3, 8)}`, '{{role "user"}}');
  body.push(`${sentence(6, 18)} {{${fields[0]}}}.`);
  if (withFlag) body.push('{{#if urgent}}This is urgent: answer first, explain after.{{else}}Take the time to explain.{{/if}}');
  if (withList) body.push('{{#each items}}- {{this}}', '{{/each}}');
  if (random() < 0.25) body.push(`{{> ${pick(gen.partials)}}}`);
  if (random() < 0.1) body.push('{{> core/signature}}');
  let text = `${lines.join('\n')}\n${body.join('\n')}\n`;
  while (text.length < target) text += `${sentence(8, 24)} {{${pick(fields)}}} ${sentence(4, 12)}\n`;
  return text;
}

function variantFile(fields: string[], tag: string, target: number, sentence: (min: number, max: number) => string): string {
  let text = `---\ndescription: ${sentence(3, 8)}\ntags:\n  ${tag}\ninput:\n  schema:\n${fields.map((f) => `    ${f}: string`).join('\n')}\n---\n`;
  text += `${sentence(6, 14)} {{${fields[0]}}}.\n`;
  while (text.length < target) text += `${sentence(8, 24)}\n`;
  return text;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Only our settings: no user config, hooks, signing or GIT_* from a surrounding git hook. */
function gitEnv(root: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value;
  const globalConfig = path.join(root, 'empty.gitconfig');
  writeFileSync(globalConfig, '');
  return {
    ...env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: globalConfig,
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Anvil Bench',
    GIT_AUTHOR_EMAIL: 'bench@anvil.invalid',
    GIT_COMMITTER_NAME: 'Anvil Bench',
    GIT_COMMITTER_EMAIL: 'bench@anvil.invalid',
  };
}

function dated(seconds: number): NodeJS.ProcessEnv {
  return { GIT_AUTHOR_DATE: `${seconds} +0000`, GIT_COMMITTER_DATE: `${seconds} +0000` };
}

function run(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${args.join(' ')} failed in ${cwd}: ${stderr.trim() || err.message}`, { cause: err }));
      else resolve(stdout);
    });
  });
}
