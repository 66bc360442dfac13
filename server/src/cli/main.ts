/**
 * `anvil`: the authoring CLI. `anvil <command> --help` describes each command.
 * Exit codes: 0 done, 1 a user error (one clear line, no stack trace), 2 a bug.
 */
import { parseArgs } from 'node:util';
import { AnvilError } from '@anvil/content-schema';
import { EXIT_OK, EXIT_USER_ERROR, processIO, reportFailure, type CliIO } from './cli-io.ts';
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
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'anvil — prompts as packages, with git as the database',
    '',
    'Usage: anvil <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `anvil <command> --help` for a command\'s options. Exit codes: 0 ok, 1 user error, 2 bug.',
  ].join('\n');
}

export async function runCli(argv: string[], io: CliIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(mainHelp());
    return name ? EXIT_OK : EXIT_USER_ERROR;
  }
  const command = COMMANDS.find((c) => c.name === name);
  const json = rest.includes('--json');
  if (!command) {
    return reportFailure(io, new AnvilError('cli.unknown-command', `unknown command "${name}"`, {
      hint: `commands: ${COMMANDS.map((c) => c.name).join(', ')}`,
    }), json);
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`${command.summary}\n\nUsage: ${command.usage}\n\n${command.help}`);
    return EXIT_OK;
  }
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
    } catch (err) {
      throw new AnvilError('cli.bad-arguments', (err as Error).message, { hint: `usage: ${command.usage}` });
    }
    return await command.run({ values: parsed.values as Record<string, unknown>, positionals: parsed.positionals }, io);
  } catch (err) {
    return reportFailure(io, err, json);
  }
}

// Run when executed directly (bin/anvil.js), not when imported by tests.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  // `anvil versions | head`: the reader left; that is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.exitCode = await runCli(process.argv.slice(2));
}
