import { existsSync } from 'node:fs';
import path from 'node:path';
import { AnvilError } from '@anvil/content-schema';
import { loadRepo } from '../../load/load-repo.ts';
import { formatProblem, type Problem } from '../../lint/problem.ts';
import { applyImport } from '../../transfer/apply-import.ts';
import { lintImported } from '../../transfer/check-import.ts';
import type { ImportFormat } from '../../transfer/incoming.ts';
import { IMPORT_POLICIES, planImport, SCHEMA_COPY, type ImportPlan, type ImportPolicy, type PlannedAction } from '../../transfer/plan-import.ts';
import { IMPORT_FORMATS, readImportSource } from '../../transfer/read-import-source.ts';
import { colour, EXIT_OK, EXIT_USER_ERROR } from '../cli-io.ts';
import type { Command } from '../command.ts';
import { openRepo } from '../open-snapshot.ts';

export const importCommand: Command = {
  name: 'import',
  usage: 'anvil import <archive.json | folder | file> [--format anvil|dotprompt|github-models] [--set <name>] [--on-conflict keep|replace|rename] [--dry-run] [--allow-version-conflicts] [--json] [--repo <dir>]',
  help: [
    'Writes prompts into this repository\'s working tree (it never commits), from:',
    '  an archive written by `anvil export`     anvil import onboarding@1.2.0.anvil.json',
    '  a folder (or file) of Dotprompt files    anvil import ./prompts --set support',
    '    (*.prompt; partials _name.prompt; variants name.fr.prompt) — imported as they are',
    '  GitHub Models prompt files               anvil import ./models --set summaries',
    '    (*.prompt.yml) — converted: messages → {{role}} body, modelParameters → config,',
    '    {{var}} → input.schema; testData and evaluators are not carried over (warned)',
    '',
    'The format follows the file names unless --format says; --set names the set Dotprompt or',
    'GitHub Models files go into (default: the folder\'s name).',
    '',
    'Files identical to this repository\'s are left alone. A prompt, partial or set.yaml that is',
    'here with different content is a conflict; without --on-conflict the import stops and lists',
    'them. --on-conflict keep leaves yours (set.yaml gains the dependencies the imported files',
    'need), replace takes the imported one, rename imports it under a new id (welcome.message →',
    'welcome.message-imported; a renamed partial is renamed where the imported files include it).',
    'A dependency range that none of this repository\'s releases satisfies is a version conflict:',
    'reported, and the import stops unless --allow-version-conflicts.',
    '',
    'Everything is checked before anything is written: the archive\'s hashes, each file, and lint',
    'on the result (what import writes, `anvil lint` accepts). On any error nothing is written.',
    '',
    'Options:',
    '  --dry-run                  show what would be created, kept, replaced, renamed; write nothing',
    '  --on-conflict <policy>     keep, replace or rename',
    '  --allow-version-conflicts  import even when a dependency range is not satisfiable here',
    '  --json                     print {ok, dryRun, source, files[], renames[], problems[]} as JSON',
    '  --repo <dir>               the repository to import into (default: the nearest folder with',
    '                             anvil.yaml or .git)',
  ].join('\n'),
  options: {
    format: { type: 'string' }, set: { type: 'string' }, 'on-conflict': { type: 'string' }, 'dry-run': { type: 'boolean' },
    'allow-version-conflicts': { type: 'boolean' }, json: { type: 'boolean' }, repo: { type: 'string' },
  },
  async run({ values, positionals }, io) {
    const [spec, ...extra] = positionals;
    if (spec === undefined || extra.length > 0) {
      throw new AnvilError('cli.bad-arguments', 'give one archive, folder or file to import', { hint: 'e.g. anvil import onboarding@1.2.0.anvil.json' });
    }
    const format = values['format'] as string | undefined;
    if (format !== undefined && !(IMPORT_FORMATS as readonly string[]).includes(format)) {
      throw new AnvilError('cli.bad-arguments', `--format must be ${IMPORT_FORMATS.join(', ')}, not "${format}"`, { hint: 'or leave it out: the file names tell' });
    }
    const policy = values['on-conflict'] as string | undefined;
    if (policy !== undefined && !(IMPORT_POLICIES as readonly string[]).includes(policy)) {
      throw new AnvilError('cli.bad-arguments', `--on-conflict must be keep, replace or rename, not "${policy}"`, { hint: 'keep yours, replace with the imported one, or rename the imported one' });
    }
    const dryRun = values['dry-run'] === true;
    const json = values['json'] === true;

    const opened = await openRepo({ repo: values['repo'] }, io.cwd);
    const read = await readImportSource(spec, { cwd: io.cwd, format: format as ImportFormat | undefined, set: values['set'] as string | undefined });
    if (!read.incoming) return fail(io, json, dryRun, read.problems, undefined);
    const { incoming } = read;

    const target = await loadRepo(opened.snapshot);
    const promptsDir = target.config.promptsDir.replace(/^\.\/?/, '').replace(/\/+$/, '');
    const plan = planImport(incoming, {
      promptsDir,
      sets: target.sets,
      releases: opened.releases.releases,
      files: new Set(await opened.snapshot.listFiles(promptsDir)),
      schemaCopies: existsSync(path.join(opened.root, ...SCHEMA_COPY.split('/'))),
    }, policy as ImportPolicy | undefined);
    const structural = [...plan.errors, ...plan.conflicts];
    const linted = structural.length === 0 ? await lintImported(opened.snapshot, plan, opened.releases) : [];
    const allowVersions = values['allow-version-conflicts'] === true;
    const versionProblems = plan.versionConflicts.map((p) => (allowVersions ? { ...p, severity: 'warning' as const } : p));
    const problems = [...incoming.warnings, ...structural, ...versionProblems, ...linted];
    const blocked = problems.some((p) => p.severity === 'error');

    if (!json) {
      io.out(`${dryRun ? 'would import' : 'importing'} ${incoming.label} into ${opened.root}`);
      printPlan(io, plan);
      for (const p of problems) io.err(colour(io, p.severity === 'error' ? 31 : 33, formatProblem(p)));
    }
    if (blocked) return fail(io, json, dryRun, problems, plan, incoming.label);
    if (!dryRun) await applyImport(opened.root, plan);
    const summary = summarise(plan);
    if (json) {
      io.out(JSON.stringify({ ok: true, dryRun, source: incoming.label, ...planJson(plan), problems }, null, 2));
    } else {
      io.out(colour(io, 32, `${summary}${dryRun ? ' (dry run: nothing written)' : ''}`));
      if (!dryRun && plan.files.some((f) => f.text !== undefined)) io.out('review with `git status` and `npx anvil lint`, then commit');
    }
    return EXIT_OK;
  },
};

