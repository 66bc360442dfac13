/**
 * What the dashboard's pages show, read from the store: thin queries whose results are plain
 * data for the page functions (dashboard-pages.ts). Lists are paged here, so that a page costs
 * the same with ten sets or ten thousand.
 */
import type { Bundle } from '@anvil/content-schema';
import type { DependencyPartials } from '@anvil/client';
import type { SetReviewState } from '../store/database.ts';
import type { Store } from '../store/open-store.ts';
import type { ReviewDetail } from '../review/review-state.ts';

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
  /** `live`, `review` or `locked`: as the default branch last had it, else as the set's newest bundle records it; null if unknown. */
  mode: string | null;
  /** Channel → the version it serves now (channel_heads). */
  channels: Record<string, string>;
  lastRelease: { version: string; at: string } | null;
  /** anvil.yaml's aliases of the set as the forge accepted them (`stable` → `1.2.0`), by name. */
  aliases?: Record<string, string>;
  /**
   * Where review of the set stands on the default branch (set_states). Null, or absent, when the
   * forge has not followed the branch since it began to keep this, or the set left the branch.
   */
  review?: SetReviewSummary | null;
  /** Open pull requests that change the set, by number. Absent reads as none. */
  pulls?: PullSummary[];
}

export interface SetReviewSummary {
  state: SetReviewState;
  /** Commits not reviewed yet, oldest first. */
  unreviewed: string[];
}

/** `pending`: open, but its check's verdict is not recorded (a row from before the forge kept it). */
export type CheckConclusion = 'success' | 'failure' | 'neutral' | 'pending';

export interface PullSummary {
  number: number;
  conclusion: CheckConclusion;
  /** The check's title, as posted on GitHub. */
  title?: string;
  /** The pull request's page on GitHub. */
  url?: string;
}

export interface ProjectSets {
  project: string;
  sets: SetSummary[];
  paging: Paging;
}

export const SETS_PER_PAGE = 25;

/**
 * A page of the project's sets: those built and those on the default branch, so that a review
 * set with changes pending and no release yet is listed too. One query per kind of fact for the
 * page's sets, never one per set (except the mode of sets the branch no longer has).
 */
export async function projectSets(db: Store, project: string, page: unknown, pageSize: number = SETS_PER_PAGE): Promise<ProjectSets> {
  const known = db.selectFrom('bundles').select('set_name').where('project', '=', project)
    .union(db.selectFrom('set_states').select('set_name').where('project', '=', project));
  const count = await db.selectFrom(known.as('known')).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  const p = paging(Number(count?.n ?? 0), page, pageSize);
  const names = (await db.selectFrom(known.as('known')).select('set_name')
    .orderBy('set_name').limit(pageSize).offset(p.offset).execute()).map((r) => r.set_name);
  if (names.length === 0) return { project, sets: [], paging: p };
  const heads = await db.selectFrom('channel_heads').select(['set_name', 'channel', 'version'])
    .where('project', '=', project).where('set_name', 'in', names).orderBy('channel').execute();
  const releases = await db.selectFrom('bundles').select(['set_name', 'version', 'created_at'])
    .where('project', '=', project).where('set_name', 'in', names).where('stage', '=', 'release').orderBy('created_at').execute();
  const states = new Map((await db.selectFrom('set_states').select(['set_name', 'mode', 'review', 'unreviewed'])
    .where('project', '=', project).where('set_name', 'in', names).execute()).map((r) => [r.set_name, r]));
  const pulls = await openPulls(db, project, names);
  const aliases = await db.selectFrom('aliases').select(['set_name', 'alias', 'version'])
    .where('project', '=', project).where('set_name', 'in', names).orderBy('alias').execute();
  const sets: SetSummary[] = [];
  for (const name of names) {
    const channels: Record<string, string> = {};
    for (const h of heads) if (h.set_name === name) channels[h.channel] = h.version;
    const last = releases.filter((r) => r.set_name === name).at(-1);
    const state = states.get(name);
    sets.push({
      name, mode: state ? state.mode : await newestMode(db, project, name), channels,
      lastRelease: last ? { version: last.version, at: last.created_at } : null,
      aliases: Object.fromEntries(aliases.filter((a) => a.set_name === name).map((a) => [a.alias, a.version])),
      review: state ? { state: state.review, unreviewed: commitList(state.unreviewed) } : null,
      pulls: pulls.get(name) ?? [],
    });
  }
  return { project, sets, paging: p };
}

/** The project's open pull requests, per set they change (as their last check recorded). */
async function openPulls(db: Store, project: string, sets: readonly string[]): Promise<Map<string, PullSummary[]>> {
  const rows = await db.selectFrom('reviews').select(['pull_number', 'detail'])
    .where('project', '=', project).where('state', '=', 'open').orderBy('pull_number').execute();
  const wanted = new Set(sets);
  const bySet = new Map<string, PullSummary[]>();
  for (const row of rows) {
    let detail: Partial<ReviewDetail>;
    try {
      detail = JSON.parse(row.detail) as Partial<ReviewDetail>;
    } catch {
      continue;
    }
    const pull: PullSummary = {
      number: row.pull_number, conclusion: detail.check?.conclusion ?? 'pending',
      ...(detail.check ? { title: detail.check.title } : {}), ...(detail.url !== undefined ? { url: detail.url } : {}),
    };
    for (const set of detail.changedSets ?? []) {
      if (!wanted.has(set)) continue;
      bySet.set(set, [...(bySet.get(set) ?? []), pull]);
    }
  }
  return bySet;
}

function commitList(text: string): string[] {
  try {
    const list: unknown = JSON.parse(text);
    return Array.isArray(list) ? list.filter((c): c is string => typeof c === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * The set's mode as its newest bundle records it, for sets the default branch no longer has or
 * the forge has not followed since migration 008: it parses the bundle, so it is the slow way.
 */
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
  /** Characters of stored JSON read for it: what holding it in memory costs, roughly. */
  size: number;
}

/** One stored version of a set with its dependencies' partials, or undefined when the store has no such version. */
export async function storedSetVersion(db: Store, project: string, set: string, version: string): Promise<StoredSetVersion | undefined> {
  const own = await storedBundle(db, project, set, version);
  if (!own) return undefined;
  const { bundle } = own;
  const dependencyPartials: DependencyPartials = {};
  let size = own.size;
  for (const [dep, depVersion] of Object.entries(bundle.dependencies)) {
    const found = await storedBundle(db, project, dep, depVersion);
    if (found) {
      dependencyPartials[dep] = found.bundle.partials;
      size += found.size;
    }
  }
  return { bundle, dependencyPartials, size };
}

async function storedBundle(db: Store, project: string, set: string, version: string): Promise<{ bundle: Bundle; size: number } | undefined> {
  const row = await db.selectFrom('bundles').select('body').where('project', '=', project).where('set_name', '=', set)
    .where('version', '=', version).orderBy('created_at').limit(1).executeTakeFirst();
  return row ? { bundle: JSON.parse(row.body) as Bundle, size: row.body.length } : undefined;
}
