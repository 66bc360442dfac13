/**
 * A streaming receiver's answers to what its stream carried (issue 16): after taking an envelope
 * off its stream exactly as it would take a push, the receiver posts the answer the push would
 * have got (`POST …/receivers/ack`: status, code, reason, and the versions it serves now). The
 * forge judges it with the push's own rules (push-outcome.ts: 200 delivered, 409 frozen or stale,
 * 4xx failed — 401/403 with an alert) and records it as a push's answer is recorded
 * (delivery-queue.ts recordOutcomes): the receiver's last delivery, the versions it serves, and
 * one audit row per answer, `delivery.<state>` with `transport: "stream"`.
 *
 * A fan-out to a thousand streams comes back as a thousand acks within a moment: the acks that
 * arrive in one turn of the event loop are written in one transaction, the rows that get the
 * same values by one statement.
 */
import { canonicalJson, type ReceiverAck } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import type { Updateable } from 'kysely';
import type { ReceiverTable } from '../store/database.ts';
import { appendAuditEntries, type AuditEntry } from '../store/audit-log.ts';
import { storeTime } from '../store/open-store.ts';
import { DELIVERY_TTL_MS } from './delivery-queue.ts';
import { decidePushOutcome } from './push-outcome.ts';

export interface StreamAck {
  project: string;
  ack: ReceiverAck;
  /** Who answered, for the audit log (the token's prefix). */
  actor: string;
}

/** Per ack: whether it was recorded (false: no streaming receiver of that id in the project). */
export type AckRecorder = (ack: StreamAck) => Promise<boolean>;

type ReceiverUpdate = Updateable<ReceiverTable>;

const CHUNK = 500;

/** Records acks in batches: the ones asked for in one turn of the event loop share a transaction. */
export function createAckRecorder(ctx: Pick<ForgeContext, 'db' | 'metrics'>): AckRecorder {
  type Waiting = { ack: StreamAck; resolve: (recorded: boolean) => void; reject: (err: unknown) => void };
  let batch: Waiting[] | undefined;
  return (ack) => new Promise((resolve, reject) => {
    if (!batch) {
      const mine: Waiting[] = [];
      batch = mine;
      setImmediate(() => {
        batch = undefined;
        recordStreamAcks(ctx, mine.map((m) => m.ack)).then((recorded) => {
          mine.forEach((m, i) => m.resolve(recorded[i]!));
        }, (err: unknown) => {
          for (const m of mine) m.reject(err);
        });
      });
    }
    batch.push({ ack, resolve, reject });
  });
}

/** Records the acks, in order, in one transaction; returns for each whether it was recorded. */
export async function recordStreamAcks(ctx: Pick<ForgeContext, 'db' | 'metrics'>, acks: readonly StreamAck[], now: number = Date.now()): Promise<boolean[]> {
  if (acks.length === 0) return [];
  const at = storeTime(now);
  const judged = acks.map(({ project, ack, actor }) => {
    const outcome = decidePushOutcome(
      { status: ack.status, code: ack.code, reason: ack.reason, versions: ack.versions },
      { attempt: 1, now, expiresAt: now + DELIVERY_TTL_MS },
    );
    // A stream answer is never retried by the forge: the receiver waits instead of answering
    // busy, and its next connection is sent the channel's current envelope anyway.
    const state = outcome.kind === 'final' ? outcome.state : 'failed';
    const reason = state === 'delivered' ? null : outcome.reason || null;
    const update: ReceiverUpdate = {
      last_delivery_at: at, last_delivery_state: state, last_delivery_status: ack.status, last_delivery_code: ack.code, last_delivery_reason: reason,
      stream_acked_envelope: ack.envelope, stream_acked_at: at, last_seen_at: at,
      // The receiver's own account of what it serves, whatever it answered.
      versions: JSON.stringify(ack.versions),
    };
    const entry: AuditEntry = {
      project, kind: `delivery.${state}`, subject: ack.instanceId, actor,
      detail: {
        transport: 'stream', envelope: ack.envelope, status: ack.status, code: ack.code, versions: ack.versions,
        ...(reason ? { reason } : {}), ...(outcome.kind === 'final' && outcome.alert ? { alert: true } : {}),
      },
    };
    return { key: `${project}\u0000${ack.instanceId}`, project, instanceId: ack.instanceId, state, update, entry };
  });
  const recordedKeys = await ctx.db.transaction().execute(async (trx) => {
    // The receivers' rows first: the first statement writes, so SQLite takes the write lock at
    // once (as recordOutcomes does). Each receiver's row shows its last answer of the batch.
    const last = new Map<string, (typeof judged)[number]>();
    for (const j of judged) last.set(j.key, j);
    const groups = new Map<string, { project: string; update: ReceiverUpdate; ids: string[] }>();
    for (const { project, instanceId, update } of last.values()) {
      const key = canonicalJson({ project, update });
      const group = groups.get(key) ?? { project, update, ids: [] };
      group.ids.push(instanceId);
      groups.set(key, group);
    }
    const known = new Set<string>();
    for (const { project, update, ids } of groups.values()) {
      for (let i = 0; i < ids.length; i += CHUNK) {
        const rows = await trx.updateTable('receivers').set(update)
          .where('project', '=', project).where('instance_id', 'in', ids.slice(i, i + CHUNK))
          .where('transport', '=', 'stream').where('gone_at', 'is', null)
          .returning('instance_id').execute();
        for (const r of rows) known.add(`${project}\u0000${r.instance_id}`);
      }
    }
    // Every answer is audited, as every final push outcome is.
    await appendAuditEntries(trx, judged.filter((j) => known.has(j.key)).map((j) => j.entry), now);
    return known;
  });
  for (const j of judged) if (recordedKeys.has(j.key)) ctx.metrics.deliveries.inc({ outcome: `stream.${j.state}` });
  return judged.map((j) => recordedKeys.has(j.key));
}

function groupIds(acks: readonly StreamAck[]): Map<string, string[]> {
  const byProject = new Map<string, Set<string>>();
  for (const { project, ack } of acks) {
    const ids = byProject.get(project) ?? new Set();
    ids.add(ack.instanceId);
    byProject.set(project, ids);
  }
  return new Map([...byProject].map(([p, ids]) => [p, [...ids]]));
}
