/**
 * Compiling on every core (issue 13) changes where prompts are compiled, never what comes out:
 * the same outcomes, problems with their files, lines, columns and hints included, as one
 * thread — when workers compile, when they fail, and when a build reuses cached prompts.
 */
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { canonicalJson } from '@anvil/content-schema';
import type { BuildCacheEntry } from '../../src/build/build-cache.ts';
import { buildSet, type BuildSetOptions } from '../../src/build/build-set.ts';
import { compileForBuild } from '../../src/build/compile-for-build.ts';
import { compileInThreads, type PromptJob } from '../../src/build/compile-in-threads.ts';
import { compileSet } from '../../src/build/compile-set.ts';
import { partialScope } from '../../src/build/partial-scope.ts';
import { loadRepo, type PartialFile } from '../../src/load/load-repo.ts';
import { memorySnapshot } from '../../src/repo/snapshot.ts';

const PARTIALS: PartialFile[] = [
  { file: 'prompts/s/_signature.md', name: 'signature', source: '— {{company}}' },
  { file: 'prompts/s/_broken.md', name: 'broken', source: 'oops {{#if x}}' },
  { file: 'prompts/s/_loop.md', name: 'loop', source: 'a {{> pool}}' },
  { file: 'prompts/s/_pool.md', name: 'pool', source: 'b {{> loop}}' },
  { file: 'prompts/s/_uses-broken.md', name: 'uses-broken', source: 'x {{> broken}}' },
];

/** Prompts that compile, and every kind of error, some of them twice. */
const SOURCES: Record<string, string> = {
  'ok.md': '---\ninput:\n  schema:\n    name: string\n---\nHi {{name}} {{> signature}}',
  'syntax.md': '---\nmodel: m\n---\nline one\nHi {{name}',
  'helper.md': 'Hi {{shout name}}',
  'typo.md': 'Hi {{> signatur}}',
  'far.md': 'Hi {{> nowhere/at-all}}',
  'broken-1.md': '{{> broken}}',
  'broken-2.md': 'again {{> uses-broken}}',
  'cycle.md': '{{> loop}}',
  'fallback.md': '{{#> missing}}fine{{/missing}}',
  'front.md': '---\ninput: [\n---\nbody',
  'unclosed.md': '{{#each items}}{{this}}',
};

function jobs(copies: number): PromptJob[] {
  const out: PromptJob[] = [];
  for (let i = 0; i < copies; i++) {
    for (const [name, source] of Object.entries(SOURCES)) out.push({ file: `prompts/s/${i}/${name}`, source });
  }
  return out;
}

const scope = partialScope({ partials: PARTIALS, config: { dependencies: {} } as never }, {});

