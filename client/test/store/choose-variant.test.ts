import { expect } from 'chai';
import { AnvilError } from '@anvil/content-schema';
import { chooseVariant, type VariantRequest } from '../../src/store/choose-variant.ts';
import { prompt } from './bundles.ts';

describe('variant choice', function () {
  const welcome = prompt('Hello', {
    fr: { template: 'Bonjour', tags: { locale: 'fr' } },
    'fr-formal': { template: 'Madame, Monsieur', tags: { locale: 'fr', tone: 'formal' } },
    formal: { template: 'Dear customer', tags: { tone: 'formal' } },
    de: { template: 'Hallo', tags: { locale: 'de' } },
    beta: { template: 'Hey', tags: { beta: true } },
    untagged: { template: 'Yo' },
  });

  const table: [string, VariantRequest, string | undefined][] = [
    ['no request → base', {}, undefined],
    ['empty tags → base', { tags: {} }, undefined],
    ['by name', { variant: 'de' }, 'de'],
    ['a name wins over tags', { variant: 'de', tags: { locale: 'fr' } }, 'de'],
    ['one tag', { tags: { locale: 'de' } }, 'de'],
    ['fewer extra tags win a tie', { tags: { locale: 'fr' } }, 'fr'],
    ['more matching tags win', { tags: { locale: 'fr', tone: 'formal' } }, 'fr-formal'],
    ['a requested tag the variant lacks is no conflict', { tags: { locale: 'de', plan: 'pro' } }, 'de'],
    ['tie at equal size → first by name', { tags: { tone: 'formal', locale: 'de' } }, 'de'],
    ['a conflicting tag disqualifies', { tags: { locale: 'es', tone: 'formal' } }, 'formal'],
    ['no match → base', { tags: { locale: 'es' } }, undefined],
    ['unrelated tags → base', { tags: { plan: 'pro' } }, undefined],
    ['non-string tag values compare as text', { tags: { beta: 'true' } }, 'beta'],
    ['inherited names are not tags', { tags: { constructor: 'x', locale: 'de' } }, 'de'],
  ];
  for (const [what, request, expected] of table) {
    it(what, function () {
      expect(chooseVariant(welcome, request)).to.equal(expected);
    });
  }

  it("counts the base prompt's own tags: a variant must match more than the base", function () {
    const p = prompt('Hello', { short: { template: 'Hi', tags: { locale: 'en', length: 'short' } }, fr: { template: 'Salut', tags: { locale: 'fr' } } },
      { tags: { locale: 'en', tone: 'formal' } });
    expect(chooseVariant(p, { tags: { locale: 'en', tone: 'formal' } })).to.equal(undefined);
    expect(chooseVariant(p, { tags: { locale: 'en' } })).to.equal(undefined);
    expect(chooseVariant(p, { tags: { locale: 'en', length: 'short' } })).to.equal('short');
    expect(chooseVariant(p, { tags: { locale: 'fr', tone: 'formal' } })).to.equal('fr');
  });

  it('throws for an unknown variant name, naming the variants', function () {
    try {
      chooseVariant(welcome, { variant: 'fr_formal' }, 'onboarding@1.0.0/welcome.message');
      expect.fail('expected an error');
    } catch (err) {
      expect(err).to.be.instanceOf(AnvilError);
      const e = err as AnvilError;
      expect(e.code).to.equal('prompt.unknown-variant');
      expect(e.message).to.equal('onboarding@1.0.0/welcome.message has no variant "fr_formal"');
      expect(e.hint).to.contain('did you mean "fr-formal"?').and.contain('beta, de, formal, fr, fr-formal, untagged');
      expect(e.details?.['candidates']).to.have.length(6);
    }
  });

  it('throws for any name when the prompt has no variants', function () {
    expect(() => chooseVariant(prompt('Hello'), { variant: 'fr' })).to.throw(AnvilError, /no variant "fr"/);
    expect(chooseVariant(prompt('Hello'), { tags: { locale: 'fr' } })).to.equal(undefined);
  });
});
