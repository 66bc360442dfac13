/** `anvil token`, `anvil receivers`, `anvil audit` on a data dir's store, through runCli with captured output. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import SqliteDatabase from 'better-sqlite3';
import { verifyAccessToken } from '../../src/access/access-tokens.ts';
import { locateForgeStore } from '../../src/cli/forge-store-options.ts';
import { recordReceiverCall } from '../../src/receivers/register-receiver.ts';
import { appendAudit } from '../../src/store/audit-log.ts';
import { openStore, storeTime } from '../../src/store/open-store.ts';
import { anvil } from '../cli/cli-support.ts';

describe('forge operator commands', () => {
  let dir: string;
  let dataDir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'anvil-forge-cli-'));
    dataDir = path.join(dir, 'data');
    mkdirSync(dataDir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const withStore = async <T>(fn: (db: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> => {
    const db = await openStore({ file: path.join(dataDir, 'forge.db') });
    try {
      return await fn(db);
    } finally {
      await db.destroy();
    }
  };

  describe('anvil token', () => {
    it('create prints the token alone on stdout, once; list shows prefixes; revoke works on the next check', async () => {
      const created = await anvil(dir, 'token', 'create', '--project', 'acme', '--label', 'web prod', '--data-dir', dataDir);
      expect(created.code, created.stderr).to.equal(0);
      const token = created.stdout.trim();
      expect(token).to.match(/^anvil_[A-Za-z0-9_-]{43}$/);
      expect(created.stderr).to.match(/created tok_[0-9a-f]{12} \(anvil_.{8}…\) for acme: store it now/);

      const listed = await anvil(dir, 'token', 'list', '--data-dir', dataDir);
      expect(listed.code).to.equal(0);
      expect(listed.stdout).to.contain(`${token.slice(0, 14)}…`).and.to.contain('web prod').and.to.contain('active');
      expect(listed.stdout).not.to.contain(token);
      const json = JSON.parse((await anvil(dir, 'token', 'list', '--project', 'acme', '--json', '--data-dir', dataDir)).stdout) as { tokens: Record<string, unknown>[] };
      expect(json.tokens).to.have.length(1);
      expect(json.tokens[0]).to.include({ project: 'acme', label: 'web prod', revokedAt: null });
      expect(json.tokens[0]).not.to.have.property('hash');

      expect(await withStore(async (db) => (await verifyAccessToken(db, 'acme', token)).ok)).to.equal(true);
      const revoked = await anvil(dir, 'token', 'revoke', '--project', 'acme', `${token.slice(0, 14)}…`, '--data-dir', dataDir);
      expect(revoked.code, revoked.stderr).to.equal(0);
      expect(revoked.stdout).to.match(/^revoked tok_/);
      expect(await withStore(async (db) => {
        const check = await verifyAccessToken(db, 'acme', token);
        return check.ok ? 'ok' : check.code;
      })).to.equal('auth.revoked');
      expect((await anvil(dir, 'token', 'list', '--data-dir', dataDir)).stdout).to.contain('revoked');
    });

    it('create --json carries the token; the user\'s mistakes exit 1 with one line and no stack', async () => {
      const created = JSON.parse((await anvil(dir, 'token', 'create', '--project', 'acme', '--json', '--data-dir', dataDir)).stdout) as Record<string, unknown>;
      expect(created).to.include({ ok: true, project: 'acme', label: '' });
      expect(String(created['token'])).to.match(/^anvil_/);
      for (const [argv, code] of [
        [['token'], 'cli.bad-arguments'],
        [['token', 'mint', '--project', 'acme'], 'cli.bad-arguments'],
        [['token', 'create'], 'cli.bad-arguments'],
        [['token', 'revoke', '--project', 'acme'], 'cli.bad-arguments'],
        [['token', 'create', '--project', 'Bad Name'], 'token.project'],
        [['token', 'revoke', '--project', 'acme', 'tok_000000000000'], 'token.unknown'],
      ] as const) {
        const run = await anvil(dir, ...argv, '--data-dir', dataDir);
        expect(run.code, argv.join(' ')).to.equal(1);
        expect(run.stderr, argv.join(' ')).to.contain(code);
        expect(run.stderr).not.to.match(/\n\s+at /);
      }
    });

    it('finds the data dir: --data-dir, then ANVIL_DATA_DIR, then the config\'s dataDir; a missing one is a clear error', async () => {
      const missing = await anvil(dir, 'token', 'list', '--data-dir', path.join(dir, 'nope'));
      expect(missing.code).to.equal(1);
      expect(missing.stderr).to.contain('forge.data-dir-missing').and.to.contain(path.join(dir, 'nope'));
      const nothing = await anvil(dir, 'token', 'list');
      expect(nothing.code).to.equal(1);
      expect(nothing.stderr).to.contain('forge.no-data-dir').and.to.contain('--data-dir');
      expect((await anvil(dir, 'token', 'list', '--config', 'other.yaml')).stderr).to.contain('cannot read');

      // A config whose webhook secrets are not in the environment: only its data dir is needed.
      writeFileSync(path.join(dir, 'anvil-forge.yaml'), 'dataDir: ./data\nprojects:\n  - name: acme\n    remote: https://example.com/acme.git\n    webhookSecret: {env: NOT_SET_HERE}\n');
      const fromConfig = await anvil(dir, 'token', 'create', '--project', 'acme');
      expect(fromConfig.code, fromConfig.stderr).to.equal(0);
      // The config names the projects: a typo is caught.
      const typo = await anvil(dir, 'token', 'create', '--project', 'acne');
      expect(typo.code).to.equal(1);
      expect(typo.stderr).to.contain('token.project-unknown').and.to.contain('did you mean "acme"');

      expect(locateForgeStore({ 'data-dir': 'x' }, dir, { ANVIL_DATA_DIR: '/env' }).dataDir).to.equal(path.join(dir, 'x'));
      expect(locateForgeStore({}, dir, { ANVIL_DATA_DIR: '/env' })).to.include({ dataDir: '/env', from: 'ANVIL_DATA_DIR' });
      expect(locateForgeStore({}, dir, {})).to.deep.include({ dataDir: dataDir, projects: ['acme'] });
      writeFileSync(path.join(dir, 'broken.yaml'), 'dataDir: [\n');
      expect((await anvil(dir, 'token', 'list', '--config', 'broken.yaml')).stderr).to.contain('forge-config.invalid');
    });
  });

  describe('anvil receivers', () => {
    it('shows each receiver\'s channel, mode, status, versions, last seen and last delivery', async () => {
      const now = Date.now();
      await withStore(async (db) => {
        const ctx = { db, secrets: { seal: (s: string) => `sealed:${s.length}`, open: () => '' } };
        const base = { project: 'acme', token: 'anvil_x', actor: 'test' };
        const reg = (instanceId: string, extra: object, at: number) => recordReceiverCall(ctx, {
          ...base, kind: 'register', now: at,
          registration: { instanceId, url: `http://10.0.0.1/${instanceId}`, channel: 'production', mode: 'accepting', ranges: {}, versions: { onboarding: '1.2.0' }, ...extra },
        });
        await reg('web-1', {}, now - 5_000);
        await reg('web-2', { mode: 'frozen', channel: 'staging' }, now - 10 * 60_000);
        await reg('web-3', {}, now - 60_000);
        await db.updateTable('receivers').set({
          last_delivery_at: storeTime(now - 4_000), last_delivery_state: 'failed', last_delivery_status: 422, last_delivery_code: 'integrity', last_delivery_reason: 'bundle onboarding@1.3.0 does not match its integrity',
        }).where('instance_id', '=', 'web-1').execute();
        await db.updateTable('receivers').set({ gone_at: storeTime(now - 30_000) }).where('instance_id', '=', 'web-3').execute();
        // A streaming receiver (issue 16): no URL; what its stream carried and what it answered.
        await recordReceiverCall(ctx, {
          ...base, kind: 'register', now: now - 2_000,
          registration: { instanceId: 'app-1', transport: 'stream', channel: 'production', mode: 'accepting', ranges: {}, versions: { onboarding: '1.2.0' } },
        });
        await db.updateTable('receivers').set({
          stream_sent_envelope: 'env-1', stream_sent_at: storeTime(now - 1_000), stream_acked_envelope: 'env-1', stream_acked_at: storeTime(now - 1_000),
          last_delivery_at: storeTime(now - 1_000), last_delivery_state: 'delivered', last_delivery_status: 200, last_delivery_code: 'applied',
        }).where('instance_id', '=', 'app-1').execute();
      });
      const run = await anvil(dir, 'receivers', '--data-dir', dataDir);
      expect(run.code, run.stderr).to.equal(0);
      const lines = run.stdout.trim().split('\n');
      expect(lines[0]).to.match(/^INSTANCE\s+CHANNEL\s+MODE\s+TRANSPORT\s+STATUS\s+VERSIONS\s+LAST SEEN\s+LAST DELIVERY$/);
      const line = (id: string) => lines.find((l) => l.startsWith(id)) ?? '';
      expect(line('web-1')).to.match(/production\s+accepting\s+push\s+active\s+onboarding@1\.2\.0\s+\ds ago\s+failed 422 integrity: bundle onboarding@1\.3\.0 does not match its integrity \(\ds ago\)/);
      expect(line('web-2')).to.match(/staging\s+frozen\s+push\s+stale\s+onboarding@1\.2\.0\s+10m ago\s+—/);
      expect(line('web-3')).to.match(/\bgone\b/);
      expect(line('app-1')).to.match(/production\s+accepting\s+stream\s+active\s+onboarding@1\.2\.0\s+\ds ago\s+delivered 200 \(\ds ago\)/);

      const json = JSON.parse((await anvil(dir, 'receivers', '--json', '--active', '--stale-after', '20', '--data-dir', dataDir)).stdout) as { receivers: Record<string, unknown>[] };
      expect(json.receivers.map((r) => [r['instanceId'], r['status'], r['transport']])).to.deep.equal([['app-1', 'active', 'stream'], ['web-1', 'active', 'push'], ['web-2', 'active', 'push']]);
      expect(json.receivers[0]!['stream']).to.include({ sentEnvelope: 'env-1', ackedEnvelope: 'env-1' });
      expect(JSON.stringify(json)).not.to.contain('sealed:');
      expect((await anvil(dir, 'receivers', '--project', 'beta', '--data-dir', dataDir)).stderr).to.contain('no receiver has registered with beta');
      expect((await anvil(dir, 'receivers', '--stale-after', 'soon', '--data-dir', dataDir)).code).to.equal(1);
    });
  });

  describe('anvil audit', () => {
    it('lists the latest entries, filtered, and verifies the chain', async () => {
      await withStore(async (db) => {
        for (const v of ['1.0.0', '1.1.0', '1.2.0']) await appendAudit(db, { project: 'acme', kind: 'publish', subject: `onboarding@${v}`, detail: { channels: ['production'] } });
        await appendAudit(db, { project: 'beta', kind: 'token.created', subject: 'anvil_AbCdEfGh', actor: 'cli' });
      });
      const all = await anvil(dir, 'audit', '--data-dir', dataDir);
      expect(all.code).to.equal(0);
      expect(all.stdout.trim().split('\n')).to.have.length(5);
      expect(all.stdout).to.match(/^SEQ\s+AT\s+PROJECT\s+KIND/);
      expect(all.stdout).to.match(/\n3\s+\S+ \S+\s+acme\s+publish\s+onboarding@1\.2\.0\s+forge\s+\{"channels":\["production"\]\}/);
      const limited = JSON.parse((await anvil(dir, 'audit', '--project', 'acme', '--limit', '2', '--json', '--data-dir', dataDir)).stdout) as { entries: { seq: number; detail: unknown }[] };
      expect(limited.entries.map((e) => e.seq)).to.deep.equal([2, 3]);
      expect(limited.entries[0]!.detail).to.deep.equal({ channels: ['production'] });
      expect((await anvil(dir, 'audit', '--kind', 'token', '--data-dir', dataDir)).stdout).to.contain('anvil_AbCdEfGh').and.not.to.contain('publish');
      expect((await anvil(dir, 'audit', '--limit', '0', '--data-dir', dataDir)).code).to.equal(1);

      const ok = await anvil(dir, 'audit', 'verify', '--data-dir', dataDir);
      expect(ok.code).to.equal(0);
      expect(ok.stdout).to.contain('verifies: 4 rows');
      expect(JSON.parse((await anvil(dir, 'audit', 'verify', '--json', '--data-dir', dataDir)).stdout)).to.deep.equal({ ok: true, rows: 4 });
    });

    it('verify exits 1 with the first broken row\'s seq and reason when a row was tampered with', async () => {
      await withStore(async (db) => {
        for (const v of ['1.0.0', '1.1.0', '1.2.0']) await appendAudit(db, { project: 'acme', kind: 'publish', subject: `onboarding@${v}` });
      });
      const raw = new SqliteDatabase(path.join(dataDir, 'forge.db'));
      raw.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete');
      raw.prepare("UPDATE audit_log SET subject = 'onboarding@9.9.9' WHERE seq = 2").run();
      raw.close();
      const broken = await anvil(dir, 'audit', 'verify', '--data-dir', dataDir);
      expect(broken.code).to.equal(1);
      expect(broken.stderr).to.contain('audit.chain-broken').and.to.contain('at seq 2').and.to.contain('changed after it was written');
      expect(broken.stderr).not.to.match(/\n\s+at /);
      const json = JSON.parse((await anvil(dir, 'audit', 'verify', '--json', '--data-dir', dataDir)).stdout) as { ok: boolean; error: { details: { seq: number } } };
      expect(json.ok).to.equal(false);
      expect(json.error.details.seq).to.equal(2);
    });
  });

  it('every command has --help', async () => {
    for (const name of ['token', 'receivers', 'audit']) {
      const help = await anvil(dir, name, '--help');
      expect(help.code).to.equal(0);
      expect(help.stdout).to.contain(`anvil ${name}`).and.to.contain('--data-dir');
    }
    expect((await anvil(dir, '--help')).stdout).to.match(/token\s+create, list or revoke/);
  });
});
