/**
 * `npm start` (for now): renders every prompt of the example repository with its input
 * defaults, through the same loader and renderer as `anvil lint`/`anvil build`. A stand-in until
 * the forge exists (issue 5), which will turn `npm start` into forge + example app.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAnvilError, type PromptMetadata } from '@anvil/content-schema';
import type { Message } from '@anvil/client';
import { compileSet, formatProblem, loadRepo, openWorkingTree, type PartialFile } from '@anvil/server';

const here = path.dirname(fileURLToPath(import.meta.url));
export const EXAMPLE_REPO = path.join(here, 'prompts');

export interface RenderedExample {
  set: string;
  id: string;
  /** `message.fr.md` is variant "fr" of prompt "message" (DESIGN.md §4). */
  variant: string | undefined;
  file: string;
  template: string;
  metadata: PromptMetadata;
  text: string;
  messages: Message[];
}

/** Loads the repository as `anvil lint` does and renders each prompt with its defaults. */
export async function renderExamples(repoDir = EXAMPLE_REPO): Promise<RenderedExample[]> {
  const repo = await loadRepo(openWorkingTree(repoDir));
  const partialsBySet: Record<string, PartialFile[]> = {};
  for (const set of repo.sets) partialsBySet[set.name] = set.partials;

  const out: RenderedExample[] = [];
  for (const set of repo.sets) {
    const compiled = compileSet(set, partialsBySet, { renderable: true });
    const problems = [...repo.problems, ...compiled.problems].filter((p) => p.severity === 'error');
    if (problems.length > 0) throw new Error(problems.map(formatProblem).join('\n'));
    for (const { file, compiled: prompt } of compiled.prompts) {
      out.push({
        set: set.name, id: file.id, variant: file.variant, file: path.join(repoDir, file.file),
        template: prompt.template, metadata: prompt.metadata,
        text: prompt.renderText(), messages: prompt.renderMessages(),
      });
    }
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    for (const example of await renderExamples()) {
      const variant = example.variant ? ` (variant ${example.variant})` : '';
      console.log(`\n=== ${example.set}/${example.id}${variant}  ${path.relative(process.cwd(), example.file)}`);
      for (const m of example.messages) {
        const text = m.content.map((p) => ('text' in p ? p.text : JSON.stringify(p))).join('');
        console.log(`[${m.role}] ${text.trim()}`);
      }
    }
    console.log('\nEdit a file under examples/prompts/prompts and run `npm start` again to see it change.');
  } catch (err) {
    if (isAnvilError(err)) {
      console.error(err.format());
      process.exit(1);
    }
    throw err;
  }
}
