/**
 * `anvil`: the authoring CLI. `anvil <command> --help` describes each command.
 * Exit codes: 0 done, 1 a user error (one clear line, no stack trace), 2 a bug.
 */
import { commandList, runCommandLine, runIfMain } from '@anvil/client/cli-frame';
import { processIO, type CliIO } from './cli-io.ts';
import type { Command } from './command.ts';
import { auditCommand } from './commands/audit.ts';
import { buildCommand } from './commands/build.ts';
import { diffCommand } from './commands/diff.ts';
import { hookCommand } from './commands/hook.ts';
import { initCommand } from './commands/init.ts';
import { lintCommand } from './commands/lint.ts';
import { newCommand } from './commands/new.ts';
import { receiversCommand } from './commands/receivers.ts';
import { releaseCommand, rollbackCommand } from './commands/release.ts';
import { renderCommand } from './commands/render.ts';
import { serveCommand } from './commands/serve.ts';
import { devCommand } from './commands/dev.ts';
import { keysCommand } from './commands/keys.ts';
import { publishCommand } from './commands/publish.ts';
import { tokenCommand } from './commands/token.ts';
import { typesCommand } from './commands/types.ts';
import { versionsCommand } from './commands/versions.ts';

export const COMMANDS: Command[] = [initCommand, newCommand, lintCommand, renderCommand, diffCommand, buildCommand, versionsCommand, releaseCommand, rollbackCommand, typesCommand, serveCommand, devCommand, publishCommand, keysCommand, tokenCommand, receiversCommand, auditCommand, hookCommand];

function mainHelp(): string {
  return [
    'anvil — prompts as packages, with git as the database',
    '',
    'Usage: anvil <command> [options]',
    '',
    'Commands:',
    ...commandList(COMMANDS),
    '',
    'Run `anvil <command> --help` for a command\'s options. Exit codes: 0 ok, 1 user error, 2 bug.',
  ].join('\n');
}

export async function runCli(argv: string[], io: CliIO = processIO): Promise<number> {
  return runCommandLine({ name: 'anvil', commands: COMMANDS, help: mainHelp }, argv, io);
}

// Run when executed directly (bin/anvil.js), not when imported by tests.
await runIfMain(import.meta.url, (argv) => runCli(argv));
