/**
 * How a webhook that cannot be trusted is refused (issue 14). Anyone can post to the webhook
 * routes, so a refusal must teach the sender nothing about the forge: a body claiming a project
 * or repository the forge does not have gets the very answer a wrong signature for a real one
 * gets — same status, code, reason and hint — after the same HMAC work (`DECOY_SECRET`). What
 * the sender claimed is kept for the forge's own log (`details`), never for the answer.
 *
 * And such a refusal is not something an authenticated party did, so it is counted and logged
 * (rate-limited), not written to the append-only audit log.
 */
import { randomBytes } from 'node:crypto';
import { AnvilError } from '@anvil/content-schema';
import type { WebhookSource } from './webhook-intake.ts';

/**
 * A secret no sender can know, fresh in every process: the signature of a delivery for an
 * unknown project (or a project without a secret) is checked against it, so that the forge
 * spends the same time on it as on a real project's and then refuses it.
 */
export const DECOY_SECRET = randomBytes(32).toString('hex');

/** What a refusal is counted and logged as: a fixed set, so the metric's labels stay bounded. */
export type RejectionReason = 'signature-missing' | 'signature-invalid' | 'headers' | 'content-type' | 'payload' | 'too-large' | 'body' | 'other';

const REASON_BY_CODE: readonly (readonly [string, RejectionReason])[] = [
  ['webhook.signature.missing', 'signature-missing'],
  ['webhook.signature', 'signature-invalid'],
  ['webhook.headers', 'headers'],
  ['webhook.payload.content-type', 'content-type'],
  ['webhook.payload', 'payload'],
  ['request.too-large', 'too-large'],
  ['request', 'body'],
];

export function rejectionReason(code: string): RejectionReason {
  for (const [prefix, reason] of REASON_BY_CODE) {
    if (code === prefix || code.startsWith(`${prefix}.`)) return reason;
  }
  return 'other';
}

const SIGNATURE_HEADER: Record<WebhookSource, string> = { github: 'X-Hub-Signature-256', git: 'X-Anvil-Signature-256' };
const SIGNATURE_HINT: Record<WebhookSource, string> = {
  github: 'the secret on the GitHub webhook and the webhookSecret the forge has for that repository\'s project must be the same',
  git: 'the hook signs with the project\'s secret (git config anvil.webhookSecret, or the hook\'s secret variable); the forge must have the same webhookSecret for the project the hook names',
};

export interface SignatureClaim {
  /** The project, when the body named one the forge has (for the log). */
  project?: string | undefined;
  /** What the body claimed to be for (a project or repository name), cut short, for the log. */
  claimed?: string | undefined;
}

/**
 * The one 401 for a body whose signature does not verify — wrong secret, unknown project or
 * repository, or a project with no secret: the answer names nothing.
 */
export function signatureRejected(source: WebhookSource, claim: SignatureClaim = {}): AnvilError {
  const details: Record<string, unknown> = {};
  if (claim.project !== undefined) details['project'] = claim.project;
  if (claim.claimed !== undefined) details['claimed'] = claim.claimed.slice(0, 100);
  return new AnvilError('webhook.signature.invalid', `the ${SIGNATURE_HEADER[source]} header does not match the body`, { hint: SIGNATURE_HINT[source], details });
}
