/**
 * Issue 13: with the declarations `anvil types` writes, the client's own methods —
 * `anvil.prompt`, `messages`, `template`, `track`, and `PromptStore`'s — check the prompt id,
 * the variables and the variant name; without them, anything compiles.
 *
 * The app here is compiled as an app outside this repository compiles it: with plain `tsc`
 * options (strict, exactOptionalPropertyTypes, nodenext or bundler resolution, no skipLibCheck)
 * against the *published* declarations, client/dist/*.d.ts, reached through
 * `node_modules/@anvil/client` and its package.json `exports`. One program per setting, with one
 * file per case, and diagnostics read per file, keeps this to a few seconds.
 */
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import ts from 'typescript';
import { generatePromptTypes } from '../../src/types/generate-types.ts';
import { REPO, ROOT, typedSets } from './prompt-repo.ts';

/** The sources whose declarations the app compiles against, beside what `npm run build` made of them. */
const DECLARATIONS = ['prompt-types', 'client', 'store/prompt-store', 'index'].map((name) => ({
  source: path.join(ROOT, 'client/src', `${name}.ts`),
  built: path.join(ROOT, 'client/dist', `${name}.d.ts`),
}));

/** Fails with what to do when client/dist is missing or older than the sources it is built from. */
async function requireBuiltClient(): Promise<void> {
  const build = 'run `npm run build` at the repository root first: these tests compile an app against the published declarations';
  for (const required of [path.join(ROOT, 'content-schema/dist/index.d.ts'), ...DECLARATIONS.map((d) => d.built)]) {
    if (!(await stat(required).catch(() => undefined))) throw new Error(`${path.relative(ROOT, required)} is missing: ${build}`);
  }
  for (const { source, built } of DECLARATIONS) {
    if ((await stat(source)).mtimeMs > (await stat(built)).mtimeMs) {
      throw new Error(`${path.relative(ROOT, built)} is older than ${path.relative(ROOT, source)}: ${build}`);
    }
  }
}

const HEADER = [
  "import { PromptStore, type AnvilClient, type PromptFunction } from '@anvil/client';",
  'declare const anvil: AnvilClient;',
];

/** An app file whose third line is `call`. */
const app = (call: string): string => [...HEADER, call, 'export { PromptStore, type PromptFunction };', ''].join('\n');

/** Correct calls: none may fail, with or without the generated declarations. */
const OK = [
  "import { createClient, PromptStore, type AnvilClient, type PromptCallOptions, type PromptFunction, type PromptId, type PromptVars } from '@anvil/client';",
  "export const start = (): Promise<AnvilClient> => createClient({ forge: 'http://127.0.0.1:1', project: 'acme', token: 't', channel: 'production', cacheDir: '.anvil' });",
  'declare const anvil: AnvilClient;',
  "export const text: string = anvil.prompt('welcome.message', { name: 'Ada' });",
  "anvil.prompt('onboarding/welcome.message', { name: 'Ada', plan: 'pro', goals: ['ship'], 'first-login': true }, { variant: 'fr', key: 'user-1' });",
  "anvil.prompt('core/hello', { who: 'you' });",
  "anvil.prompt('onboarding/hello', { team: 'core' });",
  '// No input schema, or every variable optional: the variables may be left out.',
  "anvil.prompt('greeting');",
  "anvil.prompt('farewell');",
  "anvil.prompt('core/farewell', { name: 'Ada' });",
  "anvil.prompt('farewell', undefined, { tags: { locale: 'fr' } });",
  "export const messages = anvil.messages('order', { order: { id: 7, lines: ['a'] }, channel: 'sms', meta: { source: 'web' } });",
  "anvil.messages('greeting');",
  "anvil.template('welcome.message', { variant: 'fr' });",
  "anvil.template('core/hello');",
  '// exactOptionalPropertyTypes: an option given as undefined is an option not given.',
  "declare const user: { id: string } | undefined;",
  "anvil.track('onboarding/order', { key: user?.id });",
  'const prompt: PromptFunction = anvil.prompt.bind(anvil);',
  "prompt('welcome.message', { name: 'Ada' });",
  'const store = new PromptStore();',
  "store.render('welcome.message', { name: 'Ada' }, undefined, { context: { state: 1 } });",
  "store.messages('greeting');",
  "store.track('order', { variant: undefined });",
  "const id: PromptId = 'onboarding/order';",
  "const vars: PromptVars<'welcome.message'> = { name: 'Ada' };",
  "const options: PromptCallOptions<'welcome.message'> = { variant: 'fr' };",
  "anvil.prompt('welcome.message', vars, options);",
  'anvil.track(id);',
  '',
].join('\n');

