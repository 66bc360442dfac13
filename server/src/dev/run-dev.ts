/**
 * `anvil dev` and `npm start`: a forge on a local prompt folder, with SQLite in a data dir, and a
 * watcher (chokidar) that commits each saved edit and syncs at once — so that an edit to a
 * `live` set reaches running receivers on the development channel within a second, through the
 * same mirror → lint → policy → build → push path as production.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { createAccessToken } from '../access/access-tokens.ts';
import type { ResolvedForgeConfig } from '../forge/forge-config.ts';
import type { PushTargetPolicy } from '../forge/forge-context.ts';
import type { Logger } from '../forge/logger.ts';
import { startForge, type RunningForge } from '../forge/start-forge.ts';
import type { SyncReport } from '../forge/sync-project.ts';
import { devBranch } from './dev-branch.ts';
import { openDevWorkspace } from './dev-workspace.ts';

export interface DevOptions {
  /** The prompt folder being edited (a git repository or a plain folder). */
  source: string;
  /**
   * Where the dev repository, forge.db, keys and tokens go. It holds secrets: keep it out of
   * the working tree (`defaultDevDataDir` gives `<git dir>/anvil/dev`, what `anvil dev` uses).
   */
  dataDir: string;
  /** The branch to commit edits to and publish head builds from (default: `devBranch(source)`). */
  branch?: string;
  project: string;
  port?: number;
  host?: string;
  logger?: Logger;
  /** Debounce for bursts of saves (an editor writes several files at once). */
  debounceMs?: number;
  onSync?: (report: SyncReport, trigger: string) => void;
  /**
   * Where the dev forge pushes (issue 14). Default: loopback and private addresses allowed, as
   * the receivers of a local forge run on this machine (127.0.0.1); link-local and metadata
   * addresses, and the forge itself, stay refused.
   */
  pushTargets?: PushTargetPolicy;
}

export interface DevForge {
  forge: RunningForge;
  /** The branch the forge follows as the project's default branch. */
  branch: string;
  /** A project access token for local receivers (kept in the data dir, reused across runs). */
  token: string;
  adminToken: string;
  /** Resolves once the watcher is watching. */
  close(): Promise<void>;
}

/** A secret made once and kept (0600) in the data dir, so restarts keep the same one. */
function keptSecret(file: string, make: () => string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(path.dirname(file), { recursive: true });
  const value = make();
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

export async function runDev(options: DevOptions): Promise<DevForge> {
  const workspace = await openDevWorkspace(options.source, options.dataDir, options.branch ?? (await devBranch(options.source)));
  await workspace.commitChanges('anvil dev: edits made while it was stopped');
  const secrets = path.join(options.dataDir, 'secrets');
  const adminToken = keptSecret(path.join(secrets, 'admin-token'), () => randomBytes(32).toString('hex'));
  const config: ResolvedForgeConfig = {
    name: 'anvil-dev', dataDir: path.join(options.dataDir, 'forge'), host: options.host ?? '127.0.0.1', port: options.port ?? 0,
    keyRotationGraceDays: 7, adminToken,
    projects: [{ name: options.project, remote: workspace.repo, provider: 'git', webhookSecret: keptSecret(path.join(secrets, 'webhook-secret'), () => randomBytes(32).toString('hex')) }],
    // The branch the workspace commits to, not a fixed name: a forge following a branch nothing
    // is committed to publishes nothing.
    defaultBranches: { [options.project]: workspace.branch },
    pushTargets: options.pushTargets ?? { allowPrivateNetworks: true },
  };
  let trigger = 'start';
  const forge = await startForge(config, {
    ...(options.logger ? { logger: options.logger } : {}),
    syncOnStart: false,
    // Local receivers answer at once; retry quickly so a receiver restarted in dev catches up fast.
    worker: { backoff: { baseMs: 200, maxMs: 5_000 } },
    onSync: (report) => options.onSync?.(report, trigger),
  });
  const tokenFile = path.join(secrets, 'project-token');
  let token = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '';
  const known = token && await forge.ctx.db.selectFrom('access_tokens').select('id').where('project', '=', options.project).where('revoked_at', 'is', null).executeTakeFirst();
  if (!known) {
    token = (await createAccessToken(forge.ctx.db, { project: options.project, label: 'anvil dev' })).token;
    mkdirSync(secrets, { recursive: true });
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  }
  await forge.sync(options.project);

  let timer: NodeJS.Timeout | undefined;
  let changed = new Set<string>();
  let chain: Promise<unknown> = Promise.resolve();
  const flush = () => {
    const paths = [...changed];
    const files = paths.map((f) => path.relative(options.source, f));
    changed = new Set();
    chain = chain.then(async () => {
      const commit = await workspace.commitChanges(`anvil dev: ${files.slice(0, 5).join(', ')}${files.length > 5 ? ` and ${files.length - 5} more` : ''}`, paths);
      if (commit === undefined) return;
      trigger = files.join(', ');
      await forge.sync(options.project);
    }).catch((err: unknown) => forge.ctx.logger.error({ err }, 'anvil dev: could not sync an edit'));
  };
  const watcher: FSWatcher = watch(options.source, {
    ignoreInitial: true,
    ignored: (file: string) => file.split(path.sep).some((part) => part === '.git' || part === 'node_modules'),
  });
  watcher.on('all', (_event: string, file: string) => {
    changed.add(file);
    clearTimeout(timer);
    timer = setTimeout(flush, options.debounceMs ?? 30);
  });
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));

  return {
    forge, token, adminToken, branch: workspace.branch,
    async close() {
      clearTimeout(timer);
      await watcher.close();
      await chain;
      await forge.close();
    },
  };
}
