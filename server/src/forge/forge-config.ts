/**
 * Reads `anvil-forge.yaml` plus the environment (twelve-factor) into what a forge runs on, and
 * names every problem at once with its line and column: `anvil serve` refuses to start on any
 * error rather than serve a half-configured forge.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { validateForgeConfig, type ForgeConfig } from '@anvil/content-schema';
import { TOKEN_PATTERN } from '../access/access-tokens.ts';
import { problem, type Problem } from '../lint/problem.ts';
import { readYamlConfig } from '../load/read-yaml-config.ts';
import type { UsageSettings } from '../metrics/usage-settings.ts';
import { DATABASE_URL_ENV, isPostgresUrl } from '../store/store-location.ts';
import type { ForgeProject, GitHubAccess, PushTargetPolicy, StreamSettings } from './forge-context.ts';
import type { KnownForge } from '../peers/known-forge.ts';

export interface ResolvedForgeConfig {
  name: string;
  dataDir: string;
  host: string;
  port: number;
  /** Absent: derived from host and the port actually bound. */
  publicUrl?: string | undefined;
  keyRotationGraceDays: number;
  adminToken?: string | undefined;
  projects: ForgeProject[];
  /** The project's configured default branch, when the file names one. */
  defaultBranches: Record<string, string>;
  /** Where pushes may go (`pushTargets`); absent: public addresses only. */
  pushTargets?: PushTargetPolicy | undefined;
  /** The PostgreSQL store's URL (DATABASE_URL, else `database`); absent: SQLite at `<dataDir>/forge.db`. */
  database?: string | undefined;
  /** Limits of streaming receivers' streams (`streams`); absent: the defaults. */
  streams?: StreamSettings | undefined;
  /** How usage metrics are taken and kept (`usage`); absent: the defaults. */
  usage?: UsageSettings | undefined;
  /** Peer forges (`knownForges`) whose token is set; absent: none. */
  knownForges?: KnownForge[] | undefined;
}

export interface ForgeConfigRead {
  config?: ResolvedForgeConfig;
  problems: Problem[];
}

export const DEFAULT_WEBHOOK_SECRET_ENV = 'ANVIL_WEBHOOK_SECRET';
export const DEFAULT_GITHUB_TOKEN_ENV = 'GITHUB_TOKEN';
export const DEFAULT_GITHUB_APP_KEY_ENV = 'ANVIL_GITHUB_APP_PRIVATE_KEY';
export const GITHUB_API_URL = 'https://api.github.com';

/** A URL with a scheme (https:, ssh:, file:) or scp-like `user@host:path` is not a local path. */
export function isLocalRemote(remote: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(remote) && !/^[^/\\]+@[^/\\]+:/.test(remote);
}

export function readForgeConfig(file: string, env: NodeJS.ProcessEnv = process.env): ForgeConfigRead {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { problems: [problem('error', 'forge-config.missing', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file, hint: 'pass --config <file>, or create anvil-forge.yaml (see the README)' })] };
  }
  const read = readYamlConfig(file, text, validateForgeConfig);
  if (!read.value) return { problems: read.problems };
  return resolveForgeConfig(read.value, path.dirname(path.resolve(file)), env, file, read.problems);
}

