import { AnvilError } from '@anvil/content-schema';
import { buildTarget, type BuildContext, type BuildTarget } from '../../build/build-target.ts';
import { formatProblem, hasErrors } from '../../lint/problem.ts';
import { diffContract } from '../../release/contract-diff.ts';
import { renderedDiff, type DiffSide } from '../../diff/rendered-diff.ts';
import { colour, EXIT_OK, EXIT_USER_ERROR, type CliIO } from '../cli-io.ts';
import { buildContextOf, targetOf } from '../build-context.ts';
import type { Command } from '../command.ts';
import { openRepo } from '../open-snapshot.ts';

const IMPACT_COLOUR = { major: 31, minor: 33, patch: 32, none: 0 } as const;

export const diffCommand: Command = {
  name: 'diff',
  usage: 'anvil diff <set> <from> [<to>] [--all] [--json] [--repo <dir>]',
  help: [
    '<from> and <to> are versions of the set (1.2.0 = the tag <set>@1.2.0), branches, tags or',
    'commits; <to> defaults to the working tree (also written "."). ',
    '',
    'Options:',
    '  --all          also list prompts whose rendering did not change',
    '  --json         print {impact, changes, prompts[]} as JSON',
    '  --repo <dir>   the repository',
    '',
    'First the contract changes and the release they need (major/minor/patch, as `anvil release`',
    'judges them), then every changed prompt and variant rendered on both sides with the same',
    'inputs (its input defaults, else example values from its schema), as a unified diff.',
    '',
    'Examples:',
    '  anvil diff onboarding 1.2.0             # the release against the working tree',
    '  anvil diff onboarding 1.2.0 main --json',
  ].join('\n'),
  options: { all: { type: 'boolean' }, json: { type: 'boolean' }, repo: { type: 'string' } },
  async run({ values, positionals }, io) {
    const [set, from, to, ...extra] = positionals;
    if (set === undefined || from === undefined || extra.length > 0) throw new AnvilError('cli.bad-arguments', 'name a set and what to compare', { hint: `usage: ${this.usage}` });
    const opened = await openRepo({ repo: values['repo'] }, io.cwd);
    const ctx = await buildContextOf(opened);
    const before = await side(ctx, io, set, targetOf(set, from, opened));
    const after = await side(ctx, io, set, targetOf(set, to, opened));
    if (!before || !after) return EXIT_USER_ERROR;

    const contract = diffContract(before.bundle, after.bundle);
    const prompts = renderedDiff(before, after).filter((p) => values['all'] || p.status !== 'unchanged');
    if (values['json']) {
      io.out(JSON.stringify({
        set,
        from: { label: before.label, version: before.bundle.version, integrity: before.bundle.integrity },
        to: { label: after.label, version: after.bundle.version, integrity: after.bundle.integrity },
        impact: contract.impact,
        changes: contract.changes,
        prompts,
      }, null, 2));
      return EXIT_OK;
    }

    io.out(colour(io, 1, `${set}: ${before.label} (${before.bundle.version}) → ${after.label} (${after.bundle.version})`));
    io.out(contract.impact === 'none' ? 'no changes' : `needs a ${colour(io, IMPACT_COLOUR[contract.impact], contract.impact)} release:`);
    for (const c of contract.changes) io.out(`  ${colour(io, IMPACT_COLOUR[c.impact], c.impact.padEnd(5))}  ${c.subject === 'set' ? '' : `${c.subject}: `}${c.message}`);
    for (const p of prompts) {
      io.out('');
      io.out(colour(io, 1, `${p.id}${p.variant ? ` (${p.variant})` : ''}  ${p.status}`));
      io.out(`inputs: ${JSON.stringify(p.inputs)}`);
      for (const line of p.patch.split('\n').filter(Boolean)) {
        io.out(line.startsWith('+') && !line.startsWith('+++') ? colour(io, 32, line)
          : line.startsWith('-') && !line.startsWith('---') ? colour(io, 31, line)
            : line.startsWith('@@') ? colour(io, 36, line) : line);
      }
    }
    return EXIT_OK;
  },
};

async function side(ctx: BuildContext, io: CliIO, set: string, target: BuildTarget): Promise<DiffSide | undefined> {
  const built = await buildTarget(ctx, set, target, { preview: true });
  for (const p of built.problems) io.err(colour(io, p.severity === 'error' ? 31 : 33, formatProblem(p)));
  if (!built.bundle || hasErrors(built.problems)) {
    io.err(colour(io, 31, `cannot build ${set} at ${built.label}`));
    return undefined;
  }
  return { label: built.label, bundle: built.bundle, dependencyPartials: built.dependencyPartials };
}
