/** Issue 14: partials in any order, defined once, with names that cannot reach a prototype. */
import { expect } from 'chai';
import { AnvilError, type Bundle } from '@anvil/content-schema';
import { bundleEnvironment, compileBundlePrompt, PromptEnvironment } from '@anvil/client';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof AnvilError ? err.code : `not an AnvilError: ${String(err)}`;
  }
  return undefined;
}

describe('partials', function () {
  it('given together, they may include partials declared after them', function () {
    const env = new PromptEnvironment({ partials: { a: 'A({{> b}})', b: 'B({{> c}})', c: 'C' } });
    expect(env.compile('{{> a}}').renderText()).to.equal('A(B(C))');
  });

  it('given together, a cycle among them is still a cycle', function () {
    expect(codeOf(() => new PromptEnvironment({ partials: { a: 'A {{> b}}', b: 'B {{> a}}' } }))).to.equal('template.partial-cycle');
  });

  it('a bundle renders whatever the order of its partials, and a broken one fails only the prompts that use it', function () {
    const bundle = {
      set: 'core',
      partials: { a: 'A({{> b}})', b: 'B', broken: '{{#if x}}' },
      prompts: {
        uses: { template: '{{> a}}!', metadata: {}, variants: {} },
        plain: { template: 'Hello {{name}}', metadata: {}, variants: {} },
        bad: { template: '{{> broken}}', metadata: {}, variants: {} },
      },
    } as unknown as Bundle;
    const env = bundleEnvironment(bundle);
    expect(compileBundlePrompt(env, bundle, 'uses').renderText()).to.equal('A(B)!');
    expect(compileBundlePrompt(env, bundle, 'plain').renderText({ name: 'Ada' })).to.equal('Hello Ada');
    expect(codeOf(() => compileBundlePrompt(env, bundle, 'bad'))).to.equal('template.unclosed-block');
  });

  it('a dependency\'s partial is found by <set>/<name>, from the bundle\'s own partials too', function () {
    const bundle = {
      set: 'onboarding',
      partials: { footer: 'Thanks, {{> core/signature}}' },
      prompts: { mail: { template: 'Hi. {{> footer}}', metadata: {}, variants: {} } },
    } as unknown as Bundle;
    const env = bundleEnvironment(bundle, { core: { signature: '— {{> core/name}}', name: 'Acme' } });
    expect(compileBundlePrompt(env, bundle, 'mail').renderText()).to.equal('Hi. Thanks, — Acme');
  });

  describe('are defined once: a compiled prompt depends on them', function () {
    it('redefining a partial that a compiled prompt includes is refused, so no raw marker can leak', function () {
      const env = new PromptEnvironment({ partials: { p: 'plain' } });
      const prompt = env.compile('Hello {{> p}} {{@state}}');
      expect(codeOf(() => env.definePartial('p', '{{role "system"}}secret {{@state}}'))).to.equal('template.partial-redefined');
      // The prompt renders as compiled: no marker (nor its nonce) in the text.
      const out = prompt.renderText({}, { context: { state: 'on' } });
      expect(out).to.equal('Hello plain on');
      expect(out).to.not.match(/[\uE000\uE001]/);
    });

    it('defining a partial that a compiled prompt looked up in vain ({{#> p}}fallback) is refused', function () {
      const env = new PromptEnvironment();
      const prompt = env.compile('{{#> p}}fallback{{/p}}');
      expect(codeOf(() => env.definePartial('p', '{{role "system"}}x'))).to.equal('template.partial-redefined');
      expect(prompt.renderText()).to.equal('fallback');
    });

    it('a new partial that nothing compiled has looked up can still be defined', function () {
      const env = new PromptEnvironment();
      env.compile('no partials');
      env.definePartial('late', 'L');
      expect(env.compile('{{> late}}').renderText()).to.equal('L');
    });

    it('tryDefinePartial returns every error of a partial instead of throwing', function () {
      const errors = new PromptEnvironment().tryDefinePartial('footer', '{{jsn x}} {{> nope}}', { file: 'prompts/core/_footer.md' });
      expect(errors.map((e) => [e.code, e.file, e.line, e.column])).to.deep.equal([
        ['template.unknown-helper', 'prompts/core/_footer.md', 1, 1],
        ['template.unknown-partial', 'prompts/core/_footer.md', 1, 11],
      ]);
    });
  });

  it('a name that would reach Object.prototype is refused', function () {
    expect(codeOf(() => new PromptEnvironment().definePartial('__proto__', 'x'))).to.equal('template.invalid-partial-name');
    expect(codeOf(() => new PromptEnvironment({ resolvePartial: () => 'x' }).compile('{{> __proto__}}'))).to.equal('template.invalid-partial-name');
    expect(codeOf(() => new PromptEnvironment().compile('{{#*inline "__proto__"}}x{{/inline}}'))).to.equal('template.invalid-partial-name');
  });
});
