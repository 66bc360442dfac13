/**
 * Posts to GitHub from the store's outbox (migration 003), one at a time: check runs (falling
 * back to a commit status when the credentials may not create check runs), commit statuses and
 * the review comment. Publishing never waits for GitHub: the sync writes a row and moves on; a
 * post that fails is logged and tried again with backoff (the Octokit plugins already retried
 * rate limits and 5xx answers inside the attempt), also after a restart, and given up after
 * `maxAttempts` with an audit entry.
 */
import { backoffDelay } from '@anvil/client';
import type { ForgeContext, ForgeProject } from '../forge/forge-context.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Store } from '../store/open-store.ts';
import { storeTime } from '../store/open-store.ts';
import type { GitHubPostTable } from '../store/database.ts';
import {
  checksNotPermitted, postCheckRun, postCommitStatus, repoRef, upsertComment, type CheckRunInput, type CommitStatusInput,
} from './github-api.ts';
import type { GitHubClient } from './github-client.ts';

export type GitHubPost =
  | { kind: 'check'; headSha: string; check: CheckRunInput; /** Posted instead when check runs are not permitted. */ fallback: CommitStatusInput }
  | { kind: 'status'; sha: string; status: CommitStatusInput }
  | { kind: 'comment'; number: number; body: string; marker: string };

/** What GitHub shows each post as, so that a newer post for the same thing replaces an unsent one. */
export function postKey(post: GitHubPost): string {
  switch (post.kind) {
    case 'check': return `check ${post.headSha}`;
    case 'status': return `status ${post.sha} ${post.status.context}`;
    case 'comment': return `comment ${post.number}`;
  }
}

/** Queues a post (or replaces the unsent one for the same thing); the poster sends it. */
export async function enqueueGitHubPost(db: Store, project: string, post: GitHubPost): Promise<void> {
  const now = storeTime();
  await db.insertInto('github_posts').values({
    project, key: postKey(post), kind: post.kind, payload: JSON.stringify(post), state: 'pending', attempts: 0, next_attempt_at: now,
    result: null, last_error: null, created_at: now, updated_at: now,
  }).onConflict((oc) => oc.columns(['project', 'key']).doUpdateSet({
    payload: JSON.stringify(post), state: 'pending', attempts: 0, next_attempt_at: now, last_error: null, updated_at: now,
  })).execute();
}

export interface GitHubPosterOptions {
  clientOf: (project: ForgeProject) => GitHubClient | undefined;
  /** Attempts before a post is given up (default 10: about two hours with the default backoff). */
  maxAttempts?: number;
  backoff?: { baseMs?: number; maxMs?: number };
  /** How often to look for due posts without being woken (default 5 s). */
  pollMs?: number;
  /** A claimed post is another replica's to finish for this long (default 5 min). */
  leaseMs?: number;
}

export interface GitHubPoster {
  wake(): void;
  /** Resolves when no post is due or in flight (posts waiting for a later retry are not waited for). */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

type PostRow = Pick<GitHubPostTable, 'project' | 'key' | 'kind' | 'payload' | 'attempts' | 'next_attempt_at' | 'result'> & { id: number };

export function startGitHubPoster(ctx: ForgeContext, options: GitHubPosterOptions): GitHubPoster {
  const log = ctx.logger.child({ component: 'github-poster' });
  const maxAttempts = options.maxAttempts ?? 10;
  const leaseMs = options.leaseMs ?? 300_000;
  /** Projects whose credentials were found unable to create check runs (warned once). */
  const warnedNoChecks = new Set<string>();
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const run = async (): Promise<void> => {
    do {
      again = false;
      for (;;) {
        if (stopped) return;
        const row = await claimNext(ctx.db, leaseMs);
        if (!row) break;
        await attempt(row);
      }
    } while (again && !stopped);
  };
  const wake = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = run().catch((err: unknown) => log.error({ err }, 'github poster failed')).finally(() => { running = undefined; });
  };
  const timer = setInterval(wake, options.pollMs ?? 5_000);
  timer.unref();

