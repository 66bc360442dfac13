/**
 * What the dashboard's pages show, read from the store: thin queries whose results are plain
 * data for the page functions (dashboard-pages.ts). Lists are paged here, so that a page costs
 * the same with ten sets or ten thousand.
 */
import type { Bundle } from '@anvil/content-schema';
import type { DependencyPartials } from '@anvil/client';
import type { Store } from '../store/open-store.ts';

export interface Paging {
  page: number;
  pages: number;
  total: number;
  offset: number;
  pageSize: number;
}

/** Page `requested` (1-based; anything else is page 1) of `total` items, clamped to the last page. */
export function paging(total: number, requested: unknown, pageSize: number): Paging {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const asked = typeof requested === 'string' && /^[1-9][0-9]{0,6}$/.test(requested) ? Number(requested) : 1;
  const page = Math.min(asked, pages);
  return { page, pages, total, offset: (page - 1) * pageSize, pageSize };
}

export interface SetSummary {
  name: string;
  /** The mode of the newest bundle built for it (`live`, `review`, `locked`), or null if unreadable. */
  mode: string | null;
  /** Channel → the version it serves now (channel_heads). */
  channels: Record<string, string>;
  lastRelease: { version: string; at: string } | null;
}

export interface ProjectSets {
  project: string;
  sets: SetSummary[];
  paging: Paging;
}

export const SETS_PER_PAGE = 25;

export async function projectSets(db: Store, project: string, page: unknown, pageSize: number = SETS_PER_PAGE): Promise<ProjectSets> {
  const count = await db.selectFrom('bundles').select((eb) => eb.fn.count<number>('set_name').distinct().as('n')).where('project', '=', project).executeTakeFirst();
  const p = paging(Number(count?.n ?? 0), page, pageSize);
  const names = (await db.selectFrom('bundles').select('set_name').distinct().where('project', '=', project)
    .orderBy('set_name').limit(pageSize).offset(p.offset).execute()).map((r) => r.set_name);
  if (names.length === 0) return { project, sets: [], paging: p };
  const heads = await db.selectFrom('channel_heads').select(['set_name', 'channel', 'version'])
    .where('project', '=', project).where('set_name', 'in', names).orderBy('channel').execute();
  const releases = await db.selectFrom('bundles').select(['set_name', 'version', 'created_at'])
    .where('project', '=', project).where('set_name', 'in', names).where('stage', '=', 'release').orderBy('created_at').execute();
  const sets: SetSummary[] = [];
  for (const name of names) {
    const channels: Record<string, string> = {};
    for (const h of heads) if (h.set_name === name) channels[h.channel] = h.version;
    const last = releases.filter((r) => r.set_name === name).at(-1);
    sets.push({ name, mode: await newestMode(db, project, name), channels, lastRelease: last ? { version: last.version, at: last.created_at } : null });
  }
  return { project, sets, paging: p };
}

/** The set's mode as its newest bundle records it: the bundle is the one definition of it. */
async function newestMode(db: Store, project: string, set: string): Promise<string | null> {
  const row = await db.selectFrom('bundles').select('body').where('project', '=', project).where('set_name', '=', set)
    .orderBy('created_at', 'desc').limit(1).executeTakeFirst();
  if (!row) return null;
  try {
    const mode = (JSON.parse(row.body) as { mode?: unknown }).mode;
    return typeof mode === 'string' ? mode : null;
  } catch {
    return null;
  }
}

export interface SetVersionRow {
  version: string;
  stage: 'release' | 'head';
  at: string;
}

/** Every stored version of a set, newest first: what the compare form offers. */
export async function setVersions(db: Store, project: string, set: string): Promise<SetVersionRow[]> {
  const rows = await db.selectFrom('bundles').select(['version', 'stage', 'created_at'])
    .where('project', '=', project).where('set_name', '=', set).orderBy('created_at', 'desc').execute();
  const seen = new Set<string>();
  const out: SetVersionRow[] = [];
  for (const r of rows) {
    if (seen.has(r.version)) continue;
    seen.add(r.version);
    out.push({ version: r.version, stage: r.stage, at: r.created_at });
  }
  return out;
}

export interface StoredSetVersion {
  bundle: Bundle;
  /** The partials of the sets it depends on, from their stored bundles, as a receiver has them. */
  dependencyPartials: DependencyPartials;
}

/** One stored version of a set with its dependencies' partials, or undefined when the store has no such version. */
export async function storedSetVersion(db: Store, project: string, set: string, version: string): Promise<StoredSetVersion | undefined> {
  const bundle = await storedBundle(db, project, set, version);
  if (!bundle) return undefined;
  const dependencyPartials: DependencyPartials = {};
  for (const [dep, depVersion] of Object.entries(bundle.dependencies)) {
    const found = await storedBundle(db, project, dep, depVersion);
    if (found) dependencyPartials[dep] = found.partials;
  }
  return { bundle, dependencyPartials };
}

async function storedBundle(db: Store, project: string, set: string, version: string): Promise<Bundle | undefined> {
  const row = await db.selectFrom('bundles').select('body').where('project', '=', project).where('set_name', '=', set)
    .where('version', '=', version).orderBy('created_at').limit(1).executeTakeFirst();
  return row ? JSON.parse(row.body) as Bundle : undefined;
}
