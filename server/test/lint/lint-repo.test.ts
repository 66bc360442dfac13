import { expect } from 'chai';
import { loadRepo } from '../../src/load/load-repo.ts';
import { lintRepo, type ReleaseInfo } from '../../src/lint/lint-repo.ts';
import { formatProblem, type Problem } from '../../src/lint/problem.ts';
import { memorySnapshot } from '../../src/repo/snapshot.ts';

const GOOD: Record<string, string> = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/core/set.yaml': 'mode: locked\n',
  'prompts/core/_signature.md': '— {{company}}',
  'prompts/onboarding/set.yaml': 'dependencies:\n  core: ^1.0.0\n',
  'prompts/onboarding/welcome/message.md': '---\ninput:\n  schema:\n    name: string\n    company: string\n---\nHi {{name}}\n{{> core/signature}}',
  'prompts/onboarding/welcome/message.fr.md': '---\ntags: {locale: fr}\n---\nSalut {{name}}',
};

async function lint(files: Record<string, string>, releases: ReleaseInfo = { releases: { core: ['1.0.0'] } }): Promise<Problem[]> {
  return lintRepo(await loadRepo(memorySnapshot(files)), releases);
}

function codes(problems: Problem[]): string[] {
  return problems.map((p) => p.code);
}

function only(problems: Problem[], code: string): Problem {
  const found = problems.filter((p) => p.code === code);
  expect(found, `problems: ${problems.map(formatProblem).join('\n')}`).to.have.length(1);
  return found[0]!;
}

