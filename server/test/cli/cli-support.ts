import type { CliIO } from '../../src/cli/cli-io.ts';
import { runCli } from '../../src/cli/main.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `anvil …` in-process with captured output, as if in `cwd`. */
export async function anvil(cwd: string, ...argv: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    out: (t) => void (stdout += t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => void (stderr += t.endsWith('\n') ? t : `${t}\n`),
    tty: false,
    cwd,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}
