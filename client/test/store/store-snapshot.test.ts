import { expect } from 'chai';
import { AnvilError } from '@anvil/content-schema';
import { createStoreSnapshot, type SnapshotInput } from '../../src/store/store-snapshot.ts';
import type { CompileEvent } from '../../src/store/bundle-compiler.ts';
import { PromptStore } from '../../src/store/prompt-store.ts';
import { bundle, prompt } from './bundles.ts';

function failure(fn: () => unknown): AnvilError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(AnvilError);
    return err as AnvilError;
  }
  throw new Error('expected an error');
}

const core = (version: string, signature: string) => bundle({ set: 'core', version, prompts: { 'tone.formal': 'Be formal.' }, partials: { signature } });

function onboarding(version: string, extra: Record<string, string> = {}) {
  return bundle({
    set: 'onboarding', version, dependencies: { core: '2.0.1' },
    prompts: {
      'welcome.message': prompt('Hello {{name}}! {{> core/signature}}', {
        fr: { template: 'Bonjour {{name}} ! {{> core/signature}}', tags: { locale: 'fr' } },
      }),
      'error.not_found': `Not found (${version}).`,
      chat: '{{role "system"}}You help {{name}}.{{role "user"}}{{question}}',
      ...extra,
    },
  });
}

function compiles(): { events: CompileEvent[]; onCompile: (e: CompileEvent) => void } {
  const events: CompileEvent[] = [];
  return { events, onCompile: (e) => events.push(e) };
}