describe('anvil lint (lintRepo)', function () {
  it('a clean repository has no problems', async function () {
    expect((await lint(GOOD)).map(formatProblem)).to.deep.equal([]);
  });

  it('reports every problem at once, sorted by file and line', async function () {
    const problems = await lint({
      ...GOOD,
      'prompts/onboarding/welcome/message.md': '---\ninput:\n  schema:\n    name: string\n---\nHi {{nme}} {{#if x}}',
      'prompts/onboarding/error/not_found.md': '{{jsn x}}',
    });
    expect(problems.filter((p) => p.severity === 'error').length).to.be.greaterThan(1);
    const files = problems.map((p) => p.file ?? '');
    expect(files).to.deep.equal([...files].sort());
  });

  it('YAML errors in set.yaml and anvil.yaml, at their line', async function () {
    const problems = await lint({ ...GOOD, 'anvil.yaml': 'name: "@acme"\nrollouts: [oops\n', 'prompts/core/set.yaml': 'mode: locked\nmode: live\n' });
    const repoYaml = problems.find((p) => p.file === 'anvil.yaml')!;
    expect(repoYaml.code).to.equal('yaml.syntax');
    const setYaml = problems.find((p) => p.file === 'prompts/core/set.yaml')!;
    expect([setYaml.code, setYaml.line]).to.deep.equal(['yaml.syntax', 2]);
  });

  it('schema errors in set.yaml point at the field', async function () {
    const p = only(await lint({ ...GOOD, 'prompts/core/set.yaml': 'description: Core\nmode: sometimes\n' }), 'schema.enum');
    expect([p.file, p.line, p.column]).to.deep.equal(['prompts/core/set.yaml', 2, 1]);
  });

  it('unknown front-matter fields are warnings, at their line', async function () {
    const problems = await lint({ ...GOOD, 'prompts/core/tone.md': '---\ndescription: ok\nmodle: gpt\n---\nHello' });
    const p = problems.find((x) => x.file === 'prompts/core/tone.md')!;
    expect(p.severity).to.equal('warning');
    expect(p.line).to.equal(3);
    expect(p.message).to.include('modle');
  });

  it('template syntax errors, unknown helpers and unknown partials', async function () {
    const problems = await lint({
      ...GOOD,
      'prompts/core/a.md': 'Hi {{#if x}}',
      'prompts/core/b.md': '{{shout x}}',
      'prompts/core/c.md': '{{> footer}}',
    });
    expect(codes(problems)).to.include.members(['template.unclosed-block', 'template.unknown-helper', 'template.unknown-partial']);
    expect(problems.find((p) => p.code === 'template.unknown-helper')!.file).to.equal('prompts/core/b.md');
  });

  it('an error inside a partial is reported once, at the partial', async function () {
    const problems = await lint({ ...GOOD, 'prompts/core/_signature.md': '{{bogus x}}' });
    const p = only(problems, 'template.unknown-helper');
    expect(p.file).to.equal('prompts/core/_signature.md');
  });

  it('a variable used in the body but not declared in input.schema', async function () {
    const problems = await lint({
      ...GOOD,
      'prompts/onboarding/welcome/message.md':
        '---\ninput:\n  schema:\n    name: string\n    items(array): string\n---\nHi {{name}} {{nmae}}\n{{#each items}}{{this}} {{@root.name}} {{@root.missing}}{{/each}}\n{{#if name}}{{company}}{{/if}}',
    });
    const undeclared = problems.filter((p) => p.code === 'template.undeclared-variable');
    expect(undeclared.map((p) => p.message)).to.deep.equal([
      'variable "nmae" is not declared in input.schema',
      'variable "missing" is not declared in input.schema',
      'variable "company" is not declared in input.schema',
    ]);
    expect([undeclared[0]!.line, undeclared[0]!.column]).to.deep.equal([7, 15]);
  });

  it('no undeclared-variable check when no schema is declared', async function () {
    const problems = await lint({ ...GOOD, 'prompts/core/free.md': 'Anything {{goes}} here' });
    expect(codes(problems)).to.not.include('template.undeclared-variable');
  });

  it('duplicate ids, and a variant without a base prompt', async function () {
    const problems = await lint({
      ...GOOD,
      'prompts/core/hello.md': 'a',
      'prompts/core/hello.prompt': 'b',
      'prompts/core/bye.de.md': 'c',
    });
    expect(only(problems, 'prompt.duplicate-id').message).to.include('hello');
    expect(only(problems, 'prompt.variant-without-base').file).to.equal('prompts/core/bye.de.md');
  });

  it('invalid prompt ids and set names', async function () {
    const problems = await lint({
      ...GOOD,
      'prompts/core/bad name.md': 'x',
      'prompts/Weird/set.yaml': 'description: x\n',
      'prompts/other/set.yaml': 'name: ../escape\n',
    });
    expect(codes(problems)).to.include('prompt.invalid-id');
    expect(problems.filter((p) => p.code === 'set.invalid-name' || p.code === 'schema.pattern').length).to.equal(2);
  });

  it('nested sets and duplicate set names', async function () {
    const problems = await lint({ ...GOOD, 'prompts/core/inner/set.yaml': 'description: x\n', 'prompts/dup/set.yaml': 'name: core\n' });
    expect(codes(problems)).to.include.members(['set.nested', 'set.duplicate-name']);
  });

  it('a dependency cycle is named a → b → c → a', async function () {
    const problems = await lint({
      'prompts/a/set.yaml': 'dependencies:\n  b: ^1.0.0\n',
      'prompts/b/set.yaml': 'dependencies:\n  c: ^1.0.0\n',
      'prompts/c/set.yaml': 'dependencies:\n  a: ^1.0.0\n',
    }, { releases: { a: ['1.0.0'], b: ['1.0.0'], c: ['1.0.0'] } });
    expect(only(problems, 'dependency.cycle').message).to.equal('dependency cycle: a → b → c → a');
  });

  it('an unsatisfiable range names the range and the versions that exist, at its line', async function () {
    const p = only(await lint(GOOD, { releases: { core: ['0.9.0', '2.0.0', '2.1.0-rc.1'] } }), 'dependency.unsatisfiable');
    expect(p.message).to.include('^1.0.0');
    expect(p.message).to.include('0.9.0, 2.0.0, 2.1.0-rc.1');
    expect([p.file, p.line, p.column]).to.deep.equal(['prompts/onboarding/set.yaml', 2, 3]);
  });

  it('a dependency on an unknown set, and one with no release yet (a warning before the first release)', async function () {
    const problems = await lint({ ...GOOD, 'prompts/onboarding/set.yaml': 'dependencies:\n  core: ^1.0.0\n  nope: ^1.0.0\n' }, { releases: {} });
    expect(only(problems, 'dependency.unknown-set').message).to.include('nope');
    expect(only(problems, 'dependency.unreleased').severity).to.equal('warning');
  });

  it('invalid semver tags', async function () {
    const p = only(await lint(GOOD, { releases: { core: ['1.0.0'] }, invalidTags: [{ name: 'core@1.2', reason: 'not semver' }] }), 'tag.invalid-version');
    expect(p.message).to.include('core@1.2');
  });
});
