/**
 * Where each project of a running forge stands, for an operator (`GET /healthz?details=1` with
 * the admin token): the branches it follows, what each channel serves, its receivers and the
 * pushes still waiting. Project names are in here, so it is never shown without the admin token.
 */
import type { ForgeContext } from './forge-context.ts';

export interface ProjectHealth {
  name: string;
  provider: 'github' | 'git';
  /** Branch heads the forge has synced to. */
  branches: { branch: string; commit: string; updatedAt: string }[];
  /** Channel → set → the version it serves. */
  channels: Record<string, Record<string, string>>;
  /** Receivers registered and not gone. */
  receivers: number;
  /** Deliveries not yet pushed (retries included). */
  pendingDeliveries: number;
}

export interface ForgeHealth {
  ok: true;
  name: string;
  projects: ProjectHealth[];
}

export async function forgeHealth(ctx: Pick<ForgeContext, 'name' | 'projects' | 'db'>): Promise<ForgeHealth> {
  const [branches, heads, receivers, pending] = await Promise.all([
    ctx.db.selectFrom('branch_heads').select(['project', 'branch', 'commit', 'updated_at']).orderBy('project').orderBy('branch').execute(),
    ctx.db.selectFrom('channel_heads').select(['project', 'channel', 'set_name', 'version']).orderBy('project').orderBy('channel').orderBy('set_name').execute(),
    ctx.db.selectFrom('receivers').select(['project']).select((eb) => eb.fn.countAll<number>().as('count'))
      .where('gone_at', 'is', null).groupBy('project').execute(),
    ctx.db.selectFrom('deliveries').select(['project']).select((eb) => eb.fn.countAll<number>().as('count'))
      .where('state', '=', 'pending').groupBy('project').execute(),
  ]);
  const projects = [...ctx.projects.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((project): ProjectHealth => {
    const channels: Record<string, Record<string, string>> = {};
    for (const head of heads) {
      if (head.project === project.name) (channels[head.channel] ??= {})[head.set_name] = head.version;
    }
    return {
      name: project.name,
      provider: project.provider,
      branches: branches.filter((b) => b.project === project.name).map((b) => ({ branch: b.branch, commit: b.commit, updatedAt: b.updated_at })),
      channels,
      receivers: Number(receivers.find((r) => r.project === project.name)?.count ?? 0),
      pendingDeliveries: Number(pending.find((d) => d.project === project.name)?.count ?? 0),
    };
  });
  return { ok: true, name: ctx.name, projects };
}
