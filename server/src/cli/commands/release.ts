import { createRelease, rollbackSet, type ReleaseOutcome, type ReleasePlan } from '../../release/create-release.ts';
import { AnvilError } from '@anvil/content-schema';
import { formatProblem } from '../../lint/problem.ts';
import { colour, EXIT_OK, EXIT_USER_ERROR, type CliIO } from '../cli-io.ts';
import { buildContextOf } from '../build-context.ts';
import type { Command } from '../command.ts';
import { openRepo } from '../open-snapshot.ts';

const IMPACT_COLOUR = { major: 31, minor: 33, patch: 32 } as const;

export const releaseCommand: Command = {
  name: 'release',
  usage: 'anvil release <set> [auto|major|minor|patch|<version>] [--preid <id>] [--dry-run] [--push [--remote <name>]] [--json]',
  help: [
    'Options:',
    '  --preid <id>      make a prerelease of the bump: `minor --preid rc` → 1.3.0-rc.0, then rc.1',
    '  --dry-run         show the version and the changes, create nothing',
    '  --push            push the tag to the remote (default origin)',
    '  --remote <name>   the remote for --push',
    '  --json            print the plan as JSON',
    '  --repo <dir>      the repository (default: the nearest folder with anvil.yaml or .git)',
    '',
    'Releases HEAD, which must be on the default branch with the set\'s folder committed. The set is',
    'linted and built; its prompt contract (prompts, partials, variables and their types) is',
    'compared with the previous stable release, and the version is the smallest bump that declares',
    'the change (auto) or the one you name — refused if it under-declares a breaking change:',
    '  major  a prompt or partial removed, a required input added, an input removed or narrowed',
    '  minor  a prompt, partial, variant or optional input added, an input widened',
    '  patch  bodies, model, config, descriptions',
    'The annotated tag <set>@<version> records the dependency versions resolved now, so the release',
    'builds to the same bytes forever.',
    '',
    'Examples:',
    '  anvil release onboarding --dry-run',
    '  anvil release onboarding minor --preid rc --push',
    '  anvil release onboarding 2.1.0-gpt4+tokens.1500',
  ].join('\n'),
  options: {
    preid: { type: 'string' }, 'dry-run': { type: 'boolean' }, push: { type: 'boolean' }, remote: { type: 'string' },
    json: { type: 'boolean' }, repo: { type: 'string' },
  },
  async run({ values, positionals }, io) {
    const [set, request, ...extra] = positionals;
    if (set === undefined || extra.length > 0) throw new AnvilError('cli.bad-arguments', set === undefined ? 'name the set to release' : 'too many arguments', { hint: `usage: ${this.usage}` });
    const opened = await openRepo(values, io.cwd);
    const outcome = await createRelease({
      ctx: await buildContextOf(opened),
      releases: opened.releases,
      set,
      request,
      preid: values['preid'] as string | undefined,
      dryRun: values['dry-run'] === true,
      push: pushRemote(values),
    });
    return report(io, outcome, values['json'] === true);
  },
};

export const rollbackCommand: Command = {
  name: 'rollback',
  usage: 'anvil rollback <set> --to <version> [--dry-run] [--push [--remote <name>]] [--json]',
  help: [
    'Options:',
    '  --to <version>    the release whose files come back (required)',
    '  --dry-run         show what would happen, change nothing',
    '  --push            push the commit (to the default branch) and the tag',
    '  --remote <name>   the remote for --push (default origin)',
    '  --json            print the result as JSON',
    '  --repo <dir>      the repository',
    '',
    'Rollback is forward (DESIGN.md §5): receivers only move to higher versions, so going back to',
    '1.2.0 after 1.4.0 commits the files of 1.2.0 and releases them as 1.4.1, with the dependency',
    'versions 1.2.0 had.',
  ].join('\n'),
  options: {
    to: { type: 'string' }, 'dry-run': { type: 'boolean' }, push: { type: 'boolean' }, remote: { type: 'string' },
    json: { type: 'boolean' }, repo: { type: 'string' },
  },
  async run({ values, positionals }, io) {
    const [set, ...extra] = positionals;
    const to = values['to'];
    if (set === undefined || extra.length > 0 || typeof to !== 'string') {
      throw new AnvilError('cli.bad-arguments', typeof to !== 'string' ? 'say which release to roll back to with --to <version>' : 'name one set', { hint: `usage: ${this.usage}` });
    }
    const opened = await openRepo(values, io.cwd);
    const outcome = await rollbackSet({
      ctx: await buildContextOf(opened),
      releases: opened.releases,
      set,
      to,
      dryRun: values['dry-run'] === true,
      push: pushRemote(values),
    });
    return report(io, outcome, values['json'] === true);
  },
};

function pushRemote(values: Record<string, unknown>): string | undefined {
  if (values['push'] !== true) {
    if (values['remote'] !== undefined) throw new AnvilError('cli.bad-arguments', '--remote goes with --push');
    return undefined;
  }
  return typeof values['remote'] === 'string' ? values['remote'] : 'origin';
}

function report(io: CliIO, outcome: ReleaseOutcome, json: boolean): number {
  const { plan, problems } = outcome;
  if (json) {
    io.out(JSON.stringify({ ok: plan !== undefined, ...(plan ? { release: plan } : {}), problems }, null, 2));
    return plan ? EXIT_OK : EXIT_USER_ERROR;
  }
  for (const p of problems) io.err(colour(io, p.severity === 'error' ? 31 : 33, formatProblem(p)));
  if (!plan) {
    io.err(colour(io, 31, 'nothing was released: fix the errors above first'));
    return EXIT_USER_ERROR;
  }
  printPlan(io, plan);
  return EXIT_OK;
}

function printPlan(io: CliIO, plan: ReleasePlan): void {
  const what = plan.rolledBackTo ? `rollback of ${plan.set} to ${plan.rolledBackTo}` : `${plan.set}: ${plan.base ? `${plan.base} → ` : ''}${plan.version}`;
  io.out(colour(io, 1, what));
  if (plan.rolledBackTo === undefined) {
    io.out(plan.base ? `changes since ${plan.base} need a ${plan.impact} release; ${plan.version} is ${plan.declared}` : 'first release');
  }
  for (const c of plan.changes) io.out(`  ${colour(io, IMPACT_COLOUR[c.impact], c.impact.padEnd(5))}  ${c.subject === 'set' ? '' : `${c.subject}: `}${c.message}`);
  const deps = Object.entries(plan.dependencies).map(([d, v]) => `${d}@${v}`).join(', ');
  if (deps) io.out(`dependencies: ${deps}`);
  if (!plan.created) io.out(colour(io, 33, `dry run: would tag ${plan.tag} at ${plan.commit.slice(0, 7)}`));
  else io.out(colour(io, 32, `tagged ${plan.tag} at ${plan.commit.slice(0, 7)} (${plan.integrity})${plan.pushed ? `, pushed to ${plan.pushed}` : ''}`));
  if (plan.created && !plan.pushed) io.out(`push it with: git push origin refs/tags/${plan.tag}${plan.rolledBackTo ? ' (after pushing the rollback commit)' : ''}`);
}
