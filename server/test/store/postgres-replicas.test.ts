/**
 * Replicas on one PostgreSQL (issue 16): a replica started with other signing keys or another
 * sealing key than a running one is refused at start, saying which file to copy; and one
 * replica at a time syncs a project (a lease in the store, taken over when its holder dies).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { AnvilError } from '@anvil/content-schema';
import type { ResolvedForgeConfig } from '../../src/forge/forge-config.ts';
import { createLogger } from '../../src/forge/logger.ts';
import { REPLICA_STALE_MS, replicaConflict, type ReplicaRecord } from '../../src/forge/replicas.ts';
import { startForge, type RunningForge } from '../../src/forge/start-forge.ts';
import { takeSyncLease, withSyncLease } from '../../src/forge/sync-lease.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { createTestSchema, type TestSchema } from '../support/test-postgres.ts';

describe('replicaConflict', () => {
  const now = 1_000_000_000;
  const other = (over: Partial<ReplicaRecord>): ReplicaRecord => ({ replica: 'b:/srv/forge', activeKey: 'k1', keyIds: ['k1'], secretsProbe: 'sealed', seenAt: now - 1_000, ...over });
  const opens = () => true;

  it('refuses keys that share nothing with a running replica, and a sealing key that cannot open its probe', () => {
    expect(replicaConflict({ replica: 'a:/srv/forge', keyIds: ['k2'] }, [other({})], opens, now)).to.include({ code: 'forge.key-mismatch' });
    expect(replicaConflict({ replica: 'a:/srv/forge', keyIds: ['k1'] }, [other({})], () => false, now)).to.include({ code: 'forge.secrets-mismatch' });
  });

  it('allows a rotation in progress (a key in common), itself, and replicas not seen for a while', () => {
    expect(replicaConflict({ replica: 'a:/srv/forge', keyIds: ['k2', 'k1'] }, [other({})], opens, now)).to.equal(undefined);
    expect(replicaConflict({ replica: 'b:/srv/forge', keyIds: ['k9'] }, [other({})], opens, now)).to.equal(undefined);
    expect(replicaConflict({ replica: 'a:/srv/forge', keyIds: ['k9'] }, [other({ seenAt: now - REPLICA_STALE_MS - 1 })], opens, now)).to.equal(undefined);
  });
});

describe('replicas on one PostgreSQL', function () {
  this.timeout(60_000);
  let schema: TestSchema;
  const dirs: string[] = [];
  const forges: RunningForge[] = [];
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  const config = (dataDir: string): ResolvedForgeConfig => ({
    name: 'replicated-forge', dataDir, host: '127.0.0.1', port: 0, keyRotationGraceDays: 7, projects: [], defaultBranches: {}, database: schema.url,
  });
  const options = { logger: createLogger({ level: 'silent' }), syncOnStart: false };
  const refusal = async (dataDir: string): Promise<AnvilError> => {
    try {
      forges.push(await startForge(config(dataDir), options));
    } catch (err) {
      return err as AnvilError;
    }
    throw new Error('the replica started');
  };

  beforeEach(async () => {
    schema = await createTestSchema();
  });
  afterEach(async () => {
    for (const f of forges.splice(0)) await f.close();
    await schema.drop();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a replica with keys of its own, then one with the signing key but another sealing key, and starts one with both', async () => {
    const aDir = tempDir('anvil-replica-a-');
    forges.push(await startForge(config(aDir), options));
    const active = forges[0]!.ctx.keys.active.keyId;

    // A new data dir: the first start made keys of its own.
    const fresh = await refusal(tempDir('anvil-replica-b-'));
    expect(fresh).to.be.instanceOf(AnvilError).with.property('code', 'forge.key-mismatch');
    expect(fresh.message).to.include(aDir).and.include(active);
    expect(fresh.hint).to.include('keys/signing.json');

    const cDir = tempDir('anvil-replica-c-');
    cpSync(path.join(aDir, 'keys', 'signing.json'), path.join(cDir, 'keys', 'signing.json'));
    const sealed = await refusal(cDir);
    expect(sealed).to.have.property('code', 'forge.secrets-mismatch');
    expect(sealed.hint).to.include('keys/seal.key');

    const dDir = tempDir('anvil-replica-d-');
    cpSync(path.join(aDir, 'keys'), path.join(dDir, 'keys'), { recursive: true });
    forges.push(await startForge(config(dDir), options));
    const rows = await forges[0]!.ctx.db.selectFrom('forge_replicas').select(['replica', 'active_key']).orderBy('replica').execute();
    expect(rows.map((r) => r.active_key)).to.deep.equal([active, active]);
    expect(rows.map((r) => r.replica.replace(/^[^:]*:/, '')).sort()).to.deep.equal([path.resolve(aDir), path.resolve(dDir)].sort());
  });

  it('a replica that stopped cleanly leaves no row: a forge with other keys may start after it', async () => {
    const first = await startForge(config(tempDir('anvil-replica-a-')), options);
    await first.close();
    forges.push(await startForge(config(tempDir('anvil-replica-b-')), options));
    expect(await forges[0]!.ctx.db.selectFrom('forge_replicas').selectAll().execute()).to.have.length(1);
  });

  it('one replica at a time syncs a project, and a dead holder\'s lease is taken over when it runs out', async () => {
    const a = await openStore({ postgres: schema.url });
    const b = await openStore({ postgres: schema.url });
    try {
      const spans: { who: string; from: number; to: number }[] = [];
      const work = (db: Store, who: string) => withSyncLease(db, 'acme', who, async () => {
        const from = performance.now();
        await new Promise((r) => setTimeout(r, 30));
        spans.push({ who, from, to: performance.now() });
      }, { retryMs: 10 });
      // Eight replicas (a replica's own syncs of a project already take turns: start-forge's lanes).
      await Promise.all([0, 1, 2, 3].flatMap((i) => [work(a, `replica-a${i}`), work(b, `replica-b${i}`)]));
      expect(spans).to.have.length(8);
      const sorted = [...spans].sort((x, y) => x.from - y.from);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.from, `sync ${i} started before sync ${i - 1} ended`).to.be.at.least(sorted[i - 1]!.to);

      // A holder that died (its lease never released): refused until the lease runs out.
      const now = Date.now();
      expect(await takeSyncLease(a, 'beta', 'replica-a', 1_000, now)).to.equal(true);
      expect(await takeSyncLease(b, 'beta', 'replica-b', 1_000, now + 500)).to.equal(false);
      expect(await takeSyncLease(a, 'beta', 'replica-a', 1_000, now + 500), 'its holder renews it').to.equal(true);
      expect(await takeSyncLease(b, 'beta', 'replica-b', 1_000, now + 1_501)).to.equal(true);
    } finally {
      await a.destroy();
      await b.destroy();
    }
  });
});