describe('compiling in worker threads', function () {
  this.timeout(60_000);

  it('gives the outcomes of one thread, problems and hints included', async function () {
    const all = jobs(20);
    const serial = await compileInThreads(scope, all, 1);
    const threaded = await compileInThreads(scope, all, 3, { workersOnly: true });
    expect(threaded.workers).to.be.greaterThan(0); // workers did compile (however many had started)
    expect(threaded.outcomes).to.deep.equal(serial.outcomes);
    const problems = serial.outcomes.flatMap((o) => o.problems ?? []);
    expect(problems.find((p) => p.code === 'template.unknown-partial' && p.message.includes('signatur'))?.hint).to.equal('did you mean "signature"?');
    expect(new Set(problems.map((p) => p.code))).to.include.members([
      'template.syntax', 'template.unknown-helper', 'template.unknown-partial', 'template.unclosed-block', 'template.partial-cycle',
    ]);
  });

  it('compiles what a failing worker had on the main thread, with the same outcomes', async function () {
    const all = jobs(6);
    const serial = await compileInThreads(scope, all, 1);
    const failing: [string, string][] = [
      ['exits at once', 'process.exit(3)'],
      ['throws on its first batch', `const { parentPort } = require('node:worker_threads');
        parentPort.on('message', () => { throw new Error('boom'); });
        parentPort.postMessage({ ready: true });`],
      ['answers the wrong batch', `const { parentPort } = require('node:worker_threads');
        parentPort.on('message', (m) => parentPort.postMessage({ start: m.start + 1, outcomes: [] }));
        parentPort.postMessage({ ready: true });`],
      ['cannot start', 'import("./no-such-module.js")'],
    ];
    for (const [what, code] of failing) {
      const failed = await compileInThreads(scope, all, 3, { workersOnly: true, startWorker: () => new Worker(code, { eval: true }) });
      expect(failed.outcomes, what).to.deep.equal(serial.outcomes);
      expect([failed.threads, failed.workers], what).to.deep.equal([1, 0]);
    }
  });

  it('keeps its workers for the next build, which brings its own partials', async function () {
    const job = [{ file: 'prompts/s/a.md', source: 'A {{> shared}}' }];
    const many = Array.from({ length: 40 }, () => job[0]!);
    for (const source of ['fine', 'broken {{#if}}', 'fine again']) {
      const own = partialScope({ partials: [{ file: 'prompts/s/_shared.md', name: 'shared', source }], config: { dependencies: {} } as never }, {});
      const threaded = await compileInThreads(own, many, 2, { workersOnly: true });
      expect(threaded.workers, source).to.equal(1);
      expect(threaded.outcomes, source).to.deep.equal((await compileInThreads(own, many, 1)).outcomes);
    }
  });

  it('reports what lint reports, cold, in threads and from the cache', async function () {
    const files: Record<string, string> = {
      'prompts/s/set.yaml': 'mode: live\n',
      ...Object.fromEntries(PARTIALS.map((p) => [p.file, p.source])),
      ...Object.fromEntries(Object.entries(SOURCES).map(([name, source]) => [`prompts/s/${name}`, source])),
    };
    const repo = await loadRepo(memorySnapshot(files));
    const set = repo.sets[0]!;
    const lint = compileSet(set).problems;
    expect(lint.length).to.be.greaterThan(8);
    const build = (extra: Partial<BuildSetOptions>) => buildSet({
      project: 'acme', repo, set: 's', version: '1.0.0', stage: 'release',
      source: { commit: 'c'.repeat(40), tag: 's@1.0.0', committedAt: '2026-01-02T03:04:05Z', tree: 'a'.repeat(40) },
      releases: {}, dependencyPartials: async () => undefined, ...extra,
    });
    const serial = await build({ threads: 1 });
    expect(serial.problems).to.deep.equal(lint);
    expect((await build({ threads: 3 })).problems).to.deep.equal(lint);
    const direct = await compileForBuild({ set, scope: async () => ({ scope: partialScope(set, {}), partials: set.partials }), pack: () => undefined, threads: 1 });
    expect(direct.problems).to.deep.equal(lint);

    // A cache from a build of the same set without its broken prompts: they compile anew and
    // say the same; the clean ones come from the cache.
    const store = new Map<string, BuildCacheEntry>();
    const cache = { get: (k: string) => store.get(k), set: (k: string, v: BuildCacheEntry) => void store.set(k, v) };
    const clean: Record<string, string> = { 'prompts/s/set.yaml': 'mode: live\n', 'prompts/s/_signature.md': PARTIALS[0]!.source, 'prompts/s/ok.md': SOURCES['ok.md']!, 'prompts/s/fallback.md': SOURCES['fallback.md']! };
    const first = await buildSet({ ...(await cleanOptions(clean)), cache });
    expect(first.bundle).to.not.equal(undefined);
    const cached = await build({ cache, source: { commit: 'c'.repeat(40), tag: 's@1.0.0', committedAt: '2026-01-02T03:04:05Z', tree: 'b'.repeat(40) } });
    expect(cached.compiled).to.equal(Object.keys(SOURCES).length - 2);
    expect(cached.problems).to.deep.equal(lint);
  });

  it('gives the same bundle from workers as from one thread', async function () {
    const files: Record<string, string> = { 'prompts/s/set.yaml': 'mode: live\n', 'prompts/s/_signature.md': '— {{company}}' };
    for (let i = 0; i < 300; i++) files[`prompts/s/p${i}.md`] = `---\nmodel: m${i % 7}\ninput:\n  schema:\n    name: string\n---\nHi {{name}} ${i}${i % 3 ? '' : ' {{> signature}}'}`;
    const options = await cleanOptions(files);
    const serial = await buildSet({ ...options, threads: 1 });
    const all = options.repo.sets[0]!.prompts.map((p) => ({ file: p.file, source: p.source }));
    const threaded = await compileInThreads(partialScope(options.repo.sets[0]!, {}), all, 3, { workersOnly: true });
    expect(threaded.workers).to.be.greaterThan(0);
    expect(threaded.outcomes).to.deep.equal((await compileInThreads(partialScope(options.repo.sets[0]!, {}), all, 1)).outcomes);
    const built = await buildSet({ ...options, threads: 3 });
    expect(canonicalJson(built.bundle)).to.equal(canonicalJson(serial.bundle));
  });
});

async function cleanOptions(files: Record<string, string>): Promise<BuildSetOptions> {
  return {
    project: 'acme', repo: await loadRepo(memorySnapshot(files)), set: 's', version: '1.0.0', stage: 'release',
    source: { commit: 'c'.repeat(40), tag: 's@1.0.0', committedAt: '2026-01-02T03:04:05Z', tree: 'f'.repeat(40) },
    releases: {}, dependencyPartials: async () => undefined,
  };
}
