/**
 * Where the `anvil` commands write, and what they share with `anvil-live`
 * (`@anvil/client/cli-frame`: `--json` errors, colour only on a TTY, the exit codes).
 */
import type { CliOutput } from '@anvil/client/cli-frame';

export { EXIT_BUG, EXIT_OK, EXIT_USER_ERROR, colour } from '@anvil/client/cli-frame';

export interface CliIO extends CliOutput {
  readonly cwd: string;
}

export const processIO: CliIO = {
  out: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  tty: Boolean(process.stdout.isTTY) && !process.env['NO_COLOR'],
  cwd: process.cwd(),
};
