import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Ask, LiveCliIO } from '../../src/cli/cli-io.ts';
import { runLiveCli } from '../../src/cli/main.ts';
import { startFakeForge, type FakeForge } from '../support/fake-forge.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `anvil-live …` in-process with captured output, as if in `cwd`; no terminal unless
 * `ask` is given (it then plays the person answering).
 */
export async function anvilLive(cwd: string, argv: string[], options: { env?: Record<string, string>; ask?: Ask } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: LiveCliIO = {
    out: (t) => void (stdout += t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => void (stderr += t.endsWith('\n') ? t : `${t}\n`),
    tty: false,
    cwd,
    env: options.env ?? {},
    ask: options.ask,
  };
  const code = await runLiveCli(argv, io);
  return { code, stdout, stderr };
}

/** A fake forge and an empty app folder, removed after each test. */
export function useForgeAndApp(): { forge: FakeForge; app: string; env: Record<string, string> } {
  const context = {} as { forge: FakeForge; app: string; env: Record<string, string> };
  beforeEach(async function () {
    context.forge = await startFakeForge();
    context.app = await mkdtemp(path.join(os.tmpdir(), 'anvil-live-cli-'));
    context.env = { ANVIL_TOKEN: context.forge.token };
  });
  afterEach(async function () {
    await context.forge.close();
    await rm(context.app, { recursive: true, force: true });
  });
  return context;
}

/** `anvil-live connect` with every flag, for sets `sets` (`name@range`). */
export function connectArgs(forge: FakeForge, ...sets: string[]): string[] {
  return ['connect', '--forge', forge.url, '--project', 'acme', '--token', forge.token, '--channel', 'production', '--mode', 'accepting', '--cache-dir', '.anvil-cache', ...sets.flatMap((s) => ['--set', s])];
}

export async function readJson<T = Record<string, unknown>>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}
