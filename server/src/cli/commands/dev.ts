import path from 'node:path';
import { AnvilError } from '@anvil/content-schema';
import { runDev } from '../../dev/run-dev.ts';
import { createLogger } from '../../forge/logger.ts';
import { EXIT_OK } from '../cli-io.ts';
import type { Command } from '../command.ts';
import { findRepoRoot } from '../find-repo-root.ts';

export const devCommand: Command = {
  name: 'dev',
  usage: 'anvil dev [--repo <dir>] [--data-dir <dir>] [--project <name>] [--port <n>]',
  help: [
    'Options:',
    '  --repo <dir>        the prompt repository (default: the nearest folder with anvil.yaml or .git)',
    '  --data-dir <dir>    where the forge keeps its git repository, store and keys (default: <repo>/.anvil-dev)',
    '  --project <name>    the project name receivers use (default: the repository folder\'s name)',
    '  --port <n>          the forge\'s port (default: any free port)',
    '',
    'The files are committed into a git repository in the data dir (a git repository is cloned,',
    'a plain folder copied and each set released once), and every save is committed and synced',
    'at once: live sets publish a head build to the development channel. Point local receivers',
    '(anvil-live connect, or createClient) at the printed forge URL with the printed token and',
    'channel "development". Add the data dir to .gitignore. Ctrl-C stops.',
  ].join('\n'),
  options: { repo: { type: 'string' }, 'data-dir': { type: 'string' }, project: { type: 'string' }, port: { type: 'string' } },
  async run({ values }, io) {
    const source = typeof values['repo'] === 'string' ? path.resolve(io.cwd, values['repo']) : findRepoRoot(io.cwd);
    const dataDir = typeof values['data-dir'] === 'string' ? path.resolve(io.cwd, values['data-dir']) : path.join(source, '.anvil-dev');
    const project = (values['project'] as string | undefined) ?? (path.basename(source).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'dev');
    const port = values['port'] === undefined ? 0 : Number(values['port']);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new AnvilError('cli.bad-arguments', `--port ${String(values['port'])} is not a port`);
    const dev = await runDev({
      source, dataDir, project, port, logger: createLogger({ level: process.env['ANVIL_LOG_LEVEL'] ?? 'warn' }),
      onSync: (report, trigger) => {
        for (const d of report.decisions) {
          const published = d.published?.channels.filter((c) => c.outcome === 'published') ?? [];
          io.out(published.length > 0
            ? `${trigger}: ${d.set}@${d.published!.version} → ${published.map((c) => `${c.channel} (${c.deliveries})`).join(', ')}`
            : `${trigger}: ${d.set} not published — ${d.decision.reason}`);
        }
      },
    });
    io.out([
      `forge    ${dev.forge.url}`,
      `project  ${project}`,
      `token    ${dev.token}   (kept in ${path.join(dataDir, 'secrets')})`,
      'channel  development',
      `watching ${source} — save a file of a live set to publish it`,
    ].join('\n'));
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await dev.close();
    return EXIT_OK;
  },
};
