/** Aliases in addresses and in anvil.yaml (issue 17): `@acme/onboarding@stable/welcome.message`. */
import { expect } from 'chai';
import { findAliasNameProblem, formatAddress, isAliasName, parseAddress, parseVersionSelector, validateLiveConfig, validateRepoConfig } from '../src/index.ts';

describe('alias addresses', () => {
  it('reads a lowercase word that is no channel, "latest" or range as an alias', () => {
    expect(parseAddress('@acme/onboarding@stable/welcome.message')).to.deep.equal({
      repository: '@acme', set: 'onboarding', version: { kind: 'alias', alias: 'stable' }, prompt: 'welcome.message',
    });
    expect(parseVersionSelector('lts-2024')).to.deep.equal({ kind: 'alias', alias: 'lts-2024' });
    expect(formatAddress(parseAddress('core@beta/x'))).to.equal('core@beta/x');
  });

  it('keeps channels, latest and ranges what they were', () => {
    expect(parseVersionSelector('production')).to.deep.equal({ kind: 'channel', channel: 'production' });
    expect(parseVersionSelector('latest')).to.deep.equal({ kind: 'latest' });
    expect(parseVersionSelector('x')).to.deep.equal({ kind: 'range', range: 'x' });
    expect(parseVersionSelector('v1')).to.deep.equal({ kind: 'range', range: 'v1' });
  });

  it('refuses near misses of channels and latest as typos, not aliases', () => {
    expect(() => parseAddress('core@prod')).to.throw(/did you mean|not an exact version/);
    expect(isAliasName('prod')).to.equal(false);
    expect(isAliasName('lates')).to.equal(false);
    expect(findAliasNameProblem('prod')?.hint).to.equal('did you mean "production"? otherwise choose a name further from it');
  });

  it('names what is wrong with a bad alias name', () => {
    expect(findAliasNameProblem('staging')?.message).to.equal('"staging" is a channel, so it cannot be an alias');
    expect(findAliasNameProblem('latest')?.message).to.match(/"latest"/);
    expect(findAliasNameProblem('1.x')?.message).to.match(/not an alias name|reads as a version range/);
    expect(findAliasNameProblem('Stable')?.message).to.match(/lowercase/);
    expect(findAliasNameProblem('a'.repeat(65))?.message).to.match(/longer than 64/);
    expect(findAliasNameProblem('stable')).to.equal(undefined);
  });
});

describe('aliases in anvil.yaml and anvil-live.json', () => {
  it('anvil.yaml: aliases map a set to alias → exact version, defaulting to {}', () => {
    const ok = validateRepoConfig({ aliases: { onboarding: { stable: '1.2.0', beta: '1.3.0-rc.1' } } });
    expect(ok.ok).to.equal(true);
    expect(validateRepoConfig({}).ok && validateRepoConfig({}).value?.aliases).to.deep.equal({});
  });

  it('anvil.yaml: reports bad names and versions at their pointer, with hints', () => {
    const result = validateRepoConfig({ aliases: { onboarding: { production: '1.0.0', stable: '^1.0.0', Bad: '1.0.0' } } });
    expect(result.ok).to.equal(false);
    const byPath = Object.fromEntries(result.errors.map((e) => [`${e.path} ${e.code}`, e]));
    expect(byPath['/aliases/onboarding/production alias.name']?.hint).to.match(/choose another name/);
    expect(Object.keys(byPath).some((k) => k.startsWith('/aliases/onboarding/stable '))).to.equal(true);
    expect(Object.keys(byPath).some((k) => k.startsWith('/aliases/onboarding/Bad '))).to.equal(true);
  });

  it('anvil-live.json: a set may name an alias instead of a range; a typo is still refused', () => {
    const base = { forge: 'https://anvil.example.com', project: 'acme', channel: 'production', forgeKeys: { k1: Buffer.alloc(32).toString('base64') } };
    expect(validateLiveConfig({ ...base, sets: { onboarding: 'stable', core: '^1.0.0' } }).ok).to.equal(true);
    expect(validateLiveConfig({ ...base, sets: { onboarding: 'prod' } }).ok).to.equal(false);
  });
});
