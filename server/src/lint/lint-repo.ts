/**
 * `anvil lint`: every problem of a loaded repository at once — layout and config problems from
 * loading, dependency graph problems, invalid release tags, template and front-matter errors
 * from compiling each set exactly as a build would (every error of each file, not the first),
 * front-matter fields the schema does not know, variables used without being declared in
 * `input.schema`, and input variables that a bare `{{name}}` cannot reach because a helper has
 * that name. What lint accepts, the build ships and receivers render (issue 14).
 */
import { LineCounter, parseDocument } from 'yaml';
import { validateFrontMatter, type PromptMetadata, type ValidationIssue } from '@anvil/content-schema';
import { filePosition, KNOWN_HELPERS } from '@anvil/client';
import { compileSet } from '../build/compile-set.ts';
import { resolveDependencies } from '../build/resolve-dependencies.ts';
import { REPO_CONFIG_FILE, type LoadedRepo, type PartialFile } from '../load/load-repo.ts';
import type { TagChanges } from '../repo/release-tags.ts';
import { positionOf } from '../load/read-yaml-config.ts';
import { dedupeProblems, problem, sortProblems, type Problem } from './problem.ts';
import { declaredVariables, findInputUses, inputNames, type VariableUse } from './undeclared-variables.ts';

export interface ReleaseInfo {
  /** Released versions per set (from `<set>@<semver>` tags). */
  releases: Record<string, string[]>;
  /** Tags that look like releases but are not valid semver. */
  invalidTags?: { name: string; reason: string }[];
  /** Release tags that moved or vanished since they were first seen (DESIGN §5). */
  tagChanges?: Pick<TagChanges, 'moved' | 'deleted'>;
}

const HELPERS: ReadonlySet<string> = new Set(KNOWN_HELPERS);

export function lintRepo(repo: LoadedRepo, releases: ReleaseInfo = { releases: {} }): Problem[] {
  const problems: Problem[] = [...repo.problems];

  for (const tag of releases.invalidTags ?? []) {
    problems.push(problem('error', 'tag.invalid-version', `tag "${tag.name}" is not a valid release: ${tag.reason}`, {
      hint: 'release tags are <set>@<semver>, e.g. onboarding@1.2.0 or core@2.1.0-rc.1',
    }));
  }

  for (const tag of releases.tagChanges?.moved ?? []) {
    problems.push(problem('error', 'tag.moved', `release tag "${tag.name}" moved from ${tag.was.slice(0, 7)} to ${tag.now.slice(0, 7)}; releases are immutable`, {
      hint: `put it back with \`git tag -f ${tag.name} ${tag.was}\` (and push it), or accept the move with \`npx anvil versions --accept-moved ${tag.name}\``,
    }));
  }
  for (const tag of releases.tagChanges?.deleted ?? []) {
    problems.push(problem('error', 'tag.deleted', `release tag "${tag.name}" (at ${tag.was.slice(0, 7)}) was deleted; releases are immutable`, {
      hint: `restore it with \`git tag ${tag.name} ${tag.was}\` (or fetch it), or forget it with \`npx anvil versions --accept-moved ${tag.name}\``,
    }));
  }

  problems.push(...aliasProblems(repo, releases.releases));

  // Linting happens before releases: a dependency that has none yet is only a warning here.
  const resolution = resolveDependencies(
    repo.sets.map((s) => ({
      name: s.name, dependencies: s.config.dependencies, configFile: s.configFile,
      positions: dependencyPositions(s.configText, Object.keys(s.config.dependencies)),
    })),
    { releases: releases.releases, unreleased: 'warning' },
  );
  problems.push(...resolution.problems);

  const partialsBySet: Record<string, PartialFile[]> = {};
  for (const set of repo.sets) partialsBySet[set.name] = set.partials;

  for (const set of repo.sets) {
    const compiled = compileSet(set, partialsBySet);
    problems.push(...compiled.problems);
    // Prompts with compile errors are read too: one run reports every problem of a file.
    for (const { file, parts } of compiled.checked) {
      problems.push(...frontMatterProblems(file.file, file.source, parts.raw));
      if (parts.templateParsed && parts.metadata) {
        const reported = compiled.problems.filter((p) => p.file === file.file);
        problems.push(...variableProblems(file.file, parts.template, parts.templateStart, parts.metadata, reported));
      }
    }
  }
  return sortProblems(dedupeProblems(problems));
}

/**
 * Variables used but not declared in a closed `input.schema`, and input variables written as
 * a bare `{{name}}` that calls the helper of that name (unless compiling already said so there).
 */
