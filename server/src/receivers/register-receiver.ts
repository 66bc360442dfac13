/**
 * A receiver's life at the forge (DESIGN §8): it registers (`POST`), heartbeats (`PUT`) and
 * leaves (`DELETE`). The body is already validated (content-schema's ReceiverRegistration);
 * these write the store and the audit log: registrations, departures and mode changes.
 */
import { AnvilError, type ReceiverRegistration } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Receiver } from '../store/database.ts';
import { storeTime } from '../store/open-store.ts';

export type ReceiverContext = Pick<ForgeContext, 'db' | 'secrets'>;

export interface ReceiverCall {
  project: string;
  /** `register` is the receiver's POST (it started); `heartbeat` its PUT. */
  kind: 'register' | 'heartbeat';
  registration: ReceiverRegistration;
  /** The access token the receiver presented: pushes present it back, so it is kept sealed. */
  token: string;
  /** Which stored token that is (requireToken verified it): revoking it ends this receiver's pushes. */
  tokenId?: string | undefined;
  /** Who called, for the audit log (the token's prefix). */
  actor: string;
  now?: number | undefined;
}

export interface ReceiverCallResult {
  /** True when the forge did not know the instance, or it had left: it (re)joined. */
  joined: boolean;
  /** The previous mode when this call changed it. */
  modeChangedFrom?: 'accepting' | 'frozen';
}

/**
 * Registers or refreshes a receiver, upserting by instance id: url (or that it streams, with an
 * empty url: issue 16), channel, mode, ranges, versions, the sealed token and which token it is,
 * last seen; a receiver that had left, or whose token was revoked, is back. A revoked token is
 * refused (`auth.revoked`). An unknown instance heartbeating registers (the forge may have lost
 * it, or it registered before a restore).
 */
export async function recordReceiverCall(ctx: ReceiverContext, call: ReceiverCall): Promise<ReceiverCallResult> {
  const now = call.now ?? Date.now();
  const at = storeTime(now);
  const r = call.registration;
  const pushToken = ctx.secrets.seal(call.token);
  const previous = await ctx.db.transaction().execute(async (trx) => {
    // Read in the transaction that writes, not taken from the request's check: a revocation
    // committed since then must not be undone by this call re-linking a live receiver to it.
    const token = call.tokenId === undefined ? undefined
      : await trx.selectFrom('access_tokens').select(['id', 'prefix', 'revoked_at']).where('id', '=', call.tokenId).executeTakeFirst();
    if (token?.revoked_at) {
      throw new AnvilError('auth.revoked', `the access token ${token.prefix}… was revoked at ${token.revoked_at}`, { hint: 'ask the forge\'s operator for a new one (`npx anvil token create --project …`)' });
    }
    const before = await trx.selectFrom('receivers').selectAll()
      .where('project', '=', call.project).where('instance_id', '=', r.instanceId).executeTakeFirst();
    const transport = r.transport ?? 'push';
    const url = transport === 'stream' ? '' : r.url ?? '';
    const fields = {
      url, transport, channel: r.channel, mode: r.mode, ranges: JSON.stringify(r.ranges), versions: JSON.stringify(r.versions),
      // A receiver whose token was revoked is back once it calls with a valid one (issue 18).
      push_token: pushToken, token_id: token?.id ?? null, revoked_at: null, last_seen_at: at, gone_at: null,
    };
    const joins = before === undefined || before.gone_at !== null;
    await trx.insertInto('receivers')
      .values({ project: call.project, instance_id: r.instanceId, ...fields, registered_at: at })
      .onConflict((oc) => oc.columns(['project', 'instance_id']).doUpdateSet({
        ...fields, ...(call.kind === 'register' || joins ? { registered_at: at } : {}),
      }))
      .execute();
    // Deliveries already queued follow the receiver to its new address (a restart on another
    // port); a receiver that streams now has no address: its stream brings it up to date.
    if (before !== undefined && transport === 'stream') {
      await trx.updateTable('deliveries').set({ state: 'superseded', updated_at: at, last_reason: 'the receiver streams now' })
        .where('project', '=', call.project).where('instance_id', '=', r.instanceId).where('state', '=', 'pending')
        .execute();
    } else if (before !== undefined && before.url !== url) {
      await trx.updateTable('deliveries').set({ url, updated_at: at })
        .where('project', '=', call.project).where('instance_id', '=', r.instanceId).where('state', '=', 'pending')
        .execute();
    }
    return before;
  });

  const joined = previous === undefined || previous.gone_at !== null;
  if (call.kind === 'register' || joined) {
    await appendAudit(ctx.db, {
      project: call.project, kind: 'receiver.registered', subject: r.instanceId, actor: call.actor,
      detail: {
        ...(r.transport === 'stream' ? { transport: 'stream' } : { url: r.url }), channel: r.channel, mode: r.mode, ranges: r.ranges, ...(previous?.gone_at ? { returnedAfter: previous.gone_at } : {}),
        ...(previous?.revoked_at ? { tokenRevokedAt: previous.revoked_at } : {}),
      },
    }, now);
  }
  const result: ReceiverCallResult = { joined };
  if (previous !== undefined && previous.mode !== r.mode) {
    result.modeChangedFrom = previous.mode;
    await appendAudit(ctx.db, { project: call.project, kind: 'receiver.mode', subject: r.instanceId, actor: call.actor, detail: { from: previous.mode, to: r.mode } }, now);
  }
  return result;
}

export interface LeaveResult {
  alreadyGone: boolean;
  /** Pending deliveries to it that will not be pushed. */
  superseded: number;
}

/** The receiver leaves: it is marked gone and its pending deliveries are superseded. */
export async function recordReceiverLeave(ctx: ReceiverContext, leave: { project: string; instanceId: string; actor: string; now?: number | undefined }): Promise<LeaveResult> {
  const now = leave.now ?? Date.now();
  const at = storeTime(now);
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const before: Receiver | undefined = await trx.selectFrom('receivers').selectAll()
      .where('project', '=', leave.project).where('instance_id', '=', leave.instanceId).executeTakeFirst();
    if (!before) return undefined;
    if (before.gone_at !== null) return { alreadyGone: true, superseded: 0 };
    await trx.updateTable('receivers').set({ gone_at: at, last_seen_at: at })
      .where('project', '=', leave.project).where('instance_id', '=', leave.instanceId).execute();
    // As on a 410 (deliver/delivery-queue.ts): one being pushed right now is superseded too, so
    // the worker's answer for it is not recorded.
    const changed = await trx.updateTable('deliveries').set({ state: 'superseded', updated_at: at, last_reason: 'the receiver left' })
      .where('project', '=', leave.project).where('instance_id', '=', leave.instanceId).where('state', '=', 'pending')
      .executeTakeFirst();
    return { alreadyGone: false, superseded: Number(changed.numUpdatedRows) };
  });
  if (!outcome) {
    throw new AnvilError('receiver.unknown', `${leave.project} has no receiver "${leave.instanceId}"`, { hint: 'it may never have registered (a receiver registers once it has a push URL)' });
  }
  if (!outcome.alreadyGone) {
    await appendAudit(ctx.db, { project: leave.project, kind: 'receiver.left', subject: leave.instanceId, actor: leave.actor, detail: { superseded: outcome.superseded } }, now);
  }
  return outcome;
}
