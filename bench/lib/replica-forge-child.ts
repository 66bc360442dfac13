/**
 * One full forge replica of the scale-out benchmark (issue 16), in a process of its own:
 * `startForge` as `anvil serve` runs it (HTTP on loopback port 0, push worker, sync loop), on the
 * PostgreSQL store every replica shares, with the keys the bench copied into its data dir (the
 * same on every replica, as docs/forge.md asks), one git project whose remote is a bare
 * repository. Logs at `info` as a served forge does, the lines dropped here (warnings and errors
 * are shown), so that their cost is in the figures.
 *
 * argv: <PostgreSQL URL> <remote> <data dir> <webhook secret> <name>. Sends `{type: 'ready', url}`
 * when up, then answers `{id, cmd}` with `{id, result}`: `settle` waits until every webhook taken
 * is handled and no sync runs, then returns `stats`: syncs run (and their total ms) and webhooks
 * by outcome so far; `sync` syncs once now and says what it cost.
 */
import { pino } from 'pino';
import { startForge } from '../../server/src/forge/start-forge.ts';
import { serveChildCommands, type ChildCommands } from './child-commands.ts';

const [database, remote, dataDir, webhookSecret, name] = process.argv.slice(2);
if (database === undefined || remote === undefined || dataDir === undefined || webhookSecret === undefined || name === undefined) {
  throw new Error('usage: replica-forge-child.ts <postgres url> <remote> <data dir> <webhook secret> <name>');
}

let syncs = 0;
let syncMs = 0;
const logger = pino({ name: 'anvil-forge', level: 'info' }, {
  write(line: string) {
    // The sync lines say how long each sync took; only they are parsed.
    if (line.includes('"msg":"sync"')) {
      syncs++;
      syncMs += (JSON.parse(line) as { ms: number }).ms;
    } else if (/"level":(40|50|60)/.test(line)) process.stderr.write(`${name}: ${line}`);
  },
});
const forge = await startForge({
  name: 'bench-forge', dataDir, host: '127.0.0.1', port: 0, keyRotationGraceDays: 7, database,
  projects: [{ name: 'bench', remote, provider: 'git', webhookSecret }], defaultBranches: {},
}, {
  logger, syncOnStart: false,
});

async function stats() {
  const webhooks: Record<string, number> = {};
  for (const v of (await forge.ctx.metrics.webhooks.get()).values) {
    const outcome = String(v.labels['outcome']);
    webhooks[outcome] = (webhooks[outcome] ?? 0) + v.value;
  }
  return { syncs, syncMs, webhooks, cpu: process.cpuUsage(), rssMb: Math.round(process.memoryUsage().rss / 2 ** 20) };
}

const commands: ChildCommands = {
  async settle() {
    await forge.settle(60_000);
    return stats();
  },
  stats,
  /** One sync now (the first clones the mirror): its wall time and this process's CPU, ms. */
  async sync() {
    const cpu = process.cpuUsage();
    const t = performance.now();
    await forge.sync('bench');
    const used = process.cpuUsage(cpu);
    return { ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000 };
  },
};

serveChildCommands(commands, { url: forge.url }, () => forge.close());
