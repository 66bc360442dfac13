import type { CliCommand } from '@anvil/client/cli-frame';
import type { CliIO } from './cli-io.ts';

/** One `anvil <name>` command. */
export type Command = CliCommand<CliIO>;
