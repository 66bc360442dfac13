import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { compileSet } from '../../build/compile-set.ts';
import { formatProblem, sortProblems, type Problem } from '../../lint/problem.ts';
import { loadRepo, type PartialFile } from '../../load/load-repo.ts';
import { generatePromptTypes, type TypedSet } from '../../types/generate-types.ts';
import { promptManifestComment } from '../../types/types-manifest.ts';
import { colour, EXIT_OK, EXIT_USER_ERROR } from '../cli-io.ts';
import type { Command } from '../command.ts';
import { openRepo } from '../open-snapshot.ts';

export const typesCommand: Command = {
  name: 'types',
  usage: 'anvil types [--out <file>] [--ref <ref>] [--repo <dir>]',
  help: [
    'Options:',
    '  --out <file>   write the declarations to this file (parent folders are created); default: stdout',
    '  --ref <ref>    read a branch, tag or commit instead of the working tree (no checkout)',
    '  --repo <dir>   the repository (default: the nearest folder with anvil.yaml or .git)',
    '',
    'The declarations fill PromptInputs and PromptVariants in @anvil/client from each prompt\'s',
    'input.schema and variants, so that anvil.prompt("welcome.message", {...}) - and messages,',
    'template, track - check the id, the variables and options.variant when the app compiles.',
    'Each prompt is keyed as set/id, and as id alone when no other set has that id. Variables',
    'with a value in input.default are optional; a prompt that requires no variable can be',
    'called without them. Include the file in the app\'s tsconfig; without it, any id compiles.',
    'The file ends with a comment holding the same contracts as JSON (anvil.types-manifest/1),',
    'which `anvil-live check` compares with the versions the app\'s lock file or channel serves.',
    '',
    'Example: anvil types --out src/anvil-prompts.d.ts',
    '',
    'Exit code 1, with the problems, when a prompt or partial does not compile (as `anvil lint`',
    'reports it); nothing is written then.',
  ].join('\n'),
  options: { out: { type: 'string' }, ref: { type: 'string' }, repo: { type: 'string' } },
  async run({ values }, io) {
    const opened = await openRepo(values, io.cwd);
    const repo = await loadRepo(opened.snapshot);

    const partialsBySet: Record<string, PartialFile[]> = {};
    for (const set of repo.sets) partialsBySet[set.name] = set.partials;
    const problems: Problem[] = repo.problems.filter((p) => p.severity === 'error');
    const sets: TypedSet[] = [];
    for (const set of repo.sets) {
      const compiled = compileSet(set, partialsBySet);
      problems.push(...compiled.problems.filter((p) => p.severity === 'error'));
      sets.push({ name: set.name, prompts: compiled.prompts });
    }
    // A set or prompt that does not load or compile would silently lose its types.
    if (problems.length > 0) {
      for (const p of sortProblems(problems)) io.err(colour(io, 31, formatProblem(p)));
      io.err(colour(io, 31, `${problems.length} error${problems.length === 1 ? '' : 's'} in ${opened.snapshot.label}; no types generated`));
      return EXIT_USER_ERROR;
    }

    const from = repo.config.name ? `${repo.config.name} at ${opened.snapshot.label}` : opened.snapshot.label;
    // The manifest is a comment after the declarations: TypeScript ignores it, the check reads it.
    const text = `${generatePromptTypes({ from, sets })}\n${promptManifestComment(from, sets)}`;
    const out = values['out'];
    if (typeof out !== 'string') {
      io.out(text);
      return EXIT_OK;
    }
    const target = path.resolve(io.cwd, out);
    const count = sets.reduce((n, s) => n + new Set(s.prompts.map((p) => p.file.id)).size, 0);
    // Rewriting identical content would wake every file watcher and rebuild the app for nothing.
    const unchanged = (await readFile(target, 'utf8').catch(() => undefined)) === text;
    if (!unchanged) {
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, text);
    }
    io.out(`${unchanged ? 'unchanged' : 'wrote'} ${path.relative(io.cwd, target) || target}: ${count} prompt${count === 1 ? '' : 's'} from ${from}`);
    return EXIT_OK;
  },
};
