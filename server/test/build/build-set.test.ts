import { expect } from 'chai';
import { canonicalJson, validateBundle, verifyBundleIntegrity } from '@anvil/content-schema';
import type { BuildCacheEntry } from '../../src/build/build-cache.ts';
import { buildSet, type BuildCache, type BuildSetOptions } from '../../src/build/build-set.ts';
import { loadRepo } from '../../src/load/load-repo.ts';
import { memorySnapshot } from '../../src/repo/snapshot.ts';

const FILES: Record<string, string> = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/core/set.yaml': 'mode: locked\n',
  'prompts/core/_signature.md': '— The {{company}} team',
  'prompts/onboarding/set.yaml': 'mode: review\ndependencies:\n  core: ^1.0.0\n',
  'prompts/onboarding/welcome/message.md': '---\nmodel: m\ninput:\n  schema:\n    name: string\n    company?: string\n---\nHi {{name}}\n{{> core/signature}}',
  'prompts/onboarding/welcome/message.fr.md': '---\ntags: {locale: fr}\n---\nSalut {{name}}',
  'prompts/onboarding/_tip.md': 'Tip!',
};
const SOURCE = { commit: 'c'.repeat(40), tag: 'onboarding@1.2.0', committedAt: '2026-01-02T03:04:05Z', tree: 't'.repeat(40).replace(/t/g, 'a') };

async function options(files = FILES, extra: Partial<BuildSetOptions> = {}): Promise<BuildSetOptions> {
  const core = await loadRepo(memorySnapshot(files));
  return {
    project: 'acme', repo: await loadRepo(memorySnapshot(files)), set: 'onboarding', version: '1.2.0', stage: 'release',
    source: SOURCE, releases: { core: ['1.0.0', '1.1.0', '2.0.0'] },
    dependencyPartials: async (set) => core.sets.find((s) => s.name === set)?.partials,
    ...extra,
  };
}

describe('anvil build (buildSet)', function () {
  it('builds a bundle that the schema accepts, with variants, partials and resolved dependencies', async function () {
    const { bundle, problems } = await buildSet(await options());
    expect(problems).to.deep.equal([]);
    expect(validateBundle(bundle).errors).to.deep.equal([]);
    expect(verifyBundleIntegrity(bundle)).to.equal(true);
    expect(bundle!.dependencies).to.deep.equal({ core: '1.1.0' });
    expect(bundle!.repository).to.equal('@acme');
    expect(bundle!.mode).to.equal('review');
    expect(Object.keys(bundle!.prompts)).to.deep.equal(['welcome.message']);
    expect(bundle!.prompts['welcome.message']!.variants['fr']!.tags).to.deep.equal({ locale: 'fr' });
    expect(bundle!.partials).to.deep.equal({ tip: 'Tip!' });
  });

  it('gives byte-identical bundles for the same inputs, whatever the file order', async function () {
    const shuffled = Object.fromEntries(Object.entries(FILES).reverse());
    const a = await buildSet(await options());
    const b = await buildSet(await options(shuffled));
    expect(canonicalJson(a.bundle)).to.equal(canonicalJson(b.bundle));
  });

  it('uses recorded dependency versions instead of resolving again', async function () {
    const { bundle } = await buildSet(await options(FILES, { pinnedDependencies: { core: '1.0.0' } }));
    expect(bundle!.dependencies).to.deep.equal({ core: '1.0.0' });
  });

  it('does not recompile a set whose tree is unchanged (cache hit), and re-stamps it', async function () {
    const store = new Map<string, BuildCacheEntry>();
    const cache: BuildCache = { get: (k) => store.get(k), set: (k, v) => void store.set(k, v) };
    const first = await buildSet(await options(FILES, { cache }));
    // Same tree, new version and commit: reused, but stamped anew.
    const second = await buildSet(await options(FILES, { cache, version: '1.2.1', source: { ...SOURCE, commit: 'd'.repeat(40), tag: 'onboarding@1.2.1' } }));
    expect([first.reused, second.reused]).to.deep.equal([false, true]);
    expect(second.bundle!.version).to.equal('1.2.1');
    expect(second.bundle!.prompts).to.deep.equal(first.bundle!.prompts);
    expect(second.bundle!.integrity).to.not.equal(first.bundle!.integrity);
    // A changed tree is rebuilt.
    const third = await buildSet(await options(FILES, { cache, source: { ...SOURCE, tree: 'b'.repeat(40) } }));
    expect(third.reused).to.equal(false);
  });

  it('refuses to build with errors, and says why', async function () {
    const broken = { ...FILES, 'prompts/onboarding/welcome/message.md': 'Hi {{#if x}}' };
    const result = await buildSet(await options(broken));
    expect(result.bundle).to.equal(undefined);
    expect(result.problems.map((p) => p.code)).to.include('template.unclosed-block');
  });

  it('refuses an unsatisfiable dependency', async function () {
    const result = await buildSet(await options(FILES, { releases: { core: ['3.0.0'] } }));
    expect(result.bundle).to.equal(undefined);
    expect(result.problems.map((p) => p.code)).to.deep.equal(['dependency.unsatisfiable']);
  });

  it('names the sets when asked for one that does not exist', async function () {
    const result = await buildSet(await options(FILES, { set: 'nope' }));
    expect(result.problems[0]!.code).to.equal('build.unknown-set');
    expect(result.problems[0]!.hint).to.include('onboarding');
  });
});
