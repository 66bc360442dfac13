import { expect } from 'chai';
import { AnvilError, formatAddress, parseAddress, parseVersionSelector, type Address } from '../src/index.ts';

function failure(text: string): AnvilError {
  try {
    parseAddress(text);
  } catch (err) {
    expect(err).to.be.instanceOf(AnvilError);
    return err as AnvilError;
  }
  throw new Error(`expected "${text}" to be refused`);
}

describe('parseAddress', () => {
  const good: [string, Address][] = [
    ['onboarding', { set: 'onboarding' }],
    ['onboarding/welcome.message', { set: 'onboarding', prompt: 'welcome.message' }],
    ['onboarding@1.2.0', { set: 'onboarding', version: { kind: 'exact', version: '1.2.0' } }],
    ['@acme/onboarding', { repository: '@acme', set: 'onboarding' }],
    [
      '@acme/onboarding@1.2.0/welcome.message',
      { repository: '@acme', set: 'onboarding', version: { kind: 'exact', version: '1.2.0' }, prompt: 'welcome.message' },
    ],
    ['onboarding@2.1.0-gpt4+tokens.1500/x', { set: 'onboarding', version: { kind: 'exact', version: '2.1.0-gpt4+tokens.1500' }, prompt: 'x' }],
    ['onboarding@1.3.0-rc.1', { set: 'onboarding', version: { kind: 'exact', version: '1.3.0-rc.1' } }],
    ['onboarding@^1.2/welcome.message', { set: 'onboarding', version: { kind: 'range', range: '^1.2' }, prompt: 'welcome.message' }],
    ['onboarding@~1.2.3', { set: 'onboarding', version: { kind: 'range', range: '~1.2.3' } }],
    ['onboarding@>=1 <2/a', { set: 'onboarding', version: { kind: 'range', range: '>=1 <2' }, prompt: 'a' }],
    ['onboarding@1.x', { set: 'onboarding', version: { kind: 'range', range: '1.x' } }],
    ['onboarding@1', { set: 'onboarding', version: { kind: 'range', range: '1' } }],
    ['onboarding@*', { set: 'onboarding', version: { kind: 'range', range: '*' } }],
    ['onboarding@^1.2.0 || ^2.0.0', { set: 'onboarding', version: { kind: 'range', range: '^1.2.0 || ^2.0.0' } }],
    ['onboarding@latest/welcome.message', { set: 'onboarding', version: { kind: 'latest' }, prompt: 'welcome.message' }],
    ['@acme/core@production', { repository: '@acme', set: 'core', version: { kind: 'channel', channel: 'production' } }],
    ['core@staging', { set: 'core', version: { kind: 'channel', channel: 'staging' } }],
    ['core@development/tone.formal', { set: 'core', version: { kind: 'channel', channel: 'development' }, prompt: 'tone.formal' }],
    ['web.app_2/_x.y-z', { set: 'web.app_2', prompt: '_x.y-z' }],
  ];

  for (const [text, expected] of good) {
    it(`reads ${text}`, () => {
      expect(parseAddress(text)).to.deep.equal(expected);
    });
  }

  it('treats a version that is both exact and a range as exact', () => {
    expect(parseAddress('core@2.0.0').version).to.deep.equal({ kind: 'exact', version: '2.0.0' });
  });

  const bad: [string, number, RegExp][] = [
    ['', 1, /empty/],
    [' core', 1, /whitespace/],
    ['core ', 5, /whitespace/],
    ['Core', 1, /must start with a lowercase letter or digit, found "C"/],
    ['onBoarding', 3, /found "B"/],
    ['on..boarding', 3, /".."/],
    ['@acme', 6, /must be followed by "\/<set>"/],
    ['@/core', 2, /empty after "@"/],
    ['@Acme/core', 2, /found "A"/],
    ['@acme@1.0/core', 6, /version must follow the set name/],
    ['@acme//x', 7, /set name is missing/],
    ['/welcome', 1, /starts with "\/"/],
    ['@welcome', 9, /repository scope/],
    ['core@', 6, /version after "@" is empty/],
    ['core@/x', 6, /version after "@" is empty/],
    ['core@Nope', 6, /"Nope" is not an exact version, a semver range, "latest", a channel or an alias/],
    ['core@1.2.3.4', 6, /not an exact version/],
    ['core@v1.2.0', 6, /"v" prefix/],
    ['core@ 1.2.0', 6, /whitespace/],
    ['core@prod', 6, /not an exact version/],
    ['core/', 6, /prompt id after "\/" is empty/],
    ['core/welcome..message', 14, /empty segment/],
    ['core/welcome.', 13, /ends with "."/],
    ['core/.welcome', 6, /starts with "."/],
    ['core/welcome/message', 13, /slash/],
    ['core/welcome message', 13, /U\+0020/],
    ['core/welcome@1.0', 13, /version cannot follow the prompt id/],
    ['core@1.0.0/a/b', 13, /slash/],
    ['constructor/x', 1, /reserved/],
  ];

  for (const [text, column, message] of bad) {
    it(`refuses ${JSON.stringify(text)} at column ${column}`, () => {
      const err = failure(text);
      expect(err.code).to.equal('address.invalid');
      expect(err.message).to.match(message);
      expect(err.column, err.message).to.equal(column);
      expect(err.message).to.contain(`at column ${column}`);
      expect(err.hint, 'a hint').to.be.a('string').and.not.equal('');
    });
  }

  it('suggests the fix for common mistakes', () => {
    expect(failure('core@prod').hint).to.equal('did you mean "production"?');
    expect(failure('core@lates').hint).to.equal('did you mean "latest"?');
    expect(failure('core@v1.2.0').hint).to.equal('write "1.2.0"');
    expect(failure('core/welcome@1.0').hint).to.equal('put the version after the set: "core@1.0/welcome"');
    expect(failure('core/a..b').hint).to.contain('@acme/onboarding@1.2.0/welcome.message');
  });

  it('refuses non-strings and very long input', () => {
    expect(() => parseAddress(42 as unknown as string)).to.throw(AnvilError, /must be a string/);
    expect(failure(`core/${'a'.repeat(2000)}`).message).to.match(/longer than 1024/);
  });
});

