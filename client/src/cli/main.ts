/**
 * `anvil-live`: connects an app's LIVE receiver to its forge and manages its cache.
 * `anvil-live <command> --help` describes each command.
 * Exit codes: 0 done, 1 a user error (one clear line, no stack trace), 2 a bug.
 */
import { commandList, runCommandLine, runIfMain } from './cli-frame.ts';
import { processIO, type LiveCliIO } from './cli-io.ts';
import type { LiveCommand } from './command.ts';
import { connectCommand } from './commands/connect.ts';
import { installCommand } from './commands/install.ts';
import { modeCommand } from './commands/mode.ts';
import { statusCommand } from './commands/status.ts';
import { syncCommand } from './commands/sync.ts';

export const LIVE_COMMANDS: LiveCommand[] = [connectCommand, installCommand, syncCommand, modeCommand, statusCommand];

function mainHelp(): string {
  return [
    'anvil-live — connect an app to its Anvil forge and manage its prompt cache',
    '',
    'Usage: anvil-live <command> [options]',
    '',
    'Commands:',
    ...commandList(LIVE_COMMANDS),
    '',
    'The app\'s config is anvil-live.json (--config <file> to choose); the access token is read',
    'from $ANVIL_TOKEN (or the variable the config names), never written.',
    'Run `anvil-live <command> --help` for a command\'s options. Exit codes: 0 ok, 1 user error, 2 bug.',
  ].join('\n');
}

export async function runLiveCli(argv: string[], io: LiveCliIO = processIO): Promise<number> {
  return runCommandLine({ name: 'anvil-live', commands: LIVE_COMMANDS, help: mainHelp }, argv, io);
}

// Run when executed directly (bin/anvil-live.js), not when imported by tests.
await runIfMain(import.meta.url, (argv) => runLiveCli(argv));
