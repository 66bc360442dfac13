/**
 * What Anvil's two command-line programs share — `anvil` (the forge and authoring CLI, in
 * @anvil/server) and `anvil-live` (this package): commands with `--help`, `--json` errors,
 * colour only on a TTY, and the exit codes STYLE.md asks for — 0 done, 1 the user's mistake
 * (one clear line, no stack), 2 a bug. Exported as `@anvil/client/cli-frame` for the server;
 * node built-ins only, so it adds nothing to an app's dependencies.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AnvilError, isAnvilError } from '@anvil/content-schema/errors';

export const EXIT_OK = 0;
export const EXIT_USER_ERROR = 1;
export const EXIT_BUG = 2;

/** Where a program writes; each program's IO adds what its commands need. */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
  /** True when stdout is a terminal: colour and progress are for people, not pipes. */
  readonly tty: boolean;
}

/** One `<program> <name>` command: its help text, its options, and what it does. */
export interface CliCommand<IO extends CliOutput> {
  name: string;
  usage: string;
  /** Extra lines for `--help`: options and examples. */
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(args: { values: Record<string, unknown>; positionals: string[] }, io: IO): Promise<number>;
}

/**
 * A command as the program's main help lists it. The command itself is loaded only when it
 * runs: `<program> --help` must not pay for loading every command's dependencies (DESIGN.md
 * §11, start-up).
 */
export interface CommandEntry<IO extends CliOutput> {
  name: string;
  summary: string;
  load(): Promise<CliCommand<IO>>;
}

/** A program: its name (the prefix of every error line), its commands and its main help. */
export interface CliProgram<IO extends CliOutput> {
  name: string;
  commands: readonly CommandEntry<IO>[];
  help(): string;
}

export function colour(io: CliOutput, code: number, text: string): string {
  return io.tty ? `\u001b[${code}m${text}\u001b[0m` : text;
}

/** Maps anything thrown to an exit code and a message; only bugs get a stack. */
export function reportFailure(program: string, io: CliOutput, err: unknown, json: boolean): number {
  if (isAnvilError(err)) {
    if (json) io.out(JSON.stringify({ ok: false, error: err.toJSON() }));
    else io.err(`${program}: ${err.format()}`);
    return EXIT_USER_ERROR;
  }
  io.err(`${program}: internal error — this is a bug, please report it with the output below.\n${(err as Error)?.stack ?? String(err)}`);
  return EXIT_BUG;
}

/** Runs `<program> <command> [options]`: help, the command's arguments, its exit code. */
export async function runCommandLine<IO extends CliOutput>(program: CliProgram<IO>, argv: string[], io: IO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(program.help());
    return name ? EXIT_OK : EXIT_USER_ERROR;
  }
  const entry = program.commands.find((c) => c.name === name);
  const json = rest.includes('--json');
  if (!entry) {
    return reportFailure(program.name, io, new AnvilError('cli.unknown-command', `unknown command "${name}"`, {
      hint: `commands: ${program.commands.map((c) => c.name).join(', ')}`,
    }), json);
  }
  try {
    const command = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(`${entry.summary}\n\nUsage: ${command.usage}\n\n${command.help}`);
      return EXIT_OK;
    }
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
    } catch (err) {
      throw new AnvilError('cli.bad-arguments', (err as Error).message, { hint: `usage: ${command.usage}` });
    }
    return await command.run({ values: parsed.values as Record<string, unknown>, positionals: parsed.positionals }, io);
  } catch (err) {
    return reportFailure(program.name, io, err, json);
  }
}

/** The commands' names and summaries, aligned, for a program's main help. */
export function commandList(commands: readonly { name: string; summary: string }[]): string[] {
  const width = Math.max(...commands.map((c) => c.name.length));
  return commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
}

/**
 * Runs a program as a process (its bin/ script): arguments from argv, the exit code to
 * process.exitCode. `<program> … | head`: the reader left; that is not an error worth a stack trace.
 */
export async function runAsProcess(run: (argv: string[]) => Promise<number>): Promise<void> {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.exitCode = await run(process.argv.slice(2));
}
