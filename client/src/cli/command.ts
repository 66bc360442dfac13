import type { CliCommand } from './cli-frame.ts';
import type { LiveCliIO } from './cli-io.ts';

/** One `anvil-live <name>` command. */
export type LiveCommand = CliCommand<LiveCliIO>;

/** `--config <file>`, shared by every command. */
export const CONFIG_OPTION = { config: { type: 'string' } } as const;
export const CONFIG_HELP = '  --config <file>   the app\'s Anvil config (default: ./anvil-live.json)';
