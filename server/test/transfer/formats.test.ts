/** `anvil import` of the formats users arrive with: Dotprompt files and GitHub Models prompt files. */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { anvil } from '../cli/cli-support.ts';
import { cleanupTemps, filesIn, freshRepository, tempDir } from './support.ts';

/** Writes `files` under a new temp folder named `name`; returns its path. */
async function folder(name: string, files: Record<string, string>): Promise<string> {
  const dir = path.join(await tempDir(), name);
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  }
  return dir;
}

// As a Genkit project keeps them: a partial, a prompt with Picoschema input and JSON output, a
// variant, and a prompt in a sub-folder.
const DOTPROMPT = {
  '_style.prompt': 'Answer in a {{tone}} tone, in at most {{max_steps}} steps.\n',
  'recipe.prompt': [
    '---',
    'model: googleai/gemini-2.5-flash',
    'config:',
    '  temperature: 0.7',
    'input:',
    '  schema:',
    '    dish: string, the dish to cook',
    '    tone?: string',
    '    max_steps?: integer',
    '    allergies?(array): string',
    '  default:',
    '    tone: friendly',
    '    max_steps: 5',
    'output:',
    '  format: json',
    '  schema:',
    '    title: string',
    '    steps(array): string',
    '---',
    '{{role "system"}}',
    'You are a chef. {{> style}}',
    '{{role "user"}}',
    'Give me a recipe for {{dish}}.',
    '{{#if allergies}}Avoid: {{#each allergies}}{{this}}{{#unless @last}}, {{/unless}}{{/each}}.{{/if}}',
    '',
  ].join('\n'),
  'recipe.fr.prompt': '---\ninput:\n  schema:\n    dish: string\n    tone?: string\n    max_steps?: integer\n  default:\n    tone: amical\n    max_steps: 3\n---\nDonne-moi une recette de {{dish}}. {{> style}}\n',
  'menus/weekly.prompt': '---\ndescription: A week of dinners.\ninput:\n  schema:\n    people: integer\n---\nPlan seven dinners for {{people}} people.\n',
  'README.md': 'How we write prompts.\n',
};

const SUMMARIZER = `name: Text Summarizer
description: Summarizes input text concisely
model: openai/gpt-4o-mini
modelParameters:
  temperature: 0.5
  maxTokens: 300
messages:
  - role: system
    content: You are a text summarizer. Your only job is to summarize text given to you.
  - role: user
    content: |
      Summarize the given text, beginning with "Summary -":
      <text>
      {{input}}
      </text>
      Keep it under {{words}} words, like {{ "summary": "…" }}.
testData:
  - input: |
      The quick brown fox jumped over the lazy dog.
      The dog was too tired to react.
    words: 20
    expected: Summary - A fox jumped over a lazy, unresponsive dog.
evaluators:
  - name: Output should start with 'Summary -'
    string:
      startsWith: 'Summary -'
  - name: Similarity
    uses: github/similarity
`;

const TRIAGE = `name: Ticket triage
model: openai/gpt-4.1
responseFormat: json_schema
jsonSchema: |-
  {
    "name": "triage",
    "strict": true,
    "schema": {
      "type": "object",
      "properties": { "priority": { "type": "string", "enum": ["low", "high"] } },
      "required": ["priority"]
    }
  }
messages:
  - role: system
    content: Classify support tickets by priority.
  - role: user
    content: "{{ticket}}"
  - role: assistant
    content: '{"priority": "low"}'
  - role: user
    content: Now this one, in {{json}} mode.
`;

