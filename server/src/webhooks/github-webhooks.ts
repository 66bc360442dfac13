/**
 * `POST /webhooks/github` (DESIGN §8). Each project has its own webhook secret, and which
 * project a delivery is for is only known from its body (`repository.full_name`), so the body
 * is read raw and parsed here, and then verified with @octokit/webhooks against that project's
 * secret — octokit's own middleware takes one secret and must not sit behind express.json().
 *
 *   app.post('/webhooks/github', githubWebhookHandler(ctx, onEvent));   // before express.json()
 *
 * Answers: 202 accepted (events handed on in the background), 200 duplicate or ignored event,
 * 400 missing headers or malformed body, 401 missing or wrong signature — and an unknown
 * repository is a wrong signature too, answered alike after the same work, so that an unsigned
 * request cannot find out which repositories the forge serves (webhook-rejection.ts) — 413 too
 * large. Never a 5xx for anything the sender did.
 */
import { emitterEventNames, Webhooks } from '@octokit/webhooks';
import { AnvilError } from '@anvil/content-schema';
import type { ForgeContext, ForgeProject } from '../forge/forge-context.ts';
import type { ForgeEventHandler } from './forge-event.ts';
import { fromGithubEvent } from './github-event.ts';
import {
  createWebhookHandler, parseJsonObject, requireDeliveryId, requireJsonContent,
  type WebhookHandler, type WebhookHandlerOptions,
} from './webhook-intake.ts';
import { DECOY_SECRET, signatureRejected } from './webhook-rejection.ts';

const KNOWN_EVENTS = new Set<string>(emitterEventNames);
const MAX_PING_BYTES = 64 * 1024;

export function githubWebhookHandler(ctx: ForgeContext, onEvent: ForgeEventHandler, options: WebhookHandlerOptions = {}): WebhookHandler {
  // One octokit verifier per secret, made on first use.
  const verifiers = new Map<string, Webhooks>();
  const verifierOf = (secret: string): Webhooks => {
    let verifier = verifiers.get(secret);
    if (!verifier) verifiers.set(secret, (verifier = new Webhooks({ secret })));
    return verifier;
  };
  /**
   * Whether `project`'s secret signed `text`. No project, or one without a secret, is checked
   * against the decoy secret and refused: the same HMAC either way, so the time taken does not
   * tell an unknown repository from a wrong signature.
   */
  const verify = async (project: ForgeProject | undefined, text: string, signature: string): Promise<boolean> => {
    const secret = project?.webhookSecret ? project.webhookSecret : DECOY_SECRET;
    const valid = await verifierOf(secret).verify(text, signature);
    return valid && secret !== DECOY_SECRET;
  };

  return createWebhookHandler(ctx, onEvent, {
    source: 'github',
    // GitHub caps payloads at 25 MB.
    defaultLimit: '25mb',

    precheck(req) {
      requireJsonContent(req);
      const name = req.get('x-github-event');
      if (name === undefined || name === '') throw new AnvilError('webhook.headers', 'the X-GitHub-Event header is missing', { hint: 'this endpoint takes GitHub webhooks; a plain git remote posts to /webhooks/git' });
      if (!/^[a-z][a-z0-9_]{0,63}$/.test(name)) throw new AnvilError('webhook.headers', 'the X-GitHub-Event header is not an event name');
      const deliveryId = requireDeliveryId(req, 'x-github-delivery');
      if (!req.get('x-hub-signature-256')) {
        throw new AnvilError('webhook.signature.missing', 'the X-Hub-Signature-256 header is missing', {
          hint: 'set a secret on the GitHub webhook, the same as the project\'s webhookSecret on the forge',
        });
      }
      // Names octokit does not know count as "other": an unsigned request must not be able to
      // grow the metrics' label set without bound.
      return { event: KNOWN_EVENTS.has(name) ? name : 'other', deliveryId };
    },

    async receive(req, body, { deliveryId }) {
      const event = req.get('x-github-event')!;
      const signature = req.get('x-hub-signature-256')!;
      const text = body.toString('utf8');
      const payload = parseJsonObject(body);
      const repository = (payload['repository'] as { full_name?: unknown } | undefined)?.full_name;

      let project: ForgeProject | undefined;
      if (typeof repository === 'string') {
        const claimed = projectOfRepository(ctx, repository);
        // Verified first, whatever was found: an unknown repository costs the same HMAC.
        const valid = await verify(claimed, text, signature);
        if (!valid || !claimed) throw signatureRejected('github', claimed ? { project: claimed.name } : { claimed: repository });
        project = claimed;
      } else {
        // Organisation and app hooks send a ping that names no repository: the project is the
        // one whose secret signed it. Only for a ping of ping's size, so that an unsigned body
        // cannot make the forge hash megabytes once per project.
        if (event !== 'ping' || body.length > MAX_PING_BYTES) {
          throw new AnvilError('webhook.payload.repository', `the ${event} payload names no repository`, { hint: 'the forge takes repository events; point a repository webhook at it' });
        }
        for (const candidate of ctx.projects.values()) {
          if (candidate.githubRepository !== undefined && (await verify(candidate, text, signature))) {
            project = candidate;
            break;
          }
        }
        if (!project) throw signatureRejected('github');
      }

      const mapped = fromGithubEvent(event, payload, project.name, deliveryId);
      if ('ignored' in mapped) return { kind: 'ignored', project: project.name, reason: mapped.ignored };
      const sender = (payload['sender'] as { login?: unknown } | undefined)?.login;
      return { kind: 'events', project: project.name, events: [mapped.event], actor: typeof sender === 'string' ? `github:${sender}` : 'github' };
    },
  }, options);
}

function projectOfRepository(ctx: ForgeContext, fullName: string): ForgeProject | undefined {
  // GitHub's owner and repository names are case-insensitive.
  const wanted = fullName.toLowerCase();
  for (const project of ctx.projects.values()) {
    if (project.githubRepository?.toLowerCase() === wanted) return project;
  }
  return undefined;
}
