/**
 * What "Publish to LIVE" will do, shown before the publisher confirms (issue 15): for each
 * channel the release may go to, whether the channel would move, and for each receiver of those
 * channels whether the forge will push to it — by the same rules the delivery queue applies
 * (deliver/delivery-queue.ts: accepting, not gone, token not revoked, range allowing the version),
 * so that the page never promises a push the queue will not make. Pure: data in, rows out.
 */
import semver from 'semver';
import { rangeAllows } from '../deliver/delivery-queue.ts';
import type { ReceiverView } from '../receivers/list-receivers.ts';

export type AudienceVerdict = 'takes' | 'not-pushed' | 'frozen' | 'out-of-range' | 'gone' | 'revoked';

export interface AudienceRow {
  instanceId: string;
  channel: string;
  /** The version of the set it serves now, if any. */
  serves: string | undefined;
  verdict: AudienceVerdict;
  /** Why, in words, for the page. */
  note: string;
  stale: boolean;
}

export interface ChannelPlan {
  channel: string;
  /** What the channel serves now. */
  head: string | undefined;
  /** `moves`: the channel will serve the release; `again`: it serves it already, pushed again; `newer`: it serves a newer version, nothing is pushed. */
  plan: 'moves' | 'again' | 'newer';
}

export interface PublishAudience {
  channels: ChannelPlan[];
  receivers: AudienceRow[];
  /** Receivers that will be pushed the release. */
  taking: number;
}

export function publishAudience(
  set: string, version: string, channels: readonly string[], heads: Readonly<Record<string, string>>, receivers: readonly ReceiverView[],
): PublishAudience {
  const plans: ChannelPlan[] = channels.map((channel) => {
    const head = heads[channel];
    const plan = head === undefined || semver.gt(version, head) ? 'moves' : head === version ? 'again' : 'newer';
    return { channel, head, plan };
  });
  const pushed = new Set(plans.filter((p) => p.plan !== 'newer').map((p) => p.channel));
  const rows: AudienceRow[] = [];
  for (const r of receivers) {
    if (!channels.includes(r.channel)) continue;
    const serves = r.versions[set];
    const row = (verdict: AudienceVerdict, note: string): AudienceRow => ({ instanceId: r.instanceId, channel: r.channel, serves, verdict, note, stale: r.status === 'stale' });
    if (r.status === 'revoked') rows.push(row('revoked', 'its access token was revoked: no pushes until it registers with a valid one'));
    else if (r.status === 'gone') rows.push(row('gone', 'it left (deregistered or answered 410)'));
    else if (r.mode === 'frozen') rows.push(row('frozen', 'frozen: it takes no pushes until unfrozen'));
    else if (!rangeAllows(r.ranges, set, version)) rows.push(row('out-of-range', `its range for ${set} is ${r.ranges[set] ?? ''}`));
    else if (!pushed.has(r.channel)) rows.push(row('not-pushed', `${r.channel} serves a newer version: nothing is pushed`));
    else rows.push(row('takes', serves === version ? 'serves it already: answers 200 and changes nothing' : serves ? `moves from ${serves}` : 'gets its first version of the set'));
  }
  const taking = rows.filter((r) => r.verdict === 'takes').length;
  return { channels: plans, receivers: rows, taking };
}
