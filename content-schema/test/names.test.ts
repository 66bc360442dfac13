import { expect } from 'chai';
import {
  findPartialNameProblem,
  findPromptIdProblem,
  findSetNameProblem,
  isChannel,
  isPartialName,
  isPromptId,
  isRepositoryName,
  isSetName,
  isVariantName,
} from '../src/index.ts';

describe('names', () => {
  it('accepts set names of lowercase letters, digits, ".", "_" and "-"', () => {
    for (const name of ['core', 'onboarding', 'a', '0', 'web-app', 'v2.prompts', 'x_y']) {
      expect(isSetName(name), name).to.equal(true);
    }
  });

  it('refuses set names that are empty, uppercase, start with a symbol, contain ".." or are reserved', () => {
    for (const name of ['', 'Core', '-core', '.core', '_core', 'a..b', 'a/b', 'a@b', 'a b', 'constructor', '__proto__', 'prototype', 'x'.repeat(129)]) {
      expect(isSetName(name), name).to.equal(false);
    }
  });

  it('says where a set name goes wrong', () => {
    expect(findSetNameProblem('onBoarding')).to.deep.equal({
      message: 'set name may only contain a-z, 0-9, ".", "_" and "-", found "B"',
      index: 2,
    });
    expect(findSetNameProblem('a..b')?.index).to.equal(1);
    expect(findSetNameProblem('core')).to.equal(undefined);
  });

  it('accepts prompt ids of dot-separated segments', () => {
    for (const id of ['welcome', 'welcome.message', 'error.not_found', 'a-b.c_d', '_private.x', 'Tone.Formal', '1.2']) {
      expect(isPromptId(id), id).to.equal(true);
    }
  });

  it('refuses prompt ids with empty segments, slashes or bad characters', () => {
    for (const id of ['', '.a', 'a.', 'a..b', 'a/b', 'a\\b', '-a', 'a.-b', 'a b', 'é', 'constructor', '__proto__']) {
      expect(isPromptId(id), id).to.equal(false);
    }
  });

  it('locates the problem in a prompt id', () => {
    expect(findPromptIdProblem('welcome..message')).to.deep.equal({ message: 'prompt id contains ".." (an empty segment)', index: 8 });
    expect(findPromptIdProblem('welcome/message')?.index).to.equal(7);
    expect(findPromptIdProblem('welcome.')).to.deep.equal({ message: 'prompt id ends with "."', index: 7 });
    expect(findPromptIdProblem('we lcome')?.message).to.contain('U+0020 (space)');
    expect(findPromptIdProblem('welcome.message')).to.equal(undefined);
  });

  it('knows the three channels and nothing else', () => {
    expect(['production', 'staging', 'development'].every(isChannel)).to.equal(true);
    expect(isChannel('prod')).to.equal(false);
    expect(isChannel('Production')).to.equal(false);
  });

  it('checks repository scopes, variants and partials', () => {
    expect(isRepositoryName('@acme')).to.equal(true);
    expect(isRepositoryName('acme')).to.equal(false);
    expect(isRepositoryName('@Acme')).to.equal(false);
    expect(isVariantName('fr')).to.equal(true);
    expect(isVariantName('fr.ca')).to.equal(false);
    expect(isPartialName('signature')).to.equal(true);
    expect(isPartialName('core/signature')).to.equal(true);
    expect(isPartialName('core//signature')).to.equal(false);
  });

  it('explains why a partial name is invalid, agreeing with the pattern', () => {
    expect(findPartialNameProblem('__proto__')).to.deep.equal({ message: '"__proto__" is reserved and cannot name a partial', index: 0 });
    expect(findPartialNameProblem('emails/-footer')?.index).to.equal(7);
    expect(findPartialNameProblem('emails//footer')?.message).to.equal('partial name has an empty segment');
    expect(findPartialNameProblem('my footer')?.message).to.contain('U+0020 (space)');
    for (const name of ['signature', 'emails/footer', 'a.b', '__proto__', 'constructor', '', 'x/', '/x', 'a b', 'é']) {
      expect(findPartialNameProblem(name) === undefined, name).to.equal(isPartialName(name));
    }
  });
});
