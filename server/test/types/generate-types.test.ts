import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import ts from 'typescript';
import { compileSet } from '../../src/build/compile-set.ts';
import { loadRepo } from '../../src/load/load-repo.ts';
import { memorySnapshot } from '../../src/repo/snapshot.ts';
import { generatePromptTypes, jsonSchemaToType, promptInputType, type TypedSet } from '../../src/types/generate-types.ts';
import { anvil } from '../cli/cli-support.ts';
import { cleanupGitdirs, gitdir } from '../support/gitdir.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A small repository covering what the types must express. */
const REPO = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/core/set.yaml': 'mode: locked\n',
  'prompts/core/greeting.md': 'Hello!',
  'prompts/core/hello.md': '---\ninput:\n  schema:\n    who: string\n---\nHello {{who}}',
  'prompts/onboarding/set.yaml': 'dependencies:\n  core: ^1.0.0\n',
  'prompts/onboarding/hello.md': '---\ninput:\n  schema:\n    team: string\n---\nHello {{team}}',
  'prompts/onboarding/welcome/message.md': [
    '---',
    'description: Welcome message for a new user.',
    'input:',
    '  schema:',
    '    name: string, the user\'s first name',
    '    plan(enum): [free, pro]',
    '    goals?(array): string',
    '    first-login?: boolean',
    '  default:',
    '    plan: free',
    '---',
    'Welcome {{name}} ({{plan}}) {{goals}} {{[first-login]}}',
  ].join('\n'),
  'prompts/onboarding/welcome/message.fr.md': '---\ninput:\n  schema:\n    nom: string\n---\nBienvenue {{nom}}',
  'prompts/onboarding/order.md': [
    '---',
    'input:',
    '  schema:',
    '    type: object',
    '    properties:',
    '      order:',
    '        type: object',
    '        properties:',
    '          id: {type: integer}',
    '          lines: {type: array, items: {type: string}}',
    '        required: [id]',
    '      channel:',
    '        anyOf: [{const: email}, {const: sms}]',
    '      meta:',
    '        type: object',
    '        additionalProperties: {type: string}',
    '    required: [order]',
    '---',
    'Order {{order.id}} by {{channel}}',
  ].join('\n'),
};

async function typedSets(files: Record<string, string>): Promise<TypedSet[]> {
  const repo = await loadRepo(memorySnapshot(files));
  expect(repo.problems.filter((p) => p.severity === 'error')).to.deep.equal([]);
  const partials = Object.fromEntries(repo.sets.map((s) => [s.name, s.partials]));
  return repo.sets.map((set) => {
    const compiled = compileSet(set, partials);
    expect(compiled.problems).to.deep.equal([]);
    return { name: set.name, prompts: compiled.prompts };
  });
}

describe('jsonSchemaToType', function () {
  const cases: [string, unknown, string][] = [
    ['scalars', { type: 'string' }, 'string'],
    ['integer as number', { type: 'integer' }, 'number'],
    ['type lists as unions', { type: ['boolean', 'null'] }, 'boolean | null'],
    ['enums as literal unions', { enum: ['a', "it's", 2, true, null] }, "'a' | 'it\\'s' | 2 | true | null"],
    ['const', { const: 'x' }, "'x'"],
    ['arrays', { type: 'array', items: { type: 'number' } }, 'number[]'],
    ['arrays of unions', { type: 'array', items: { type: ['string', 'null'] } }, '(string | null)[]'],
    ['arrays without items', { type: 'array' }, 'unknown[]'],
    ['tuples', { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }], items: false }, '[string, number]'],
    ['anyOf', { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] }, 'string | string[]'],
    ['oneOf', { oneOf: [{ const: 1 }, { const: 2 }] }, '1 | 2'],
    ['allOf', { allOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, { type: 'object', properties: { b: { type: 'number' } } }] }, '{\n  a: string;\n} & {\n  b?: number;\n}'],
    ['an empty schema', {}, 'unknown'],
    ['false', false, 'never'],
    ['unknown types', { type: 'date' }, 'unknown'],
    ['open objects', { type: 'object' }, 'Record<string, unknown>'],
    ['closed empty objects', { type: 'object', additionalProperties: false }, 'Record<string, never>'],
    ['maps', { type: 'object', additionalProperties: { type: 'number' } }, 'Record<string, number>'],
  ];
  for (const [what, schema, expected] of cases) {
    it(what, function () {
      expect(jsonSchemaToType(schema)).to.equal(expected);
    });
  }

  it('objects: required and optional properties, quoted names, descriptions as JSDoc, nesting', function () {
    const type = jsonSchemaToType({
      type: 'object',
      properties: {
        name: { type: 'string', description: 'who */ it is' },
        'first-name': { type: 'string' },
        address: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
      },
      required: ['name', 'address'],
    });
    expect(type).to.equal([
      '{',
      '  /** who *\\/ it is */',
      '  name: string;',
      "  'first-name'?: string;",
      '  address: {',
      '    city: string;',
      '  };',
      '}',
    ].join('\n'));
  });

  it('typed additional properties beside declared ones admit the declared types', function () {
    expect(jsonSchemaToType({ type: 'object', properties: { a: { type: 'boolean' } }, required: ['a'], additionalProperties: { type: 'string' } }))
      .to.equal('{\n  a: boolean;\n  [key: string]: string | boolean;\n}');
    // Without exactOptionalPropertyTypes an optional property's type includes undefined.
    expect(jsonSchemaToType({ type: 'object', properties: { a: { type: 'boolean' } }, additionalProperties: { type: 'string' } }))
      .to.equal('{\n  a?: boolean;\n  [key: string]: string | boolean | undefined;\n}');
    expect(jsonSchemaToType({ type: 'object', properties: { a: { type: 'number' } }, additionalProperties: true }))
      .to.equal('{\n  a?: number;\n  [key: string]: unknown;\n}');
  });
});

