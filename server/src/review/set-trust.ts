/**
 * The trusted content of each set (trust-rules.ts), kept in the store's `trusted_trees` and grown
 * as the forge follows the default branch: the branch as first seen, then every reviewed merge
 * on trusted content. Releases and head builds of review sets ask it before they publish.
 */
import type { ForgeContext, ForgeProject } from '../forge/forge-context.ts';
import { firstParent, isAncestorIn, landedChanges, treeAt } from '../mirror/mirror-repo.ts';
import { storeTime } from '../store/open-store.ts';
import { isReviewedChange, type SetRef } from './review-state.ts';
import { isTrusted, walkTrust, type TrustStep } from './trust-rules.ts';

type TrustSource = 'baseline' | 'release' | 'reviewed-merge';

export interface TrustAdvance {
  /** The commits that changed the set without a review (each audited as before). */
  unreviewed: string[];
  /** The set's content at the new head is trusted. */
  trusted: boolean;
}

export async function trustedTrees(ctx: ForgeContext, project: string, set: string): Promise<Set<string>> {
  const rows = await ctx.db.selectFrom('trusted_trees').select('tree').where('project', '=', project).where('set_name', '=', set).execute();
  return new Set(rows.map((r) => r.tree));
}

export async function trustTrees(ctx: ForgeContext, project: string, set: string, entries: readonly { tree: string; commit: string }[], source: TrustSource): Promise<void> {
  if (entries.length === 0) return;
  await ctx.db.insertInto('trusted_trees')
    .values(entries.map((e) => ({ project, set_name: set, tree: e.tree, source, commit: e.commit, created_at: storeTime() })))
    .onConflict((oc) => oc.columns(['project', 'set_name', 'tree']).doNothing()).execute();
}

/** The branch as the forge first sees it: its sets' content is adopted as trusted (it is not a change anyone made). */
export async function adoptBaseline(ctx: ForgeContext, project: string, commit: string, sets: readonly (SetRef & { treeId?: string | undefined })[]): Promise<void> {
  for (const set of sets) if (set.treeId !== undefined) await trustTrees(ctx, project, set.name, [{ tree: set.treeId, commit }], 'baseline');
}

/**
 * A store from before trusted trees (migration 006) follows a branch but trusts nothing yet.
 * It adopts what the old rules had accepted: the branch's baseline and the releases it published.
 * Not the branch's current head: that may carry the very unreviewed change a release was refused for.
 */
export async function seedTrustOnce(ctx: ForgeContext, project: string, mirror: string, baseline: string | undefined, sets: readonly SetRef[]): Promise<void> {
  const any = await ctx.db.selectFrom('trusted_trees').select('tree').where('project', '=', project).limit(1).executeTakeFirst();
  if (any) return;
  if (baseline !== undefined) {
    for (const set of sets) {
      const tree = await treeAt(mirror, baseline, set.dir);
      if (tree !== undefined) await trustTrees(ctx, project, set.name, [{ tree, commit: baseline }], 'baseline');
    }
  }
  const published = await ctx.db.selectFrom('bundles').innerJoin('publications', 'publications.integrity', 'bundles.integrity')
    .select(['bundles.set_name', 'bundles.tree', 'bundles.commit']).distinct()
    .where('bundles.project', '=', project).where('bundles.stage', '=', 'release').execute();
  for (const row of published) if (row.tree !== null) await trustTrees(ctx, project, row.set_name, [{ tree: row.tree, commit: row.commit }], 'release');
}

/**
 * Follows the branch from `from` to `to` for one set: each change on the first-parent line, oldest
 * first, is checked for review (evil merges included, review-state.ts), and what reviewed merges
 * on trusted content produce becomes trusted.
 */
export async function advanceTrust(ctx: ForgeContext, project: ForgeProject, mirror: string, from: string, to: string, set: SetRef): Promise<TrustAdvance> {
  const steps: TrustStep[] = [];
  for (const commit of await landedChanges(mirror, [from], to, set.dir)) {
    const parent = await firstParent(mirror, commit);
    steps.push({
      commit,
      parentTree: parent === undefined ? undefined : await treeAt(mirror, parent, set.dir),
      tree: await treeAt(mirror, commit, set.dir),
      reviewed: await isReviewedChange(ctx, project, mirror, commit, set),
    });
  }
  const known = await trustedTrees(ctx, project.name, set.name);
  const walk = walkTrust(known, steps);
  await trustTrees(ctx, project.name, set.name, walk.newlyTrusted, 'reviewed-merge');
  for (const { tree } of walk.newlyTrusted) known.add(tree);
  return { unreviewed: walk.unreviewed, trusted: isTrusted(known, await treeAt(mirror, to, set.dir)) };
}

/**
 * Is the set's content at a release's commit trusted? Commits the branch had when the forge first
 * saw it are history the forge adopted, as releases made there are; anything later must carry
 * content that the branch reached through reviewed merges (or returned to).
 */
export async function isReleaseTrusted(ctx: ForgeContext, project: string, mirror: string, commit: string, set: SetRef, baseline: string | undefined): Promise<boolean> {
  if (baseline !== undefined && (await isAncestorIn(mirror, commit, baseline))) return true;
  return isTrusted(await trustedTrees(ctx, project, set.name), await treeAt(mirror, commit, set.dir));
}