const LABELS: Record<PlannedAction, string> = {
  create: 'create', unchanged: 'unchanged', conflict: 'conflict', keep: 'keep', replace: 'replace', rename: 'rename', merge: 'merge',
};

function printPlan(io: Parameters<Command['run']>[1], plan: ImportPlan): void {
  const width = Math.max(...Object.values(LABELS).map((l) => l.length));
  for (const f of plan.files) {
    const tone = f.action === 'conflict' ? 31 : f.action === 'unchanged' || f.action === 'keep' ? 2 : 32;
    const detail = f.action === 'rename' ? `  (${f.note}; ${f.renamedFrom} is kept)` : f.note ? `  (${f.note})` : f.action === 'conflict' ? `  (${f.what}: different content)` : '';
    io.out(`  ${colour(io, tone, LABELS[f.action].padEnd(width))}  ${f.file}${detail}`);
  }
}

function summarise(plan: ImportPlan): string {
  const counts = new Map<PlannedAction, number>();
  for (const f of plan.files) counts.set(f.action, (counts.get(f.action) ?? 0) + 1);
  const words: [PlannedAction, string][] = [['create', 'created'], ['replace', 'replaced'], ['rename', 'renamed'], ['merge', 'merged'], ['keep', 'kept'], ['unchanged', 'unchanged'], ['conflict', 'in conflict']];
  const parts = words.filter(([action]) => counts.has(action)).map(([action, word]) => `${counts.get(action)} ${word}`);
  return parts.length > 0 ? parts.join(', ') : 'nothing to import';
}

function planJson(plan: ImportPlan): Record<string, unknown> {
  return {
    files: plan.files.map((f) => ({
      file: f.file, action: f.action, set: f.set, what: f.what,
      from: f.origin.entry === undefined ? f.origin.file : `${f.origin.file}#${f.origin.entry}`,
      ...(f.renamedFrom === undefined ? {} : { renamedFrom: f.renamedFrom }),
      ...(f.note === undefined ? {} : { note: f.note }),
    })),
    renames: plan.renames,
    summary: summarise(plan),
  };
}

function fail(io: Parameters<Command['run']>[1], json: boolean, dryRun: boolean, problems: Problem[], plan: ImportPlan | undefined, source?: string): number {
  const errors = problems.filter((p) => p.severity === 'error').length;
  if (json) {
    io.out(JSON.stringify({ ok: false, dryRun, ...(source === undefined ? {} : { source }), ...(plan ? planJson(plan) : {}), problems }, null, 2));
  } else {
    if (!plan) for (const p of problems) io.err(colour(io, p.severity === 'error' ? 31 : 33, formatProblem(p)));
    io.err(colour(io, 31, `${errors} error${errors === 1 ? '' : 's'}: nothing ${dryRun ? 'would be' : 'was'} written`));
  }
  return EXIT_USER_ERROR;
}
