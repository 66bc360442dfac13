/**
 * Where the `anvil-live` commands write and read: output, colour only on a TTY, the environment
 * (for the token), and questions only when a person is at a terminal. What they share with the
 * server's `anvil` (commands, `--json` errors, exit codes) is in cli-frame.ts.
 */
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import type { CliOutput } from './cli-frame.ts';

export { EXIT_BUG, EXIT_OK, EXIT_USER_ERROR, colour } from './cli-frame.ts';

/** Asks a person a question at the terminal; `secret` does not echo the answer. */
export type Ask = (question: string, options?: { secret?: boolean }) => Promise<string>;

export interface LiveCliIO extends CliOutput {
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
