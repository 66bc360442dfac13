/**
 * Lints the target as it would be after the import, before anything is written: the working
 * tree with the planned files laid over it, through the same loader and lint as `anvil lint`.
 * Problems in the files the import writes are the import's: an error there stops it (what
 * `anvil import` writes, `anvil lint` accepts), and each is told against the file the user
 * gave, where that is the same text (a Dotprompt file), else beside it.
 */
import { loadRepo } from '../load/load-repo.ts';
import { lintRepo, type ReleaseInfo } from '../lint/lint-repo.ts';
import type { Problem } from '../lint/problem.ts';
import { sortPaths } from '../repo/repo-path.ts';
import type { RepoSnapshot } from '../repo/snapshot.ts';
import type { ImportPlan, PlannedFile } from './plan-import.ts';

/** `base` with `writes` (path → text) laid over it. */
export function overlaySnapshot(base: RepoSnapshot, writes: ReadonlyMap<string, string>): RepoSnapshot {
  return {
    label: `${base.label} after the import`,
    source: base.source,
    async listFiles(dir) {
      const prefix = dir === '' ? '' : `${dir.replace(/\/+$/, '')}/`;
      const listed = new Set(await base.listFiles(dir));
      for (const file of writes.keys()) if (file.startsWith(prefix)) listed.add(file);
      return sortPaths([...listed]);
    },
    async readText(file) {
      return writes.has(file) ? writes.get(file) : base.readText(file);
    },
    async treeId() {
      return undefined;
    },
  };
}

export function plannedWrites(plan: ImportPlan): Map<string, PlannedFile> {
  return new Map(plan.files.filter((f) => f.text !== undefined).map((f) => [f.file, f]));
}

/** The lint problems of the written files, as the user should read them. */
export async function lintImported(base: RepoSnapshot, plan: ImportPlan, releases: ReleaseInfo): Promise<Problem[]> {
  const writes = plannedWrites(plan);
  if (writes.size === 0) return [];
  const after = overlaySnapshot(base, new Map([...writes].map(([file, f]) => [file, f.text!])));
  // Release tags are the target's business, not the import's: only the files' own problems.
  const problems = lintRepo(await loadRepo(after), { releases: releases.releases });
  const reported = new Set(plan.versionConflicts.map((p) => p.file));
  const out: Problem[] = [];
  for (const p of problems) {
    const written = p.file === undefined ? undefined : writes.get(p.file);
    if (!written) continue;
    if (p.code === 'dependency.unsatisfiable' && reported.has(p.file)) continue;
    out.push(asUserSees(p, written));
  }
  return out;
}

function asUserSees(p: Problem, written: PlannedFile): Problem {
  const { origin } = written;
  if (origin.sameText && origin.entry === undefined && written.action !== 'rename') return { ...p, file: origin.file };
  const from = origin.entry === undefined ? origin.file : `${origin.file}, ${origin.entry}`;
  return { ...p, message: `${p.message} (imported from ${from})` };
}
