/**
 * The comparison behind `anvil-live check`, as a table: an app's manifest (what its types let
 * it pass) against served prompts, each case one kind of break or a harmless difference.
 */
import { expect } from 'chai';
import type { Bundle, PromptMetadata } from '@anvil/content-schema';
import { compareContracts, type ServedBundle } from '../../src/compat/compare-contracts.ts';
import { promptContract } from '../../src/compat/prompt-contract.ts';
import { readTypesManifest, typesManifest, typesManifestComment, type TypesManifest } from '../../src/compat/types-manifest.ts';

type Input = PromptMetadata['input'];

const obj = (properties: Record<string, unknown>, required: string[] = [], more: Record<string, unknown> = {}) =>
  ({ type: 'object', properties, required, additionalProperties: false, ...more });

const WELCOME: Input = { schema: obj({ name: { type: 'string' }, plan: { enum: ['free', 'pro'] } }, ['name']) };

function manifest(prompts: Record<string, { input: Input; variants?: string[] }>): TypesManifest {
  return typesManifest('test', Object.entries(prompts).map(([key, p]) => {
    const [set, id] = key.split('/') as [string, string];
    return { set, id, ...promptContract(p.input, p.variants ?? []) };
  }));
}

function served(set: string, version: string, prompts: Record<string, { input: Input; variants?: string[] }>, role: ServedBundle['role'] = 'current'): ServedBundle {
  return {
    set, version, role,
    prompts: Object.fromEntries(Object.entries(prompts).map(([id, p]) => [id, {
      template: '',
      metadata: { config: {}, metadata: {}, ext: {}, ...(p.input ? { input: p.input } : {}) },
      variants: Object.fromEntries((p.variants ?? []).map((v) => [v, { template: '', tags: {}, metadata: { config: {}, metadata: {}, ext: {} } }])),
    }])) as Bundle['prompts'],
  };
}

const app = manifest({ 'onboarding/welcome.message': { input: WELCOME, variants: ['fr'] } });
const codes = (report: ReturnType<typeof compareContracts>) => report.breaks.map((b) => [b.code, b.prompt ?? b.set, b.variable ?? b.variant ?? null]);

