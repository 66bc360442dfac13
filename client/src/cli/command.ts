import type { ParseArgsConfig } from 'node:util';
import type { LiveCliIO } from './cli-io.ts';

/** One `anvil-live <name>` command: its help text, its options, and what it does. */
export interface LiveCommand {
  name: string;
  summary: string;
  usage: string;
  /** Extra lines for `--help`: options and examples. */
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(args: { values: Record<string, unknown>; positionals: string[] }, io: LiveCliIO): Promise<number>;
}

/** `--config <file>`, shared by every command. */
export const CONFIG_OPTION = { config: { type: 'string' } } as const;
export const CONFIG_HELP = '  --config <file>   the app\'s Anvil config (default: ./anvil-live.json)';
