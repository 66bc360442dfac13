import type { ParseArgsConfig } from 'node:util';
import type { CliIO } from './cli-io.ts';

/** One `anvil <name>` command: its help text, its options, and what it does. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Extra lines for `--help`: options and examples. */
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(args: { values: Record<string, unknown>; positionals: string[] }, io: CliIO): Promise<number>;
}
