import { expect } from 'chai';
import { bundleIntegrity, validateBundle, type Bundle } from '@anvil/content-schema';
import { renderExamples } from '../../../examples/render-examples.ts';

describe('the example prompt repository', function () {
  it('compiles and renders every prompt with its input defaults', async function () {
    const rendered = await renderExamples();
    const ids = rendered.map((r) => `${r.set}/${r.id}${r.variant ? `:${r.variant}` : ''}`);
    expect(ids).to.include.members(['core/tone.formal', 'onboarding/welcome.message', 'onboarding/welcome.message:fr', 'support/answer', 'support/answer:formal']);
    const welcome = rendered.find((r) => r.id === 'welcome.message' && !r.variant)!;
    expect(welcome.messages.map((m) => m.role)).to.deep.equal(['system', 'user']);
    expect(welcome.text).to.include('— The Acme team');
    expect(welcome.text).to.include('- invite teammates');
  });

  it('produces metadata that the bundle schema accepts (renderer and content-schema agree)', async function () {
    const prompts: Bundle['prompts'] = {};
    const examples = (await renderExamples()).filter((r) => r.set === 'onboarding' || r.set === 'support');
    for (const r of examples.filter((e) => !e.variant)) {
      prompts[`${r.set}.${r.id}`] = { template: r.template, metadata: r.metadata, variants: {} };
    }
    for (const r of examples.filter((e) => e.variant)) {
      const tags = (r.metadata.tags ?? {}) as Record<string, string>;
      prompts[`${r.set}.${r.id}`]!.variants[r.variant!] = { template: r.template, tags, metadata: r.metadata };
    }
    const content: Omit<Bundle, 'integrity'> = {
      format: 'anvil.bundle/1', project: 'acme', repository: '@acme', set: 'onboarding', version: '1.0.0-head.1+abcdef0',
      stage: 'head', mode: 'review',
      source: { commit: 'a'.repeat(40), tree: 'b'.repeat(40), committedAt: '2026-01-01T00:00:00Z' },
      dependencies: { core: '1.0.0' }, prompts, partials: {},
    };
    const result = validateBundle({ ...content, integrity: bundleIntegrity(content) });
    expect(result.errors).to.deep.equal([]);
    expect(result.ok).to.equal(true);
  });
});