function variableProblems(
  file: string,
  template: string,
  templateStart: { line: number; column: number },
  metadata: PromptMetadata,
  reported: readonly Problem[],
): Problem[] {
  const out: Problem[] = [];
  const uses = findInputUses(template, HELPERS);
  const at = (v: VariableUse) => filePosition({ start: templateStart }, v.line, v.column);

  const declared = declaredVariables(metadata.input?.schema);
  for (const v of declared ? uses.variables.filter((u) => !declared.has(u.name)) : []) {
    const pos = at(v);
    out.push(problem('error', 'template.undeclared-variable', `variable "${v.name}" is not declared in input.schema`, {
      file, line: pos.line, column: pos.column,
      hint: `declare it (e.g. \`${v.name}: string\` under input.schema), or fix the name; declared: ${[...declared!].join(', ') || 'none'}`,
    }));
  }

  const names = inputNames(metadata.input);
  for (const v of uses.helperCalls) {
    if (!names.has(v.name)) continue;
    const pos = at(v);
    if (reported.some((p) => p.line === pos.line && p.column === pos.column)) continue;
    out.push(problem('error', 'template.helper-shadows-variable', `{{${v.name}}} calls the "${v.name}" helper, not the input variable "${v.name}"`, {
      file, line: pos.line, column: pos.column,
      hint: `write {{this.${v.name}}} to print the variable, or rename it`,
    }));
  }
  return out;
}

/** Schema issues of a prompt's front matter, at the line of the offending key. */
function frontMatterProblems(file: string, source: string, raw: Record<string, unknown> | undefined): Problem[] {
  if (raw === undefined) return [];
  const result = validateFrontMatter(raw);
  const issues: [ValidationIssue, 'error' | 'warning'][] = [
    ...result.errors.map((i) => [i, 'error'] as [ValidationIssue, 'error']),
    ...result.warnings.map((i) => [i, 'warning'] as [ValidationIssue, 'warning']),
  ];
  if (issues.length === 0) return [];
  // The front matter starts on line 2 of the file, after the opening "---".
  const block = /^\uFEFF?---[^\n]*\n([\s\S]*?)\r?\n---/.exec(source)?.[1] ?? '';
  const lineCounter = new LineCounter();
  const doc = parseDocument(block, { lineCounter });
  return issues.map(([issue, severity]) => {
    const pos = positionOf(doc, issue.path, lineCounter);
    return problem(severity, `frontmatter.${issue.code.replace(/^schema\./, '')}`, issue.message, {
      file, line: pos ? pos.line + 1 : 1, column: pos?.col ?? 1, hint: issue.hint,
    });
  });
}

/**
 * anvil.yaml's aliases (issue 17) must name releases that exist: an alias to a version never
 * tagged (or whose tag was deleted) would resolve to nothing on the forge.
 */
function aliasProblems(repo: LoadedRepo, releases: Record<string, string[]>): Problem[] {
  const out: Problem[] = [];
  const entries = Object.entries(repo.config.aliases).flatMap(([set, aliases]) => Object.entries(aliases).map(([alias, version]) => ({ set, alias, version })));
  if (entries.length === 0) return out;
  const lineCounter = new LineCounter();
  const doc = parseDocument(repo.configText ?? '', { lineCounter });
  for (const { set, alias, version } of entries) {
    const versions = releases[set] ?? [];
    if (versions.includes(version)) continue;
    const pos = positionOf(doc, `/aliases/${set}/${alias}`, lineCounter);
    out.push(problem('error', 'alias.missing-release', `alias ${set}@${alias} names ${version}, but there is no release ${set}@${version}`, {
      file: REPO_CONFIG_FILE, line: pos?.line, column: pos?.col,
      hint: versions.length > 0 ? `point it at a release (${versions.slice(-5).join(', ')}): npx anvil alias set ${set} ${alias} <version>` : `${set} has no release yet: release it first (npx anvil release ${set}), or remove the alias`,
    }));
  }
  return out;
}

/** Where each dependency is declared in set.yaml, so that its problems point there. */
function dependencyPositions(configText: string, names: string[]): Record<string, { line: number; column: number }> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(configText, { lineCounter });
  const out: Record<string, { line: number; column: number }> = {};
  for (const name of names) {
    const pos = positionOf(doc, `/dependencies/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`, lineCounter);
    if (pos) out[name] = { line: pos.line, column: pos.col };
  }
  return out;
}
