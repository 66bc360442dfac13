import { loadRepo } from '../../load/load-repo.ts';
import { lintRepo } from '../../lint/lint-repo.ts';
import { formatProblem } from '../../lint/problem.ts';
import { colour, EXIT_OK, EXIT_USER_ERROR } from '../cli-io.ts';
import type { Command } from '../command.ts';
import { openRepo } from '../open-snapshot.ts';

export const lintCommand: Command = {
  name: 'lint',
  summary: 'check the prompt repository and report every problem at once',
  usage: 'anvil lint [--ref <ref>] [--repo <dir>] [--json]',
  help: [
    'Options:',
    '  --ref <ref>    lint a branch, tag or commit instead of the working tree (no checkout)',
    '  --repo <dir>   the repository (default: the nearest folder with anvil.yaml or .git)',
    '  --json         print {ok, errors, warnings, problems[]} as JSON',
    '',
    'Prints one line per problem: file:line:col  code  message (hint). Exit code 1 when there is',
    'at least one error; warnings alone exit 0.',
  ].join('\n'),
  options: { ref: { type: 'string' }, repo: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values }, io) {
    const opened = await openRepo(values, io.cwd);
    const problems = lintRepo(await loadRepo(opened.snapshot), opened.releases);
    const errors = problems.filter((p) => p.severity === 'error').length;
    const warnings = problems.length - errors;
    if (values['json']) {
      io.out(JSON.stringify({ ok: errors === 0, errors, warnings, problems }, null, 2));
    } else {
      for (const p of problems) io.out(colour(io, p.severity === 'error' ? 31 : 33, formatProblem(p)));
      const summary = `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'} in ${opened.snapshot.label}`;
      io.out(errors > 0 ? colour(io, 31, summary) : colour(io, 32, summary));
    }
    return errors > 0 ? EXIT_USER_ERROR : EXIT_OK;
  },
};