describe('compareContracts', function () {
  it('the same contract: ok, nothing to note', function () {
    const report = compareContracts(app, [served('onboarding', '1.0.0', { 'welcome.message': { input: WELCOME, variants: ['fr'] } })]);
    expect(report).to.deep.include({ ok: true, breaks: [], notes: [] });
    expect(report.checked).to.deep.equal({ prompts: 1, bundles: ['onboarding@1.0.0'] });
  });

  it('a set not served, when the config names it (or names none), breaks; otherwise it is noted as not checked', function () {
    expect(codes(compareContracts(app, []))).to.deep.equal([['set-missing', 'onboarding', null]]);
    expect(codes(compareContracts(app, [], { sets: ['onboarding'] }))).to.deep.equal([['set-missing', 'onboarding', null]]);
    const other = compareContracts(app, [], { sets: ['billing'] });
    expect(other.ok).to.equal(true);
    expect(other.notes.map((n) => n.code)).to.deep.equal(['set-not-checked']);
  });

  const cases: [string, Record<string, { input: Input; variants?: string[] }>, [string, string, string | null][]][] = [
    ['a prompt missing', { 'other': { input: WELCOME } }, [['prompt-missing', 'onboarding/welcome.message', null]]],
    ['a variant missing', { 'welcome.message': { input: WELCOME } }, [['variant-missing', 'onboarding/welcome.message', 'fr']]],
    ['a variable missing from a closed schema', { 'welcome.message': { input: { schema: obj({ name: { type: 'string' } }, ['name']) }, variants: ['fr'] } }, [['variable-missing', 'onboarding/welcome.message', 'plan']]],
    ['a variable now required that the app has optional', { 'welcome.message': { input: { schema: obj({ name: { type: 'string' }, plan: { enum: ['free', 'pro'] } }, ['name', 'plan']) }, variants: ['fr'] } }, [['variable-required', 'onboarding/welcome.message', 'plan']]],
    ['a new required variable', { 'welcome.message': { input: { schema: obj({ name: { type: 'string' }, plan: { enum: ['free', 'pro'] }, team: { type: 'string' } }, ['name', 'team']) }, variants: ['fr'] } }, [['variable-required', 'onboarding/welcome.message', 'team']]],
    ['a type change, string to number', { 'welcome.message': { input: { schema: obj({ name: { type: 'number' }, plan: { enum: ['free', 'pro'] } }, ['name']) }, variants: ['fr'] } }, [['type-changed', 'onboarding/welcome.message', 'name']]],
    ['a narrowed enum', { 'welcome.message': { input: { schema: obj({ name: { type: 'string' }, plan: { enum: ['pro'] } }, ['name']) }, variants: ['fr'] } }, [['type-changed', 'onboarding/welcome.message', 'plan']]],
    ['a string narrowed to an enum', { 'welcome.message': { input: { schema: obj({ name: { enum: ['Ada'] }, plan: { enum: ['free', 'pro'] } }, ['name']) }, variants: ['fr'] } }, [['type-changed', 'onboarding/welcome.message', 'name']]],
  ];
  for (const [what, prompts, expected] of cases) {
    it(`${what} breaks`, function () {
      const report = compareContracts(app, [served('onboarding', '2.0.0', prompts)]);
      expect(report.ok).to.equal(false);
      expect(codes(report)).to.deep.equal(expected);
      for (const b of report.breaks) expect(b.version).to.equal('2.0.0');
    });
  }

  it('reports every break at once, on the current version and on a rollout', function () {
    const broken = { 'welcome.message': { input: { schema: obj({ name: { type: 'number' }, team: { type: 'string' } }, ['name', 'team']) } } };
    const report = compareContracts(app, [served('onboarding', '1.0.0', { 'welcome.message': { input: WELCOME, variants: ['fr'] } }), served('onboarding', '2.0.0', broken, 'rollout')]);
    expect(codes(report)).to.deep.equal([
      ['variant-missing', 'onboarding/welcome.message', 'fr'],
      ['variable-required', 'onboarding/welcome.message', 'team'],
      ['type-changed', 'onboarding/welcome.message', 'name'],
      ['variable-missing', 'onboarding/welcome.message', 'plan'],
    ]);
    expect(report.breaks[0]?.message).to.equal('onboarding@2.0.0 (rollout) has no variant "fr" of welcome.message');
    expect(report.breaks[2]?.message).to.equal("name: the app's types say string, onboarding@2.0.0 (rollout) takes number (refuses string)");
  });

  it('extra prompts, variants and optional variables, widened types and defaults are fine, and noted', function () {
    const wider = {
      'welcome.message': {
        // A default makes `team` optional for callers, whatever `required` says.
        input: { schema: obj({ name: { type: ['string', 'null'] }, plan: { type: 'string' }, team: { type: 'string' }, tone: { type: 'string' } }, ['name', 'team']), default: { team: 'core' } },
        variants: ['fr', 'de'],
      },
      'welcome.followup': { input: undefined },
    };
    const report = compareContracts(app, [served('onboarding', '1.1.0', wider)]);
    expect(report.breaks).to.deep.equal([]);
    expect(report.notes.map((n) => [n.code, n.prompt, n.variable ?? n.variant ?? null])).to.deep.equal([
      ['variant-added', 'onboarding/welcome.message', 'de'],
      ['variable-added', 'onboarding/welcome.message', 'team'],
      ['variable-added', 'onboarding/welcome.message', 'tone'],
      ['prompt-added', 'onboarding/welcome.followup', null],
    ]);
  });

  it('looks inside object variables and array items', function () {
    const order = (id: unknown, lines: unknown) => ({ schema: obj({ order: obj({ id, lines: { type: 'array', items: lines } }, ['id']) }, ['order']) });
    const typed = manifest({ 'shop/order': { input: order({ type: 'integer' }, { type: 'string' }) } });
    expect(compareContracts(typed, [served('shop', '1.0.1', { order: { input: order({ type: 'number' }, { type: 'string' }) } })]).ok).to.equal(true);
    expect(codes(compareContracts(typed, [served('shop', '2.0.0', { order: { input: order({ type: 'string' }, { type: 'number' }) } })]))).to.deep.equal([
      ['type-changed', 'shop/order', 'order.id'],
      ['type-changed', 'shop/order', 'order.lines[]'],
    ]);
  });

  it('an untyped prompt in the app breaks only on what the served one requires; an untyped served prompt takes anything', function () {
    const untyped = manifest({ 'core/greeting': { input: undefined } });
    expect(codes(compareContracts(untyped, [served('core', '2.0.0', { greeting: { input: { schema: obj({ who: { type: 'string' } }, ['who']) } } })]))).to.deep.equal([['variable-required', 'core/greeting', 'who']]);
    expect(compareContracts(app, [served('onboarding', '2.0.0', { 'welcome.message': { input: undefined, variants: ['fr'] } })]).ok).to.equal(true);
  });
});

describe('types manifest', function () {
  it('round-trips through the comment, whatever the names hold', function () {
    const tricky = manifest({ 'core/odd': { input: { schema: obj({ 'a*/b': { const: '*/' } }, ['a*/b']) } } });
    const text = `// declarations\n${typesManifestComment(tricky)}`;
    expect(text.match(/\*\//g)).to.have.length(1);
    expect(readTypesManifest(text, 'x.d.ts')).to.deep.equal(tricky);
  });

  it('a file without a manifest, or with a damaged one, is a clear error with the file and line', function () {
    expect(() => readTypesManifest('export {};\n', 'src/anvil-prompts.d.ts')).to.throw(/src\/anvil-prompts\.d\.ts has no prompt manifest/).with.property('code', 'check.no-manifest');
    const damaged = `export {};\n${typesManifestComment(app).replace('"prompts"', '"prompts" oops')}`;
    expect(() => readTypesManifest(damaged, 'x.d.ts')).to.throw(/not JSON/).that.includes({ code: 'check.manifest-invalid', file: 'x.d.ts', line: 3, column: 1 });
  });
});
