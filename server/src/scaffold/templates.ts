/**
 * Where `anvil init` and `anvil new` take their files from: @anvil/server's `templates/`
 * folder, and content-schema's JSON Schemas. The manifest below is the one list of what is
 * copied where. Template files have no leading dot (`gitignore`, `github/`, `vscode/`)
 * because npm drops or renames dotfiles when it packs a folder.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { packageFile } from '../package-root.ts';

export const TEMPLATES_DIR = packageFile('templates');

/**
 * What to do when the target file exists already: `create` refuses to replace a different file
 * (unless --force), `replace` always writes (files Anvil owns), `merge-lines` adds the missing
 * lines (.gitignore), `merge-json` adds the missing keys and array items (editor settings),
 * `add-dependencies` adds only the devDependencies the file lacks (package.json is the user's).
 */
export type ScaffoldPolicy = 'create' | 'replace' | 'merge-lines' | 'merge-json' | 'add-dependencies';

export interface ScaffoldFile {
  /** Path below `templates/`. */
  template: string;
  /** Path below the new repository. */
  target: string;
  policy: ScaffoldPolicy;
}

/** Where the local copies of the schemas go, for editors to validate without a network. */
export const SCHEMAS_DIR = '.anvil/schemas';

export const INIT_FILES: readonly ScaffoldFile[] = [
  { template: 'init/anvil.yaml', target: 'anvil.yaml', policy: 'create' },
  { template: 'init/prompts/hello/set.yaml', target: 'prompts/hello/set.yaml', policy: 'create' },
  { template: 'init/prompts/hello/greeting.md', target: 'prompts/hello/greeting.md', policy: 'create' },
  { template: 'init/prompts/hello/greeting.formal.md', target: 'prompts/hello/greeting.formal.md', policy: 'create' },
  { template: 'init/prompts/hello/_sign_off.md', target: 'prompts/hello/_sign_off.md', policy: 'create' },
  { template: 'init/github/workflows/anvil-lint.yml', target: '.github/workflows/anvil-lint.yml', policy: 'create' },
  { template: 'init/vscode/settings.json', target: '.vscode/settings.json', policy: 'merge-json' },
  { template: 'init/vscode/extensions.json', target: '.vscode/extensions.json', policy: 'merge-json' },
  { template: 'init/gitignore', target: '.gitignore', policy: 'merge-lines' },
  // Not named package.json: dependency bots and npm tooling would take it for a real package.
  { template: 'init/package.json.template', target: 'package.json', policy: 'add-dependencies' },
];

/** content-schema's schema files copied into `SCHEMAS_DIR`: anvil.yaml, set.yaml, front matter. */
export const INIT_SCHEMAS: readonly string[] = ['anvil.schema.json', 'set.schema.json', 'prompt.schema.json'];

/** The set and prompt that `anvil init` scaffolds, for the next steps it prints. */
export const INIT_EXAMPLE = { set: 'hello', prompt: 'greeting' } as const;

export const NEW_SET_TEMPLATE = 'new/set.yaml';
export const NEW_PROMPT_TEMPLATE = 'new/prompt.md';

export function readTemplate(template: string): Promise<string> {
  return readFile(path.join(TEMPLATES_DIR, ...template.split('/')), 'utf8');
}

/** A schema file as content-schema ships it (its `./schemas/*` export). */
export function readSchema(file: string): Promise<string> {
  return readFile(new URL(import.meta.resolve(`@anvil/content-schema/schemas/${file}`)), 'utf8');
}

/**
 * `^<version>` of this @anvil/server: the range the scaffolded package.json asks for, so that CI
 * (`npm ci`) and `npx anvil` run the CLI that scaffolded the repository, or a compatible one.
 */
export async function cliRange(): Promise<string> {
  const pkg = JSON.parse(await readFile(packageFile('package.json'), 'utf8')) as { version: string };
  return `^${pkg.version}`;
}
