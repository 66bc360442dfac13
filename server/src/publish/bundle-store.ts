/** Built bundles in the store: content-addressed by integrity, found by set and version. */
import type { Bundle } from '@anvil/content-schema';
import { canonicalJson } from '@anvil/content-schema';
import type { ForgeContext } from '../forge/forge-context.ts';
import { storeTime } from '../store/open-store.ts';
import type { StoredBundle } from './compose-envelope.ts';

/** Stores a bundle once; a second save of the same integrity is a no-op. */
export async function saveBundle(ctx: ForgeContext, bundle: Bundle): Promise<StoredBundle> {
  const body = canonicalJson(bundle);
  await ctx.db.insertInto('bundles').values({
    integrity: bundle.integrity, project: bundle.project, set_name: bundle.set, version: bundle.version, stage: bundle.stage,
    tree: bundle.source.tree ?? null, commit: bundle.source.commit, body, created_at: storeTime(),
  }).onConflict((oc) => oc.column('integrity').doNothing()).execute();
  return { integrity: bundle.integrity, set: bundle.set, version: bundle.version, body };
}

export async function findBundle(ctx: ForgeContext, project: string, set: string, version: string): Promise<StoredBundle | undefined> {
  const row = await ctx.db.selectFrom('bundles').select(['integrity', 'set_name', 'version', 'body'])
    .where('project', '=', project).where('set_name', '=', set).where('version', '=', version)
    .orderBy('created_at').executeTakeFirst();
  return row && { integrity: row.integrity, set: row.set_name, version: row.version, body: row.body };
}

export async function bundleByIntegrity(ctx: ForgeContext, integrity: string): Promise<StoredBundle | undefined> {
  const row = await ctx.db.selectFrom('bundles').select(['integrity', 'set_name', 'version', 'body']).where('integrity', '=', integrity).executeTakeFirst();
  return row && { integrity: row.integrity, set: row.set_name, version: row.version, body: row.body };
}

const dependencyCache = new Map<string, Record<string, string>>();

/** A stored bundle's exact dependency versions (parsed once per integrity). */
export function dependenciesOf(bundle: StoredBundle): Record<string, string> {
  let deps = dependencyCache.get(bundle.integrity);
  if (!deps) {
    deps = (JSON.parse(bundle.body) as Bundle).dependencies;
    if (dependencyCache.size > 10_000) dependencyCache.clear();
    dependencyCache.set(bundle.integrity, deps);
  }
  return deps;
}

/** `bundles` followed by every bundle they depend on, transitively; undefined names a missing one. */
export async function withDependencies(ctx: ForgeContext, project: string, bundles: StoredBundle[]): Promise<{ bundles: StoredBundle[]; missing?: string }> {
  const out = new Map<string, StoredBundle>();
  const queue = [...bundles];
  while (queue.length > 0) {
    const b = queue.shift()!;
    if (out.has(b.integrity)) continue;
    out.set(b.integrity, b);
    for (const [dep, version] of Object.entries(dependenciesOf(b))) {
      const found = await findBundle(ctx, project, dep, version);
      if (!found) return { bundles: [...out.values()], missing: `${dep}@${version}` };
      queue.push(found);
    }
  }
  return { bundles: [...out.values()] };
}
