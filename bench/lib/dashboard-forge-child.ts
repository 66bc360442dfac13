/**
 * The dashboard benchmark's forge, in its own process (so that the browser's driver does not
 * share its event loop): `startForge` as `anvil serve` runs it (SQLite store on disk, keys, push
 * worker, HTTP on loopback, an admin token), seeded by dashboard-seed.ts. argv: <data dir>
 * <admin token>. Sends `{type: 'ready', url, facts}` when up, then answers `{id, cmd}` requests
 * with `{id, result}`: `profile` times the functions behind each page, in this process, so the
 * report can say where a slow page's time goes.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { listAccessTokens } from '../../server/src/access/access-tokens.ts';
import { projectSets, setVersions, storedSetVersion } from '../../server/src/dashboard/dashboard-data.ts';
import { comparePage, projectsPage, receiversPage, setVersionPage } from '../../server/src/dashboard/dashboard-pages.ts';
import { setVersionView } from '../../server/src/dashboard/set-version-view.ts';
import { storedVersions, type StoredVersions } from '../../server/src/dashboard/stored-versions.ts';
import { renderedDiff } from '../../server/src/diff/rendered-diff.ts';
import { createLogger } from '../../server/src/forge/logger.ts';
import { startForge } from '../../server/src/forge/start-forge.ts';
import { listReceivers } from '../../server/src/receivers/list-receivers.ts';
import { diffContract } from '../../server/src/release/contract-diff.ts';
import { listAudit, verifyAuditChain } from '../../server/src/store/audit-log.ts';
import { LARGE_SET, PROJECT, REGULAR_SET, seedDashboardForge } from './dashboard-seed.ts';
import { median } from './measure.ts';
import { serveChildCommands, type ChildCommands } from './child-commands.ts';

const [dataDir, adminToken] = process.argv.slice(2);
if (dataDir === undefined || adminToken === undefined) throw new Error('usage: dashboard-forge-child.ts <data dir> <admin token>');

// The project's remote is never synced (the store is seeded directly); it only has to exist.
const remote = path.join(dataDir, 'remote');
mkdirSync(remote, { recursive: true });
const forge = await startForge({
  name: 'bench-forge', dataDir, host: '127.0.0.1', port: 0, keyRotationGraceDays: 7, adminToken,
  projects: [{ name: PROJECT, remote, provider: 'git', webhookSecret: 'bench-dashboard-webhook-secret-0123456789' }], defaultBranches: {},
}, { logger: createLogger({ level: 'warn' }), syncOnStart: false });
const facts = await seedDashboardForge(forge.ctx, (line) => process.stderr.write(`${line}\n`));

/** Median ms of `runs` calls, and what the last call returned. */
async function timed<T>(runs: number, fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const samples: number[] = [];
  let value: T | undefined;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    value = await fn();
    samples.push(performance.now() - t);
  }
  return { ms: median(samples), value: value as T };
}

const frame = { forgeName: 'bench-forge', user: { role: 'admin' as const, project: null, actor: 'admin' }, csrf: 'c'.repeat(43) };