/** Resolves paths against `baseDir`, reads secrets from `env`, and checks what needs the disk. */
export function resolveForgeConfig(config: ForgeConfig, baseDir: string, env: NodeJS.ProcessEnv, file = 'anvil-forge.yaml', earlier: Problem[] = []): ForgeConfigRead {
  const problems = [...earlier];
  const fail = (code: string, message: string, hint: string) => problems.push(problem('error', code, message, { file, hint }));

  const port = env['PORT'] !== undefined ? Number(env['PORT']) : config.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) fail('forge-config.port', `PORT=${env['PORT']} is not a port number`, 'use 0–65535');
  const publicUrl = env['ANVIL_PUBLIC_URL'] ?? config.publicUrl;
  if (env['ANVIL_PUBLIC_URL'] !== undefined && !URL.canParse(env['ANVIL_PUBLIC_URL'])) fail('forge-config.public-url', `ANVIL_PUBLIC_URL="${env['ANVIL_PUBLIC_URL']}" is not a URL`, 'e.g. https://anvil.example.com');

  const adminEnv = config.adminToken?.env ?? 'ANVIL_ADMIN_TOKEN';
  const adminToken = env[adminEnv] || undefined;
  if (adminToken !== undefined && adminToken.length < 32) fail('forge-config.admin-token', `${adminEnv} is ${adminToken.length} characters; an admin token needs at least 32`, 'generate one with `openssl rand -hex 32`');
  if (adminToken === undefined) problems.push(problem('warning', 'forge-config.no-admin-token', `${adminEnv} is not set, so the admin API is off`, { file, hint: `set ${adminEnv} to enable it` }));

  const projects: ForgeProject[] = [];
  const defaultBranches: Record<string, string> = {};
  config.projects.forEach((p, i) => {
    const remote = isLocalRemote(p.remote) ? path.resolve(baseDir, p.remote) : p.remote;
    if (isLocalRemote(p.remote) && !existsSync(remote)) {
      fail('forge-config.remote-missing', `project "${p.name}": remote ${remote} does not exist (projects[${i}].remote)`, 'point it at a git repository, or use a git URL');
    }
    const secretEnv = p.webhookSecret?.env ?? DEFAULT_WEBHOOK_SECRET_ENV;
    const secret = env[secretEnv];
    if (!secret) fail('forge-config.webhook-secret', `project "${p.name}": ${secretEnv} is not set; webhooks cannot be verified without it`, `export ${secretEnv}=<the secret configured on the ${p.provider === 'github' ? 'GitHub webhook' : 'git hook'}>`);
    else if (secret.length < 16) fail('forge-config.webhook-secret', `project "${p.name}": ${secretEnv} is shorter than 16 characters`, 'use a long random secret, e.g. `openssl rand -hex 32`');
    if (p.defaultBranch) defaultBranches[p.name] = p.defaultBranch;
    const github = p.provider === 'github' ? resolveGitHubAccess(p, i, env, file, problems) : undefined;
    projects.push({ name: p.name, remote, provider: p.provider ?? 'git', githubRepository: p.github?.repository, webhookSecret: secret ?? '', github });
  });

  const dataDir = path.resolve(baseDir, env['ANVIL_DATA_DIR'] ?? config.dataDir ?? './anvil-data');
  // The environment's URL may hold the password, which the file may not (validateForgeConfig).
  const databaseUrl = env[DATABASE_URL_ENV] || undefined;
  const database = databaseUrl ?? config.database;
  if (databaseUrl !== undefined && !isPostgresUrl(databaseUrl)) fail('forge-config.database-url', `${DATABASE_URL_ENV} is not a postgres:// URL`, 'e.g. postgres://anvil:<password>@db.internal:5432/anvil; unset it for SQLite in the data dir');
  const knownForges = resolveKnownForges(config, env, file, problems);
  if (problems.some((p) => p.severity === 'error')) return { problems };
  return {
    config: {
      name: config.name ?? 'anvil-forge', dataDir, host: config.host ?? '127.0.0.1', port, publicUrl,
      keyRotationGraceDays: config.keyRotationGraceDays ?? 7, adminToken, projects, defaultBranches,
      pushTargets: { allowPrivateNetworks: config.pushTargets?.allowPrivateNetworks ?? false },
      ...(database !== undefined ? { database } : {}),
      ...(config.usage ? {
        usage: {
          rawRetentionMs: config.usage.rawRetentionHours === undefined ? undefined : Math.round(config.usage.rawRetentionHours * 3_600_000),
          eventsPerSecond: config.usage.eventsPerSecond, eventsBurst: config.usage.eventsBurst,
        },
      } : {}),
      ...(config.streams ? {
        streams: {
          maxPerToken: config.streams.maxPerToken, maxPerProject: config.streams.maxPerProject,
          keepAliveMs: config.streams.keepAliveSeconds === undefined ? undefined : config.streams.keepAliveSeconds * 1000,
        },
      } : {}),
      ...(knownForges.length > 0 ? { knownForges } : {}),
    },
    problems,
  };
}

/**
 * A GitHub project's API credentials: an App installation when `github.app` is set, else a
 * token. A token variable named in the file must be set; the default GITHUB_TOKEN may be missing, which
 * turns review through pull requests off (a warning), as a forge that cannot ask GitHub cannot
 * confirm an approval.
 */
