import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import SqliteDatabase from 'better-sqlite3';
import { appendAudit, appendAuditGrouped, listAudit, verifyAuditChain } from '../../src/store/audit-log.ts';
import { openStore } from '../../src/store/open-store.ts';

describe('store: SQLite through Kysely', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'anvil-store-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates and migrates the database on first open, and reopens it as it was', async () => {
    const file = path.join(dir, 'data', 'forge.db');
    const db = await openStore({ file });
    await db.insertInto('projects').values({ name: 'acme', remote: '/srv/acme.git', provider: 'git', created_at: '2026-11-21T00:00:00.000Z' }).execute();
    await db.destroy();
    const again = await openStore({ file });
    expect(await again.selectFrom('projects').select('name').execute()).to.deep.equal([{ name: 'acme' }]);
    await again.destroy();
  });

  it('refuses a store that a newer forge has migrated, with a clear message', async () => {
    const file = path.join(dir, 'forge.db');
    await (await openStore({ file })).destroy();
    const raw = new SqliteDatabase(file);
    raw.prepare('INSERT INTO kysely_migration (name, timestamp) VALUES (?, ?)').run('999-from-the-future', new Date().toISOString());
    raw.close();
    try {
      await openStore({ file });
      expect.fail('opened');
    } catch (err) {
      expect((err as { code: string }).code).to.equal('store.newer-than-code');
      expect((err as Error).message).to.contain('999-from-the-future');
    }
  });

  describe('audit log', () => {
    it('chains every row to the one before, and verifies', async () => {
      const db = await openStore({ file: path.join(dir, 'forge.db') });
      await appendAudit(db, { project: 'acme', kind: 'webhook.received', subject: 'push', detail: { ref: 'refs/heads/main' } });
      await appendAudit(db, { project: 'acme', kind: 'publish', subject: 'onboarding@1.2.0', actor: 'github:octocat' });
      await appendAudit(db, { kind: 'token.created', subject: 'anvil_ab12' });
      const rows = await listAudit(db);
      expect(rows.map((r) => r.kind)).to.deep.equal(['webhook.received', 'publish', 'token.created']);
      expect(rows[1]!.prev_hash).to.equal(rows[0]!.hash);
      expect(await verifyAuditChain(db)).to.deep.equal({ ok: true, rows: 3 });
      await db.destroy();
    });

    it('appends entries asked for at the same moment as one group, in order, each caller told when its own is in', async () => {
      const db = await openStore({ file: path.join(dir, 'forge.db') });
      await appendAudit(db, { kind: 'first', subject: 'before' });
      const asked = Array.from({ length: 30 }, (_, i) => appendAuditGrouped(db, { kind: 'webhook.received', subject: `delivery ${i}` }));
      await Promise.all(asked);
      // Asked for after the group started: the next group.
      await appendAuditGrouped(db, { kind: 'last', subject: 'after' });
      const rows = await listAudit(db, { limit: 100 });
      expect(rows.map((r) => r.subject)).to.deep.equal(['before', ...Array.from({ length: 30 }, (_, i) => `delivery ${i}`), 'after']);
      expect(new Set(rows.slice(1, 31).map((r) => r.at)).size, 'one group, one time').to.equal(1);
      expect(await verifyAuditChain(db)).to.deep.equal({ ok: true, rows: 32 });
      await db.destroy();
    });

    it('is append-only: the database refuses updates and deletes', async () => {
      const file = path.join(dir, 'forge.db');
      const db = await openStore({ file });
      await appendAudit(db, { kind: 'publish', subject: 'a@1.0.0' });
      for (const attempt of [
        () => db.updateTable('audit_log').set({ subject: 'b@1.0.0' }).execute(),
        () => db.deleteFrom('audit_log').execute(),
      ]) {
        try {
          await attempt();
          expect.fail('allowed');
        } catch (err) {
          expect((err as Error).message).to.contain('append-only');
        }
      }
      await db.destroy();
    });

    it('detects a row changed, or removed, behind the store\'s back', async () => {
      const file = path.join(dir, 'forge.db');
      const db = await openStore({ file });
      for (const v of ['1.0.0', '1.1.0', '1.2.0']) await appendAudit(db, { project: 'acme', kind: 'publish', subject: `onboarding@${v}` });
      await db.destroy();
      const raw = new SqliteDatabase(file);
      raw.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete');
      raw.prepare("UPDATE audit_log SET subject = 'onboarding@9.9.9' WHERE seq = 2").run();
      raw.close();
      let reopened = await openStore({ file });
      const changed = await verifyAuditChain(reopened);
      expect(changed).to.include({ ok: false, seq: 2 });
      expect((changed as { reason: string }).reason).to.contain('changed');
      await reopened.destroy();

      const raw2 = new SqliteDatabase(file);
      raw2.prepare("UPDATE audit_log SET subject = 'onboarding@1.1.0' WHERE seq = 2").run();
      raw2.prepare('DELETE FROM audit_log WHERE seq = 2').run();
      raw2.close();
      reopened = await openStore({ file });
      const removed = await verifyAuditChain(reopened);
      expect(removed).to.include({ ok: false, seq: 3 });
      expect((removed as { reason: string }).reason).to.contain('removed');
      await reopened.destroy();
    });
  });
});