const commands: ChildCommands = {
  /** The functions behind each page, timed in this process (median of 5): where a page's server time goes. */
  async profile() {
    const db = forge.ctx.db;
    const runs = 5;
    const [from, to] = facts.largeSet.versions as [string, string];
    const out: Record<string, number | string> = {};
    const sets = await timed(runs, () => projectSets(db, PROJECT, '1'));
    out['projectSets (25 sets, first page)'] = sets.ms;
    // projectSets reads each set's newest bundle in full for its mode (dashboard-data.ts newestMode).
    out['— of which the newest bundle of each of the 25 sets, read and JSON.parse'] = (await timed(runs, async () => {
      for (const s of sets.value.sets) {
        const row = await db.selectFrom('bundles').select('body').where('project', '=', PROJECT).where('set_name', '=', s.name).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
        JSON.parse(row!.body);
      }
    })).ms;
    out['projectsPage HTML'] = (await timed(runs, () => projectsPage(frame, [sets.value]).toString())).ms;
    const receivers = await timed(runs, () => listReceivers(db, {}));
    out[`listReceivers (all ${receivers.value.length} rows, paged after)`] = receivers.ms;
    out['receiversPage HTML (50 rows)'] = (await timed(runs, () => receiversPage(frame, {
      receivers: receivers.value.slice(0, 50), paging: { page: 1, pages: 20, total: receivers.value.length, offset: 0, pageSize: 50 }, channel: undefined, now: Date.now(),
    }).toString())).ms;
    out['listAudit (51 rows)'] = (await timed(runs, () => listAudit(db, { limit: 51 }))).ms;
    const chain = await timed(runs, () => verifyAuditChain(db));
    out[`verifyAuditChain (all ${chain.value.rows} rows, on every audit page)`] = chain.ms;
    out['listAccessTokens'] = (await timed(runs, () => listAccessTokens(db))).ms;
    const stored = await timed(runs, () => storedSetVersion(db, PROJECT, LARGE_SET, to));
    out[`storedSetVersion ${LARGE_SET}@${to} (read, JSON.parse)`] = stored.ms;
    const view = await timed(runs, () => setVersionView(stored.value!.bundle, stored.value!.dependencyPartials));
    out[`setVersionView ${LARGE_SET}@${to}, first page (${view.value.prompts.length} prompts and variants)`] = view.ms;
    out[`setVersionPage HTML, first page`] = (await timed(runs, () => setVersionPage(frame, { project: PROJECT, view: view.value }).toString())).ms;
    // What the page cost when it showed every prompt (before issue 15's pagination).
    const every = await timed(3, () => setVersionView(stored.value!.bundle, stored.value!.dependencyPartials, undefined, { pageSize: 100_000 }));
    out[`setVersionView ${LARGE_SET}@${to}, every prompt on one page (${every.value.prompts.length} prompts and variants)`] = every.ms;
    out[`setVersionPage HTML, every prompt on one page`] = (await timed(3, () => setVersionPage(frame, { project: PROJECT, view: every.value }).toString())).ms;
    out[`setVersions ${LARGE_SET}`] = (await timed(runs, () => setVersions(db, PROJECT, LARGE_SET))).ms;
    const before = (await storedSetVersion(db, PROJECT, LARGE_SET, from))!;
    const diff = await timed(3, () => renderedDiff(
      { label: from, bundle: before.bundle, dependencyPartials: before.dependencyPartials },
      { label: to, bundle: stored.value!.bundle, dependencyPartials: stored.value!.dependencyPartials },
    ));
    out[`renderedDiff ${LARGE_SET} ${from} → ${to} (${diff.value.length} prompts and variants rendered on both sides)`] = diff.ms;
    const contract = await timed(runs, () => diffContract(before.bundle, stored.value!.bundle));
    out[`diffContract ${LARGE_SET}`] = contract.ms;
    // As the compare route does it: versions read through the dashboard's stored versions, only
    // changed prompts rendered. Cold: a new cache each call (read, parse, compile); warm: one cache.
    const lean = (versions: StoredVersions) => async () => {
      const [x, y] = await Promise.all([versions.read(PROJECT, LARGE_SET, from), versions.read(PROJECT, LARGE_SET, to)]);
      return renderedDiff({ label: from, ...x! }, { label: to, ...y! }, { unchangedText: false });
    };
    out[`compare route's diff ${LARGE_SET}, cold (stored versions read, parsed, changed prompts compiled)`] = (await timed(runs, async () => lean(storedVersions(db))())).ms;
    const warm = storedVersions(db);
    await lean(warm)();
    out[`compare route's diff ${LARGE_SET}, warm (versions and compiled prompts remembered)`] = (await timed(runs, lean(warm))).ms;
    out[`comparePage HTML ${LARGE_SET}`] = (await timed(runs, () => comparePage(frame, {
      project: PROJECT, set: LARGE_SET, versions: [], from, to, result: { contract: contract.value, prompts: diff.value },
    }).toString())).ms;
    const regular = facts.regularSet.versions;
    const a = (await storedSetVersion(db, PROJECT, REGULAR_SET, regular[0]!))!;
    const b = (await storedSetVersion(db, PROJECT, REGULAR_SET, regular.at(-1)!))!;
    out[`renderedDiff ${REGULAR_SET} ${regular[0]} → ${regular.at(-1)}`] = (await timed(runs, () => renderedDiff(
      { label: regular[0]!, bundle: a.bundle, dependencyPartials: a.dependencyPartials },
      { label: regular.at(-1)!, bundle: b.bundle, dependencyPartials: b.dependencyPartials },
    ))).ms;
    return out;
  },
};

serveChildCommands(commands, { url: forge.url, facts }, () => forge.close());
