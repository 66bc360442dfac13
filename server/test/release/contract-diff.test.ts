import { expect } from 'chai';
import type { Bundle } from '@anvil/content-schema';
import { diffContract, type ContractDiff } from '../../src/release/contract-diff.ts';

type Contract = Pick<Bundle, 'prompts' | 'partials' | 'mode' | 'dependencies'>;

function prompt(schema?: Record<string, unknown>, extra: { template?: string; default?: Record<string, unknown>; variants?: Bundle['prompts'][string]['variants']; output?: Record<string, unknown>; model?: string } = {}): Bundle['prompts'][string] {
  const input = schema || extra.default ? { ...(schema ? { schema } : {}), ...(extra.default ? { default: extra.default } : {}) } : undefined;
  return {
    template: extra.template ?? 'Hi {{name}}',
    metadata: { config: {}, metadata: {}, ext: {}, ...(input ? { input } : {}), ...(extra.output ? { output: extra.output } : {}), ...(extra.model ? { model: extra.model } : {}) },
    variants: extra.variants ?? {},
  };
}

function set(prompts: Contract['prompts'], more: Partial<Contract> = {}): Contract {
  return { prompts, partials: {}, mode: 'review', dependencies: {}, ...more };
}

const obj = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', properties, required });

function codes(diff: ContractDiff): string[] {
  return diff.changes.map((c) => `${c.impact} ${c.code}`);
}

