import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { AnvilError } from '@anvil/content-schema';
import { createClient } from '../../client.ts';
import { clientOptionsFromConfig, liveConfigPath, loadLiveConfig } from '../../config/live-config.ts';
import { clientPromptSource } from '../../mcp/client-source.ts';
import { createMcpPromptServer, loadMcpSdk, sdkMissing } from '../../mcp/mcp-server.ts';
import { EXIT_OK } from '../cli-io.ts';
import { CONFIG_HELP, CONFIG_OPTION, type LiveCommand } from '../command.ts';

const USAGE = 'anvil-live mcp [--token <token>] [--poll <seconds>] [--listen [<host>:]<port>] [--config <file>]';

export const mcpCommand: LiveCommand = {
  name: 'mcp',
  usage: USAGE,
  help: [
    'Options:',
    '  --token <token>        the access token (default: the variable the config names, $ANVIL_TOKEN)',
    '  --poll <seconds>       pull the channel this often (default 300; 0: never)',
    '  --listen [host:]port   also take the forge\'s pushes on this port (transport "push"; default',
    '                         host 127.0.0.1); with transport "stream" updates arrive without it',
    CONFIG_HELP,
    '',
    'Serves the prompts of the app\'s cache as an MCP server on stdin/stdout (the MCP "stdio"',
    'transport), for an MCP host such as an IDE or a desktop assistant:',
    '',
    '  {"mcpServers": {"anvil": {"command": "npx", "args": ["anvil-live", "mcp"],',
    '                            "env": {"ANVIL_TOKEN": "…"}}}}',
    '',
    'Each prompt is named set/id (a variant set/id:variant); its arguments are its input schema\'s',
    'properties; prompts/get renders as anvil.prompt() does, with set, version, variant and',
    'integrity in _meta. It keeps syncing as a running app does, and tells the host',
    '(notifications/prompts/list_changed) when another version is applied. Needs the MCP SDK:',
    'npm install @modelcontextprotocol/sdk. Nothing but MCP is written to stdout.',
  ].join('\n'),
  options: { ...CONFIG_OPTION, token: { type: 'string' }, poll: { type: 'string' }, listen: { type: 'string' } },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new AnvilError('cli.bad-arguments', `unexpected argument "${positionals[0]}"`, { hint: `usage: ${USAGE}` });
    const pollMs = values['poll'] === undefined ? undefined : seconds(String(values['poll'])) * 1000;
    const listen = values['listen'] === undefined ? undefined : hostPort(String(values['listen']));
    // The SDK first: without it nothing else is worth starting.
    const sdk = await loadMcpSdk();
    const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js').catch((err: unknown) => {
      throw sdkMissing(err);
    });
    const loaded = await loadLiveConfig(liveConfigPath(io.cwd, values['config'] as string | undefined));
    const token = values['token'] as string | undefined;
    const client = await createClient(clientOptionsFromConfig(loaded, {
      ...(token === undefined ? {} : { token }),
      ...(pollMs === undefined ? {} : { pollMs }),
    }, io.env));
    try {
      if (loaded.config.transport === 'stream' && listen) {
        throw new AnvilError('cli.bad-arguments', 'this app streams (transport "stream" in its config): updates arrive without --listen', { hint: 'leave --listen out' });
      }
      if (listen) {
        const receiver = await client.listen(listen.port, listen.host);
        io.err(`anvil-live mcp: taking pushes at ${receiver.url}`);
      }
      // Errors while running (a pull that failed, a refused push) are the app's usual ones: told
      // on stderr, which MCP hosts keep as the server's log; stdout is the protocol's.
      client.on('error', (err) => io.err(`anvil-live mcp: ${(err as AnvilError).code ?? 'error'}  ${(err as Error).message}`));
      // Not awaited before the host is answered: a host waits for `initialize`, and an empty
      // cache with the forge away would hold it for `readyTimeoutMs`. Until prompts come the list
      // is empty; when they come, list_changed tells the host.
      void client.ready.then((ready) => {
        if (!ready) io.err(`anvil-live mcp: no prompts yet (the cache in ${loaded.cacheDir} is empty and the forge has not answered); listing none until they come`);
      });

      const source = clientPromptSource(client, loaded.cacheDir);
      const mcp = await createMcpPromptServer(source, {
        name: 'anvil-live',
        version: await ownVersion(),
        sdk,
        instructions: `Prompts of the Anvil project ${loaded.config.project} (channel ${loaded.config.channel}), named set/id.`,
      });
      let served = source.servedKey();
      client.on('update', () => {
        const now = source.servedKey();
        if (now === served) return;
        served = now;
        void mcp.promptsChanged().catch((err: unknown) => io.err(`anvil-live mcp: could not notify the host: ${(err as Error).message}`));
      });

      const transport = new StdioServerTransport();
      const closed = new Promise<void>((resolve) => {
        // The host ends the server by closing stdin (MCP stdio transport), or by a signal.
        process.stdin.once('end', resolve);
        process.stdin.once('close', resolve);
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
        transport.onclose = resolve;
      });
      await mcp.connect(transport);
      await closed;
      await mcp.close().catch(() => undefined);
    } finally {
      await client.close();
    }
    return EXIT_OK;
  },
};

function seconds(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) throw new AnvilError('cli.bad-arguments', `--poll must be a number of seconds, not "${text}"`, { hint: 'e.g. --poll 60 (0: never)' });
  return n;
}

function hostPort(text: string): { host: string; port: number } {
  const match = /^(?:(.+):)?(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new AnvilError('cli.bad-arguments', `--listen takes [host:]port, not "${text}"`, { hint: 'e.g. --listen 8787 or --listen 0.0.0.0:8787' });
  return { host: match[1] ?? '127.0.0.1', port };
}

/** This package's version, for `initialize`: the nearest package.json named @anvil/client (from src/ or dist/). */
async function ownVersion(): Promise<string> {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = await readFile(path.join(dir, 'package.json'), 'utf8').then((t) => JSON.parse(t) as { name?: string; version?: string }, () => undefined);
    if (pkg?.name === '@anvil/client' && typeof pkg.version === 'string') return pkg.version;
    dir = path.dirname(dir);
  }
  return '0.0.0';
}