describe('StoreSnapshot', function () {
  const input: SnapshotInput = { sets: { onboarding: { bundle: onboarding('1.2.0') } }, bundles: [core('2.0.1', '-- The team')] };

  describe('serving', function () {
    const snap = createStoreSnapshot(input);

    it('renders text by bare or qualified id, with dependency partials from the core bundle', function () {
      expect(snap.render('welcome.message', { name: 'Ada' })).to.equal('Hello Ada! -- The team');
      expect(snap.render('onboarding/welcome.message', { name: 'Ada' })).to.equal('Hello Ada! -- The team');
    });

    it('renders variants by name or tags, else the base prompt', function () {
      expect(snap.render('welcome.message', { name: 'Ada' }, { variant: 'fr' })).to.equal('Bonjour Ada ! -- The team');
      expect(snap.render('welcome.message', { name: 'Ada' }, { tags: { locale: 'fr' } })).to.equal('Bonjour Ada ! -- The team');
      expect(snap.render('welcome.message', { name: 'Ada' }, { tags: { locale: 'de' } })).to.equal('Hello Ada! -- The team');
      expect(snap.render('welcome.message', { name: 'Ada' }, {})).to.equal('Hello Ada! -- The team');
      expect(failure(() => snap.render('welcome.message', {}, { variant: 'de' })).code).to.equal('prompt.unknown-variant');
      expect(failure(() => snap.render('error.not_found', {}, { variant: 'de' })).code).to.equal('prompt.unknown-variant');
    });

    it('renders messages', function () {
      expect(snap.messages('chat', { name: 'Ada', question: 'Why?' })).to.deep.equal([
        { role: 'system', content: [{ text: 'You help Ada.' }] },
        { role: 'user', content: [{ text: 'Why?' }] },
      ]);
      expect(snap.render('chat', { name: 'Ada', question: 'Why?' })).to.equal('You help Ada.Why?');
    });

    it('gives the raw template a call would render', function () {
      expect(snap.template('welcome.message')).to.equal('Hello {{name}}! {{> core/signature}}');
      expect(snap.template('welcome.message', { tags: { locale: 'fr' } })).to.equal('Bonjour {{name}} ! {{> core/signature}}');
    });

    it('tracks which set, version and variant serve a call', function () {
      const { integrity } = input.sets['onboarding']!.bundle;
      expect(snap.track('welcome.message', { tags: { locale: 'fr' } })).to.deep.equal({
        set: 'onboarding', id: 'welcome.message', version: '1.2.0', integrity, variant: 'fr', rollout: false,
      });
      expect(snap.track('onboarding/error.not_found')).to.deep.include({ variant: null, rollout: false });
    });

    it('reports each set it serves', function () {
      const b = input.sets['onboarding']!.bundle;
      expect(snap.status()).to.deep.equal({ onboarding: { version: '1.2.0', integrity: b.integrity, stage: 'release' } });
      snap.status()['onboarding']!.version = '9.9.9';
      expect(snap.status()['onboarding']!.version).to.equal('1.2.0');
    });

    it('names candidates for unknown and ambiguous ids', function () {
      const both = createStoreSnapshot({ sets: { onboarding: { bundle: onboarding('1.2.0') }, billing: { bundle: bundle({ set: 'billing', prompts: { 'error.not_found': 'No invoice.' } }) } }, bundles: [core('2.0.1', 'x')] });
      const ambiguous = failure(() => both.render('error.not_found'));
      expect(ambiguous.code).to.equal('prompt.ambiguous');
      expect(ambiguous.details?.['candidates']).to.deep.equal(['billing/error.not_found', 'onboarding/error.not_found']);
      expect(both.render('billing/error.not_found')).to.equal('No invoice.');
      const unknown = failure(() => both.render('welcome.mesage'));
      expect(unknown.code).to.equal('prompt.unknown');
      expect(unknown.hint).to.equal('did you mean "welcome.message"?');
      expect(failure(() => both.track('nope.nope')).code).to.equal('prompt.unknown');
    });

    it('serves nothing when empty', function () {
      expect(failure(() => createStoreSnapshot({ sets: {} }).render('a')).code).to.equal('prompt.unknown');
      expect(createStoreSnapshot({ sets: {} }).status()).to.deep.equal({});
    });

    it('refuses a bundle filed under another set, and a percent out of range', function () {
      expect(() => createStoreSnapshot({ sets: { billing: { bundle: onboarding('1.0.0') } } })).to.throw(AnvilError, /bundle of set "onboarding"/);
      expect(() => createStoreSnapshot({ sets: { onboarding: { bundle: onboarding('1.0.0'), rollout: { bundle: onboarding('1.1.0'), percent: 101 } } } })).to.throw(AnvilError, /percent 101/);
    });
  });

  describe('compiling', function () {
    it('compiles nothing up front, then each prompt once, on first use', function () {
      const { events, onCompile } = compiles();
      const snap = createStoreSnapshot({ ...input, onCompile });
      expect(events).to.have.length(0);
      for (let i = 0; i < 3; i++) snap.render('welcome.message', { name: 'Ada' });
      snap.render('welcome.message', { name: 'Ada' }, { tags: { locale: 'fr' } });
      snap.render('welcome.message', { name: 'Ada' }, { variant: 'fr' });
      expect(events.map((e) => [e.id, e.variant])).to.deep.equal([['welcome.message', null], ['welcome.message', 'fr']]);
      expect(events[0]).to.deep.include({ set: 'onboarding', version: '1.2.0', integrity: input.sets['onboarding']!.bundle.integrity });
    });

    it('shares compiled prompts with the next snapshot for the bundles both serve', function () {
      const { events, onCompile } = compiles();
      const billing = bundle({ set: 'billing', prompts: { invoice: 'Invoice {{n}}' } });
      const first = createStoreSnapshot({ sets: { onboarding: { bundle: onboarding('1.2.0') }, billing: { bundle: billing } }, bundles: [core('2.0.1', 'x')], onCompile });
      first.render('invoice', { n: 1 });
      first.render('error.not_found');
      expect(events).to.have.length(2);

      const second = createStoreSnapshot({ sets: { onboarding: { bundle: onboarding('1.3.0') }, billing: { bundle: billing } }, bundles: [core('2.0.1', 'x')], previous: first, onCompile });
      expect(second.render('invoice', { n: 2 })).to.equal('Invoice 2');
      expect(events).to.have.length(2);
      expect(second.render('error.not_found')).to.equal('Not found (1.3.0).');
      expect(events.map((e) => e.version)).to.deep.equal(['1.0.0', '1.2.0', '1.3.0']);
      // The old snapshot still serves its own version.
      expect(first.render('error.not_found')).to.equal('Not found (1.2.0).');
    });

    it('keeps a compile error to the prompt that has it', function () {
      const { events, onCompile } = compiles();
      const broken = onboarding('1.2.0', { 'broken.helper': 'Hi {{shout name}}', 'broken.syntax': 'Hi {{#if name}}' });
      const snap = createStoreSnapshot({ sets: { onboarding: { bundle: broken } }, bundles: [core('2.0.1', '-- The team')], onCompile });
      const helper = failure(() => snap.render('broken.helper', { name: 'Ada' }));
      expect(helper.code).to.equal('template.unknown-helper');
      expect(helper.file).to.equal('onboarding/broken.helper');
      expect(failure(() => snap.render('broken.syntax', { name: 'Ada' })).code).to.match(/^template\./);
      expect(snap.render('welcome.message', { name: 'Ada' })).to.equal('Hello Ada! -- The team');
      // A failure is remembered, not compiled again on every call.
      expect(failure(() => snap.render('broken.helper', { name: 'Ada' }))).to.equal(helper);
      expect(events.filter((e) => e.id === 'broken.helper')).to.have.length(1);
      expect(events.find((e) => e.id === 'broken.helper')?.error).to.equal(helper);
    });

    it('fails only the prompts that need a dependency bundle it does not have, until it arrives', function () {
      const { events, onCompile } = compiles();
      const own = onboarding('1.2.0', { plain: 'Plain {{name}}' });
      const without = createStoreSnapshot({ sets: { onboarding: { bundle: own } }, onCompile });
      expect(without.render('plain', { name: 'Ada' })).to.equal('Plain Ada');
      const err = failure(() => without.render('welcome.message', { name: 'Ada' }));
      expect(err.code).to.equal('prompt.missing-dependency');
      expect(err.message).to.contain('"core/signature"').and.contain('core@2.0.1');
      expect(err.details).to.deep.equal({ partial: 'core/signature', dependency: 'core@2.0.1' });

      const withCore = createStoreSnapshot({ sets: { onboarding: { bundle: own } }, bundles: { 'core@2.0.1': core('2.0.1', '-- Core') }, previous: without, onCompile });
      expect(withCore.render('welcome.message', { name: 'Ada' })).to.equal('Hello Ada! -- Core');
      expect(withCore.render('plain', { name: 'Ada' })).to.equal('Plain Ada');
      expect(events.filter((e) => e.id === 'plain')).to.have.length(2); // another dependency set, another compile
    });

    it('takes a dependency from a served set of the right version, and ignores other versions', function () {
      const served = createStoreSnapshot({ sets: { onboarding: { bundle: onboarding('1.2.0') }, core: { bundle: core('2.0.1', '-- Served core') } } });
      expect(served.render('welcome.message', { name: 'Ada' })).to.equal('Hello Ada! -- Served core');
      const wrong = createStoreSnapshot({ sets: { onboarding: { bundle: onboarding('1.2.0') }, core: { bundle: core('2.1.0', '-- Newer') } } });
      expect(failure(() => wrong.render('welcome.message', { name: 'Ada' })).code).to.equal('prompt.missing-dependency');
    });

    it("resolves a dependency's partial inside the bundle's own partial", function () {
      const b = bundle({
        set: 'onboarding', dependencies: { core: '2.0.1' },
        prompts: { letter: '{{> header}}Body' }, partials: { header: '[{{> core/signature}}] ' },
      });
      const snap = createStoreSnapshot({ sets: { onboarding: { bundle: b } }, bundles: [core('2.0.1', 'sig')] });
      expect(snap.render('letter')).to.equal('[sig] Body');
    });
  });

  describe('prompt entries that fail the bundle schema', function () {
    // A signed bundle whose entry this client cannot read (say, a field from a newer forge):
    // the receiver checked the bundle's outline, integrity and signature; the entry is checked
    // here, before the prompt is first served.
    const odd = () => {
      const b = onboarding('1.2.0', { plain: 'Plain {{name}}' });
      (b.prompts['welcome.message']!.metadata as Record<string, unknown>)['colour'] = 'red';
      (b.prompts['chat'] as unknown as Record<string, unknown>)['template'] = 42;
      return b;
    };

    it('throws prompt.invalid on every use of that prompt, naming the field, and never renders it', function () {
      const { events, onCompile } = compiles();
      const snap = createStoreSnapshot({ sets: { onboarding: { bundle: odd() } }, bundles: [core('2.0.1', 'x')], onCompile });
      const err = failure(() => snap.render('welcome.message', { name: 'Ada' }));
      expect(err.code).to.equal('prompt.invalid');
      expect(err.message).to.contain('onboarding@1.2.0/welcome.message').and.contain('/prompts/welcome.message/metadata/colour');
      expect((err.details?.['errors'] as { path: string; code: string }[]).map((e) => `${e.code}@${e.path}`)).to.deep.equal(['schema.unknown-field@/prompts/welcome.message/metadata/colour']);
      for (const use of [
        () => snap.render('onboarding/welcome.message', { name: 'Ada' }, { variant: 'fr' }),
        () => snap.messages('welcome.message', { name: 'Ada' }),
        () => snap.template('welcome.message'),
        () => snap.track('welcome.message'),
        () => snap.compiled('welcome.message', { tags: { locale: 'fr' } }),
      ]) expect(failure(use)).to.equal(err);
      expect(failure(() => snap.render('chat', { name: 'Ada' })).message).to.contain('/prompts/chat/template');
      expect(events.find((e) => e.id === 'welcome.message')?.error).to.equal(err);
    });

    it('serves the bundle\'s other prompts', function () {
      const snap = createStoreSnapshot({ sets: { onboarding: { bundle: odd() } }, bundles: [core('2.0.1', 'x')] });
      expect(() => snap.render('welcome.message')).to.throw(AnvilError);
      expect(snap.render('plain', { name: 'Ada' })).to.equal('Plain Ada');
      expect(snap.render('error.not_found')).to.equal('Not found (1.2.0).');
      expect(snap.track('plain')).to.include({ set: 'onboarding', version: '1.2.0' });
    });

    it('reads no entry when the snapshot is made: a bundle of 10,000 prompts swaps in without touching them', function () {
      const prompts: Record<string, string> = {};
      for (let i = 0; i < 10_000; i++) prompts[`p${i}`] = `Prompt ${i}`;
      const big = bundle({ set: 'big', prompts });
      let reads = 0;
      for (const id of Object.keys(big.prompts)) {
        const entry = big.prompts[id]!;
        big.prompts[id] = new Proxy(entry, { get: (target, key, receiver) => (reads++, Reflect.get(target, key, receiver)) });
      }
      const snap = createStoreSnapshot({ sets: { big: { bundle: big } } });
      expect(reads).to.equal(0);
      expect(snap.render('p9999')).to.equal('Prompt 9999');
      expect(snap.render('big/p17')).to.equal('Prompt 17');
      expect(failure(() => snap.render('p10000')).code).to.equal('prompt.unknown');
    });
  });

  describe('rollouts', function () {
    const rolled = (percent: number, instanceSeed: string) => createStoreSnapshot({
      sets: { onboarding: { bundle: onboarding('1.2.0'), rollout: { bundle: onboarding('1.3.0', { 'new.prompt': 'New' }), percent } } },
      bundles: [core('2.0.1', 'x')],
      instanceSeed,
    });

    it('serves the rollout to a stable share of keys, and tracks it', function () {
      const snap = rolled(10, 'seed');
      let hits = 0;
      for (let i = 0; i < 10_000; i++) {
        const text = snap.render('error.not_found', {}, { key: `user-${i}` });
        const track = snap.track('error.not_found', { key: `user-${i}` });
        expect(text).to.equal(`Not found (${track.version}).`);
        expect(track.rollout).to.equal(track.version === '1.3.0');
        if (track.rollout) hits++;
      }
      expect(hits).to.be.within(850, 1150);
      // Sticky: another snapshot with the same rollout, another seed, same answers per key.
      const again = rolled(10, 'other seed');
      for (let i = 0; i < 500; i++) expect(again.track('error.not_found', { key: `user-${i}` }).version).to.equal(snap.track('error.not_found', { key: `user-${i}` }).version);
    });

    it('without a key, serves one version per instance, about percent of instances on the rollout', function () {
      let instancesOnRollout = 0;
      for (let i = 0; i < 400; i++) {
        const snap = rolled(25, `instance-${i}`);
        const version = snap.track('error.not_found').version;
        for (let j = 0; j < 5; j++) expect(snap.render('error.not_found')).to.equal(`Not found (${version}).`);
        expect(snap.status()['onboarding']!.rollout!.instance).to.equal(version === '1.3.0');
        if (version === '1.3.0') instancesOnRollout++;
      }
      expect(instancesOnRollout).to.be.within(60, 140);
    });

    it('serves a prompt only the rollout has to every key', function () {
      const snap = rolled(10, 'seed');
      expect(snap.render('new.prompt')).to.equal('New');
      expect(snap.render('new.prompt', {}, { key: 'user-1' })).to.equal('New');
      expect(snap.track('onboarding/new.prompt', { key: 'user-1' })).to.deep.include({ version: '1.3.0', rollout: true });
    });

    it('reports the rollout in status', function () {
      const snap = rolled(10, 'seed');
      expect(snap.status()['onboarding']!.rollout).to.deep.include({ version: '1.3.0', percent: 10, stage: 'release' });
    });
  });
});