describe('formatAddress', () => {
  it('is the inverse of parseAddress', () => {
    for (const text of [
      'onboarding',
      'onboarding/welcome.message',
      '@acme/onboarding@1.2.0/welcome.message',
      'core@^1.2',
      'core@>=1 <2/x.y',
      'core@latest',
      '@acme/core@staging',
      'core@2.1.0-gpt4+tokens.1500',
    ]) {
      expect(formatAddress(parseAddress(text))).to.equal(text);
    }
  });

  it('refuses parts that would not read back', () => {
    expect(() => formatAddress({ set: 'a/b' })).to.throw(AnvilError, /invalid set name "a\/b": .* found "\/" at column 2/);
    expect(() => formatAddress({ repository: 'acme', set: 'core' })).to.throw(AnvilError, /must start with "@"/);
    expect(() => formatAddress({ set: 'core', prompt: 'a..b' })).to.throw(AnvilError);
    expect(() => formatAddress({ set: 'core', version: { kind: 'range', range: '1.2.0' } })).to.throw(AnvilError, /exact/);
    expect(() => formatAddress({ set: 'core', version: { kind: 'exact', version: '^1' } })).to.throw(AnvilError, /range/);
  });
});

describe('parseVersionSelector', () => {
  it('classifies versions on their own', () => {
    expect(parseVersionSelector('1.2.0')).to.deep.equal({ kind: 'exact', version: '1.2.0' });
    expect(parseVersionSelector('^1.2')).to.deep.equal({ kind: 'range', range: '^1.2' });
    expect(parseVersionSelector('latest')).to.deep.equal({ kind: 'latest' });
    expect(parseVersionSelector('production')).to.deep.equal({ kind: 'channel', channel: 'production' });
  });

  it('says "version", not "address", when it fails', () => {
    expect(() => parseVersionSelector('')).to.throw(AnvilError, /invalid version "": the version is empty at column 1/);
  });
});
