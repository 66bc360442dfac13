import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { githubAnnotation } from '../../src/cli/commands/lint.ts';
import { cleanupGitdirs, gitdir } from '../support/gitdir.ts';
import { anvil } from './cli-support.ts';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/anvil.js');

const GOOD = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/core/set.yaml': 'mode: locked\n',
  'prompts/core/hello.md': '---\ninput:\n  schema:\n    name: string\n---\nHello {{name}}',
};

describe('anvil lint', function () {
  after(cleanupGitdirs);

  it('exits 0 on a clean repository and says so', async function () {
    const repo = await gitdir({ files: GOOD });
    const run = await anvil(repo.dir, 'lint');
    expect(run.code).to.equal(0);
    expect(run.stdout).to.include('0 errors, 0 warnings in working tree');
  });

  it('prints file:line:col  code  message for every problem and exits 1', async function () {
    const repo = await gitdir({ files: GOOD });
    await repo.write({ 'prompts/core/hello.md': '---\ninput:\n  schema:\n    name: string\n---\nHello {{nmae}}', 'prompts/core/bye.md': '{{#if x}}' });
    const run = await anvil(path.join(repo.dir, 'prompts'), 'lint');
    expect(run.code).to.equal(1);
    expect(run.stdout).to.include('prompts/core/bye.md:1:1  template.unclosed-block');
    expect(run.stdout).to.include('prompts/core/hello.md:6:9  template.undeclared-variable');
    expect(run.stdout).to.include('2 errors, 0 warnings');
  });

  it('lints a ref without checking it out', async function () {
    const repo = await gitdir({ files: GOOD, tags: ['core@1.0.0'] });
    await repo.write({ 'prompts/core/hello.md': '{{#if x}}' });
    expect((await anvil(repo.dir, 'lint', '--ref', 'core@1.0.0')).code).to.equal(0);
    expect((await anvil(repo.dir, 'lint')).code).to.equal(1);
  });

  it('reports invalid release tags', async function () {
    const repo = await gitdir({ files: GOOD, tags: ['core@1.2'] });
    const run = await anvil(repo.dir, 'lint');
    expect(run.stdout).to.match(/tag\.invalid-version {2}tag "core@1\.2"/);
  });

  it('--json prints the problems as data', async function () {
    const repo = await gitdir({ files: { ...GOOD, 'prompts/core/x.md': '{{shout x}}' } });
    const run = await anvil(repo.dir, 'lint', '--json');
    const data = JSON.parse(run.stdout) as { ok: boolean; errors: number; problems: { code: string; file: string; line: number }[] };
    expect(data.ok).to.equal(false);
    expect(data.errors).to.equal(1);
    expect(data.problems[0]).to.include({ code: 'template.unknown-helper', file: 'prompts/core/x.md', line: 1 });
  });

  it('--format github prints one GitHub Actions annotation per problem, then the summary', async function () {
    const repo = await gitdir({ files: GOOD });
    await repo.write({ 'prompts/core/hello.md': '---\ninput:\n  schema:\n    name: string\nowner: x\n---\nHello {{nmae}}' });
    const run = await anvil(repo.dir, 'lint', '--format', 'github');
    expect(run.code).to.equal(1);
    expect(run.stdout.split('\n')).to.deep.equal([
      '::warning file=prompts/core/hello.md,line=5,col=1,title=frontmatter.unknown-field::unknown field "owner"%0Ahint: known fields: name, variant, version, description, model, config, input, output, tools, toolDefs, metadata, tags',
      '::error file=prompts/core/hello.md,line=7,col=9,title=template.undeclared-variable::variable "nmae" is not declared in input.schema%0Ahint: declare it (e.g. `nmae: string` under input.schema), or fix the name; declared: name',
      '1 error, 1 warning in working tree',
      '',
    ]);
    expect((await anvil(repo.dir, 'lint', '--format', 'xml')).stderr).to.include('--format must be text or github');
    expect((await anvil(repo.dir, 'lint', '--format', 'github', '--json')).code).to.equal(1);
  });

  it('escapes annotations as the workflow command syntax needs: %, CR, LF everywhere, "," and ":" in properties', function () {
    expect(githubAnnotation({
      severity: 'error', code: 'x:y,z', message: '100% sure\r\n::warning::injected', file: 'a,b:c%.md', line: 3, column: 4, hint: 'h',
    })).to.equal('::error file=a%2Cb%3Ac%25.md,line=3,col=4,title=x%3Ay%2Cz::100%25 sure%0D%0A::warning::injected%0Ahint: h');
    expect(githubAnnotation({ severity: 'warning', code: 'tag.invalid-version', message: 'bad tag' })).to.equal('::warning title=tag.invalid-version::bad tag');
    expect(githubAnnotation({ severity: 'error', code: 'c', message: 'm', file: 'f.md' }, 'sub/dir/')).to.equal('::error file=sub/dir/f.md,title=c::m');
  });

  it('has --help, and refuses unknown options and commands with one clear line', async function () {
    const repo = await gitdir({ files: GOOD });
    expect((await anvil(repo.dir, 'lint', '--help')).stdout).to.include('Usage: anvil lint');
    const bad = await anvil(repo.dir, 'lint', '--bogus');
    expect([bad.code, bad.stderr.trim().split('\n').length]).to.deep.equal([1, 1]);
    expect(bad.stderr).to.include('cli.bad-arguments');
    const unknown = await anvil(repo.dir, 'lnt');
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.include('unknown command "lnt"');
  });

  it('the anvil binary runs, exits 1 on errors and prints no stack trace for a user error', async function () {
    const repo = await gitdir({ files: { ...GOOD, 'prompts/core/set.yaml': 'mode: [oops\n' } });
    const result = await promisify(execFile)(process.execPath, [BIN, 'lint'], { cwd: repo.dir }).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(result.code).to.equal(1);
    expect(result.stdout).to.match(/prompts\/core\/set\.yaml:\d+:\d+  yaml\.syntax/);
    expect(result.stdout + result.stderr).to.not.match(/\n\s+at /);
  });
});
