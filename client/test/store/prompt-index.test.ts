import { expect } from 'chai';
import { AnvilError } from '@anvil/content-schema';
import { buildPromptIndex, resolvePromptId, type PromptRef } from '../../src/store/prompt-index.ts';

function refs(...qualified: string[]): PromptRef[] {
  return qualified.map((q) => {
    const [set, id] = q.split('/') as [string, string];
    return { set, id };
  });
}

function failure(fn: () => unknown): AnvilError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(AnvilError);
    return err as AnvilError;
  }
  throw new Error('expected an error');
}

describe('prompt ids (DESIGN.md §4)', function () {
  const index = buildPromptIndex(refs('onboarding/welcome.message', 'onboarding/error.not_found', 'core/tone.formal', 'billing/error.not_found'));

  it('resolves a bare id that only one set has', function () {
    expect(resolvePromptId(index, 'welcome.message')).to.deep.equal({ set: 'onboarding', id: 'welcome.message' });
    expect(resolvePromptId(index, 'tone.formal')).to.deep.equal({ set: 'core', id: 'tone.formal' });
  });

  it('always resolves set/id, ambiguous or not', function () {
    expect(resolvePromptId(index, 'onboarding/welcome.message')).to.deep.equal({ set: 'onboarding', id: 'welcome.message' });
    expect(resolvePromptId(index, 'billing/error.not_found')).to.deep.equal({ set: 'billing', id: 'error.not_found' });
  });

  it('refuses a bare id that several sets have, listing set/id candidates', function () {
    const err = failure(() => resolvePromptId(index, 'error.not_found'));
    expect(err.code).to.equal('prompt.ambiguous');
    expect(err.message).to.contain('billing/error.not_found').and.contain('onboarding/error.not_found');
    expect(err.details?.['candidates']).to.deep.equal(['billing/error.not_found', 'onboarding/error.not_found']);
  });

  it('refuses an unknown id with a suggestion', function () {
    const err = failure(() => resolvePromptId(index, 'welcome.mesage'));
    expect(err.code).to.equal('prompt.unknown');
    expect(err.hint).to.equal('did you mean "welcome.message"?');
    expect(err.details).to.deep.include({ suggestion: 'welcome.message', candidates: ['welcome.message'] });
  });

  it('suggests the qualified ids when the near miss is ambiguous', function () {
    const err = failure(() => resolvePromptId(index, 'error.notfound'));
    expect(err.details?.['candidates']).to.deep.equal(['billing/error.not_found', 'onboarding/error.not_found']);
  });

  it('suggests within qualified ids, including a misspelt set', function () {
    expect(failure(() => resolvePromptId(index, 'onboarding/welcome.mesage')).details?.['suggestion']).to.equal('onboarding/welcome.message');
    expect(failure(() => resolvePromptId(index, 'onbording/welcome.mesage')).details?.['suggestion']).to.equal('onboarding/welcome.message');
  });

  it('lists the prompts when nothing is close', function () {
    const err = failure(() => resolvePromptId(index, 'something.else.entirely'));
    expect(err.details?.['suggestion']).to.equal(undefined);
    expect(err.details?.['candidates']).to.deep.equal(['billing/error.not_found', 'core/tone.formal', 'onboarding/error.not_found', 'onboarding/welcome.message']);
    expect(err.hint).to.contain('core/tone.formal');
  });

  it('says so when there are no sets at all', function () {
    expect(failure(() => resolvePromptId(buildPromptIndex([]), 'x')).hint).to.contain('no prompt sets');
  });
});
