/**
 * The audit log (DESIGN.md §9): append-only, one row per webhook, build, decision, publish,
 * delivery, token and mode change. Each row's hash covers its content and the previous row's
 * hash, so that a changed, removed or reordered row breaks the chain from there on.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { canonicalJson } from '@anvil/content-schema';
import type { AuditRow } from './database.ts';
import { storeDialect } from './dialect.ts';
import { storeTime, type Store } from './open-store.ts';

export const AUDIT_GENESIS = 'sha256-genesis';

export interface AuditEntry {
  project?: string | null | undefined;
  /** What happened: `webhook.received`, `publish`, `decision.unreviewed-change`, `token.created`… */
  kind: string;
  /** What it happened to: a set, a tag, a token prefix, a receiver. */
  subject: string;
  /** Who or what caused it: `github:octocat`, `cli`, `forge`. */
  actor?: string | undefined;
  detail?: Record<string, unknown> | undefined;
}

function rowHash(prev: string, row: { at: string; project: string | null; kind: string; subject: string; actor: string; detail: string }): string {
  const content = canonicalJson({ prev, at: row.at, project: row.project, kind: row.kind, subject: row.subject, actor: row.actor, detail: row.detail });
  return `sha256-${createHash('sha256').update(content).digest('base64')}`;
}

/**
 * Makes the transaction the chain's only appender until it ends. SQLite has one writer at a time
 * already (see appendAuditEntries). On PostgreSQL, replicas append at once: each would read the
 * same last hash and fork the chain, so they take turns on a transaction-scoped advisory lock,
 * keyed by the store's schema (two forges in two schemas of one database do not wait on each other).
 */
async function lockChain(trx: Store): Promise<void> {
  if (storeDialect(trx) === 'postgres') await sql`select pg_advisory_xact_lock(${AUDIT_LOCK_CLASS}, hashtext(current_schema()))`.execute(trx);
}

/** The first key of the chain's advisory lock: its own number, so that it meets no other lock. */
const AUDIT_LOCK_CLASS = 0x616e76; // "anv"

/** Appends one entry; the read of the last hash and the insert are one transaction. */
export async function appendAudit(db: Store, entry: AuditEntry, now: number = Date.now()): Promise<AuditRow> {
  return db.transaction().execute(async (trx) => {
    await lockChain(trx);
    const last = await trx.selectFrom('audit_log').select('hash').orderBy('seq', 'desc').limit(1).executeTakeFirst();
    const prev = last?.hash ?? AUDIT_GENESIS;
    const row = {
      at: storeTime(now),
      project: entry.project ?? null,
      kind: entry.kind,
      subject: entry.subject,
      actor: entry.actor ?? 'forge',
      detail: canonicalJson(entry.detail ?? {}),
    };
    return trx.insertInto('audit_log').values({ ...row, prev_hash: prev, hash: rowHash(prev, row) }).returningAll().executeTakeFirstOrThrow();
  });
}

/**
 * Appends entries, in order, inside the caller's transaction: the chain's last hash is read once
 * and the rows go in as one insert. For writers of many rows at once (the push worker records a
 * fan-out's outcomes in batches, each with its audit rows, atomically). Call it after the
 * transaction's first write, so that no other writer can slip a row in between (SQLite takes the
 * write lock at the first write), and as its last step: on PostgreSQL it holds the chain's lock
 * until the transaction ends.
 */
export async function appendAuditEntries(trx: Store, entries: readonly AuditEntry[], now: number = Date.now()): Promise<void> {
  if (entries.length === 0) return;
  await lockChain(trx);
  const last = await trx.selectFrom('audit_log').select('hash').orderBy('seq', 'desc').limit(1).executeTakeFirst();
  let prev = last?.hash ?? AUDIT_GENESIS;
  const at = storeTime(now);
  const rows = entries.map((entry) => {
    const row = { at, project: entry.project ?? null, kind: entry.kind, subject: entry.subject, actor: entry.actor ?? 'forge', detail: canonicalJson(entry.detail ?? {}) };
    const hash = rowHash(prev, row);
    const linked = { ...row, prev_hash: prev, hash };
    prev = hash;
    return linked;
  });
  // 9 columns × 500 rows stays well inside SQLite's limit on bound values.
  for (let i = 0; i < rows.length; i += 500) await trx.insertInto('audit_log').values(rows.slice(i, i + 500)).execute();
}