describe('promptInputType', function () {
  it('makes variables with a default optional and shows the default', function () {
    const type = promptInputType({
      schema: { type: 'object', properties: { name: { type: 'string' }, plan: { type: 'string' } }, required: ['name', 'plan'] },
      default: { plan: 'free' },
    });
    expect(type).to.equal('{\n  name: string;\n  /** @default "free" */\n  plan?: string;\n}');
  });

  it('gives Record<string, unknown> to prompts without an input schema', function () {
    expect(promptInputType(undefined)).to.equal('Record<string, unknown>');
    expect(promptInputType({ default: { a: 1 } })).to.equal('Record<string, unknown>');
    expect(promptInputType({ schema: { type: 'string' } })).to.equal('Record<string, unknown>');
  });
});

describe('generatePromptTypes', function () {
  let text: string;
  before(async function () {
    text = generatePromptTypes({ from: '@acme at main (abc1234)', sets: await typedSets(REPO) });
  });

  it('says what generated it and from which snapshot, and augments @anvil/client', function () {
    expect(text.split('\n')[0]).to.equal('// Generated by `anvil types` from @acme at main (abc1234). Do not edit: run `anvil types` again.');
    expect(text).to.include("declare module '@anvil/client' {\n  interface PromptInputs {");
  });

  it('keys every prompt as set/id, and as id alone only when one set has it', function () {
    const keys = [...text.matchAll(/^ {4}'([^']+)':/gm)].map((m) => m[1]);
    expect(keys).to.deep.equal([
      'core/greeting', 'core/hello', 'onboarding/hello', 'onboarding/order', 'onboarding/welcome.message',
      'greeting', 'order', 'welcome.message',
    ]);
    expect(text).to.include("    'welcome.message': PromptInputs['onboarding/welcome.message'];");
  });

  it('uses the base prompt\'s variables for its variants, and says when a variant differs', function () {
    expect(text).to.include("Variant \"fr\" (prompts/onboarding/welcome/message.fr.md) declares other variables; these are the base prompt's.");
    expect(text).to.not.include('nom');
    expect(text).to.include([
      "    'onboarding/welcome.message': {",
      "      /** the user's first name */",
      '      name: string;',
      '      /** @default "free" */',
      "      plan?: 'free' | 'pro';",
      '      goals?: string[] | null;',
      "      'first-login'?: boolean | null;",
      '    };',
    ].join('\n'));
    expect(text).to.include("    'core/greeting': Record<string, unknown>;");
  });

  it('is deterministic: the order of sets and prompts does not matter', async function () {
    const sets = await typedSets(REPO);
    const shuffled = sets.reverse().map((s) => ({ ...s, prompts: [...s.prompts].reverse() }));
    expect(generatePromptTypes({ from: '@acme at main (abc1234)', sets: shuffled })).to.equal(text);
  });
});

