import { expect } from 'chai';
import { AnvilError, canonicalJson, jsonEqual } from '../src/index.ts';

/** The same data with keys inserted in reverse order at every level. */
function shuffled(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shuffled);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).reverse()) out[key] = shuffled((value as Record<string, unknown>)[key]);
  return out;
}

describe('canonicalJson', () => {
  it('sorts keys at every level and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).to.equal('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('gives the same bytes whatever the key order', () => {
    const value = { prompts: { b: { t: 'x', m: { k: 1, j: [1, 2] } }, a: { t: 'y' } }, version: '1.0.0', 10: 'ten', 9: 'nine' };
    expect(canonicalJson(shuffled(value))).to.equal(canonicalJson(value));
  });

  it('orders keys by UTF-16 code units, integer-like keys included (RFC 8785 §3.2.3)', () => {
    const value = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const keys = Object.keys(JSON.parse(canonicalJson(value)) as object);
    expect(keys).to.deep.equal(['1', '\r', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
    expect(canonicalJson({ 9: 'a', 10: 'b', a: 'c' })).to.equal('{"10":"b","9":"a","a":"c"}');
  });

  it('writes numbers and strings as RFC 8785 does (its §3.2.2 example)', () => {
    const value = {
      numbers: [333333333.33333329, 1e30, 4.5, 2e-3, 0.000000000000000000000000001],
      string: '\u20ac$\u000F\u000aA\'\u0042\u0022\u005c\\"/',
      literals: [null, true, false],
    };
    expect(canonicalJson(value)).to.equal(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
    expect(canonicalJson(-0)).to.equal('0');
  });

  it('round-trips unicode strings', () => {
    const value = { text: 'Grüße, 你好, مرحبا, 🎉, \u2028 and \u0000', '🔑': 'ключ' };
    expect(JSON.parse(canonicalJson(value))).to.deep.equal(value);
  });

  it('drops undefined object members, as JSON does', () => {
    expect(canonicalJson({ a: 1, b: undefined, c: 2 })).to.equal('{"a":1,"c":2}');
    expect(canonicalJson({ b: undefined })).to.equal('{}');
  });

  it('refuses values JSON cannot hold, saying where', () => {
    const cases: [unknown, RegExp][] = [
      [{ a: [1, Number.NaN] }, /NaN is not a JSON number \(at \/a\/1\)/],
      [{ a: Infinity }, /Infinity/],
      [{ a: -Infinity }, /-Infinity/],
      [{ f: () => 1 }, /a function is not a JSON value \(at \/f\)/],
      [{ n: 10n }, /a bigint/],
      [{ s: Symbol('x') }, /a symbol/],
      [[undefined], /undefined is not a JSON value \(at \/0\)/],
      [undefined, /undefined/],
      [{ d: new Date(0) }, /a Date/],
      [{ m: new Map() }, /non-plain object/],
      [{ 'a/b': { c: Number.NaN } }, /at \/a~1b\/c/],
    ];
    for (const [value, message] of cases) {
      expect(() => canonicalJson(value)).to.throw(AnvilError, message);
    }
    try {
      canonicalJson({ x: Number.NaN });
    } catch (err) {
      expect((err as AnvilError).code).to.equal('json.not-json');
    }
  });

  it('refuses cycles but accepts a shared value', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    expect(() => canonicalJson(cyclic)).to.throw(AnvilError, /circular/);
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: [shared] })).to.equal('{"a":{"x":1},"b":[{"x":1}]}');
  });

  it('accepts objects without a prototype and keeps "__proto__" as an ordinary key', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare['b'] = 1;
    bare['a'] = 2;
    expect(canonicalJson(bare)).to.equal('{"a":2,"b":1}');
    expect(canonicalJson(JSON.parse('{"__proto__":{"x":1},"a":0}'))).to.equal('{"__proto__":{"x":1},"a":0}');
  });

  it('refuses absurd nesting instead of overflowing the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 5_000; i++) deep = [deep];
    expect(() => canonicalJson(deep)).to.throw(AnvilError, /nested more than/);
  });
});

describe('jsonEqual', () => {
  it('agrees with comparing canonical JSON texts, key order and undefined members aside', () => {
    const values: unknown[] = [
      null, 0, -0, 1, 1.5, '', 'a', '1', true, false, [], {}, [1, 2], [2, 1], [[]], [{}], { a: 1 }, { a: 1, b: undefined }, { a: '1' },
      { a: [1, { b: null }] }, { a: [1, { b: false }] }, { b: 1, a: 2 }, { a: 2, b: 1 }, { a: { b: { c: 'x' } } }, { a: { b: { c: 'y' } } }, { a: undefined },
    ];
    for (const left of values) {
      for (const right of [...values, ...values.map(shuffled)]) {
        expect(jsonEqual(left, right), `${canonicalJson(left)} vs ${canonicalJson(right)}`).to.equal(canonicalJson(left) === canonicalJson(right));
      }
    }
  });
});
