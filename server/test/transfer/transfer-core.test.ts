/** The pure parts of import/export: archive format and reading, the import plan, conversions. */
import { expect } from 'chai';
import { validateArchive, type Archive } from '@anvil/content-schema';
import { loadRepo } from '../../src/load/load-repo.ts';
import { memorySnapshot } from '../../src/repo/snapshot.ts';
import { buildArchive, formatArchive } from '../../src/transfer/build-archive.ts';
import { convertContent } from '../../src/transfer/from-github-models.ts';
import { incomingFromArchive } from '../../src/transfer/incoming.ts';
import { jsonSyntaxErrorOffset, positionAt } from '../../src/transfer/json-position.ts';
import { adaptModeline, planImport, type ImportTarget } from '../../src/transfer/plan-import.ts';
import { readArchive } from '../../src/transfer/read-archive.ts';
import { renamePartialReferences } from '../../src/transfer/rename-references.ts';

const COMMIT = 'c'.repeat(40);

function sampleArchive(files: Record<string, Record<string, string>> = {
  core: { 'set.yaml': 'mode: locked\n', '_signature.md': '— Acme' },
  onboarding: { 'set.yaml': 'dependencies:\n  core: ^1.0.0\n', 'welcome.md': 'Hi {{> core/signature}}', 'welcome.fr.md': 'Salut {{> core/signature}}' },
}): Archive {
  return buildArchive({
    what: { kind: 'set', set: 'onboarding' },
    project: 'acme',
    repository: '@acme',
    source: { commit: COMMIT, committedAt: '2024-01-01T00:00:00Z', dirty: false },
    sets: Object.entries(files).map(([name, set]) => ({
      name, version: '1.0.0', stage: 'release' as const, tag: `${name}@1.0.0`, commit: COMMIT,
      role: name === 'onboarding' ? 'requested' as const : 'dependency' as const,
      contents: name === 'onboarding' ? 'all' as const : 'partials' as const,
      dependencies: name === 'onboarding' ? { core: '^1.0.0' } : {},
      files: set,
    })),
  });
}

async function targetOf(files: Record<string, string>, releases: Record<string, string[]> = {}): Promise<ImportTarget> {
  const repo = await loadRepo(memorySnapshot(files));
  return { promptsDir: 'prompts', sets: repo.sets, releases, files: new Set(Object.keys(files)), schemaCopies: false };
}

describe('export archives (anvil.archive/1)', function () {
  it('are deterministic, valid, and read back as they were written', function () {
    const archive = sampleArchive();
    expect(formatArchive(sampleArchive())).to.equal(formatArchive(archive));
    expect(validateArchive(archive).errors).to.deep.equal([]);
    const read = readArchive(formatArchive(archive), 'a.json');
    expect(read.problems).to.deep.equal([]);
    expect(read.archive).to.deep.equal(archive);
    expect(Object.keys(archive.manifest.sets['onboarding']!.files)).to.deep.equal(['set.yaml', 'welcome.fr.md', 'welcome.md']);
  });

  it('say when their parts disagree: files not listed, listed but missing, a dependency not held', function () {
    const archive = structuredClone(sampleArchive()) as Archive;
    archive.files['core']!['extra.md'] = 'x';
    delete archive.files['onboarding']!['welcome.md'];
    delete (archive.manifest.sets as Record<string, unknown>)['core'];
    delete (archive.files as Record<string, unknown>)['core'];
    archive.files['ghost'] = { 'set.yaml': '' };
    const codes = validateArchive(archive).errors.map((e) => `${e.code} ${e.path}`);
    expect(codes).to.include.members([
      'archive.missing-dependency /manifest/sets/onboarding/dependencies/core',
      'archive.missing-file /manifest/sets/onboarding/files/welcome.md',
      'archive.unlisted-file /files/ghost/set.yaml',
    ]);
  });

  it('refuse paths that could leave the set folder', function () {
    const archive = sampleArchive({ core: { 'set.yaml': '', '../../evil.md': 'x' } });
    const result = validateArchive({ ...archive, manifest: { ...archive.manifest, what: { kind: 'project' } } });
    expect(result.ok).to.equal(false);
    expect(result.errors.map((e) => `${e.code} ${e.path}`)).to.deep.equal([
      'schema.invalid-key /manifest/sets/core/files/..~1..~1evil.md',
      'schema.invalid-key /files/core/..~1..~1evil.md',
    ]);
  });

  it('locate a JSON syntax error where Node does not say', function () {
    for (const [text, offset] of [['{"a": x}', 6], ['{"a": 1,}', 8], ['[1, 2', 5], ['{"a": "\u0001"}', 7], ['{} extra', 3], ['{"a": [true, nul]}', 16]] as const) {
      expect(jsonSyntaxErrorOffset(text), text).to.equal(offset);
    }
    expect(jsonSyntaxErrorOffset('{"a": [1, -2.5e3, "\\u00e9", null]}')).to.equal(undefined);
    expect(positionAt('ab\ncd\nef', 7)).to.deep.equal({ line: 3, column: 2 });
  });
});

