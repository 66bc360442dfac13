/**
 * The Rollouts page (issue 15): per set and channel, what the channel serves, the canary the
 * rollout in anvil.yaml adds (its version and the percent of keys it takes), and which receivers
 * serve which version of the set, from the versions they last reported. Read from the store; the
 * grouping is pure (groupRollouts) so that it is tested without one.
 */
import '../metrics/usage-tables.ts';
import semver from 'semver';
import { jsonMap } from '../receivers/list-receivers.ts';
import type { Store } from '../store/open-store.ts';
import { paging, type Paging } from './dashboard-data.ts';

export interface ServedVersion {
  version: string;
  receivers: number;
  /** A few of them, to recognise; the receivers page lists all (filtered by `set@version`). */
  sample: string[];
}

export interface RolloutRow {
  project: string;
  set: string;
  channel: string;
  /** What the channel serves (channel_heads). */
  head: string | undefined;
  /** The rollout anvil.yaml names for the set on this channel, if any. */
  rollout: { version: string; percent: number; paused?: string } | undefined;
  /** Receivers on the channel that are not gone or revoked, by the set's version they serve; newest first. */
  served: ServedVersion[];
  /** Of those, the ones that have none of the set yet. */
  without: number;
}

export interface RolloutInputs {
  heads: readonly { project: string; set_name: string; channel: string; version: string }[];
  rollouts: readonly { project: string; set_name: string; channel: string; version: string; percent: number }[];
  receivers: readonly { project: string; instance_id: string; channel: string; versions: string }[];
  /** Rollouts their canary guard paused (issue 17), with the reason. */
  pauses?: readonly { project: string; set_name: string; channel: string; version: string; percent: number; reason: string }[];
}

const SAMPLE = 5;
const CHANNEL_ORDER = ['production', 'staging', 'development'];

/** One row per set and channel that has a head or a rollout; rollouts first, then by project, set and channel. */
export function groupRollouts(inputs: RolloutInputs): RolloutRow[] {
  const rows = new Map<string, RolloutRow>();
  const rowOf = (project: string, set: string, channel: string): RolloutRow => {
    const key = JSON.stringify([project, set, channel]);
    let row = rows.get(key);
    if (!row) rows.set(key, row = { project, set, channel, head: undefined, rollout: undefined, served: [], without: 0 });
    return row;
  };
  for (const h of inputs.heads) rowOf(h.project, h.set_name, h.channel).head = h.version;
  for (const r of inputs.rollouts) {
    const pause = inputs.pauses?.find((p) => p.project === r.project && p.set_name === r.set_name && p.channel === r.channel && p.version === r.version && p.percent === r.percent);
    rowOf(r.project, r.set_name, r.channel).rollout = { version: r.version, percent: r.percent, ...(pause ? { paused: pause.reason } : {}) };
  }

  const byChannel = new Map<string, { id: string; versions: Record<string, string> }[]>();
  for (const r of inputs.receivers) {
    const key = JSON.stringify([r.project, r.channel]);
    let list = byChannel.get(key);
    if (!list) byChannel.set(key, list = []);
    list.push({ id: r.instance_id, versions: jsonMap(r.versions) });
  }
  for (const row of rows.values()) {
    const served = new Map<string, ServedVersion>();
    for (const r of byChannel.get(JSON.stringify([row.project, row.channel])) ?? []) {
      const version = r.versions[row.set];
      if (typeof version !== 'string') {
        row.without++;
        continue;
      }
      let entry = served.get(version);
      if (!entry) served.set(version, entry = { version, receivers: 0, sample: [] });
      entry.receivers++;
      if (entry.sample.length < SAMPLE) entry.sample.push(r.id);
    }
    row.served = [...served.values()].sort((a, b) => (semver.valid(a.version) && semver.valid(b.version) ? semver.rcompare(a.version, b.version) : b.version.localeCompare(a.version)));
  }
  return [...rows.values()].sort((a, b) => Number(b.rollout !== undefined) - Number(a.rollout !== undefined)
    || a.project.localeCompare(b.project) || a.set.localeCompare(b.set) || CHANNEL_ORDER.indexOf(a.channel) - CHANNEL_ORDER.indexOf(b.channel));
}

export const ROLLOUT_ROWS_PER_PAGE = 50;

export async function rolloutsOverview(db: Store, projects: readonly string[], page: unknown): Promise<{ rows: RolloutRow[]; paging: Paging }> {
  if (projects.length === 0) return { rows: [], paging: paging(0, page, ROLLOUT_ROWS_PER_PAGE) };
  const [heads, rollouts, receivers, pauses] = await Promise.all([
    db.selectFrom('channel_heads').select(['project', 'set_name', 'channel', 'version']).where('project', 'in', projects).execute(),
    db.selectFrom('rollouts').select(['project', 'set_name', 'channel', 'version', 'percent']).where('project', 'in', projects).execute(),
    db.selectFrom('receivers').select(['project', 'instance_id', 'channel', 'versions'])
      .where('project', 'in', projects).where('gone_at', 'is', null).where('revoked_at', 'is', null).execute(),
    db.selectFrom('rollout_pauses').select(['project', 'set_name', 'channel', 'version', 'percent', 'reason']).where('project', 'in', projects).where('cleared_at', 'is', null).execute(),
  ]);
  const all = groupRollouts({ heads, rollouts, receivers, pauses });
  const p = paging(all.length, page, ROLLOUT_ROWS_PER_PAGE);
  return { rows: all.slice(p.offset, p.offset + p.pageSize), paging: p };
}
