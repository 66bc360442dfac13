/**
 * One Octokit per GitHub project, authenticated by token or as a GitHub App installation
 * (short-lived installation tokens, renewed by @octokit/auth-app), with GitHub's rate limits
 * honoured: the throttling plugin waits out `retry-after` / `x-ratelimit-reset` on 403/429 and
 * retries, and the retry plugin retries 5xx answers. Everything the forge asks or posts goes
 * through here.
 */
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from 'octokit';
import type { ForgeProject, GitHubAccess } from '../forge/forge-context.ts';
import type { Logger } from '../forge/logger.ts';

export type GitHubClient = InstanceType<typeof Octokit>;

export interface GitHubClientOptions {
  logger: Logger;
  /** Rate-limited requests are retried this many times before the error is raised (default 4). */
  rateLimitRetries?: number;
  /**
   * GitHub asks integrations to leave a second between writes (the throttling plugin's
   * default). Tests against a local fake turn the spacing off; the forge never does.
   */
  spaceWrites?: boolean;
  /** The retry plugin waits 1, 4, 9 times this after a 5xx (default 1000 ms); tests shorten it. */
  retryBaseMs?: number;
}

const clients = new WeakMap<GitHubAccess, GitHubClient>();

/** The project's client, created on first use; undefined when the project has no credentials. */
export function githubClientOf(project: ForgeProject, options: GitHubClientOptions): GitHubClient | undefined {
  const access = project.github;
  if (!access || project.provider !== 'github') return undefined;
  let client = clients.get(access);
  if (!client) {
    client = createGitHubClient(access, options);
    clients.set(access, client);
  }
  return client;
}

export function createGitHubClient(access: GitHubAccess, options: GitHubClientOptions): GitHubClient {
  const { logger } = options;
  const retries = options.rateLimitRetries ?? 4;
  const onLimit = (kind: string) => (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number): boolean => {
    const retry = retryCount < retries;
    logger.warn({ method: request.method, url: request.url, retryAfter, retryCount, retry }, `GitHub ${kind} rate limit`);
    return retry;
  };
  const throttle = {
    onRateLimit: onLimit('primary'),
    onSecondaryRateLimit: onLimit('secondary'),
    // Writes that notify (comments) have their own, slower group.
    ...(options.spaceWrites === false ? { write: unspacedGroup(), notifications: unspacedGroup() } : {}),
  };
  const log = {
    debug: () => undefined,
    info: () => undefined,
    warn: (message: string) => logger.warn({ github: true }, message),
    error: (message: string) => logger.error({ github: true }, message),
  };
  const common = { baseUrl: access.apiUrl, throttle, retry: {
      retries: 3, retryAfterBaseValue: options.retryBaseMs ?? 1_000,
      // 429 is the throttling plugin's (it honours retry-after); the retry plugin would not.
      doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451],
    }, log, userAgent: 'anvil-forge' };
  if (access.auth.kind === 'token') return new Octokit({ ...common, auth: access.auth.token });
  return new Octokit({
    ...common,
    authStrategy: createAppAuth,
    auth: { appId: access.auth.appId, privateKey: access.auth.privateKey, installationId: access.auth.installationId },
  });
}

/**
 * Stands in for the throttling plugin's Bottleneck groups of (notifying) writes, running each
 * job at once. The plugin only calls `key(id).schedule(options, job)` on them.
 */
export function unspacedGroup(): never {
  const limiter = { schedule: (_options: unknown, job: () => Promise<unknown>) => job() };
  return { key: () => limiter } as never;
}
