/**
 * The propagation benchmark's forge, in its own process (so that it does not share an event loop
 * with the receivers): `startForge` as `anvil serve` runs it (store, keys, default push worker,
 * HTTP), one git project. Its `sync` and `publish` log lines are forwarded on IPC, with their
 * `time` (Date.now(), comparable with the parent's), so the parent can say where the time went.
 * argv: <repository> <data dir> <webhook secret>. Sends `{type: 'ready', url, token}` when up,
 * then answers `{id, cmd}` requests with `{id, result}`.
 */
import { pino } from 'pino';
import { createAccessToken } from '../../server/src/access/access-tokens.ts';
import { streamHubOf } from '../../server/src/deliver/stream-hub.ts';
import { startForge } from '../../server/src/forge/start-forge.ts';
import { serveChildCommands, type ChildCommands } from './child-commands.ts';

const [remote, dataDir, webhookSecret] = process.argv.slice(2);
const send = (message: unknown) => process.send?.(message);

const logger = pino({ name: 'anvil-forge', level: 'info' }, {
  write(line: string) {
    // Only what the bench reads is parsed; warnings and errors are shown.
    if (line.includes('"msg":"sync"') || line.includes('"msg":"publish"') || line.includes('"msg":"streamed"')) {
      const { msg, time, ms, version, channel, recordedMs } = JSON.parse(line) as { msg: string; time: number; ms?: number; version?: string; channel?: string; recordedMs?: number };
      send({ type: 'log', msg, time, ms, version, channel, recordedMs });
    } else if (/"level":(40|50|60)/.test(line)) process.stderr.write(line);
  },
});

const forge = await startForge({
  name: 'bench-forge', dataDir: dataDir!, host: '127.0.0.1', port: 0, keyRotationGraceDays: 7,
  projects: [{ name: 'bench', remote: remote!, provider: 'git', webhookSecret: webhookSecret! }], defaultBranches: {},
  // The receivers are on loopback: allowed explicitly (a forge pushes to public addresses only by default).
  pushTargets: { allowPrivateNetworks: true },
}, {
  logger, syncOnStart: false,
  // The push worker as `anvil serve` runs it; ANVIL_BENCH_PUSH_CONCURRENCY changes its concurrency (default 32).
  worker: process.env['ANVIL_BENCH_PUSH_CONCURRENCY'] ? { concurrency: Number(process.env['ANVIL_BENCH_PUSH_CONCURRENCY']) } : {},
});
const { token } = await createAccessToken(forge.ctx.db, { project: 'bench', label: 'bench receivers' });
// The first release is published before any receiver exists; they pull it when they start.
const first = await forge.sync('bench');
if (!first.decisions.some((d) => d.published?.channels.some((c) => c.channel === 'production' && c.outcome === 'published'))) {
  throw new Error(`the first release was not published to production: ${JSON.stringify(first.decisions)}`);
}

const commands: ChildCommands = {
  async receivers() {
    const rows = await forge.ctx.db.selectFrom('receivers').select('instance_id')
      .where('project', '=', 'bench').where('channel', '=', 'production').where('mode', '=', 'accepting').where('gone_at', 'is', null)
      .where('transport', '=', 'push').execute();
    return rows.length;
  },
  /** Streaming receivers registered (issue 16), and streams open on the forge. */
  async streams() {
    const rows = await forge.ctx.db.selectFrom('receivers').select('instance_id')
      .where('project', '=', 'bench').where('channel', '=', 'production').where('mode', '=', 'accepting').where('gone_at', 'is', null)
      .where('transport', '=', 'stream').execute();
    return { registered: rows.length, open: streamHubOf(forge.ctx).count() };
  },
  /** Streaming receivers whose acknowledgement of `version` the forge has recorded as delivered. */
  async streamAcks(version) {
    const rows = await forge.ctx.db.selectFrom('receivers').select('instance_id')
      .where('project', '=', 'bench').where('transport', '=', 'stream').where('last_delivery_state', '=', 'delivered')
      .where('versions', '=', JSON.stringify({ core: String(version) })).execute();
    return rows.length;
  },
  /** CPU used by the forge process so far (µs). */
  async cpu() {
    return process.cpuUsage();
  },
  async settle() {
    await forge.settle();
    return true;
  },
  /** How the pushes of one version went: deliveries by state, and how many needed more than one attempt. */
  async deliveries(version) {
    const rows = await forge.ctx.db.selectFrom('deliveries').select(['state', 'attempts', 'last_code'])
      .where('project', '=', 'bench').where('version', '=', String(version)).execute();
    const byState: Record<string, number> = {};
    for (const r of rows) byState[`${r.state}/${r.last_code ?? ''}`] = (byState[`${r.state}/${r.last_code ?? ''}`] ?? 0) + 1;
    return { total: rows.length, byState, retried: rows.filter((r) => r.attempts > 1).length };
  },
};

serveChildCommands(commands, { url: forge.url, token }, () => forge.close());
