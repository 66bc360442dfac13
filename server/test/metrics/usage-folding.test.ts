/**
 * Folded usage metrics end to end (issue 17): two real LIVE receivers report the same calls to
 * the forge as `anvil serve` runs it — one sending every report raw, one folding them all into
 * aggregates — and `anvil analytics` says the same of both, while the raw window holds only the
 * events that were sent raw.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createClient, type AnvilClient } from '@anvil/client';
import { formatUsageReport } from '../../src/cli/commands/analytics.ts';
import { usageReport } from '../../src/metrics/usage-report.ts';
import { anvil } from '../cli/cli-support.ts';
import { cleanupGitdirs } from '../support/gitdir.ts';
import { startPublishedForge, type PublishedForge } from '../support/published-forge.ts';
import { testStoreKind } from '../support/test-postgres.ts';

describe('usage metrics sent raw or folded', function () {
  this.timeout(60_000);
  let f: PublishedForge;
  let cacheRoot: string;
  const clients: AnvilClient[] = [];

  before(async () => {
    f = await startPublishedForge();
    cacheRoot = await mkdtemp(path.join(os.tmpdir(), 'anvil-usage-folding-'));
  });
  after(async () => {
    for (const c of clients) await c.close();
    await f?.close();
    await rm(cacheRoot, { recursive: true, force: true });
    await cleanupGitdirs();
  });

  /** A receiver of `core` (released, so on production and staging alike). */
  async function receiver(channel: 'production' | 'staging', metrics: { rawPerFlush: number; maxQueued?: number }): Promise<AnvilClient> {
    const client = await createClient({
      forge: f.forge.url, project: 'acme', token: f.tokens.acme, channel, cacheDir: path.join(cacheRoot, channel), instanceId: `app-${channel}`,
      pollMs: 0, heartbeatMs: 3_600_000, readyTimeoutMs: 5_000, metrics: { ...metrics, flushMs: 60_000 },
    });
    clients.push(client);
    expect(await client.ready).to.equal(true);
    return client;
  }

  it('anvil analytics says the same of the same calls, whether they were sent raw or folded', async function () {
    const raw = await receiver('production', { rawPerFlush: 10_000, maxQueued: 10_000 });
    const folded = await receiver('staging', { rawPerFlush: 0 });
    const errors: unknown[] = [];
    for (const c of [raw, folded]) c.on('error', (e) => errors.push(e));
    // Three minutes of calls, latencies from under a millisecond to minutes, one in five failing.
    const now = Date.now();
    const calls = Array.from({ length: 900 }, (_, i) => ({
      success: i % 5 !== 0, latency_ms: [0.25, 3.5, 80, 120.75, 450, 2_000, 95_000][i % 7]!, at: now - 150_000 + i * 150, ...(i % 5 === 0 ? { error: 'timeout' } : {}),
    }));
    for (const call of calls) {
      raw.reportMetrics('tone', call);
      folded.reportMetrics('tone', call);
    }
    expect(raw.metricsStats()).to.include({ queued: 900, folded: 0 });
    expect(folded.metricsStats()).to.include({ queued: 900, folded: 900 });
    await raw.close();
    await folded.close();
    expect(errors).to.deep.equal([]);
    expect(raw.metricsStats()).to.include({ sent: 900, dropped: 0 });
    expect(folded.metricsStats()).to.include({ sent: 900, dropped: 0 });

    // What `anvil analytics core --json` prints, and its table, per channel.
    const db = f.forge.ctx.db;
    const fromRaw = await usageReport(db, { project: 'acme', set: 'core', channel: 'production' });
    const fromFolded = await usageReport(db, { project: 'acme', set: 'core', channel: 'staging' });
    expect(fromRaw.versions.map((v) => [v.version, v.events, v.successRate])).to.deep.equal([['1.0.0', 900, 0.8]]);
    const onStaging = { ...fromRaw, channel: 'staging', versions: fromRaw.versions.map((v) => ({ ...v, channels: ['staging'] })) };
    expect(fromFolded).to.deep.equal(onStaging);
    expect(formatUsageReport(fromFolded)).to.deep.equal(formatUsageReport(onStaging));
    if (testStoreKind() === 'sqlite') {
      // And the command itself, on the forge's data dir.
      const run = async (channel: string) => {
        const out = await anvil(cacheRoot, 'analytics', 'core', '--channel', channel, '--project', 'acme', '--data-dir', f.forge.ctx.dataDir);
        expect(out.code, out.stderr).to.equal(0);
        return out.stdout.replaceAll(channel, '<channel>');
      };
      const printed = await run('production');
      expect(printed).to.match(/1\.0\.0\s+900\s+80\.0%/);
      expect(await run('staging')).to.equal(printed);
    }

    // The raw window holds the raw events only: every call from production, none from staging.
    const rawEvents = await db.selectFrom('prompt_metric_events').select(['channel', 'error']).where('project', '=', 'acme').execute();
    expect(rawEvents.filter((e) => e.channel === 'production')).to.have.length(900);
    expect(rawEvents.filter((e) => e.channel === 'production' && e.error === 'timeout')).to.have.length(180);
    expect(rawEvents.filter((e) => e.channel === 'staging')).to.deep.equal([]);
  });
});