function resolveGitHubAccess(p: ForgeConfig['projects'][number], i: number, env: NodeJS.ProcessEnv, file: string, problems: Problem[]): GitHubAccess | undefined {
  const at = `project "${p.name}"`;
  const apiUrl = (p.github?.apiUrl ?? GITHUB_API_URL).replace(/\/+$/, '');
  if (!URL.canParse(apiUrl)) {
    problems.push(problem('error', 'forge-config.github-api-url', `${at}: github.apiUrl "${apiUrl}" is not a URL (projects[${i}].github.apiUrl)`, { file, hint: 'https://api.github.com, or https://<host>/api/v3' }));
    return undefined;
  }
  // The schema check already refused a github project without a repository.
  if (!p.github?.repository) return undefined;
  const app = p.github.app;
  if (app) {
    const keyEnv = app.privateKey.env;
    const privateKey = env[keyEnv];
    if (!privateKey || !privateKey.includes('PRIVATE KEY')) {
      problems.push(problem('error', 'forge-config.github-app-key', `${at}: ${keyEnv} ${privateKey ? 'does not hold a PEM private key' : 'is not set'}; the GitHub App cannot sign in without it`, { file, hint: `export ${keyEnv}="$(cat <app>.private-key.pem)"` }));
      return undefined;
    }
    return { apiUrl, auth: { kind: 'app', appId: app.appId, installationId: app.installationId, privateKey } };
  }
  const tokenEnv = p.github.token?.env ?? DEFAULT_GITHUB_TOKEN_ENV;
  const token = env[tokenEnv];
  if (token) return { apiUrl, auth: { kind: 'token', token } };
  if (tokenEnv !== DEFAULT_GITHUB_TOKEN_ENV) {
    problems.push(problem('error', 'forge-config.github-token', `${at}: ${tokenEnv} is not set (projects[${i}].github.token)`, { file, hint: `export ${tokenEnv}=<a token with checks, statuses, pull requests and issues write, contents read>` }));
  } else {
    problems.push(problem('warning', 'forge-config.no-github-credentials', `${at}: ${tokenEnv} is not set, so pull requests are not checked and approvals cannot be confirmed; review and locked sets publish only from releases`, { file, hint: `export ${tokenEnv}=<token>, or configure github.app` }));
  }
  return undefined;
}

/**
 * Only the peer forges of `file` (`anvil peers`): the file is validated whole, but the
 * environment is consulted for the peers' tokens alone, as the store commands do not need the
 * forge's own secrets.
 */
export function readKnownForges(file: string, env: NodeJS.ProcessEnv = process.env): { forges?: KnownForge[]; problems: Problem[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { problems: [problem('error', 'forge-config.missing', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file, hint: 'pass --config <file>, or run it beside anvil-forge.yaml' })] };
  }
  const read = readYamlConfig(file, text, validateForgeConfig);
  if (!read.value) return { problems: read.problems };
  const problems = [...read.problems];
  return { forges: resolveKnownForges(read.value, env, file, problems), problems };
}

/**
 * The peer forges (issue 17), each with its token from the environment. A peer whose variable is
 * not set is left out with a warning rather than refusing to start: this forge serves its own
 * projects whatever a peer's token is. A token sent in the clear to another host, or one that
 * is not an access token (an admin token reaches far more than reading), is a warning too.
 */
function resolveKnownForges(config: ForgeConfig, env: NodeJS.ProcessEnv, file: string, problems: Problem[]): KnownForge[] {
  const forges: KnownForge[] = [];
  (config.knownForges ?? []).forEach((f, i) => {
    const at = `known forge "${f.name}"`;
    const token = env[f.token.env];
    if (!token) {
      problems.push(problem('warning', 'forge-config.known-forge-token', `${at}: ${f.token.env} is not set, so the forge is left out (knownForges[${i}].token)`, { file, hint: `export ${f.token.env}=<a read-only token the peer made: anvil token create --project <p> --scope read>` }));
      return;
    }
    const url = new URL(f.url);
    if (url.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) {
      problems.push(problem('warning', 'forge-config.known-forge-insecure', `${at}: ${f.url} is plain http, so its token crosses the network in the clear (knownForges[${i}].url)`, { file, hint: 'use the peer\'s https:// URL' }));
    }
    if (!TOKEN_PATTERN.test(token)) {
      problems.push(problem('warning', 'forge-config.known-forge-token-kind', `${at}: ${f.token.env} does not hold a project access token (anvil_…) (knownForges[${i}].token)`, { file, hint: 'ask the peer\'s operator for a read-only token: anvil token create --project <p> --scope read' }));
    }
    forges.push({ name: f.name, url: f.url.replace(/\/+$/, ''), token, tokenEnv: f.token.env });
  });
  return forges;
}