describe('PromptStore', function () {
  const v1 = createStoreSnapshot({ sets: { onboarding: { bundle: onboarding('1.0.0') }, core: { bundle: core('2.0.1', 'sig v1') } } });
  const v2 = createStoreSnapshot({
    sets: { onboarding: { bundle: onboarding('2.0.0') }, core: { bundle: bundle({ set: 'core', version: '2.0.1', prompts: {}, partials: { signature: 'sig v2' } }) } },
  });

  it('serves the snapshot swapped in', function () {
    const store = new PromptStore(v1);
    expect(store.render('error.not_found')).to.equal('Not found (1.0.0).');
    expect(store.swap(v2)).to.equal(v1);
    expect(store.current()).to.equal(v2);
    expect(store.render('error.not_found')).to.equal('Not found (2.0.0).');
    expect(store.track('error.not_found').version).to.equal('2.0.0');
    expect(store.status()['onboarding']!.version).to.equal('2.0.0');
  });

  it('finishes a render on the snapshot it started with, even if a swap happens during it', function () {
    const store = new PromptStore(v1);
    let inner = '';
    const vars = {
      get name() {
        // Swap mid-render: the rest of this render (the partial) must still come from v1.
        store.swap(v2);
        inner = store.render('error.not_found');
        return 'Ada';
      },
    };
    expect(store.render('welcome.message', vars)).to.equal('Hello Ada! sig v1');
    expect(inner).to.equal('Not found (2.0.0).');
    expect(store.render('welcome.message', { name: 'Ada' })).to.equal('Hello Ada! sig v2');
  });

  it('starts empty', function () {
    expect(new PromptStore().status()).to.deep.equal({});
  });
});