describe('the prompt contract diff (semver impact)', function () {
  const base = set({ 'welcome.message': prompt(obj({ name: { type: 'string' } }, ['name'])) });

  it('sees no change between identical sets', function () {
    expect(diffContract(base, base)).to.deep.equal({ impact: 'none', changes: [] });
  });

  it('calls a body-only change a patch', function () {
    const after = set({ 'welcome.message': prompt(obj({ name: { type: 'string' } }, ['name']), { template: 'Hello {{name}}' }) });
    const diff = diffContract(base, after);
    expect(diff.impact).to.equal('patch');
    expect(codes(diff)).to.deep.equal(['patch prompt.body']);
  });

  it('calls a removed prompt major and a new prompt minor', function () {
    expect(diffContract(base, set({})).impact).to.equal('major');
    const added = diffContract(base, set({ ...base.prompts, 'error.not_found': prompt() }));
    expect(added.impact).to.equal('minor');
    expect(codes(added)).to.deep.equal(['minor prompt.added']);
  });

  it('calls a new required input major, and a new optional one minor', function () {
    const required = set({ 'welcome.message': prompt(obj({ name: { type: 'string' }, plan: { type: 'string' } }, ['name', 'plan'])) });
    expect(codes(diffContract(base, required))).to.deep.equal(['major input.required-added']);
    const optional = set({ 'welcome.message': prompt(obj({ name: { type: 'string' }, plan: { type: 'string' } }, ['name'])) });
    expect(codes(diffContract(base, optional))).to.deep.equal(['minor input.added']);
  });

  it('does not count an input with a default as required', function () {
    const withDefault = set({ 'welcome.message': prompt(obj({ name: { type: 'string' }, plan: { type: 'string' } }, ['name', 'plan']), { default: { plan: 'free' } }) });
    expect(diffContract(base, withDefault).impact).to.equal('minor');
    // …and taking the default away makes it required.
    const noDefault = set({ 'welcome.message': prompt(obj({ name: { type: 'string' }, plan: { type: 'string' } }, ['name', 'plan'])) });
    expect(codes(diffContract(withDefault, noDefault))).to.include('major input.now-required');
  });

  it('calls a narrowed type major and a widened one minor', function () {
    const wide = set({ 'p': prompt(obj({ n: { type: ['string', 'number'] } })) });
    const narrow = set({ 'p': prompt(obj({ n: { type: 'string' } })) });
    expect(codes(diffContract(wide, narrow))).to.deep.equal(['major input.narrowed']);
    expect(codes(diffContract(narrow, wide))).to.deep.equal(['minor input.widened']);
  });

  it('judges enums, bounds and patterns by what they accept', function () {
    const abc = set({ p: prompt(obj({ t: { type: 'string', enum: ['a', 'b', 'c'] } })) });
    const ab = set({ p: prompt(obj({ t: { type: 'string', enum: ['a', 'b'] } })) });
    expect(diffContract(abc, ab).impact).to.equal('major');
    expect(diffContract(ab, abc).impact).to.equal('minor');

    const short = set({ p: prompt(obj({ t: { type: 'string', maxLength: 10 } })) });
    const long = set({ p: prompt(obj({ t: { type: 'string', maxLength: 20 } })) });
    expect(diffContract(long, short).impact).to.equal('major');
    expect(diffContract(short, long).impact).to.equal('minor');

    const free = set({ p: prompt(obj({ t: { type: 'string' } })) });
    const patterned = set({ p: prompt(obj({ t: { type: 'string', pattern: '^[a-z]+$' } })) });
    expect(diffContract(free, patterned).impact).to.equal('major');
  });

  it('looks into nested objects and array items', function () {
    const before = set({ p: prompt(obj({ user: obj({ name: { type: 'string' } }, ['name']), tags: { type: 'array', items: { type: 'string' } } })) });
    const nestedRequired = set({ p: prompt(obj({ user: obj({ name: { type: 'string' }, email: { type: 'string' } }, ['name', 'email']), tags: { type: 'array', items: { type: 'string' } } })) });
    expect(codes(diffContract(before, nestedRequired))).to.deep.equal(['major input.required-added']);
    expect(diffContract(before, nestedRequired).changes[0]!.message).to.contain('user.email');
    const itemsNarrowed = set({ p: prompt(obj({ user: obj({ name: { type: 'string' } }, ['name']), tags: { type: 'array', items: { type: 'string', enum: ['x'] } } })) });
    expect(diffContract(before, itemsNarrowed).changes[0]!.message).to.contain('tags[]');
  });

  it('treats a description-only schema change as a patch', function () {
    const documented = set({ 'welcome.message': prompt(obj({ name: { type: 'string', description: 'first name' } }, ['name'])) });
    expect(codes(diffContract(base, documented))).to.deep.equal(['patch input.docs']);
  });

  it('calls removed partials major (dependent sets include them) and changed ones a patch', function () {
    const withPartial = set({}, { partials: { signature: '— The team' } });
    expect(diffContract(withPartial, set({})).impact).to.equal('major');
    expect(diffContract(set({}), withPartial).impact).to.equal('minor');
    expect(diffContract(withPartial, set({}, { partials: { signature: '— Us' } })).impact).to.equal('patch');
  });

  it('compares variants: added or removed is minor, their inputs are judged like the base', function () {
    const variant = (schema: Record<string, unknown>) => ({ template: 'Bonjour {{name}}', tags: { locale: 'fr' }, metadata: prompt(schema).metadata });
    const plain = set({ m: prompt(obj({ name: { type: 'string' } }, ['name'])) });
    const fr = set({ m: prompt(obj({ name: { type: 'string' } }, ['name']), { variants: { fr: variant(obj({ name: { type: 'string' } }, ['name'])) } }) });
    expect(codes(diffContract(plain, fr))).to.deep.equal(['minor variant.added']);
    expect(codes(diffContract(fr, plain))).to.deep.equal(['minor variant.removed']);
    const frStricter = set({ m: prompt(obj({ name: { type: 'string' } }, ['name']), { variants: { fr: variant(obj({ name: { type: 'string' }, title: { type: 'string' } }, ['name', 'title'])) } }) });
    const diff = diffContract(fr, frStricter);
    expect(diff.impact).to.equal('major');
    expect(diff.changes[0]!.subject).to.equal('m (fr)');
  });

  it('calls a changed output format major and model changes a patch', function () {
    const json = set({ p: prompt(undefined, { output: { format: 'json' } }) });
    expect(diffContract(set({ p: prompt() }), json).impact).to.equal('major');
    expect(codes(diffContract(set({ p: prompt() }), set({ p: prompt(undefined, { model: 'gpt-4o' }) })))).to.deep.equal(['patch prompt.metadata']);
  });

  it('notes mode and dependency version changes as patches', function () {
    const diff = diffContract(set({}), set({}, { mode: 'locked', dependencies: { core: '1.1.0' } }));
    expect(codes(diff)).to.deep.equal(['patch set.mode', 'patch set.dependency']);
  });
});