describe('anvil import (Dotprompt and GitHub Models files)', function () {
  after(cleanupTemps);

  it('imports a folder of Dotprompt files as they are, into a set that lints clean and renders', async function () {
    const source = await folder('recipes', DOTPROMPT);
    const target = await freshRepository();
    const run = await anvil(target, 'import', source);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include('4 Dotprompt files from').and.include('into set recipes');
    expect(run.stdout).to.include('create     prompts/recipes/menus/weekly.prompt').and.include('5 created');
    // Nothing silently left behind.
    expect(run.stderr).to.include('README.md is not a Dotprompt file (.prompt); it is not imported');
    for (const rel of ['_style.prompt', 'recipe.prompt', 'recipe.fr.prompt', 'menus/weekly.prompt']) {
      expect(await readFile(path.join(target, 'prompts/recipes', rel), 'utf8'), rel).to.equal(DOTPROMPT[rel as keyof typeof DOTPROMPT]);
    }
    const config = await readFile(path.join(target, 'prompts/recipes/set.yaml'), 'utf8');
    expect(config).to.include('mode: review').and.include('# yaml-language-server: $schema=../../.anvil/schemas/set.schema.json');

    const lint = await anvil(target, 'lint');
    expect(lint.code, lint.stdout).to.equal(0);
    const render = async (...args: string[]) => (await anvil(target, 'render', ...args)).stdout;
    expect(await render('recipes/recipe', '--var', 'dish=soup', '--var', 'allergies:=["nuts","milk"]', '--messages')).to.equal(
      '[system]\nYou are a chef. Answer in a friendly tone, in at most 5 steps.\n\n[user]\nGive me a recipe for soup.\nAvoid: nuts, milk.\n',
    );
    expect(await render('recipes/recipe', '--variant', 'fr', '--var', 'dish=soupe')).to.equal('Donne-moi une recette de soupe. Answer in a amical tone, in at most 3 steps.\n');
    expect(await render('recipes/menus.weekly', '--var', 'people:=4')).to.equal('Plan seven dinners for 4 people.\n');

    // --set names another set; a single file works too.
    const single = await anvil(target, 'import', path.join(source, 'menus/weekly.prompt'), '--set', 'menus');
    expect(single.code, single.stderr).to.equal(0);
    expect(existsSync(path.join(target, 'prompts/menus/weekly.prompt'))).to.equal(true);
  });

  it('refuses Dotprompt files that would not lint, at the user\'s own file, line and column, writing nothing', async function () {
    const target = await freshRepository();
    const before = await filesIn(target);
    const yaml = await folder('broken', { 'a.prompt': '---\nmodel: [oops\n---\nHi\n' });
    const bad = await anvil(target, 'import', yaml, '--set', 'broken');
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/broken\/a\.prompt:2:\d+ {2}frontmatter\.yaml {2}invalid YAML in front matter/);
    const helper = await folder('helpers', { 'b.prompt': '---\ninput:\n  schema:\n    x: string\n---\nHi {{x}}\n{{shout x}}\n' });
    const unknown = await anvil(target, 'import', helper, '--set', 'helpers');
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.match(/helpers\/b\.prompt:7:1 {2}template\.unknown-helper {2}unknown helper "shout"/);
    expect(unknown.stderr).to.include('nothing was written').and.not.include('internal error');
    const name = await anvil(target, 'import', helper, '--set', 'Bad Name');
    expect(name.code).to.equal(1);
    expect(name.stderr).to.include('import.set-name');
    expect(await filesIn(target)).to.deep.equal(before);
  });

  it('converts GitHub Models prompt files, and says what could not be carried over', async function () {
    const source = await folder('models', { 'summarize.prompt.yml': SUMMARIZER, 'support/Ticket Triage.prompt.yml': TRIAGE });
    const target = await freshRepository();
    const dry = await anvil(target, 'import', source, '--set', 'models', '--dry-run');
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.include('create     prompts/models/support/Ticket-Triage.md').and.include('3 created (dry run: nothing written)');
    expect(existsSync(path.join(target, 'prompts/models'))).to.equal(false);

    const run = await anvil(target, 'import', source, '--set', 'models');
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.match(/models\/summarize\.prompt\.yml:17:1 {2}warning import\.not-carried {2}testData \(1 case\) is not carried over/);
    expect(run.stderr).to.match(/models\/summarize\.prompt\.yml:23:1 {2}warning import\.not-carried {2}evaluators are not carried over: Output should start with 'Summary -', Similarity/);
    expect(await readFile(path.join(target, 'prompts/models/summarize.md'), 'utf8')).to.equal([
      '---',
      'name: Text Summarizer',
      'description: Summarizes input text concisely',
      'model: openai/gpt-4o-mini',
      'config:',
      '  temperature: 0.5',
      '  maxOutputTokens: 300',
      'input:',
      '  schema:',
      '    input: string',
      '    words: integer',
      '---',
      '{{role "system"}}You are a text summarizer. Your only job is to summarize text given to you.',
      '{{role "user"}}Summarize the given text, beginning with "Summary -":',
      '<text>',
      '{{input}}',
      '</text>',
      'Keep it under {{words}} words, like \\{{ "summary": "…" }}.',
      '',
      '',
    ].join('\n'));

    expect((await anvil(target, 'lint')).code).to.equal(0);
    const summary = await anvil(target, 'render', 'models/summarize', '--var', 'input=A fox.', '--var', 'words:=10', '--messages');
    expect(summary.stdout).to.equal('[system]\nYou are a text summarizer. Your only job is to summarize text given to you.\n\n[user]\nSummarize the given text, beginning with "Summary -":\n<text>\nA fox.\n</text>\nKeep it under 10 words, like {{ "summary": "…" }}.\n');
    // assistant → model; a variable named like a helper is read as a variable; JSON schema → output.
    const triage = await anvil(target, 'render', 'models/support.Ticket-Triage', '--var', 'ticket=Printer on fire', '--var', 'json=strict', '--json');
    expect(JSON.parse(triage.stdout).text).to.equal('Classify support tickets by priority.\nPrinter on fire\n{"priority": "low"}\nNow this one, in strict mode.');
    const triageFile = await readFile(path.join(target, 'prompts/models/support/Ticket-Triage.md'), 'utf8');
    expect(triageFile).to.include('output:\n  format: json\n  schema:\n    type: object').and.include('{{role "model"}}').and.include('{{this.json}}');
  });

  it('refuses a malformed GitHub Models file at its line and column, and a folder of both formats', async function () {
    const target = await freshRepository();
    const before = await filesIn(target);
    const source = await folder('models', {
      'bad.prompt.yml': 'name: Bad\nmessages:\n  - role: user\n    content: Hi\n  - role: narrator\n    content: Once upon a time\n',
    });
    const run = await anvil(target, 'import', source);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/models\/bad\.prompt\.yml:5:5 {2}import\.github-models {2}message 2: role must be system, user or assistant \(hint: e\.g\. role: user\)/);
    const both = await folder('mixed', { 'a.prompt': 'Hi', 'b.prompt.yml': SUMMARIZER });
    const mixed = await anvil(target, 'import', both, '--set', 'mixed');
    expect(mixed.code).to.equal(1);
    expect(mixed.stderr).to.include('import.ambiguous-format').and.include('--format dotprompt or --format github-models');
    expect((await anvil(target, 'import', both, '--set', 'mixed', '--format', 'dotprompt', '--dry-run')).code).to.equal(0);
    expect(await filesIn(target)).to.deep.equal(before);
  });
});
