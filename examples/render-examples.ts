/**
 * `npm start` (for now): renders every prompt of the example repository with its input
 * defaults, through the same renderer apps use. A stand-in until the forge exists (issue 5),
 * which will turn `npm start` into forge + example app; the real repository loader is issue 3's.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { isAnvilError, type PromptMetadata } from '@anvil/content-schema';
import { PromptEnvironment, type Message } from '@anvil/client';

const here = path.dirname(fileURLToPath(import.meta.url));
export const EXAMPLE_PROMPTS_DIR = path.join(here, 'prompts', 'prompts');

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

function markdownFiles(dir: string, base = dir): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return markdownFiles(full, base);
    return name.endsWith('.md') ? [path.relative(base, full)] : [];
  });
}

export function renderExamples(promptsDir = EXAMPLE_PROMPTS_DIR): RenderedExample[] {
  const sets = readdirSync(promptsDir).filter((name) => statSync(path.join(promptsDir, name, 'set.yaml'), { throwIfNoEntry: false }));
  const partialsOf = (set: string) =>
    markdownFiles(path.join(promptsDir, set)).filter((f) => path.basename(f).startsWith('_'));

  const out: RenderedExample[] = [];
  for (const set of sets) {
    const setDir = path.join(promptsDir, set);
    const config = (parseYaml(readFileSync(path.join(setDir, 'set.yaml'), 'utf8')) ?? {}) as { dependencies?: Record<string, string> };
    const env = new PromptEnvironment();
    const addPartials = (from: string, prefix: string) => {
      for (const rel of partialsOf(from)) {
        const name = prefix + rel.replace(/\.md$/, '').replace(/(^|\/)_/, '$1');
        const file = path.join(promptsDir, from, rel);
        env.definePartial(name, readFileSync(file, 'utf8'), { file: path.relative(process.cwd(), file) });
      }
    };
    addPartials(set, '');
    for (const dep of Object.keys(config.dependencies ?? {})) addPartials(dep, `${dep}/`);

    for (const rel of markdownFiles(setDir).filter((f) => !path.basename(f).startsWith('_'))) {
      const file = path.join(setDir, rel);
      const prompt = env.compile(readFileSync(file, 'utf8'), { file: path.relative(process.cwd(), file) });
      const dir = path.dirname(rel) === '.' ? [] : path.dirname(rel).split(path.sep);
      const [name = '', variant] = path.basename(rel, '.md').split('.');
      const id = [...dir, name].join('.');
      out.push({
        set, id, variant, file, template: prompt.template, metadata: prompt.metadata,
        text: prompt.renderText(), messages: prompt.renderMessages(),
      });
    }
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    for (const example of renderExamples()) {
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
