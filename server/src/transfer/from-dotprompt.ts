/**
 * A folder of Dotprompt files (`*.prompt`, partials `_name.prompt`, variants `name.variant.prompt`)
 * as one incoming set (pure). Anvil reads Dotprompt files as they are (DESIGN.md §4), so each is
 * imported byte for byte under the same path, and problems found in it later point at the
 * user's own file and line. Only the set's set.yaml is made up. What is not a `.prompt` file is
 * named in a warning, never silently left behind.
 */
import path from 'node:path/posix';
import { AnvilError, findPartialNameProblem, findPromptIdProblem, isVariantName } from '@anvil/content-schema';
import { parsePromptSource } from '@anvil/client';
import { promptIdOf, SET_CONFIG_FILE } from '../load/load-repo.ts';
import { problem, type Problem } from '../lint/problem.ts';
import { convertedSetConfig, type ConvertOptions, type Converted, type Origin } from './incoming.ts';

export const DOTPROMPT_EXTENSION = '.prompt';

export function fromDotprompt(sources: Readonly<Record<string, string>>, options: ConvertOptions): Converted {
  const problems: Problem[] = [];
  const files: Record<string, string> = {};
  const origin: Record<string, Origin> = {};
  for (const rel of Object.keys(sources).sort()) {
    const file = options.sourceFile(rel);
    if (!rel.endsWith(DOTPROMPT_EXTENSION)) {
      problems.push(problem('warning', 'import.not-carried', `${file} is not a Dotprompt file (.prompt); it is not imported`, {
        file, hint: 'copy it yourself if the prompts need it',
      }));
      continue;
    }
    const text = sources[rel]!;
    const stem = rel.slice(0, -DOTPROMPT_EXTENSION.length);
    const base = path.basename(stem);
    if (base.startsWith('_')) {
      const name = path.join(path.dirname(stem), base.slice(1)).replace(/^\.\//, '');
      const bad = findPartialNameProblem(name);
      if (bad) {
        problems.push(problem('error', 'import.invalid-name', `${rel} gives the invalid partial name "${name}": ${bad.message}`, {
          file, line: 1, column: 1, hint: 'rename the file: letters, digits, "_" and "-" in each folder and file name',
        }));
        continue;
      }
    } else {
      const { id, variant } = promptIdOf(stem);
      const bad = findPromptIdProblem(id);
      if (bad || (variant !== undefined && !isVariantName(variant))) {
        problems.push(problem('error', 'import.invalid-name', `${rel} gives the invalid prompt id "${id}"${variant === undefined ? '' : ` (variant "${variant}")`}: ${bad?.message ?? 'a variant is one segment of letters, digits, "_" and "-"'}`, {
          file, line: 1, column: 1, hint: 'rename the file: name.prompt, or name.variant.prompt, letters, digits, "_" and "-"',
        }));
        continue;
      }
    }
    try {
      parsePromptSource(text, { file });
    } catch (err) {
      if (!(err instanceof AnvilError)) throw err;
      problems.push(problem('error', err.code, err.message, { file: err.file ?? file, line: err.line, column: err.column, hint: err.hint }));
      continue;
    }
    files[rel] = text;
    origin[rel] = { file, sameText: true };
  }
  if (Object.keys(files).length === 0 && !problems.some((p) => p.severity === 'error')) {
    problems.push(problem('error', 'import.empty', `${options.sourceLabel} holds no Dotprompt file (.prompt)`, {
      file: options.sourceLabel, hint: 'give a folder of .prompt files, or a single .prompt file',
    }));
  }
  if (problems.some((p) => p.severity === 'error')) return { problems };

  files[SET_CONFIG_FILE] = convertedSetConfig(`Imported from the Dotprompt files in ${options.sourceLabel}.`);
  origin[SET_CONFIG_FILE] = { file: options.sourceLabel, sameText: false };
  const count = Object.keys(files).length - 1;
  return {
    incoming: {
      format: 'dotprompt',
      label: `${count} Dotprompt file${count === 1 ? '' : 's'} from ${options.sourceLabel} into set ${options.set}`,
      sets: [{ name: options.set, files, origin, configOnlyIfNew: true }],
      warnings: problems,
    },
    problems,
  };
}