/** Each a call that must fail to compile, with what the diagnostic must say. */
const FAILURES: { what: string; call: string; message: RegExp }[] = [
  { what: 'a misspelt id', call: "anvil.prompt('welcome.mesage', { name: 'Ada' });", message: /^Argument of type '"welcome\.mesage"' is not assignable to parameter of type '"core\/farewell" \| .*"welcome\.message".*'\.$/ },
  { what: 'a misspelt id in messages()', call: "anvil.messages('welcome.mesage', { name: 'Ada' });", message: /'"welcome\.mesage"' is not assignable to parameter of type '.*"welcome\.message"/ },
  { what: 'a misspelt id in template()', call: "anvil.template('onboarding/welcome.mesage');", message: /'"onboarding\/welcome\.mesage"' is not assignable to parameter of type '.*"onboarding\/welcome\.message"/ },
  { what: 'a misspelt id in track()', call: "anvil.track('welcome.mesage');", message: /'"welcome\.mesage"' is not assignable to parameter/ },
  { what: 'a misspelt id in PromptStore.render()', call: "new PromptStore().render('welcome.mesage', { name: 'Ada' });", message: /'"welcome\.mesage"' is not assignable to parameter/ },
  { what: 'a misspelt id through PromptFunction', call: "(anvil.prompt as PromptFunction)('welcome.mesage', { name: 'Ada' });", message: /'"welcome\.mesage"' is not assignable to parameter/ },
  { what: 'an id two sets share, without its set', call: "anvil.prompt('hello', { who: 'you' });", message: /^Argument of type '"hello"' is not assignable to parameter/ },
  { what: 'a variable of the wrong type', call: "anvil.prompt('welcome.message', { name: 42 });", message: /^Type 'number' is not assignable to type 'string'\.$/ },
  { what: 'a variable of the wrong type in messages()', call: "anvil.messages('order', { order: { id: '7' } });", message: /^Type 'string' is not assignable to type 'number'\.$/ },
  { what: 'a value outside an enum', call: "anvil.prompt('welcome.message', { name: 'Ada', plan: 'gold' });", message: /^Type '"gold"' is not assignable to type '"free" \| "pro"'\.$/ },
  { what: 'a variable the prompt does not declare', call: "anvil.prompt('core/hello', { who: 'you', whom: 'me' });", message: /'whom' does not exist in type '\{ who: string; \}'/ },
  { what: 'a missing required variable', call: "anvil.prompt('welcome.message', { plan: 'pro' });", message: /Property 'name' is missing in type '\{ plan: "pro"; \}'/ },
  { what: 'a missing required variable in messages()', call: "anvil.messages('core/hello', {});", message: /Property 'who' is missing/ },
  { what: 'no variables for a prompt that requires one', call: "anvil.prompt('welcome.message');", message: /^Expected 2-3 arguments, but got 1\.$/ },
  { what: 'no variables in messages() for a prompt that requires one', call: "anvil.messages('order');", message: /^Expected 2-3 arguments, but got 1\.$/ },
  { what: 'no variables in PromptStore.render() for a prompt that requires one', call: "new PromptStore().render('core/hello');", message: /^Expected 2-4 arguments, but got 1\.$/ },
  { what: 'a variant the prompt does not have', call: "anvil.prompt('welcome.message', { name: 'Ada' }, { variant: 'de' });", message: /^Type '"de"' is not assignable to type '"fr"'\.$/ },
  { what: 'a variant of a prompt without variants', call: "anvil.template('greeting', { variant: 'fr' });", message: /is not assignable to type 'undefined'/ },
];

const fileOf = (index: number): string => `fails-${String(index + 1).padStart(2, '0')}.ts`;

/** The app's tsconfig, as plain `tsc` reads it: none of this repository's settings. */
function appOptions(resolution: 'nodenext' | 'bundler'): ts.CompilerOptions {
  const { options, errors } = ts.convertCompilerOptionsFromJson({
    target: 'es2022',
    lib: ['es2023'],
    ...(resolution === 'nodenext' ? { module: 'nodenext', moduleResolution: 'nodenext' } : { module: 'preserve', moduleResolution: 'bundler' }),
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noEmit: true,
    types: ['node'],
    typeRoots: [path.join(ROOT, 'node_modules/@types')],
  }, ROOT);
  expect(errors).to.deep.equal([]);
  return options;
}

describe('anvil types: calls on the built @anvil/client are checked', function () {
  let dir: string;
  const programs = new Map<string, ts.Program>();

  before(async function () {
    await requireBuiltClient();
    dir = await mkdtemp(path.join(os.tmpdir(), 'anvil-app-'));
    await writeFile(path.join(dir, 'package.json'), '{"type": "module"}\n');
    // As `npm install` would leave it: the package folder, resolved through its `exports`.
    await mkdir(path.join(dir, 'node_modules/@anvil'), { recursive: true });
    await symlink(path.join(ROOT, 'client'), path.join(dir, 'node_modules/@anvil/client'), 'junction');
    await writeFile(path.join(dir, 'anvil-prompts.d.ts'), generatePromptTypes({ from: 'test', sets: await typedSets(REPO) }));
    await writeFile(path.join(dir, 'ok.ts'), OK);
    for (const [i, { call }] of FAILURES.entries()) await writeFile(path.join(dir, fileOf(i)), app(call));

    const apps = ['ok.ts', ...FAILURES.map((_, i) => fileOf(i))].map((f) => path.join(dir, f));
    const typed = [path.join(dir, 'anvil-prompts.d.ts'), ...apps];
    programs.set('nodenext', ts.createProgram(typed, appOptions('nodenext')));
    programs.set('bundler', ts.createProgram(typed, appOptions('bundler')));
    programs.set('untyped', ts.createProgram(apps, appOptions('nodenext')));
  });
  after(async function () {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function diagnostics(program: ts.Program, file: string): { line: number; message: string }[] {
    const source = program.getSourceFile(path.isAbsolute(file) ? file : path.join(dir, file));
    if (!source) throw new Error(`${file} is not in the program`);
    return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map((d) => ({
      line: source.getLineAndCharacterOfPosition(d.start ?? 0).line + 1,
      message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    }));
  }

  for (const setting of ['nodenext', 'bundler'] as const) {
    it(`${setting}: @anvil/client resolves to client/dist, and the declarations compile without skipLibCheck`, function () {
      const program = programs.get(setting)!;
      expect(program.getOptionsDiagnostics()).to.deep.equal([]);
      expect(program.getGlobalDiagnostics()).to.deep.equal([]);
      const files = program.getSourceFiles().map((f) => f.fileName);
      expect(files).to.include(path.join(ROOT, 'client/dist/index.d.ts').split(path.sep).join('/'));
      expect(files.filter((f) => f.includes('/client/src/'))).to.deep.equal([]);
      const published = files.filter((f) => /\/(client|content-schema)\/dist\//.test(f));
      expect(published.flatMap((f) => diagnostics(program, f).map((d) => `${f}:${d.line} ${d.message}`))).to.deep.equal([]);
      expect(diagnostics(program, 'anvil-prompts.d.ts')).to.deep.equal([]);
    });

    it(`${setting}: correct calls compile, variables left out where none is required`, function () {
      expect(diagnostics(programs.get(setting)!, 'ok.ts')).to.deep.equal([]);
    });
  }

  for (const [i, { what, call, message }] of FAILURES.entries()) {
    it(`${what} fails to compile: ${call}`, function () {
      for (const setting of ['nodenext', 'bundler']) {
        const found = diagnostics(programs.get(setting)!, fileOf(i));
        expect(found, `${setting}: ${JSON.stringify(found)}`).to.have.length(1);
        expect(found[0]?.line, setting).to.equal(3);
        expect(found[0]?.message, setting).to.match(message);
      }
    });
  }

  it('without the generated declarations, every one of those calls compiles', function () {
    const untyped = programs.get('untyped')!;
    expect(untyped.getSourceFiles().map((f) => f.fileName).filter((f) => f.endsWith('anvil-prompts.d.ts'))).to.deep.equal([]);
    expect(diagnostics(untyped, 'ok.ts')).to.deep.equal([]);
    for (const [i, { call }] of FAILURES.entries()) expect(diagnostics(untyped, fileOf(i)), call).to.deep.equal([]);
  });
});