  async function attempt(row: PostRow): Promise<void> {
    const project = ctx.projects.get(row.project);
    const client = project && options.clientOf(project);
    const post = JSON.parse(row.payload) as GitHubPost;
    const attempts = row.attempts + 1;
    if (!project?.githubRepository || !client) {
      await finish(row, 'failed', attempts, row.result, 'the project has no GitHub credentials');
      return;
    }
    try {
      const result = await send(client, project, post, row.result ? JSON.parse(row.result) as Record<string, unknown> : {});
      await finish(row, 'done', attempts, JSON.stringify(result), null);
    } catch (err) {
      const message = errorText(err);
      if (attempts >= maxAttempts) {
        log.error({ project: row.project, key: row.key, attempts, err: message }, 'gave up posting to GitHub');
        await finish(row, 'failed', attempts, row.result, message);
        await appendAudit(ctx.db, { project: row.project, kind: 'github.post-failed', subject: row.key, detail: { attempts, error: message } });
        return;
      }
      const delay = backoffDelay(attempts, { baseMs: options.backoff?.baseMs ?? 2_000, maxMs: options.backoff?.maxMs ?? 1_800_000, random: () => 0.5 + Math.random() / 2 });
      log.warn({ project: row.project, key: row.key, attempts, retryInMs: delay, err: message }, 'posting to GitHub failed; will retry');
      await ctx.db.updateTable('github_posts').set({ attempts, next_attempt_at: storeTime(Date.now() + delay), last_error: message, updated_at: storeTime() })
        .where('id', '=', row.id).where('payload', '=', row.payload).execute();
    }
  }

  async function send(client: GitHubClient, project: ForgeProject, post: GitHubPost, result: Record<string, unknown>): Promise<Record<string, unknown>> {
    const repo = repoRef(project.githubRepository!);
    switch (post.kind) {
      case 'status':
        await postCommitStatus(client, repo, post.sha, post.status);
        return {};
      case 'comment':
        return { commentId: await upsertComment(client, repo, post.number, post.body, post.marker, result['commentId'] as number | undefined) };
      case 'check':
        // Check runs are tried every time: credentials that lacked `checks: write` may gain it.
        try {
          return { checkRunId: await postCheckRun(client, repo, post.headSha, post.check, result['checkRunId'] as number | undefined) };
        } catch (err) {
          if (!checksNotPermitted(err)) throw err;
          if (!warnedNoChecks.has(project.name)) log.warn({ project: project.name, err: errorText(err) }, 'check runs are not permitted to these credentials; posting commit statuses instead');
          warnedNoChecks.add(project.name);
        }
        await postCommitStatus(client, repo, post.headSha, post.fallback);
        return { ...result, status: true };
    }
  }

  /** Records the outcome, unless a newer post for the same thing replaced this one meanwhile. */
  async function finish(row: PostRow, state: 'done' | 'failed', attempts: number, result: string | null, error: string | null): Promise<void> {
    const now = storeTime();
    const updated = await ctx.db.updateTable('github_posts').set({ state, attempts, result, last_error: error, updated_at: now })
      .where('id', '=', row.id).where('payload', '=', row.payload).executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) {
      // Replaced while in flight: keep what GitHub answered (the new post edits the same check
      // run or comment) and let the new one go.
      await ctx.db.updateTable('github_posts').set({ result }).where('id', '=', row.id).execute();
    }
  }

  return {
    wake,
    async drain() {
      for (;;) {
        wake();
        while (running) await running;
        const due = await ctx.db.selectFrom('github_posts').select('id').where('state', '=', 'pending').where('next_attempt_at', '<=', storeTime()).limit(1).executeTakeFirst();
        if (!due || stopped) return;
      }
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      while (running) await running;
    },
  };
}

/** The first due post, claimed for `leaseMs` so that another replica leaves it alone. */
async function claimNext(db: Store, leaseMs: number): Promise<PostRow | undefined> {
  for (;;) {
    const now = storeTime();
    const row = await db.selectFrom('github_posts').select(['id', 'project', 'key', 'kind', 'payload', 'attempts', 'next_attempt_at', 'result'])
      .where('state', '=', 'pending').where('next_attempt_at', '<=', now).orderBy('id').limit(1).executeTakeFirst();
    if (!row) return undefined;
    const claimed = await db.updateTable('github_posts').set({ next_attempt_at: storeTime(Date.now() + leaseMs) })
      .where('id', '=', row.id).where('next_attempt_at', '=', row.next_attempt_at).where('state', '=', 'pending').executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 1) return row;
  }
}

function errorText(err: unknown): string {
  const e = err as { status?: number; message?: string };
  return `${e.status !== undefined ? `${e.status} ` : ''}${e.message ?? String(err)}`.slice(0, 500);
}
