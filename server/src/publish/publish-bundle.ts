/**
 * A publish (DESIGN §6, §8): a built bundle becomes what some channels serve, and one delivery
 * per matching receiver is written to the store in the same breath, so the push worker (or
 * another replica, after a crash) delivers it. Channels only move forward: a version older than
 * what a channel already serves is not published there again.
 */
import semver from 'semver';
import type { Bundle } from '@anvil/content-schema';
import { enqueueDeliveries } from '../deliver/delivery-queue.ts';
import type { ForgeContext } from '../forge/forge-context.ts';
import { appendAudit } from '../store/audit-log.ts';
import { announceEnvelope } from './announce-envelope.ts';
import { storeTime } from '../store/open-store.ts';
import { saveBundle } from './bundle-store.ts';
import { channelEnvelope } from './channel-state.ts';

export interface PublishRequest {
  project: string;
  bundle: Bundle;
  channels: readonly string[];
  reason: string;
  actor?: string | undefined;
  /** Push again even when the channel already serves this version ("Publish to LIVE"). */
  again?: boolean;
}

export interface ChannelOutcome {
  channel: string;
  outcome: 'published' | 'already-serving' | 'newer-served';
  envelopeId?: string;
  deliveries: number;
  /** What the channel served before, when it did. */
  previous?: string;
}

export interface PublishOutcome {
  set: string;
  version: string;
  integrity: string;
  channels: ChannelOutcome[];
}

export async function publishBundle(ctx: ForgeContext, request: PublishRequest): Promise<PublishOutcome> {
  const { project, bundle } = request;
  await saveBundle(ctx, bundle);
  const outcomes: ChannelOutcome[] = [];
  for (const channel of request.channels) {
    const head = await ctx.db.selectFrom('channel_heads').selectAll()
      .where('project', '=', project).where('channel', '=', channel).where('set_name', '=', bundle.set).executeTakeFirst();
    if (head && head.integrity === bundle.integrity && !request.again) {
      outcomes.push({ channel, outcome: 'already-serving', deliveries: 0, previous: head.version });
      continue;
    }
    if (head && head.integrity !== bundle.integrity && !semver.gt(bundle.version, head.version)) {
      outcomes.push({ channel, outcome: 'newer-served', deliveries: 0, previous: head.version });
      continue;
    }
    await ctx.db.insertInto('channel_heads')
      .values({ project, channel, set_name: bundle.set, version: bundle.version, integrity: bundle.integrity, updated_at: storeTime() })
      .onConflict((oc) => oc.columns(['project', 'channel', 'set_name']).doUpdateSet({ version: bundle.version, integrity: bundle.integrity, updated_at: storeTime() }))
      .execute();
    const envelope = (await channelEnvelope(ctx, project, channel, [bundle.set]))!;
    await ctx.db.insertInto('envelopes').values({ id: envelope.id, project, channel, body: envelope.body, created_at: storeTime() })
      .onConflict((oc) => oc.column('id').doNothing()).execute();
    const deliveries = await enqueueDeliveries(ctx, { project, channel, envelopeId: envelope.id, set: bundle.set, version: bundle.version });
    // Streaming receivers get it on their streams, on every replica (issue 16).
    await announceEnvelope(ctx, { project, channel, envelope: envelope.id, set: bundle.set, version: bundle.version }, envelope.body);
    outcomes.push({ channel, outcome: 'published', envelopeId: envelope.id, deliveries, ...(head ? { previous: head.version } : {}) });
  }
  const published = outcomes.filter((o) => o.outcome === 'published').map((o) => o.channel);
  if (published.length > 0) {
    await ctx.db.insertInto('publications').values({
      project, set_name: bundle.set, version: bundle.version, integrity: bundle.integrity, channels: JSON.stringify(published), reason: request.reason, created_at: storeTime(),
    }).execute();
  }
  await appendAudit(ctx.db, {
    project, kind: published.length > 0 ? 'publish' : 'publish.skipped', subject: `${bundle.set}@${bundle.version}`, actor: request.actor,
    detail: { integrity: bundle.integrity, reason: request.reason, channels: outcomes.map((o) => ({ channel: o.channel, outcome: o.outcome, deliveries: o.deliveries, ...(o.previous ? { previous: o.previous } : {}) })) },
  });
  ctx.logger.info({ project, set: bundle.set, version: bundle.version, channels: outcomes }, 'publish');
  return { set: bundle.set, version: bundle.version, integrity: bundle.integrity, channels: outcomes };
}
