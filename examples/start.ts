/**
 * `npm start`: the main job on embedded defaults. A forge on `examples/prompts` (turned into a
 * git repository in `.anvil-dev/` on first run, SQLite beside it), the example app with an
 * embedded receiver, and a watcher: save a file of a `live` set and the app shows it within a
 * second. Ctrl-C stops everything; the next start carries on from `.anvil-dev/`.
 *
 * `.anvil-dev/` is at the top of this clone (ignored by its .gitignore), not where `anvil dev`
 * puts a user's state (`.git/anvil/dev/`): examples/prompts is a folder of this repository, and
 * the README points at `.anvil-dev/` for a fresh start.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, runDev, type DevForge, type SyncReport } from '@anvil/server';
import { startExampleApp, type ExampleApp } from './app/example-app.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const EXAMPLE_SOURCE = path.join(here, 'prompts');
const PROJECT = 'acme';
const DATA_DIR = path.resolve(here, '..', '.anvil-dev');

export interface RunningExample {
  dev: DevForge;
  app: ExampleApp;
  close(): Promise<void>;
}

function describe(report: SyncReport, trigger: string): string[] {
  return report.decisions.map((d) => {
    const published = d.published?.channels.filter((c) => c.outcome === 'published') ?? [];
    if (published.length > 0) {
      const receivers = published.reduce((n, c) => n + c.deliveries, 0);
      return `  ${trigger}: ${d.set}@${d.published!.version} → ${published.map((c) => c.channel).join(', ')} (${receivers} receiver${receivers === 1 ? '' : 's'})`;
    }
    const why = d.problems.find((p) => p.severity === 'error');
    return `  ${trigger}: ${d.set} not published — ${d.decision.reason}${why ? ` (${why.file ?? ''}:${why.line ?? ''}:${why.column ?? ''} ${why.message})` : ''}`;
  });
}

export async function startExample(options: { dataDir?: string; source?: string; forgePort?: number; appPort?: number; quiet?: boolean } = {}): Promise<RunningExample> {
  const dataDir = options.dataDir ?? DATA_DIR;
  const say = options.quiet ? () => undefined : (line: string) => console.log(line);
  const dev = await runDev({
    source: options.source ?? EXAMPLE_SOURCE, dataDir, project: PROJECT, port: options.forgePort ?? 0,
    // The example app's receiver listens on 127.0.0.1: a forge pushes to loopback only when told.
    pushTargets: { allowPrivateNetworks: true },
    logger: createLogger({ level: process.env['ANVIL_LOG_LEVEL'] ?? 'warn' }),
    onSync: (report, trigger) => describe(report, trigger).forEach((l) => say(l)),
  });
  const app = await startExampleApp({
    forge: dev.forge.url, project: PROJECT, token: dev.token, cacheDir: path.join(dataDir, 'app-cache'), port: options.appPort ?? 0,
  });
  return {
    dev, app,
    async close() {
      await app.close();
      await dev.close();
    },
  };
}

/** What `npm start` prints once everything runs: where to look, what to edit, what to run. */
export function startBanner(running: RunningExample, cwd: string): string {
  const rel = (p: string) => path.relative(cwd, p) || '.';
  return [
    '',
    'Anvil is running on embedded defaults (SQLite, the example repository).',
    `  example app  ${running.app.url}   ← open this`,
    `  forge        ${running.dev.forge.url}   (/.well-known/anvil.json, /metrics, /healthz)`,
    `  data         ${rel(DATA_DIR)}/ (git repository, forge.db, keys)`,
    '',
    `Edit ${rel(path.join(EXAMPLE_SOURCE, 'prompts/support/answer.md'))} (a live set) and save:`,
    'the app shows the new text within a second.',
    'onboarding is a review set and core a locked one: saving them publishes nothing (see the',
    `audit log: \`npx anvil audit --data-dir ${rel(path.join(DATA_DIR, 'forge'))}\`); they change through releases.`,
    'Ctrl-C stops.',
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const port = (name: string, fallback: number) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
  const running = await startExample({ forgePort: port('ANVIL_FORGE_PORT', 0), appPort: port('PORT', 0) });
  console.log(startBanner(running, process.cwd()));
  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