describe('generated declarations type-check an app', function () {
  let dir: string;
  let options: ts.CompilerOptions;
  let host: ts.CompilerHost;
  let program: ts.Program;

  const CONSUMERS: Record<string, string> = {
    'ok.ts': [
      "import type { PromptFunction, PromptId, PromptVars } from '@anvil/client';",
      'declare const prompt: PromptFunction;',
      "prompt('welcome.message', { name: 'Ada' });",
      "prompt('onboarding/welcome.message', { name: 'Ada', plan: 'pro', goals: ['ship'], 'first-login': true }, { variant: 'fr' });",
      "prompt('core/hello', { who: 'you' });",
      "prompt('greeting', {});",
      "prompt('order', { order: { id: 7, lines: ['a'] }, channel: 'sms', meta: { source: 'web' } });",
      "const id: PromptId = 'onboarding/hello';",
      "const vars: PromptVars<'order'> = { order: { id: 1 } };",
      'export { id, vars };',
    ].join('\n'),
    'missing.ts': "import type { PromptFunction } from '@anvil/client';\ndeclare const prompt: PromptFunction;\nprompt('welcome.message', { plan: 'pro' });\n",
    'wrong-type.ts': "import type { PromptFunction } from '@anvil/client';\ndeclare const prompt: PromptFunction;\nprompt('welcome.message', { name: 42 });\n",
    'wrong-enum.ts': "import type { PromptFunction } from '@anvil/client';\ndeclare const prompt: PromptFunction;\nprompt('welcome.message', { name: 'Ada', plan: 'gold' });\n",
    'unknown-id.ts': "import type { PromptFunction } from '@anvil/client';\ndeclare const prompt: PromptFunction;\nprompt('welcome.mesage', { name: 'Ada' });\n",
    // `hello` is in two sets, so only its qualified ids exist.
    'ambiguous-id.ts': "import type { PromptFunction } from '@anvil/client';\ndeclare const prompt: PromptFunction;\nprompt('hello', { who: 'you' });\n",
  };

  before(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), 'anvil-types-'));
    await writeFile(path.join(dir, 'package.json'), '{"type": "module"}\n');
    await writeFile(path.join(dir, 'anvil-prompts.d.ts'), generatePromptTypes({ from: 'test', sets: await typedSets(REPO) }));
    for (const [name, text] of Object.entries(CONSUMERS)) await writeFile(path.join(dir, name), text);

    // The repository's own strict options, with @anvil/client resolved to its sources.
    const config = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile);
    const converted = ts.convertCompilerOptionsFromJson(config.config.compilerOptions, ROOT);
    expect(converted.errors).to.deep.equal([]);
    options = {
      ...converted.options,
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules/@types')],
      paths: { '@anvil/client': [path.join(ROOT, 'client/src/index.ts')] },
    };
    // Parsed files are shared with the second program below, so only its checking costs time.
    host = ts.createCompilerHost(options);
    const parsed = new Map<string, ts.SourceFile | undefined>();
    const read = host.getSourceFile.bind(host);
    host.getSourceFile = (file, ...rest) => {
      if (!parsed.has(file)) parsed.set(file, read(file, ...rest));
      return parsed.get(file);
    };
    program = ts.createProgram(['anvil-prompts.d.ts', ...Object.keys(CONSUMERS)].map((f) => path.join(dir, f)), options, host);
  });
  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  function diagnostics(file: string, of = program): { line: number; code: number; message: string }[] {
    const source = of.getSourceFile(path.join(dir, file));
    if (!source) throw new Error(`${file} is not in the program`);
    return [...of.getSyntacticDiagnostics(source), ...of.getSemanticDiagnostics(source)].map((d) => ({
      line: source.getLineAndCharacterOfPosition(d.start ?? 0).line + 1,
      code: d.code,
      message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    }));
  }

  it('the declarations and a correct app compile without a diagnostic', function () {
    expect(program.getOptionsDiagnostics()).to.deep.equal([]);
    expect(program.getGlobalDiagnostics()).to.deep.equal([]);
    expect(diagnostics('anvil-prompts.d.ts')).to.deep.equal([]);
    expect(diagnostics('ok.ts')).to.deep.equal([]);
  });

  const failures: [string, string, RegExp][] = [
    ['a missing variable', 'missing.ts', /Property 'name' is missing in type '\{ plan: "pro"; \}'/],
    ['a variable of the wrong type', 'wrong-type.ts', /Type 'number' is not assignable to type 'string'/],
    ['a value outside an enum', 'wrong-enum.ts', /Type '"gold"' is not assignable to type '"free" \| "pro"'/],
    ['an unknown id', 'unknown-id.ts', /Argument of type '"welcome\.mesage"' is not assignable to parameter of type 'keyof PromptInputs'/],
    ['an id two sets share, without its set', 'ambiguous-id.ts', /Argument of type '"hello"' is not assignable/],
  ];
  for (const [what, file, message] of failures) {
    it(`${what} fails to compile`, function () {
      const found = diagnostics(file);
      expect(found, JSON.stringify(found)).to.have.length(1);
      expect(found[0]).to.include({ line: 3 });
      expect(found[0]?.message).to.match(message);
    });
  }

  it('without generated declarations, any id and any variables compile', async function () {
    await writeFile(path.join(dir, 'untyped.ts'), [
      "import type { PromptFunction, PromptId, PromptVars } from '@anvil/client';",
      'declare const prompt: PromptFunction;',
      "prompt('anything', { x: 1 });",
      "const id: PromptId = 'whatever';",
      "const vars: PromptVars<'whatever'> = { y: [] };",
      'export { id, vars };',
    ].join('\n'));
    const untyped = ts.createProgram([path.join(dir, 'untyped.ts')], options, host, program);
    expect(diagnostics('untyped.ts', untyped)).to.deep.equal([]);
  });
});

