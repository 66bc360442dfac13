/**
 * Dashboard sessions and sign-in over a real SQLite store (issue 15): ids stored hashed with an
 * expiry, CSRF tokens bound to the session, sessions of revoked tokens ended, and the audit rule
 * of issue 14 — known refusals audited, anonymous garbage only counted.
 */
import { expect } from 'chai';
import { createAccessToken, revokeAccessToken } from '../../src/access/access-tokens.ts';
import { signIn } from '../../src/dashboard/dashboard-sign-in.ts';
import { cookieFlags, createSession, csrfValid, endSession, hashSessionId, readSession, SESSION_TTL_MS } from '../../src/dashboard/dashboard-session.ts';
import { createLogger } from '../../src/forge/logger.ts';
import { createForgeMetrics } from '../../src/forge/metrics.ts';
import { rateLimitedLog } from '../../src/forge/rate-limited-log.ts';
import { listAudit } from '../../src/store/audit-log.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';

const ADMIN = 'dashboard-admin-token-0123456789abcdef';

describe('dashboard sessions', () => {
  let db: Store;
  beforeEach(async () => { db = await openStore({ file: ':memory:' }); });
  afterEach(async () => { await db.destroy(); });

  it('stores only the hash of a 256-bit session id, and reads it back until it expires', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const s = await createSession(db, { user: { role: 'admin', project: null, actor: 'admin' }, tokenId: null }, now);
    expect(Buffer.from(s.id, 'base64url')).to.have.length(32);
    const rows = await db.selectFrom('dashboard_sessions').selectAll().execute();
    expect(rows).to.have.length(1);
    expect(rows[0]!.id_hash).to.equal(hashSessionId(s.id));
    expect(JSON.stringify(rows)).not.to.include(s.id);
    expect((await readSession(db, s.id, now + 1000))?.role).to.equal('admin');
    expect(await readSession(db, s.id, now + SESSION_TTL_MS)).to.equal(undefined);
    expect(await readSession(db, 'not-a-session', now)).to.equal(undefined);
    await endSession(db, s.id);
    expect(await readSession(db, s.id, now)).to.equal(undefined);
  });

  it('binds the CSRF token to the session', async () => {
    const a = await createSession(db, { user: { role: 'admin', project: null, actor: 'admin' }, tokenId: null });
    const b = await createSession(db, { user: { role: 'admin', project: null, actor: 'admin' }, tokenId: null });
    const session = (await readSession(db, a.id))!;
    expect([csrfValid(session, a.csrfToken), csrfValid(session, b.csrfToken), csrfValid(session, ''), csrfValid(session, undefined), csrfValid(session, [a.csrfToken])])
      .to.deep.equal([true, false, false, false, false]);
  });

  it('ends a project token\'s session when the token is revoked', async () => {
    const token = await createAccessToken(db, { project: 'acme', label: 'x' });
    const s = await createSession(db, { user: { role: 'viewer', project: 'acme', actor: `token:${token.prefix}` }, tokenId: token.id });
    expect(await readSession(db, s.id)).not.to.equal(undefined);
    await revokeAccessToken(db, 'acme', token.id);
    expect(await readSession(db, s.id)).to.equal(undefined);
  });

  it('cookies are Secure exactly when the forge is reached over https', () => {
    expect(cookieFlags('https://forge.example.com', 60_000)).to.deep.equal({ httpOnly: true, sameSite: 'strict', secure: true, path: '/ui', maxAge: 60_000 });
    expect(cookieFlags('http://127.0.0.1:8080', 60_000).secure).to.equal(false);
  });
});

describe('dashboard sign-in', () => {
  let db: Store;
  let ctx: Parameters<typeof signIn>[0];
  const refusals = rateLimitedLog(createLogger({ level: 'silent' }));
  beforeEach(async () => {
    db = await openStore({ file: ':memory:' });
    ctx = { db, adminToken: ADMIN, projects: new Map([['acme', { name: 'acme', remote: '/x', provider: 'git', webhookSecret: 's' }]]), metrics: createForgeMetrics() };
  });
  afterEach(async () => { await db.destroy(); });

  it('the admin token signs in as admin of every project, audited', async () => {
    const result = await signIn(ctx, ` ${ADMIN} `, refusals);
    expect(result.ok && result.user).to.deep.equal({ role: 'admin', project: null, actor: 'admin' });
    expect((await listAudit(db)).map((r) => [r.kind, r.subject])).to.deep.equal([['dashboard.sign-in', 'admin']]);
  });

  it('a project token signs in as viewer of its project, or with its grant\'s role', async () => {
    const token = await createAccessToken(db, { project: 'acme', label: 'x' });
    const first = await signIn(ctx, token.token, refusals);
    expect(first.ok && first.user).to.deep.equal({ role: 'viewer', project: 'acme', actor: `token:${token.prefix}` });
    await db.insertInto('dashboard_grants').values({ token_id: token.id, project: 'acme', role: 'publisher', granted_at: 'now', granted_by: 'admin' }).execute();
    const second = await signIn(ctx, token.token, refusals);
    expect(second.ok && second.user.role).to.equal('publisher');
    expect((await db.selectFrom('access_tokens').select('last_used_at').executeTakeFirstOrThrow()).last_used_at).not.to.equal(null);
  });

  it('audits a refused revoked token, but not anonymous garbage', async () => {
    const token = await createAccessToken(db, { project: 'acme', label: 'x' });
    await revokeAccessToken(db, 'acme', token.id);
    const before = (await listAudit(db)).length;
    for (const garbage of ['', 'nope', `anvil_${'A'.repeat(43)}`, ADMIN.slice(1)]) {
      expect((await signIn(ctx, garbage, refusals)).ok).to.equal(false);
    }
    expect((await listAudit(db)).length).to.equal(before);
    const refused = await signIn(ctx, token.token, refusals);
    expect(refused.ok).to.equal(false);
    const last = (await listAudit(db)).at(-1)!;
    expect([last.kind, last.subject, last.project, JSON.parse(last.detail).reason]).to.deep.equal(['dashboard.sign-in-refused', token.prefix, 'acme', 'revoked']);
    const counted = await ctx.metrics.dashboardSignIns.get();
    expect(counted.values.find((v) => v.labels['outcome'] === 'invalid')?.value).to.equal(4);
  });
});
