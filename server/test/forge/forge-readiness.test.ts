/**
 * `GET /readyz`: 503 `forge.starting` until every project's first sync since start has ended,
 * then 200 — what a load balancer, an orchestrator or a script that starts `anvil serve` waits
 * for before sending receivers, since until then the forge answers from a store that may be
 * empty. The first sync is held back here by a sync lease another replica holds (sync-lease.ts),
 * so the "not yet" state is seen for certain, not by winning a race.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { ResolvedForgeConfig } from '../../src/forge/forge-config.ts';
import { createLogger } from '../../src/forge/logger.ts';
import { startForge, type RunningForge } from '../../src/forge/start-forge.ts';
import { takeSyncLease } from '../../src/forge/sync-lease.ts';
import { openStore } from '../../src/store/open-store.ts';
import { ACME_PROMPTS } from '../support/acme-prompts.ts';
import { cleanupGitdirs, gitdir, type GitDir } from '../support/gitdir.ts';
import { until } from '../support/until.ts';

describe('forge readiness (GET /readyz)', function () {
  this.timeout(60_000);
  let repo: GitDir;
  let dataDir: string;
  let forge: RunningForge | undefined;

  const config = (remote: string): ResolvedForgeConfig => ({
    name: 'readiness-forge', dataDir, host: '127.0.0.1', port: 0, keyRotationGraceDays: 7,
    projects: [{ name: 'acme', remote, provider: 'git', webhookSecret: 'readiness-secret-0123456789abcdef' }], defaultBranches: {},
  });
  const ready = async () => {
    const res = await fetch(`${forge!.url}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
  };

  before(async () => {
    repo = await gitdir({ files: ACME_PROMPTS });
  });
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'anvil-readiness-'));
  });
  afterEach(async () => {
    await forge?.close();
    forge = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });
  after(async () => cleanupGitdirs());

  it('answers 503 forge.starting while the first sync has not ended, naming no project, then 200', async () => {
    // Another replica holds the project's sync lease: this forge's first sync waits for it.
    const store = await openStore({ file: path.join(dataDir, 'forge.db') });
    expect(await takeSyncLease(store, 'acme', 'another-replica', 60_000)).to.equal(true);
    await store.destroy();

    forge = await startForge(config(repo.dir), { logger: createLogger({ level: 'silent' }) });
    const starting = await ready();
    expect(starting.status).to.equal(503);
    expect(starting.body).to.include({ ok: false, code: 'forge.starting' });
    expect(String(starting.body['reason'])).to.match(/first sync of 1 project/).and.not.match(/acme/);
    expect(starting.headers.get('retry-after')).to.equal('1');
    expect(starting.headers.get('cache-control')).to.equal('no-store');
    // Alive all the same.
    expect((await fetch(`${forge.url}/healthz`)).status).to.equal(200);

    await forge.ctx.db.deleteFrom('sync_leases').where('project', '=', 'acme').execute();
    await until('the forge is ready', async () => (await ready()).status === 200);
    expect((await ready()).body).to.deep.equal({ ok: true });
    // Ready means synced: the channel's envelope is there.
    const heads = await forge.ctx.db.selectFrom('channel_heads').select('set_name').where('project', '=', 'acme').execute();
    expect(heads.length).to.be.greaterThan(0);
  });

  it('is ready after a first sync that failed: the forge serves what its store holds and retries', async () => {
    forge = await startForge(config(path.join(dataDir, 'no-such-repository')), { logger: createLogger({ level: 'silent' }), syncRetryMs: 60_000 });
    await until('the failed first sync has ended', async () => (await ready()).status === 200);
  });

  it('is ready at once when the forge does not sync on start', async () => {
    forge = await startForge(config(repo.dir), { logger: createLogger({ level: 'silent' }), syncOnStart: false });
    expect((await ready()).status).to.equal(200);
  });
});
