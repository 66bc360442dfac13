import path from 'node:path';
import { AnvilError } from '@anvil/content-schema';
import { loadRepo } from '../../load/load-repo.ts';
import { lintRepo } from '../../lint/lint-repo.ts';
import { formatProblem, type Problem } from '../../lint/problem.ts';
import { colour, EXIT_OK, EXIT_USER_ERROR } from '../cli-io.ts';
import type { Command } from '../command.ts';
import { openRepo } from '../open-snapshot.ts';

export const lintCommand: Command = {
  name: 'lint',
  usage: 'anvil lint [--ref <ref>] [--repo <dir>] [--format text|github] [--json]',
  help: [
    'Options:',
    '  --ref <ref>    lint a branch, tag or commit instead of the working tree (no checkout)',
    '  --repo <dir>   the repository (default: the nearest folder with anvil.yaml or .git)',
    '  --format <f>   text (default), or github: one GitHub Actions annotation per problem',
    '                 (::error file=…,line=…,col=…,title=<code>::<message>), shown on the diff',
    '  --json         print {ok, errors, warnings, problems[]} as JSON',
    '',
    'Prints one line per problem: file:line:col  code  message (hint). Exit code 1 when there is',
    'at least one error; warnings alone exit 0.',
  ].join('\n'),
  options: { ref: { type: 'string' }, repo: { type: 'string' }, format: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values }, io) {
    const format = values['format'] ?? 'text';
    if (format !== 'text' && format !== 'github') {
      throw new AnvilError('cli.bad-arguments', `--format must be text or github, not "${String(format)}"`, { hint: 'for JSON, use --json' });
    }
    if (format === 'github' && values['json']) {
      throw new AnvilError('cli.bad-arguments', '--format github and --json cannot be used together', { hint: 'pick one' });
    }
    const opened = await openRepo(values, io.cwd);
    const problems = lintRepo(await loadRepo(opened.snapshot), opened.releases);
    const errors = problems.filter((p) => p.severity === 'error').length;
    const warnings = problems.length - errors;
    const summary = `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'} in ${opened.snapshot.label}`;
    if (values['json']) {
      io.out(JSON.stringify({ ok: errors === 0, errors, warnings, problems }, null, 2));
    } else if (format === 'github') {
      const prefix = workspacePrefix(opened.root, process.env['GITHUB_WORKSPACE']);
      for (const p of problems) io.out(githubAnnotation(p, prefix));
      io.out(summary);
    } else {
      for (const p of problems) io.out(colour(io, p.severity === 'error' ? 31 : 33, formatProblem(p)));
      io.out(errors > 0 ? colour(io, 31, summary) : colour(io, 32, summary));
    }
    return errors > 0 ? EXIT_USER_ERROR : EXIT_OK;
  },
};

/**
 * A problem as a GitHub Actions workflow command, which GitHub shows as an annotation on the
 * file and line. Escaping as @actions/core does: `%`, CR and LF in the message; those and `,`
 * and `:` in property values, where they would end the property.
 * https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions
 */
export function githubAnnotation(p: Problem, filePrefix = ''): string {
  const properties: string[] = [];
  if (p.file !== undefined) properties.push(`file=${escapeProperty(filePrefix + p.file)}`);
  if (p.file !== undefined && p.line !== undefined) {
    properties.push(`line=${p.line}`);
    if (p.column !== undefined) properties.push(`col=${p.column}`);
  }
  properties.push(`title=${escapeProperty(p.code)}`);
  const message = p.hint ? `${p.message}\nhint: ${p.hint}` : p.message;
  return `::${p.severity === 'error' ? 'error' : 'warning'} ${properties.join(',')}::${escapeData(message)}`;
}

function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/**
 * Annotation paths are relative to the checkout (GITHUB_WORKSPACE); problem paths to the prompt
 * repository, which may be a folder inside it.
 */
function workspacePrefix(root: string, workspace: string | undefined): string {
  if (!workspace) return '';
  const relative = path.relative(workspace, root);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return '';
  return `${relative.split(path.sep).join('/')}/`;
}
