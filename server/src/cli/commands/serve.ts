import path from 'node:path';
import { AnvilError, FORGE_CONFIG_FILE } from '@anvil/content-schema';
import { readForgeConfig } from '../../forge/forge-config.ts';
import { startForge } from '../../forge/start-forge.ts';
import { describeStoreLocation, storeLocation } from '../../store/store-location.ts';
import { formatProblem } from '../../lint/problem.ts';
import { EXIT_OK } from '../cli-io.ts';
import type { Command } from '../command.ts';

export const serveCommand: Command = {
  name: 'serve',
  usage: 'anvil serve [--config anvil-forge.yaml] [--poll <seconds>]',
  help: [
    'Options:',
    `  --config <file>    the forge configuration (default: ./${FORGE_CONFIG_FILE})`,
    '  --poll <seconds>   also fetch every project this often, in case a webhook is lost',
    '',
    'Environment: PORT, ANVIL_DATA_DIR, ANVIL_PUBLIC_URL override the file; secrets come only',
    'from the environment: each project\'s webhook secret (default ANVIL_WEBHOOK_SECRET) and',
    'the admin token (ANVIL_ADMIN_TOKEN). ANVIL_LOG_LEVEL sets the log level (default info).',
    '',
    'The configuration is checked before anything starts, and every problem is named. The',
    'store (<dataDir>/forge.db) is migrated on start; a store newer than this forge is refused.',
    'Logs are JSON lines on stdout. Stop with Ctrl-C (SIGINT) or SIGTERM.',
  ].join('\n'),
  options: { config: { type: 'string' }, poll: { type: 'string' } },
  async run({ values }, io) {
    const file = path.resolve(io.cwd, (values['config'] as string | undefined) ?? FORGE_CONFIG_FILE);
    const read = readForgeConfig(file);
    for (const p of read.problems) io.err(formatProblem(p));
    if (!read.config) {
      const errors = read.problems.filter((p) => p.severity === 'error').length;
      throw new AnvilError('forge-config.invalid', `${errors} problem${errors === 1 ? '' : 's'} in the forge configuration; nothing was started`, { file });
    }
    const poll = values['poll'] === undefined ? 0 : Number(values['poll']);
    if (!Number.isFinite(poll) || poll < 0) throw new AnvilError('cli.bad-arguments', `--poll ${String(values['poll'])} is not a number of seconds`);
    const forge = await startForge(read.config, { pollSeconds: poll });
    const store = describeStoreLocation(storeLocation(read.config.dataDir, read.config.database));
    io.err(`anvil forge "${read.config.name}" listening on ${forge.url} (data: ${read.config.dataDir}; store: ${store}; projects: ${read.config.projects.map((p) => p.name).join(', ')})`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    io.err('stopping: finishing pushes in flight…');
    await forge.close();
    return EXIT_OK;
  },
};
