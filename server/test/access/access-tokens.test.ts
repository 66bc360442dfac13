import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { sql } from 'kysely';
import {
  LAST_USED_RESOLUTION_MS,
  TOKEN_PATTERN,
  createAccessToken,
  listAccessTokens,
  revokeAccessToken,
  verifyAccessToken,
} from '../../src/access/access-tokens.ts';
import { listAudit, verifyAuditChain } from '../../src/store/audit-log.ts';
import { storeDialect } from '../../src/store/dialect.ts';
import { createTestForge, type TestForge } from '../support/forge-context.ts';

describe('access tokens', () => {
  let forge: TestForge;
  beforeEach(async () => { forge = await createTestForge(); });
  afterEach(() => forge.close());

  it('are 256 random bits shown once: the store keeps only a SHA-256 hash and a short prefix', async () => {
    const { db } = forge.ctx;
    const created = await createAccessToken(db, { project: 'acme', label: 'web prod' });
    expect(created.token).to.match(TOKEN_PATTERN);
    expect(Buffer.from(created.token.slice('anvil_'.length), 'base64url')).to.have.length(32);
    expect(created.prefix).to.equal(created.token.slice(0, 14));
    expect(created.id).to.match(/^tok_[0-9a-f]{12}$/);

    const row = await db.selectFrom('access_tokens').selectAll().executeTakeFirstOrThrow();
    expect(row.hash).to.equal(createHash('sha256').update(created.token).digest('hex'));
    expect(row).to.include({ project: 'acme', prefix: created.prefix, label: 'web prod', last_used_at: null, revoked_at: null });
    if (storeDialect(db) === 'sqlite') {
      // Nowhere in the store: not in any table, not in the database files on disk (WAL included).
      const files = readdirSync(forge.dir).filter((f) => f.startsWith('forge.db'));
      expect(files).to.include('forge.db');
      for (const file of files) {
        const bytes = readFileSync(path.join(forge.dir, file));
        expect(bytes.includes(created.token), file).to.equal(false);
        expect(bytes.includes(created.token.slice(14)), file).to.equal(false);
      }
      // …while what the store does keep is there to be found, so the search above means something.
      expect(files.some((f) => readFileSync(path.join(forge.dir, f)).includes(row.hash))).to.equal(true);
    } else {
      // PostgreSQL's files are the server's: every row of every table of the store, as text.
      const tables = (await sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()`.execute(db)).rows;
      let text = '';
      for (const { name } of tables) text += (await sql<{ t: string }>`SELECT row_to_json(r)::text AS t FROM ${sql.table(name)} r`.execute(db)).rows.map((r) => r.t).join('\n');
      expect(text.includes(created.token.slice(14))).to.equal(false);
      expect(text.includes(row.hash)).to.equal(true);
    }
    const audit = await listAudit(db);
    expect(audit.map((r) => [r.kind, r.subject])).to.deep.equal([['token.created', created.prefix]]);
    expect(JSON.stringify(audit)).not.to.contain(created.token);
    // Two tokens never share their secret part.
    const other = await createAccessToken(db, { project: 'acme' });
    expect(other.token).not.to.equal(created.token);
  });

  it('verify: the right project\'s token passes and records when it was last used', async () => {
    const { db } = forge.ctx;
    const { token, id } = await createAccessToken(db, { project: 'acme', label: 'ci' });
    const t0 = Date.parse('2026-11-21T10:00:00.000Z');
    const check = await verifyAccessToken(db, 'acme', token, t0);
    expect(check.ok && check.token).to.include({ id, project: 'acme', label: 'ci', lastUsedAt: '2026-11-21T10:00:00.000Z' });
    expect((await listAccessTokens(db, 'acme'))[0]!.lastUsedAt).to.equal('2026-11-21T10:00:00.000Z');
    // Within the resolution no write; after it, the new time.
    await verifyAccessToken(db, 'acme', token, t0 + 1_000);
    expect((await listAccessTokens(db))[0]!.lastUsedAt).to.equal('2026-11-21T10:00:00.000Z');
    await verifyAccessToken(db, 'acme', token, t0 + LAST_USED_RESOLUTION_MS + 1);
    expect((await listAccessTokens(db))[0]!.lastUsedAt).to.equal(new Date(t0 + LAST_USED_RESOLUTION_MS + 1).toISOString());
  });

  it('verify: a coded failure for a missing, wrong, revoked or other project\'s token', async () => {
    const { db } = forge.ctx;
    const acme = await createAccessToken(db, { project: 'acme' });
    const beta = await createAccessToken(db, { project: 'beta' });
    const codeOf = async (presented: string | undefined) => {
      const check = await verifyAccessToken(db, 'acme', presented);
      return check.ok ? 'ok' : check.code;
    };
    expect(await codeOf(undefined)).to.equal('auth.missing');
    expect(await codeOf('')).to.equal('auth.missing');
    expect(await codeOf('nonsense')).to.equal('auth.invalid');
    expect(await codeOf(`${acme.token}x`)).to.equal('auth.invalid');
    // Same prefix, different secret: found by prefix, refused by the hash comparison.
    const lastChar = acme.token.at(-1) === 'A' ? 'B' : 'A';
    expect(await codeOf(`${acme.token.slice(0, -1)}${lastChar}`)).to.equal('auth.invalid');
    expect(await codeOf(beta.token)).to.equal('auth.forbidden');
    expect(await codeOf(acme.token)).to.equal('ok');
    await revokeAccessToken(db, 'acme', acme.id);
    expect(await codeOf(acme.token)).to.equal('auth.revoked');
    // A refused token is not marked used.
    expect((await listAccessTokens(db, 'beta'))[0]!.lastUsedAt).to.equal(null);
  });

  it('compares hashes with crypto.timingSafeEqual, never with === (the admin token too)', () => {
    // A timing measurement would be flaky; what this pins is that no code path compares a
    // secret's hash with an early-exit string comparison.
    const src = (file: string) => readFileSync(fileURLToPath(new URL(`../../src/${file}`, import.meta.url)), 'utf8');
    const tokens = src('access/access-tokens.ts');
    expect(tokens).to.match(/timingSafeEqual\(stored, digest\)/);
    expect(tokens).not.to.match(/\.hash\s*[!=]==|[!=]==\s*\w+\.hash\b|where\('hash'/);
    const gate = src('http/require-token.ts');
    expect(gate).to.match(/timingSafeEqual\(sha256\(presented\), sha256\(ctx\.adminToken\)\)/);
    expect(gate).not.to.match(/[!=]==\s*ctx\.adminToken|ctx\.adminToken\s*[!=]==/);
  });

  it('list never shows hashes; revoke by id or prefix, within the project only, audited', async () => {
    const { db } = forge.ctx;
    const a = await createAccessToken(db, { project: 'acme', label: 'one' });
    const b = await createAccessToken(db, { project: 'acme', label: 'two' });
    const c = await createAccessToken(db, { project: 'beta', label: 'three' });
    const listed = await listAccessTokens(db);
    expect(listed.map((t) => t.label)).to.have.members(['one', 'two', 'three']);
    for (const t of listed) expect(Object.keys(t)).to.deep.equal(['id', 'project', 'prefix', 'label', 'createdAt', 'lastUsedAt', 'revokedAt']);
    expect(JSON.stringify(listed)).not.to.match(/[0-9a-f]{64}/);
    expect((await listAccessTokens(db, 'beta')).map((t) => t.id)).to.deep.equal([c.id]);

    const byPrefix = await revokeAccessToken(db, 'acme', a.prefix, { actor: 'cli' });
    expect(byPrefix).to.deep.include({ alreadyRevoked: false });
    expect(byPrefix.token.id).to.equal(a.id);
    expect((await revokeAccessToken(db, 'acme', a.id)).alreadyRevoked).to.equal(true);
    expect((await revokeAccessToken(db, 'acme', b.id)).token.revokedAt).to.be.a('string');
    for (const [project, what] of [['acme', c.id], ['acme', 'tok_000000000000'], ['beta', a.prefix]] as const) {
      try {
        await revokeAccessToken(db, project, what);
        expect.fail('revoked');
      } catch (err) {
        expect((err as { code: string }).code).to.equal('token.unknown');
      }
    }
    expect((await verifyAccessToken(db, 'beta', c.token)).ok).to.equal(true);
    const audit = await listAudit(db, { kind: 'token' });
    expect(audit.map((r) => `${r.kind} ${r.subject} ${r.actor}`)).to.deep.equal([
      `token.created ${a.prefix} forge`, `token.created ${b.prefix} forge`, `token.created ${c.prefix} forge`,
      `token.revoked ${a.prefix} cli`, `token.revoked ${b.prefix} forge`,
    ]);
    expect(await verifyAuditChain(db)).to.deep.equal({ ok: true, rows: 5 });
  });

  it('refuses a bad project name or label', async () => {
    for (const request of [{ project: 'Acme!' }, { project: '__proto__' }, { project: 'acme', label: 'two\nlines' }, { project: 'acme', label: 'x'.repeat(201) }]) {
      try {
        await createAccessToken(forge.ctx.db, request);
        expect.fail(JSON.stringify(request));
      } catch (err) {
        expect((err as { code: string }).code).to.match(/^token\.(project|label)$/);
      }
    }
    expect(await forge.ctx.db.selectFrom('access_tokens').selectAll().execute()).to.deep.equal([]);
  });
});
