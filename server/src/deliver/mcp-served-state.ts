/**
 * What a channel serves over MCP, as one short id (issue 17): a digest of its heads — each set
 * and the integrity of its current bundle — which is all the forge's MCP endpoint lists. The same
 * heads give the same id on every replica, so a session opened on one replica and a stream held
 * by another agree on whether the host has heard of the current prompts; a change of signing
 * keys or of a rollout, which the MCP endpoint does not serve, does not change it.
 */
import { createHash } from 'node:crypto';
import type { ForgeContext } from '../forge/forge-context.ts';

export interface ServedHead {
  set_name: string;
  integrity: string;
}

/** The id of what `heads` serve. Pure; the order of `heads` does not matter. */
export function servedState(heads: readonly ServedHead[]): string {
  const lines = heads.map((h) => `${h.set_name}\u0000${h.integrity}\n`).sort();
  return `srv-${createHash('sha256').update(lines.join(''), 'utf8').digest('base64url').slice(0, 32)}`;
}

export function readServedHeads(ctx: Pick<ForgeContext, 'db'>, project: string, channel: string): Promise<ServedHead[]> {
  return ctx.db.selectFrom('channel_heads').select(['set_name', 'integrity'])
    .where('project', '=', project).where('channel', '=', channel).orderBy('set_name').execute();
}

export async function readServedState(ctx: Pick<ForgeContext, 'db'>, project: string, channel: string): Promise<string> {
  return servedState(await readServedHeads(ctx, project, channel));
}