describe('anvil types', function () {
  after(cleanupGitdirs);

  it('prints the declarations to stdout', async function () {
    const repo = await gitdir({ files: REPO });
    const run = await anvil(path.join(repo.dir, 'prompts'), 'types');
    expect(run.code).to.equal(0);
    expect(run.stdout).to.match(/^\/\/ Generated by `anvil types` from @acme at working tree\./);
    expect(run.stdout).to.include("'welcome.message': PromptInputs['onboarding/welcome.message'];");
  });

  it('--out writes the file, creating its folder, and leaves an unchanged file alone', async function () {
    const repo = await gitdir({ files: REPO });
    const first = await anvil(repo.dir, 'types', '--out', 'src/generated/anvil-prompts.d.ts');
    expect([first.code, first.stdout.trim()]).to.deep.equal([0, 'wrote src/generated/anvil-prompts.d.ts: 5 prompts from @acme at working tree']);
    const written = await readFile(repo.path('src/generated/anvil-prompts.d.ts'), 'utf8');
    expect(written).to.include("'onboarding/order': {");
    const again = await anvil(repo.dir, 'types', '--out', 'src/generated/anvil-prompts.d.ts');
    expect(again.stdout).to.match(/^unchanged /);
  });

  it('--ref reads a tag without checking it out', async function () {
    const repo = await gitdir({ files: REPO, tags: ['core@1.0.0'] });
    await repo.write({ 'prompts/core/hello.md': '---\ninput:\n  schema:\n    whom: string\n---\nHello {{whom}}' });
    const run = await anvil(repo.dir, 'types', '--ref', 'core@1.0.0');
    expect(run.code).to.equal(0);
    expect(run.stdout).to.match(/from @acme at core@1\.0\.0 \([0-9a-f]+\)/);
    expect(run.stdout).to.include('who: string;');
    expect(run.stdout).to.not.include('whom');
  });

  it('exits 1 with the problems when a prompt does not compile, and writes nothing', async function () {
    const repo = await gitdir({ files: { ...REPO, 'prompts/core/broken.md': '{{#if x}}' } });
    const run = await anvil(repo.dir, 'types', '--out', 'types.d.ts');
    expect(run.code).to.equal(1);
    expect(run.stdout).to.equal('');
    expect(run.stderr).to.include('prompts/core/broken.md:1:1  template.unclosed-block');
    expect(run.stderr).to.include('1 error in working tree; no types generated');
    expect(await readFile(repo.path('types.d.ts'), 'utf8').catch(() => 'absent')).to.equal('absent');
  });

  it('has --help', async function () {
    const run = await anvil(ROOT, 'types', '--help');
    expect(run.stdout).to.include('Usage: anvil types [--out <file>] [--ref <ref>] [--repo <dir>]');
  });
});
