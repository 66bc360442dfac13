/**
 * What every command shares: where output goes, `--json`, colour only on a TTY, and the exit
 * codes STYLE.md asks for — 0 done, 1 the user's mistake (one clear line, no stack), 2 a bug.
 */
import { isAnvilError } from '@anvil/content-schema';

export const EXIT_OK = 0;
export const EXIT_USER_ERROR = 1;
export const EXIT_BUG = 2;

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** True when stdout is a terminal: colour and progress are for people, not pipes. */
  readonly tty: boolean;
  readonly cwd: string;
}

export const processIO: CliIO = {
  out: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  tty: Boolean(process.stdout.isTTY) && !process.env['NO_COLOR'],
  cwd: process.cwd(),
};

export function colour(io: CliIO, code: number, text: string): string {
  return io.tty ? `\u001b[${code}m${text}\u001b[0m` : text;
}

/** Maps anything thrown to an exit code and a message; only bugs get a stack. */
export function reportFailure(io: CliIO, err: unknown, json: boolean): number {
  if (isAnvilError(err)) {
    if (json) io.out(JSON.stringify({ ok: false, error: err.toJSON() }));
    else io.err(`anvil: ${err.format()}`);
    return EXIT_USER_ERROR;
  }
  io.err(`anvil: internal error — this is a bug, please report it with the output below.\n${(err as Error)?.stack ?? String(err)}`);
  return EXIT_BUG;
}
