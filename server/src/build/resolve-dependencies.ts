/**
 * Dependencies between sets are semver ranges over release tags (DESIGN.md §4–§5). This pure
 * step checks the graph (unknown sets, cycles named as `a → b → c → a`) and resolves each range
 * to the highest release that satisfies it, naming the versions that exist when none does.
 */
import semver from 'semver';
import { problem, type Problem } from '../lint/problem.ts';

export interface SetDependencies {
  name: string;
  /** Dependency set name → semver range. */
  dependencies: Record<string, string>;
  /** Where the dependencies are declared, for problems. */
  configFile?: string | undefined;
  /** Line and column of each dependency's entry in that file. */
  positions?: Record<string, { line: number; column: number }> | undefined;
}

export interface ResolveOptions {
  /** Released versions per set name. */
  releases: Record<string, string[]>;
  /**
   * When a dependency has no release at all: 'error' (a release or build needs it) or
   * 'warning' (linting a working tree before the first release).
   */
  unreleased?: 'error' | 'warning';
}

export interface Resolution {
  /** Set name → dependency name → exact resolved version (only where it resolved). */
  resolved: Record<string, Record<string, string>>;
  problems: Problem[];
}

export function resolveDependencies(sets: SetDependencies[], options: ResolveOptions): Resolution {
  const problems: Problem[] = [];
  const byName = new Map(sets.map((s) => [s.name, s]));

  for (const cycle of findCycles(sets)) {
    const first = byName.get(cycle[0]!);
    problems.push(problem('error', 'dependency.cycle', `dependency cycle: ${cycle.join(' → ')}`, {
      file: first?.configFile, line: 1, column: 1, hint: 'dependencies between sets must not loop; move the shared part into its own set',
    }));
  }

  const resolved: Record<string, Record<string, string>> = {};
  for (const set of sets) {
    const out: Record<string, string> = {};
    for (const [dep, range] of Object.entries(set.dependencies)) {
      const at = { file: set.configFile, line: set.positions?.[dep]?.line ?? 1, column: set.positions?.[dep]?.column ?? 1 };
      if (dep === set.name) continue; // reported as a cycle
      if (!byName.has(dep) && !(dep in options.releases)) {
        problems.push(problem('error', 'dependency.unknown-set', `"${set.name}" depends on "${dep}", which is not a set of this repository`, {
          ...at, hint: `known sets: ${[...byName.keys()].join(', ') || 'none'}`,
        }));
        continue;
      }
      const versions = (options.releases[dep] ?? []).filter((v) => semver.valid(v)).sort(semver.compare);
      if (versions.length === 0) {
        problems.push(problem(options.unreleased ?? 'error', 'dependency.unreleased', `"${set.name}" depends on "${dep}" ${range}, but "${dep}" has no release yet`, {
          ...at, hint: `release it first: anvil release ${dep}`,
        }));
        continue;
      }
      const version = semver.maxSatisfying(versions, range);
      if (!version) {
        problems.push(problem('error', 'dependency.unsatisfiable', `no release of "${dep}" satisfies ${range} (needed by "${set.name}"); versions that exist: ${versions.join(', ')}`, {
          ...at, hint: `widen the range in set.yaml, or release a matching version of ${dep}`,
        }));
        continue;
      }
      out[dep] = version;
    }
    resolved[set.name] = out;
  }
  return { resolved, problems };
}

/** Every elementary cycle, each once, as a path that ends where it starts. */
export function findCycles(sets: SetDependencies[]): string[][] {
  const graph = new Map(sets.map((s) => [s.name, Object.keys(s.dependencies).sort()]));
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];

  const visit = (node: string): void => {
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(next)), next];
        // The same loop found from another starting point is one cycle.
        const key = [...cycle.slice(0, -1)].sort().join('\u0000');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      } else if (!state.has(next) && graph.has(next)) {
        visit(next);
      }
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const name of [...graph.keys()].sort()) if (!state.has(name)) visit(name);
  return cycles;
}
