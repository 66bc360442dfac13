/** Temporary folders and file listings shared by the import/export tests. */
import { mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { anvil } from '../cli/cli-support.ts';

const temps: string[] = [];

export async function tempDir(prefix = 'anvil-transfer-'): Promise<string> {
  const dir = await realpath(await mkdtemp(path.join(os.tmpdir(), prefix)));
  temps.push(dir);
  return dir;
}

export async function cleanupTemps(): Promise<void> {
  await Promise.all(temps.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** A prompt repository made by `anvil init`, as a user would start one. */
export async function freshRepository(name = '@beta'): Promise<string> {
  const parent = await tempDir();
  const run = await anvil(parent, 'init', 'target', '--name', name);
  expect(run.code, run.stderr).to.equal(0);
  return path.join(parent, 'target');
}

/** Every file below `dir` (outside .git) with its text: what "nothing was written" compares. */
export async function filesIn(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile()) continue;
    const rel = path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/');
    if (rel === '.git' || rel.startsWith('.git/')) continue;
    out[rel] = await readFile(path.join(dir, rel), 'utf8');
  }
  return out;
}
