import { expect } from 'chai';
import { isAnvilError } from '@anvil/content-schema';
import { PromptEnvironment } from '../../src/render/environment.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isAnvilError(err) ? err.code : 'not an AnvilError';
  }
  return undefined;
}

describe('a check-only environment (lint and build)', function () {
  const env = new PromptEnvironment({ checkOnly: true, partials: { sig: '— {{team}}' } });

  it('reports the same template errors as a rendering one', function () {
    const full = new PromptEnvironment({ partials: { sig: '— {{team}}' } });
    for (const source of ['{{#if x}}', '{{shout name}}', '{{> nope}}', '{{name', '{{#each items}}{{/if}}']) {
      expect(codeOf(() => env.compile(source)), source).to.equal(codeOf(() => full.compile(source))).and.not.equal(undefined);
    }
  });

  it('keeps template and metadata, and refuses to render', function () {
    const prompt = env.compile('---\ninput:\n  schema:\n    name: string\n---\nHi {{name}} {{> sig}}');
    expect(prompt.template).to.equal('Hi {{name}} {{> sig}}');
    expect(prompt.metadata.input?.schema).to.deep.include({ type: 'object' });
    expect(codeOf(() => prompt.renderText({ name: 'Ada' }))).to.equal('render.check-only');
  });
});
