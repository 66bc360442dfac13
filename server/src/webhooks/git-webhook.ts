/**
 * `POST /webhooks/git` (DESIGN §8): ref updates from any git remote, sent by the `post-receive`
 * hook that `anvil hook install` writes (install-hook.ts).
 *
 *   POST /webhooks/git
 *   Content-Type: application/json
 *   X-Anvil-Delivery: <id>                      the same id as in the body
 *   X-Anvil-Signature-256: sha256=<hex>         HMAC-SHA256 of the raw body, project's webhookSecret
 *
 *   {"project": "acme", "delivery": "<id>", "updates": [{"ref": "refs/heads/main", "before": "<old>", "after": "<new>", "forced": false}]}
 *
 * Each update of a branch or tag becomes a `push` event; other refs are left out. The delivery
 * id is deduplicated from the body, which the signature covers, and the header must agree: a
 * captured request replayed under a fresh header is still a duplicate.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AnvilError } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import { isZeroId, type ForgeEventHandler, type PushEvent } from './forge-event.ts';
import {
  createWebhookHandler, parseJsonObject, requireDeliveryId, requireJsonContent,
  type WebhookHandler, type WebhookHandlerOptions,
} from './webhook-intake.ts';
import { DECOY_SECRET, signatureRejected } from './webhook-rejection.ts';

export const GIT_SIGNATURE_HEADER = 'x-anvil-signature-256';
export const GIT_DELIVERY_HEADER = 'x-anvil-delivery';

/** At most this many ref updates in one delivery (a mirror push of a big repository is more, and is cut). */
const MAX_UPDATES = 10_000;
const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** `sha256=<hex>` of `body` with `secret`: what the hook sends and the forge expects. */
export function signGitWebhook(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Compares in constant time; a malformed header is simply not equal. */
export function verifyGitWebhook(secret: string, body: Uint8Array, signature: string): boolean {
  if (!secret) return false;
  const expected = Buffer.from(signGitWebhook(secret, body));
  const given = Buffer.from(signature.trim().toLowerCase());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function gitWebhookHandler(ctx: ForgeContext, onEvent: ForgeEventHandler, options: WebhookHandlerOptions = {}): WebhookHandler {
  return createWebhookHandler(ctx, onEvent, {
    source: 'git',
    defaultLimit: '5mb',

    precheck(req) {
      requireJsonContent(req);
      const deliveryId = requireDeliveryId(req, GIT_DELIVERY_HEADER);
      if (!req.get(GIT_SIGNATURE_HEADER)) {
        throw new AnvilError('webhook.signature.missing', 'the X-Anvil-Signature-256 header is missing', {
          hint: 'the hook signs with the project\'s webhook secret (git config anvil.webhookSecret in the repository)',
        });
      }
      return { event: 'push', deliveryId };
    },

    async receive(req, body, { deliveryId }) {
      const payload = parseJsonObject(body);
      const name = payload['project'];
      if (typeof name !== 'string' || name === '') throw new AnvilError('webhook.payload', 'the body names no project ("project": "<name>")');
      const project = ctx.projects.get(name);
      // An unknown project, or one without a secret, is checked against the decoy secret: the
      // same HMAC and the same answer as a wrong signature, so the answer and its timing do not
      // tell which project names exist (webhook-rejection.ts).
      const secret = project?.webhookSecret ? project.webhookSecret : DECOY_SECRET;
      const valid = verifyGitWebhook(secret, body, req.get(GIT_SIGNATURE_HEADER)!);
      if (!valid || !project || secret === DECOY_SECRET) throw signatureRejected('git', project ? { project: name } : { claimed: name });
      if (payload['delivery'] !== deliveryId) {
        throw new AnvilError('webhook.headers.delivery', 'the X-Anvil-Delivery header and the body\'s "delivery" differ', { details: { project: name } });
      }
      const events = fromGitUpdates(name, deliveryId, payload['updates']);
      if (events.length === 0) return { kind: 'ignored', project: name, reason: 'no branch or tag updates' };
      return { kind: 'events', project: name, events, actor: 'git-hook' };
    },
  }, options);
}

/**
 * The hook's `updates` → push events, one per branch or tag, in the order git reported them.
 * What a post-receive hook reads on stdin, `<old> <new> <ref>` per line, is exactly this.
 */
export function fromGitUpdates(project: string, deliveryId: string, updates: unknown): PushEvent[] {
  if (!Array.isArray(updates)) throw new AnvilError('webhook.payload', 'the body has no "updates" list');
  if (updates.length > MAX_UPDATES) throw new AnvilError('webhook.payload', `too many updates in one delivery (${updates.length}, at most ${MAX_UPDATES})`);
  const events: PushEvent[] = [];
  for (const [i, update] of updates.entries()) {
    const u = (typeof update === 'object' && update !== null ? update : {}) as Record<string, unknown>;
    const { ref, before, after, forced } = u;
    if (typeof ref !== 'string' || !ref.startsWith('refs/') || ref.length > 1024 || /[\x00-\x20\x7f]/.test(ref)) {
      throw new AnvilError('webhook.payload', `updates[${i}].ref must be a full ref name (refs/…)`);
    }
    for (const [key, id] of [['before', before], ['after', after]] as const) {
      if (typeof id !== 'string' || !OBJECT_ID.test(id)) throw new AnvilError('webhook.payload', `updates[${i}].${key} must be an object id (40 or 64 lower-case hex digits)`);
    }
    if (forced !== undefined && typeof forced !== 'boolean') throw new AnvilError('webhook.payload', `updates[${i}].forced must be true or false`);
    if (!ref.startsWith('refs/heads/') && !ref.startsWith('refs/tags/')) continue;
    const created = isZeroId(before as string);
    const deleted = isZeroId(after as string);
    if (created && deleted) throw new AnvilError('webhook.payload', `updates[${i}] has neither an old nor a new object id`);
    events.push({
      kind: 'push', project, deliveryId, ref, before: before as string, after: after as string,
      created, deleted, forced: forced === true,
    });
  }
  return events;
}
