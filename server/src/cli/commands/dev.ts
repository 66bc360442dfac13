import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { AnvilError } from '@anvil/content-schema';
import { defaultDevDataDir, exposedToGit, LEGACY_DEV_DATA_DIR } from '../../dev/dev-data-dir.ts';
import { runDev } from '../../dev/run-dev.ts';
import { createLogger } from '../../forge/logger.ts';
import { colour, EXIT_OK } from '../cli-io.ts';
import type { Command } from '../command.ts';
import { findRepoRoot } from '../find-repo-root.ts';

export const devCommand: Command = {
  name: 'dev',
  usage: 'anvil dev [--repo <dir>] [--data-dir <dir>] [--project <name>] [--port <n>]',
  help: [
    'Options:',
    '  --repo <dir>        the prompt repository (default: the nearest folder with anvil.yaml or .git)',
    '  --data-dir <dir>    where the forge keeps its git repository, store, keys and tokens',
    '                      (default: <git dir>/anvil/dev, i.e. .git/anvil/dev; outside git, the',
    '                      user cache folder, e.g. ~/.cache/anvil/dev/<folder>-<hash>)',
    '  --project <name>    the project name receivers use (default: the repository folder\'s name)',
    '  --port <n>          the forge\'s port (default: any free port)',
    '',
    'The files are committed into a git repository in the data dir (a git repository is cloned,',
    'a plain folder copied and each set released once), and every save is committed and synced',
    'at once: live sets publish a head build to the development channel. Point local receivers',
    '(anvil-live connect, or createClient) at the printed forge URL with the printed token and',
    'channel "development". Ctrl-C stops; the next run carries on from the data dir.',
    '',
    'Branch: the working tree is committed to, and head builds come from, the repository\'s',
    'default branch: anvil.yaml\'s defaultBranch, else the branch origin\'s HEAD names, else the',
    'branch checked out, else main. Edits made on a feature branch are published as if merged.',
    '',
    'The data dir holds secrets (signing key, admin and project tokens). The default is inside',
    'the git folder, which `git add -A` never picks up; a --data-dir inside the working tree must',
    'be in .gitignore. A .anvil-dev/ folder left by older versions is no longer used: delete it.',
  ].join('\n'),
  options: { repo: { type: 'string' }, 'data-dir': { type: 'string' }, project: { type: 'string' }, port: { type: 'string' } },
  async run({ values }, io) {
    const source = typeof values['repo'] === 'string' ? path.resolve(io.cwd, values['repo']) : findRepoRoot(io.cwd);
    if (!existsSync(source) || !statSync(source).isDirectory()) {
      throw new AnvilError('repo.not-found', `${source} is not a folder`, { hint: 'pass --repo <dir> with the prompt repository' });
    }
    const dataDir = typeof values['data-dir'] === 'string' ? path.resolve(io.cwd, values['data-dir']) : await defaultDevDataDir(source);
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
    const lines = [
      `forge    ${dev.forge.url}`,
      `project  ${project}`,
      `token    ${dev.token}   (kept in ${path.join(dataDir, 'secrets')})`,
      'channel  development',
      `branch   ${dev.branch}   (head builds of live sets come from the working tree, committed to it)`,
      `data     ${dataDir}`,
      `watching ${source} — save a file of a live set to publish it`,
    ];
    const legacy = path.join(source, LEGACY_DEV_DATA_DIR);
    if (path.resolve(dataDir) !== legacy && existsSync(legacy)) {
      // Earlier versions kept their state there, in the working tree: it holds a signing key and tokens.
      lines.push('', colour(io, 33, `note: ${legacy} is left from an older anvil dev and is no longer used; it holds secrets: delete it (and keep .anvil-dev/ in .gitignore)`));
    }
    if (typeof values['data-dir'] === 'string' && (await exposedToGit(source, dataDir))) {
      lines.push('', colour(io, 33, `note: ${dataDir} holds secrets and is in the working tree, not ignored by git: add it to .gitignore, or drop --data-dir (the default is in the git folder)`));
    }
    io.out(lines.join('\n'));
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await dev.close();
    return EXIT_OK;
  },
};
