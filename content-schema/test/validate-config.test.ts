import { expect } from 'chai';
import { validateRepoConfig, validateSetConfig } from '../src/index.ts';
import { codes } from './support/samples.ts';

describe('validateSetConfig', () => {
  it('accepts an empty set.yaml and fills in the defaults', () => {
    const result = validateSetConfig({});
    expect(result.ok).to.equal(true);
    expect(result.value).to.deep.equal({ mode: 'review', dependencies: {} });
    expect(result.errors).to.deep.equal([]);
    expect(result.warnings).to.deep.equal([]);
  });

  it('accepts a full set.yaml', () => {
    const input = {
      name: 'onboarding',
      description: 'First-run messages',
      mode: 'locked',
      dependencies: { core: '^2.0.0', style: '>=1.2 <2', legacy: '1.x' },
      reviewers: ['alice', 'acme/prompt-owners'],
    };
    const result = validateSetConfig(input);
    expect(result.ok, JSON.stringify(result.errors)).to.equal(true);
    expect(result.value).to.deep.equal(input);
  });

  it('does not modify its input', () => {
    const input = { name: 'core' };
    const result = validateSetConfig(input);
    expect(input).to.deep.equal({ name: 'core' });
    expect(result.value).not.to.equal(input);
  });

  it('reports every problem at once, each with a JSON Pointer and a stable code', () => {
    const result = validateSetConfig({
      name: 'On Boarding',
      mode: 'reviewed',
      dependencies: { core: 'not-a-range', Style: '^1' },
      reviewers: ['@alice', 'bob', 'bob'],
      owner: 'me',
      description: 42,
    });
    expect(result.ok).to.equal(false);
    expect(result.value).to.equal(undefined);
    expect(codes(result.errors)).to.have.members([
      'schema.pattern@/name',
      'schema.enum@/mode',
      'schema.invalid-key@/dependencies/Style',
      'semver.range@/dependencies/core',
      'schema.pattern@/reviewers/0',
      'schema.unique-items@/reviewers',
      'schema.unknown-field@/owner',
      'schema.type@/description',
    ]);
  });

  it('writes messages a person can act on', () => {
    const result = validateSetConfig({ mode: 'reviw', descripton: 'x', dependencies: { core: 'latest' }, description: 3 });
    const byPath = Object.fromEntries(result.errors.map((e) => [e.path, e]));
    expect(byPath['/mode']).to.include({ message: '"reviw" is not one of "live", "review", "locked"', hint: 'did you mean "review"?' });
    expect(byPath['/descripton']).to.include({ message: 'unknown field "descripton"', hint: 'did you mean "description"?' });
    expect(byPath['/dependencies/core']?.message).to.equal('"latest" is not a semver range');
    expect(byPath['/description']?.message).to.equal('expected string, got a number (3)');
  });

  it('refuses a set that depends on itself', () => {
    expect(codes(validateSetConfig({ name: 'core', dependencies: { core: '^1' } }).errors)).to.deep.equal([
      'set.self-dependency@/dependencies/core',
    ]);
  });

  it('refuses a document that is not a mapping', () => {
    for (const input of [null, 'mode: live', [], 3]) {
      expect(codes(validateSetConfig(input).errors)).to.deep.equal(['schema.type@']);
    }
  });

  it('refuses prototype keys and never lets them reach a prototype', () => {
    const input = JSON.parse('{"dependencies": {"__proto__": {"polluted": true}, "constructor": "^1", "prototype": "^1"}, "__proto__": {"polluted": true}}') as unknown;
    const result = validateSetConfig(input);
    expect(codes(result.errors)).to.have.members([
      'schema.forbidden-key@/dependencies/__proto__',
      'schema.forbidden-key@/dependencies/constructor',
      'schema.forbidden-key@/dependencies/prototype',
      'schema.forbidden-key@/__proto__',
    ]);
    expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
    expect(Object.prototype).not.to.have.property('polluted');
  });

  it('refuses a set name that is reserved', () => {
    expect(codes(validateSetConfig({ name: 'constructor' }).errors)).to.deep.equal(['schema.pattern@/name']);
  });

  it('reports YAML timestamps and .nan/.inf once, with a hint', () => {
    const result = validateSetConfig({ description: new Date('2025-01-01'), dependencies: { core: '^1' }, mode: Number.NaN });
    expect(codes(result.errors)).to.deep.equal(['schema.not-json@/description', 'schema.not-json@/mode']);
    expect(result.errors[0]?.hint).to.match(/quotes/);
  });
});

describe('validateRepoConfig', () => {
  it('fills in promptsDir, rollouts and aliases', () => {
    const result = validateRepoConfig({ name: '@acme' });
    expect(result.ok).to.equal(true);
    expect(result.value).to.deep.equal({ name: '@acme', promptsDir: 'prompts', rollouts: {}, aliases: {} });
  });

  it('accepts rollouts by set and channel', () => {
    const input = {
      name: '@acme',
      promptsDir: 'content/prompts',
      defaultBranch: 'main',
      rollouts: { onboarding: { production: { version: '1.3.0', percent: 10 }, staging: { version: '1.4.0-rc.1', percent: 50.5 } } },
    };
    const result = validateRepoConfig(input);
    expect(result.ok, JSON.stringify(result.errors)).to.equal(true);
    expect(result.value).to.deep.equal({ ...input, aliases: {} });
  });

  it('refuses a promptsDir that is absolute or escapes the repository', () => {
    for (const dir of ['/etc', '../prompts', 'prompts/../..', 'a/../../b', '..', 'C:\\prompts', '\\\\server\\share', 'prompts\\..\\..']) {
      expect(codes(validateRepoConfig({ promptsDir: dir }).errors), dir).to.deep.equal(['schema.pattern@/promptsDir']);
    }
    for (const dir of ['prompts', 'content/prompts', '.', './prompts', 'a..b', '.prompts']) {
      expect(validateRepoConfig({ promptsDir: dir }).ok, dir).to.equal(true);
    }
  });

  it('reports bad scopes, channels, versions and percentages together', () => {
    const result = validateRepoConfig({
      name: 'acme',
      rollouts: {
        onboarding: { prod: { version: '1.3.0', percent: 10 }, production: { version: 'v1.3', percent: 120 } },
        core: { staging: { percent: 5 } },
      },
    });
    expect(codes(result.errors)).to.have.members([
      'schema.pattern@/name',
      'schema.unknown-field@/rollouts/onboarding/prod',
      'schema.pattern@/rollouts/onboarding/production/version',
      'schema.maximum@/rollouts/onboarding/production/percent',
      'schema.required@/rollouts/core/staging/version',
    ]);
    const unknown = result.errors.find((e) => e.path === '/rollouts/onboarding/prod');
    expect(unknown?.hint).to.equal('did you mean "production"?');
  });
});