/**
 * Appends one entry together with the others asked for at the same moment: the first call
 * starts a transaction on the next turn of the event loop, and every entry asked for until it
 * starts goes into it (group commit); those asked for meanwhile wait for the next one. The
 * chain's lock is taken once per group instead of once per entry: under a burst of webhooks,
 * each of which is audited before it is answered, the lock was the forge's limit (issue 16,
 * bench/RESULTS.md "Scale-out"). Resolves once its entry is committed; rejects with the group.
 */
export function appendAuditGrouped(db: Store, entry: AuditEntry): Promise<void> {
  let group = openGroups.get(db);
  if (!group) {
    const created: AuditGroup = { entries: [], done: undefined as unknown as Promise<void> };
    created.done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      // Closed to newcomers from here: they start the next group.
      if (openGroups.get(db) === created) openGroups.delete(db);
      return db.transaction().execute((trx) => appendAuditEntries(trx, created.entries));
    });
    openGroups.set(db, created);
    group = created;
  }
  group.entries.push(entry);
  return group.done;
}

interface AuditGroup {
  entries: AuditEntry[];
  done: Promise<void>;
}

const openGroups = new WeakMap<Store, AuditGroup>();

export interface AuditQuery {
  project?: string | undefined;
  kind?: string | undefined;
  limit?: number | undefined;
  /** Only rows older than this sequence number: the next page of a listing, newest first. */
  before?: number | undefined;
}

export async function listAudit(db: Store, query: AuditQuery = {}): Promise<AuditRow[]> {
  let q = db.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(query.limit ?? 100);
  if (query.project !== undefined) q = q.where('project', '=', query.project);
  // A prefix, compared exactly: LIKE would be case-insensitive on SQLite only, and read `_` and
  // `%` in the prefix as wildcards. substr counts characters on both, hence code points here.
  if (query.kind !== undefined) q = q.where(sql<string>`substr(kind, 1, ${[...query.kind].length})`, '=', query.kind);
  if (query.before !== undefined) q = q.where('seq', '<', query.before);
  return (await q.execute()).reverse();
}

export type AuditVerification = { ok: true; rows: number } | { ok: false; rows: number; seq: number; reason: string };

/** Where a verified walk of the chain ended: a later walk may go on from here. */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  rows: number;
}

/** Walks the whole chain in order; the first row whose link or hash is wrong is reported. */
export async function verifyAuditChain(db: Store): Promise<AuditVerification> {
  return (await walkAuditChain(db)).verification;
}

/**
 * The walk itself, from the start or from a checkpoint an earlier walk returned, and where it
 * ended. From a checkpoint only the rows after it are checked: a change to an earlier row shows
 * at the next walk from the start.
 */
export async function walkAuditChain(db: Store, from?: AuditCheckpoint): Promise<{ verification: AuditVerification; last?: AuditCheckpoint }> {
  let prev = from?.hash ?? AUDIT_GENESIS;
  let rows = from?.rows ?? 0;
  let after = from?.seq ?? 0;
  for (;;) {
    const page = await db.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(1000).execute();
    if (page.length === 0) return { verification: { ok: true, rows }, ...(after > 0 ? { last: { seq: after, hash: prev, rows } } : {}) };
    for (const row of page) {
      if (row.prev_hash !== prev) return { verification: { ok: false, rows, seq: row.seq, reason: `row ${row.seq} links to ${row.prev_hash}, but the row before it hashes to ${prev} (a row was removed, inserted or reordered)` } };
      const hash = rowHash(prev, row);
      if (hash !== row.hash) return { verification: { ok: false, rows, seq: row.seq, reason: `row ${row.seq} was changed after it was written (its content hashes to ${hash}, not ${row.hash})` } };
      prev = row.hash;
      rows++;
      after = row.seq;
    }
  }
}