describe('the import plan', function () {
  it('creates what is new, leaves what is identical, and stops at a conflict when no policy is chosen', async function () {
    const incoming = incomingFromArchive(sampleArchive(), 'a.json');
    const fresh = planImport(incoming, await targetOf({}), undefined);
    expect(fresh.files.map((f) => `${f.action} ${f.file}`)).to.deep.equal([
      'create prompts/core/_signature.md', 'create prompts/core/set.yaml',
      'create prompts/onboarding/set.yaml', 'create prompts/onboarding/welcome.fr.md', 'create prompts/onboarding/welcome.md',
    ]);

    const same = await targetOf(Object.fromEntries(fresh.files.map((f) => [f.file, f.text!])));
    expect(planImport(incoming, same, undefined).files.every((f) => f.action === 'unchanged')).to.equal(true);

    const changed = await targetOf({ ...Object.fromEntries(fresh.files.map((f) => [f.file, f.text!])), 'prompts/onboarding/welcome.md': 'Yo' });
    const stopped = planImport(incoming, changed, undefined);
    expect(stopped.conflicts.map((p) => p.file)).to.deep.equal(['prompts/onboarding/welcome.md']);
    expect(stopped.files.filter((f) => f.action !== 'unchanged').map((f) => `${f.action} ${f.file}`)).to.deep.equal(['conflict prompts/onboarding/welcome.md']);
    // A prompt is one unit: renamed, its identical variant goes with it.
    expect(planImport(incoming, changed, 'rename').files.filter((f) => f.action === 'rename').map((f) => f.file)).to.deep.equal([
      'prompts/onboarding/welcome-imported.fr.md', 'prompts/onboarding/welcome-imported.md',
    ]);
  });

  it('renames a prompt with all its variants, and a partial where the imported files include it', async function () {
    const incoming = incomingFromArchive(sampleArchive(), 'a.json');
    const target = await targetOf({
      'prompts/core/set.yaml': 'mode: locked\n',
      'prompts/core/_signature.md': '— Beta',
      'prompts/core/_signature-imported.md': 'taken',
      'prompts/onboarding/set.yaml': 'dependencies:\n  core: ^1.0.0\n',
      'prompts/onboarding/welcome.md': 'Yo {{> core/signature}}',
    });
    const plan = planImport(incoming, target, 'rename');
    expect(plan.renames).to.deep.equal([
      { set: 'core', kind: 'partial', from: 'signature', to: 'signature-imported-2' },
      { set: 'onboarding', kind: 'prompt', from: 'welcome', to: 'welcome-imported' },
    ]);
    const written = Object.fromEntries(plan.files.filter((f) => f.text !== undefined).map((f) => [f.file, f.text]));
    expect(written).to.deep.equal({
      'prompts/core/_signature-imported-2.md': '— Acme',
      'prompts/onboarding/welcome-imported.md': 'Hi {{> core/signature-imported-2}}',
      'prompts/onboarding/welcome-imported.fr.md': 'Salut {{> core/signature-imported-2}}',
    });
  });

  it('reports a dependency range none of the target\'s releases satisfies, at its line', async function () {
    const plan = planImport(incomingFromArchive(sampleArchive(), 'a.json'), await targetOf({}, { core: ['2.0.0', '2.1.0'] }), undefined);
    expect(plan.versionConflicts).to.have.length(1);
    expect(plan.versionConflicts[0]).to.include({ code: 'import.version-conflict', file: 'prompts/onboarding/set.yaml', line: 2, column: 3 });
    expect(plan.versionConflicts[0]!.message).to.include('releases: 2.0.0, 2.1.0');
    expect(planImport(incomingFromArchive(sampleArchive(), 'a.json'), await targetOf({}, { core: ['1.4.0'] }), undefined).versionConflicts).to.deep.equal([]);
  });

  it('points a set.yaml modeline at the target\'s schema copy, or drops it', function () {
    const text = '# yaml-language-server: $schema=../../../.anvil/schemas/set.schema.json\nmode: live\n';
    expect(adaptModeline(text, 'prompts/core', true)).to.equal('# yaml-language-server: $schema=../../.anvil/schemas/set.schema.json\nmode: live\n');
    expect(adaptModeline(text, 'core', true)).to.equal('# yaml-language-server: $schema=../.anvil/schemas/set.schema.json\nmode: live\n');
    expect(adaptModeline(text, 'prompts/core', false)).to.equal('mode: live\n');
  });
});

describe('conversions', function () {
  it('keep GitHub Models placeholders as variables and everything else as text', function () {
    const vars: string[] = [];
    expect(convertContent('Hi {{name}}, {{ spaced }} {{#if x}} {{json}} {{name}}', vars)).to.equal('Hi {{name}}, \\{{ spaced }} \\{{#if x}} {{this.json}} {{name}}');
    expect(vars).to.deep.equal(['name', 'json']);
  });

  it('rename partial includes, blocks and quoted names, and nothing else', function () {
    const renames = new Map([['sig', 'sig-imported'], ['core/sig', 'core/sig-imported']]);
    expect(renamePartialReferences('{{> sig}} {{~> core/sig name=x}} {{#> sig}}body{{/sig}} {{> "sig"}} {{> signature}} {{sig}}', renames))
      .to.equal('{{> sig-imported}} {{~> core/sig-imported name=x}} {{#> sig-imported}}body{{/sig-imported}} {{> "sig-imported"}} {{> signature}} {{sig}}');
  });
});
