/**
 * What revoking an access token does to the receivers that registered with it (DESIGN §9:
 * tokens are "revocable with immediate effect"; issue 18). Each receiver still taking pushes is
 * marked revoked, and gone too, so that everything that looks for live receivers (the queue,
 * `--active`, counts) passes it over; every delivery still pending to it, one a worker is
 * pushing right now included, is superseded with code `token.revoked`: nothing more is pushed,
 * and a worker's late answer is not recorded (delivery-queue.ts records only pending rows).
 * The receiver comes back only by registering with a valid token (register-receiver.ts).
 */
import type { Store } from '../store/open-store.ts';

export const TOKEN_REVOKED = 'token.revoked';

export interface RevocationEffect {
  /** Instance ids of the receivers whose pushes ended now. */
  receivers: string[];
  /** Deliveries to them that will not be pushed. */
  deliveries: number;
}

// Bound values per statement stay far inside SQLite's limit.
const CHUNK = 500;

/**
 * Ends the pushes of the project's receivers linked to `tokenId`. Runs in the caller's
 * transaction (`trx`), after its first write, so that no registration or enqueue slips between
 * the token's revocation and this.
 */
export async function endReceiversOfToken(trx: Store, request: { project: string; tokenId: string; prefix: string | null; at: string }): Promise<RevocationEffect> {
  const { project, tokenId, at } = request;
  const ended = await trx.updateTable('receivers').set({ revoked_at: at, gone_at: at })
    .where('project', '=', project).where('token_id', '=', tokenId)
    // One that left already keeps its own story (gone); nothing is pending to it.
    .where('revoked_at', 'is', null).where('gone_at', 'is', null)
    .returning('instance_id').execute();
  const receivers = ended.map((r) => r.instance_id).sort();
  let deliveries = 0;
  for (let i = 0; i < receivers.length; i += CHUNK) {
    const changed = await trx.updateTable('deliveries')
      .set({ state: 'superseded', updated_at: at, last_code: TOKEN_REVOKED, last_reason: revokedReason(request.prefix) })
      .where('project', '=', project).where('instance_id', 'in', receivers.slice(i, i + CHUNK)).where('state', '=', 'pending')
      .executeTakeFirst();
    deliveries += Number(changed.numUpdatedRows);
  }
  return { receivers, deliveries };
}

export function revokedReason(prefix: string | null): string {
  return prefix === null
    ? 'the access token the receiver registered with was revoked'
    : `the access token ${prefix}… the receiver registered with was revoked`;
}
