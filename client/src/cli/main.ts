/**
 * `anvil-live`: connects an app's LIVE receiver to its forge and manages its cache.
 * `anvil-live <command> --help` describes each command.
 * Exit codes: 0 done, 1 a user error (one clear line, no stack trace), 2 a bug.
 */
import { commandList, runCommandLine, type CommandEntry } from './cli-frame.ts';
import { processIO, type LiveCliIO } from './cli-io.ts';

/** Each command is loaded when it runs, so that `anvil-live --help` loads none of them. */
export const LIVE_COMMANDS: readonly CommandEntry<LiveCliIO>[] = [
  { name: 'connect', summary: 'connect this app to a forge: pin its key, check the token, write anvil-live.json', load: async () => (await import('./commands/connect.ts')).connectCommand },
  { name: 'install', summary: 'resolve the config\'s ranges into anvil.lock.json and put those bundles into the cache', load: async () => (await import('./commands/install.ts')).installCommand },
  { name: 'sync', summary: 'pull the channel\'s current envelope into the cache now (works in frozen mode too)', load: async () => (await import('./commands/sync.ts')).syncCommand },
  { name: 'mode', summary: 'show or set the reception mode kept in the cache: accepting or frozen', load: async () => (await import('./commands/mode.ts')).modeCommand },
  { name: 'status', summary: 'show what the cache serves: mode, channel, forge, and each set\'s version and rollout', load: async () => (await import('./commands/status.ts')).statusCommand },
  { name: 'mcp', summary: 'serve the cache\'s prompts to an MCP host (stdio): prompts/list, prompts/get, list_changed', load: async () => (await import('./commands/mcp.ts')).mcpCommand },
  { name: 'check', summary: 'compare the app\'s generated prompt types with the versions its lock file (or --channel) serves', load: async () => (await import('./commands/check.ts')).checkCommand },
];

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
