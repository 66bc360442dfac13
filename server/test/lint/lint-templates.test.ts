/**
 * Issue 14: what lint passes must render. Every template shape that Handlebars compiles and
 * then cannot render is a lint error with its file, line, column and a hint; lint reports every
 * problem of a file in one run; templates are bounded before they are parsed.
 */
import { expect } from 'chai';
import { loadRepo } from '../../src/load/load-repo.ts';
import { lintRepo } from '../../src/lint/lint-repo.ts';
import { formatProblem, type Problem } from '../../src/lint/problem.ts';
import { memorySnapshot } from '../../src/repo/snapshot.ts';
import { cleanupGitdirs, gitdir } from '../support/gitdir.ts';
import { anvil } from '../cli/cli-support.ts';

const BASE: Record<string, string> = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/core/set.yaml': 'mode: live\n',
};
const FILE = 'prompts/core/greet.md';
const FRONT = '---\ninput:\n  schema:\n    name: string\n    role?: string\n    history?: string\n---\n'; // body on line 8

async function lint(files: Record<string, string>): Promise<Problem[]> {
  return lintRepo(await loadRepo(memorySnapshot({ ...BASE, ...files })));
}

/** The errors of `body` in FILE, as `code line:column`. */
async function errorsIn(body: string, extra: Record<string, string> = {}): Promise<string[]> {
  const problems = await lint({ [FILE]: `${FRONT}${body}`, ...extra });
  return problems.filter((p) => p.severity === 'error').map((p) => {
    expect(p.file, formatProblem(p)).to.equal(FILE);
    expect(p.hint, formatProblem(p)).to.be.a('string').and.not.equal('');
    return `${p.code} ${p.line}:${p.column}`;
  });
}

describe('anvil lint: templates that cannot render', function () {
  it('{{role}} meant as a variable is an error whose hint says {{this.role}}', async function () {
    const problems = await lint({ [FILE]: `${FRONT}You are a {{role}}.` });
    const p = problems.find((x) => x.code === 'template.helper-usage')!;
    expect([p.file, p.line, p.column]).to.deep.equal([FILE, 8, 11]);
    expect(p.hint).to.include('{{this.role}}');
    expect(problems.map((x) => x.code)).to.deep.equal(['template.helper-usage']); // reported once
  });

  it('{{history}} with an input variable named history: the helper would silently win', async function () {
    expect(await errorsIn('Earlier: {{history}}')).to.deep.equal(['template.helper-shadows-variable 8:10']);
    const p = (await lint({ [FILE]: `${FRONT}Earlier: {{history}}` }))[0]!;
    expect(p.hint).to.include('{{this.history}}');
    // Without such a variable, {{history}} is Dotprompt's helper and fine.
    expect(await lint({ 'prompts/core/chat.md': '{{role "system"}}Be brief.{{history}}' })).to.deep.equal([]);
  });

  it('{{section}}, {{media}}, {{json}}, {{ifEquals}}, {{lookup}} without arguments', async function () {
    expect(await errorsIn('{{section}}\n{{media}}\n  {{json}} {{ifEquals}} {{lookup}}')).to.deep.equal([
      'template.helper-usage 8:1', 'template.helper-usage 9:1', 'template.helper-usage 10:3',
      'template.helper-usage 10:12', 'template.helper-usage 10:25',
    ]);
  });

  it('{{#if}}, {{#each}}, {{#with}} without an argument', async function () {
    expect(await errorsIn('{{#if}}a{{/if}}\n{{#each}}b{{/each}}{{#with}}c{{/with}}')).to.deep.equal([
      'template.helper-usage 8:1', 'template.helper-usage 9:1', 'template.helper-usage 9:20',
    ]);
  });

  it('{{helperMissing …}}, {{#blockHelperMissing …}} and decorators', async function () {
    expect(await errorsIn('{{helperMissing name}}\n{{#blockHelperMissing name}}x{{/blockHelperMissing}}\n{{* foo}}')).to.deep.equal([
      'template.unknown-helper 8:1', 'template.unknown-helper 9:1', 'template.decorator 10:1',
    ]);
  });

  it('a partial file named ___proto__.md is an invalid name, and including it an unknown partial', async function () {
    const problems = await lint({ 'prompts/core/___proto__.md': 'x', 'prompts/core/uses.md': 'a {{> __proto__}}' });
    expect(problems.map((p) => `${p.file} ${p.code} ${p.line}:${p.column}`)).to.deep.equal([
      'prompts/core/___proto__.md partial.invalid-name 1:1',
      'prompts/core/uses.md template.unknown-partial 1:3',
    ]);
    expect(problems[0]!.message).to.include('reserved');
  });

  it('an unknown partial, an unknown helper and an undeclared variable: all three in one run', async function () {
    const problems = await lint({ [FILE]: `${FRONT}Hi {{nmae}}\n{{> footer}}\n{{shout name}}` });
    expect(problems.map((p) => `${p.code} ${p.line}:${p.column}`)).to.deep.equal([
      'template.undeclared-variable 8:6',
      'template.unknown-partial 9:1',
      'template.unknown-helper 10:1',
    ]);
  });

  it('front-matter field warnings are reported for prompts that do not compile too', async function () {
    const problems = await lint({ [FILE]: '---\nmodle: x\n---\n{{shout name}}' });
    expect(problems.map((p) => p.code)).to.have.members(['template.unknown-helper', 'frontmatter.unknown-field']);
  });

  it('limits: 20,000 nested {{#if}} and 12,000 comments with one unclosed are errors with their positions', async function () {
    const deep = `${'{{#if name}}'.repeat(20_000)}x${'{{/if}}'.repeat(20_000)}`;
    expect(await errorsIn(deep)).to.deep.equal(['template.too-deep 8:1201', 'template.too-complex 8:120001']);
    const comments = `${'{{!-- c --}}'.repeat(12_000)}\n{{!-- open`;
    expect(await errorsIn(comments)).to.deep.equal(['template.too-complex 8:1201', 'template.syntax 9:1']);
  });
});

describe('what lint passes renders: a whole set through anvil render and anvil diff', function () {
  after(cleanupGitdirs);

  it('partials that include partials named after them, and prompts that use no partial', async function () {
    const repo = await gitdir({
      files: {
        ...BASE,
        'prompts/core/_a.md': 'A({{> b}})',
        'prompts/core/_b.md': 'B',
        'prompts/core/uses.md': 'Uses {{> a}}',
        'prompts/core/plain.md': 'Plain',
      },
    });
    expect((await anvil(repo.dir, 'lint')).code).to.equal(0);
    const plain = await anvil(repo.dir, 'render', 'core/plain');
    expect([plain.code, plain.stdout, plain.stderr]).to.deep.equal([0, 'Plain\n', '']);
    expect((await anvil(repo.dir, 'render', 'core/uses')).stdout).to.equal('Uses A(B)\n');

    const release = await anvil(repo.dir, 'release', 'core');
    expect(release.code, release.stderr).to.equal(0);
    await repo.write({ 'prompts/core/plain.md': 'Plainer' });
    const diff = await anvil(repo.dir, 'diff', 'core', '1.0.0');
    expect(diff.code, diff.stderr).to.equal(0);
    expect(diff.stdout).to.contain('plain  changed').and.contain('+Plainer');
  });
});
