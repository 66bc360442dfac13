/**
 * What every `anvil-live` command shares, after the server's `anvil` CLI: where output goes,
 * colour only on a TTY, the environment (for the token), questions only when a person is at a
 * terminal, and the exit codes — 0 done, 1 the user's mistake (one line, no stack), 2 a bug.
 */
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { isAnvilError } from '@anvil/content-schema';

export const EXIT_OK = 0;
export const EXIT_USER_ERROR = 1;
export const EXIT_BUG = 2;

/** Asks a person a question at the terminal; `secret` does not echo the answer. */
export type Ask = (question: string, options?: { secret?: boolean }) => Promise<string>;

export interface LiveCliIO {
  out(text: string): void;
  err(text: string): void;
  /** True when stdout is a terminal: colour and progress are for people, not pipes. */
  readonly tty: boolean;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Present only when stdin is a terminal; without it, every missing value is an error. */
  readonly ask?: Ask | undefined;
}

export const processIO: LiveCliIO = {
  out: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  tty: Boolean(process.stdout.isTTY) && !process.env['NO_COLOR'],
  cwd: process.cwd(),
  env: process.env,
  ask: process.stdin.isTTY ? askAtTerminal : undefined,
};

async function askAtTerminal(question: string, options: { secret?: boolean } = {}): Promise<string> {
  let muted = false;
  // readline echoes what is typed through its output stream: a secret is typed into a muted one.
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) process.stdout.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    const answer = rl.question(question);
    muted = options.secret === true;
    return (await answer).trim();
  } finally {
    if (muted) process.stdout.write('\n');
    rl.close();
  }
}

export function colour(io: LiveCliIO, code: number, text: string): string {
  return io.tty ? `\u001b[${code}m${text}\u001b[0m` : text;
}

/** Maps anything thrown to an exit code and a message; only bugs get a stack. */
export function reportFailure(io: LiveCliIO, err: unknown, json: boolean): number {
  if (isAnvilError(err)) {
    if (json) io.out(JSON.stringify({ ok: false, error: err.toJSON() }));
    else io.err(`anvil-live: ${err.format()}`);
    return EXIT_USER_ERROR;
  }
  io.err(`anvil-live: internal error — this is a bug, please report it with the output below.\n${(err as Error)?.stack ?? String(err)}`);
  return EXIT_BUG;
}
