/**
 * `anvil-live`: connects an app's LIVE receiver to its forge and manages its cache.
 * `anvil-live <command> --help` describes each command.
 * Exit codes: 0 done, 1 a user error (one clear line, no stack trace), 2 a bug.
 */
import { parseArgs } from 'node:util';
import { AnvilError } from '@anvil/content-schema';
import { EXIT_OK, EXIT_USER_ERROR, processIO, reportFailure, type LiveCliIO } from './cli-io.ts';
import type { LiveCommand } from './command.ts';
import { connectCommand } from './commands/connect.ts';
import { installCommand } from './commands/install.ts';
import { modeCommand } from './commands/mode.ts';
import { statusCommand } from './commands/status.ts';
import { syncCommand } from './commands/sync.ts';

export const LIVE_COMMANDS: LiveCommand[] = [connectCommand, installCommand, syncCommand, modeCommand, statusCommand];

function mainHelp(): string {
  const width = Math.max(...LIVE_COMMANDS.map((c) => c.name.length));
  return [
    'anvil-live — connect an app to its Anvil forge and manage its prompt cache',
    '',
    'Usage: anvil-live <command> [options]',
    '',
    'Commands:',
    ...LIVE_COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'The app\'s config is anvil-live.json (--config <file> to choose); the access token is read',
    'from $ANVIL_TOKEN (or the variable the config names), never written.',
    'Run `anvil-live <command> --help` for a command\'s options. Exit codes: 0 ok, 1 user error, 2 bug.',
  ].join('\n');
}

export async function runLiveCli(argv: string[], io: LiveCliIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(mainHelp());
    return name ? EXIT_OK : EXIT_USER_ERROR;
  }
  const command = LIVE_COMMANDS.find((c) => c.name === name);
  const json = rest.includes('--json');
  if (!command) {
    return reportFailure(io, new AnvilError('cli.unknown-command', `unknown command "${name}"`, {
      hint: `commands: ${LIVE_COMMANDS.map((c) => c.name).join(', ')}`,
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

// Run when executed directly (bin/anvil-live.js), not when imported by tests.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.exitCode = await runLiveCli(process.argv.slice(2));
}
