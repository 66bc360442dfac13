/**
 * GitHub's webhook payloads → `ForgeEvent`s, as a pure function over the parsed JSON. Field
 * access is typed by @octokit/webhooks' payload types; what comes out is checked again at run
 * time, because a payload that verified is GitHub's, not necessarily the shape the types say
 * (older GitHub Enterprise versions, ghost users, deleted forks).
 */
import type { EmitterWebhookEvent } from '@octokit/webhooks';
import { AnvilError, isAnvilError } from '@anvil/content-schema';
import type { ForgeEvent } from './forge-event.ts';

type Payload<N extends 'push' | 'create' | 'release' | 'pull_request' | 'pull_request_review'> = EmitterWebhookEvent<N>['payload'];

export type GithubMapping = { event: ForgeEvent } | { ignored: string };

/** Release actions after which the release's tag exists (a draft has no tag yet). */
const RELEASE_ACTIONS = new Set(['published', 'created', 'edited', 'released', 'prereleased']);
/** Pull request actions that change what review sees: the code, the base, the state, the draft flag. */
const PULL_REQUEST_ACTIONS = new Set(['opened', 'synchronize', 'reopened', 'closed', 'edited', 'ready_for_review']);

/**
 * Maps one GitHub event (the `X-GitHub-Event` name and the parsed body) to a `ForgeEvent`, or
 * says why it is ignored. A payload that lacks what the event needs is a `webhook.payload` error.
 */
export function fromGithubEvent(name: string, payload: Record<string, unknown>, project: string, deliveryId: string): GithubMapping {
  let mapped: GithubMapping;
  try {
    mapped = map(name, payload, { project, deliveryId });
  } catch (err) {
    if (isAnvilError(err)) throw err;
    throw new AnvilError('webhook.payload', `the ${name} payload is not shaped as GitHub sends it: ${(err as Error).message}`, { cause: err });
  }
  if ('event' in mapped) checkEvent(mapped.event, name);
  return mapped;
}

function map(name: string, payload: Record<string, unknown>, base: { project: string; deliveryId: string }): GithubMapping {
  switch (name) {
    case 'ping':
      return { event: { kind: 'ping', ...base } };

    case 'push': {
      const p = payload as unknown as Payload<'push'>;
      if (!p.ref.startsWith('refs/heads/') && !p.ref.startsWith('refs/tags/')) return { ignored: `push to ${p.ref}` };
      return {
        event: {
          kind: 'push', ...base, ref: p.ref, before: p.before, after: p.after,
          created: p.created, deleted: p.deleted, forced: p.forced, ...sender(p.sender),
        },
      };
    }

    case 'create': {
      const p = payload as unknown as Payload<'create'>;
      // A new branch arrives as a push too; only tags matter here.
      if (p.ref_type !== 'tag') return { ignored: `create ${String(p.ref_type)}` };
      return { event: { kind: 'tag', ...base, tag: p.ref, via: 'create', ...sender(p.sender) } };
    }

    case 'release': {
      const p = payload as unknown as Payload<'release'>;
      if (!RELEASE_ACTIONS.has(p.action)) return { ignored: `release.${p.action}` };
      if (p.release.draft) return { ignored: `release.${p.action} (draft)` };
      return {
        event: { kind: 'tag', ...base, tag: p.release.tag_name, via: 'release', prerelease: p.release.prerelease, ...sender(p.sender) },
      };
    }

    case 'pull_request': {
      const p = payload as unknown as Payload<'pull_request'>;
      if (!PULL_REQUEST_ACTIONS.has(p.action)) return { ignored: `pull_request.${p.action}` };
      const pr = p.pull_request;
      const merged = p.action === 'closed' && pr.merged === true;
      return {
        event: {
          kind: 'pull-request', ...base, action: p.action, number: pr.number,
          headSha: pr.head.sha, headRef: pr.head.ref, baseRef: pr.base.ref, baseSha: pr.base.sha,
          merged,
          ...(merged && typeof pr.merge_commit_sha === 'string' ? { mergeCommitSha: pr.merge_commit_sha } : {}),
          author: pr.user?.login ?? 'ghost',
          ...(typeof pr.author_association === 'string' ? { authorAssociation: pr.author_association } : {}),
          // null when the fork was deleted.
          ...(typeof pr.head.repo?.full_name === 'string' ? { headRepository: pr.head.repo.full_name } : {}),
          ...(typeof pr.draft === 'boolean' ? { draft: pr.draft } : {}),
          ...sender(p.sender),
        },
      };
    }

    case 'pull_request_review': {
      const p = payload as unknown as Payload<'pull_request_review'>;
      const review = p.review;
      return {
        event: {
          kind: 'pull-request-review', ...base, action: p.action, number: p.pull_request.number,
          // Webhooks send lower case; the REST API upper case. One spelling downstream.
          state: String(review.state).toLowerCase(),
          // A deleted account shows as null; GitHub itself calls it "ghost".
          reviewer: review.user?.login ?? 'ghost',
          commitId: review.commit_id,
          headSha: p.pull_request.head.sha,
          ...(typeof review.id === 'number' ? { reviewId: review.id } : {}),
          ...(typeof review.author_association === 'string' ? { reviewerAssociation: review.author_association } : {}),
          ...(typeof review.submitted_at === 'string' ? { submittedAt: review.submitted_at } : {}),
          ...sender(p.sender),
        },
      };
    }

    default: {
      const action = typeof payload['action'] === 'string' ? `.${payload['action']}` : '';
      return { ignored: `${name}${action}` };
    }
  }
}

function sender(user: { login?: unknown } | null | undefined): { sender?: string } {
  return typeof user?.login === 'string' ? { sender: user.login } : {};
}

/** The fields each kind must carry, and their types. */
const REQUIRED: Record<ForgeEvent['kind'], Record<string, 'string' | 'number' | 'boolean'>> = {
  'ping': {},
  'push': { ref: 'string', before: 'string', after: 'string', created: 'boolean', deleted: 'boolean', forced: 'boolean' },
  'tag': { tag: 'string' },
  'pull-request': { action: 'string', number: 'number', headSha: 'string', headRef: 'string', baseRef: 'string', baseSha: 'string', merged: 'boolean', author: 'string' },
  'pull-request-review': { action: 'string', number: 'number', state: 'string', reviewer: 'string', commitId: 'string', headSha: 'string' },
};

function checkEvent(event: ForgeEvent, name: string): void {
  const record = event as unknown as Record<string, unknown>;
  const wrong = Object.entries(REQUIRED[event.kind]).filter(([key, type]) => typeof record[key] !== type || (type === 'string' && record[key] === ''));
  if (wrong.length > 0) {
    throw new AnvilError('webhook.payload', `the ${name} payload lacks ${wrong.map(([key, type]) => `${key} (${type})`).join(', ')}`, {
      details: { event: name, fields: wrong.map(([key]) => key) },
    });
  }
}
