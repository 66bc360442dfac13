/**
 * The audit page's chain check (issue 15): walks from the start at first and every
 * FULL_CHECK_MS, in between only the rows written since, and still finds a changed old row.
 */
import { expect } from 'chai';
import { sql } from 'kysely';
import { auditVerifier, FULL_CHECK_MS } from '../../src/dashboard/audit-verifier.ts';
import { appendAudit } from '../../src/store/audit-log.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';

describe('audit page chain check', () => {
  let db: Store;
  let now = 1_000_000;
  beforeEach(async () => {
    db = await openStore({ file: ':memory:' });
  });
  afterEach(async () => db.destroy());

  it('checks new rows from its checkpoint, the whole chain every FULL_CHECK_MS, and finds a changed old row then', async () => {
    for (let i = 0; i < 5; i++) await appendAudit(db, { kind: 'test', subject: `row ${i}` });
    const check = auditVerifier(db, () => now);
    const first = await check();
    expect(first).to.include({ ok: true, rows: 5, wholeChainAt: now });
    await appendAudit(db, { kind: 'test', subject: 'row 5' });
    now += 1000;
    expect(await check()).to.include({ ok: true, rows: 6, wholeChainAt: 1_000_000 });
    // Someone with the database in hand drops the append-only trigger and edits an old row: the
    // incremental check does not read it again…
    await sql`DROP TRIGGER audit_log_no_update`.execute(db);
    await db.updateTable('audit_log').set({ subject: 'edited' }).where('seq', '=', 2).execute();
    expect(await check()).to.include({ ok: true, rows: 6 });
    // …the next walk from the start, at most FULL_CHECK_MS later, finds it, and so does every check after.
    now += FULL_CHECK_MS;
    const broken = await check();
    expect(broken).to.include({ ok: false, seq: 2 });
    now += 1000;
    expect(await check()).to.include({ ok: false, seq: 2 });
  });

  it('an empty log verifies with no rows', async () => {
    expect(await auditVerifier(db, () => now)()).to.include({ ok: true, rows: 0 });
  });
});
