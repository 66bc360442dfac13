import { expect } from 'chai';
import { AnvilError, canonicalJson, integrityOfBundleBytes, validateBundle, type Bundle } from '@anvil/content-schema';
import { indexBundleBytes, promptsFromBytes, readBundleBytes, standInPrompts } from '../../src/bundle/bundle-bytes.ts';
import { jsonKey, skipJsonString, skipJsonValue, walkJsonArray, walkJsonObject } from '../../src/bundle/json-bytes.ts';
import { createStoreSnapshot } from '../../src/store/store-snapshot.ts';
import { makeBundle } from '../support/fake-forge.ts';

/** A small deterministic generator (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Strings made of what is hard for a walker: quotes, runs of backslashes, braces, multi-byte text. */
function nastyString(next: () => number): string {
  const pieces = ['"', '\\', '\\\\', '\\"', '{', '}', '[', ']', ',', ':', 'é', '😀', '\n', '\u0000', 'a', 'template', ' '];
  const length = Math.floor(next() * 80);
  let text = '';
  for (let i = 0; i < length; i++) text += pieces[Math.floor(next() * pieces.length)]!;
  return text;
}

function randomJson(next: () => number, depth: number): unknown {
  const kind = Math.floor(next() * (depth > 3 ? 4 : 6));
  switch (kind) {
    case 0: return nastyString(next);
    case 1: return Math.floor(next() * 2000) - 1000 + (next() < 0.3 ? 0.5 : 0);
    case 2: return next() < 0.5;
    case 3: return null;
    case 4: return Array.from({ length: Math.floor(next() * 4) }, () => randomJson(next, depth + 1));
    default: return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, () => [nastyString(next), randomJson(next, depth + 1)]));
  }
}

describe('walking canonical JSON bytes (bundle/json-bytes.ts)', function () {
  it('finds the end of every string, whatever runs of backslashes and quotes it holds, short or long', function () {
    const next = random(7);
    for (let i = 0; i < 2000; i++) {
      const value = nastyString(next) + (i % 3 === 0 ? '\\"'.repeat(i % 40) : '');
      const bytes = Buffer.from(`${JSON.stringify(value)},`);
      expect(skipJsonString(bytes, 0), JSON.stringify(value)).to.equal(bytes.length - 1);
    }
  });

  it('walks objects and arrays to the same members JSON.parse reads', function () {
    const next = random(11);
    for (let i = 0; i < 500; i++) {
      const value = Object.fromEntries(Array.from({ length: 1 + Math.floor(next() * 5) }, () => [nastyString(next), randomJson(next, 0)]));
      const bytes = Buffer.from(canonicalJson(value));
      const seen: [string, unknown][] = [];
      const end = walkJsonObject(bytes, 0, (keyStart, keyEnd, valueStart) => {
        const valueEnd = skipJsonValue(bytes, valueStart);
        seen.push([jsonKey(bytes, keyStart, keyEnd)!, JSON.parse(bytes.toString('utf8', valueStart, valueEnd))]);
        return valueEnd;
      });
      expect(end).to.equal(bytes.length);
      expect(Object.fromEntries(seen)).to.deep.equal(JSON.parse(bytes.toString('utf8')));
    }
    const list = Buffer.from(canonicalJson([1, 'two', { three: [3] }, null]));
    const elements: unknown[] = [];
    expect(walkJsonArray(list, 0, (start) => {
      const end = skipJsonValue(list, start);
      elements.push(JSON.parse(list.toString('utf8', start, end)));
      return end;
    })).to.equal(list.length);
    expect(elements).to.deep.equal([1, 'two', { three: [3] }, null]);
  });

  it('answers -1, never throws or runs past the end, on bytes that are not canonical JSON', function () {
    const bad = ['{"a":1', '{"a" :1}', '{ "a":1}', '{"a":"x}', '{"a":[1,2}', '[1,2', '{"a":1,}', '{a:1}', '"unterminated\\"', '{"a":}', '', '{', '['];
    for (const text of bad) {
      const bytes = Buffer.from(text);
      const walked = text.startsWith('[') ? walkJsonArray(bytes, 0) : walkJsonObject(bytes, 0);
      expect(walked, text).to.equal(-1);
    }
    const next = random(3);
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(Array.from({ length: Math.floor(next() * 60) }, () => '{}[]",:\\a1'[Math.floor(next() * 11)]).join(''));
      const walked = walkJsonObject(bytes, 0);
      expect(walked <= bytes.length).to.equal(true);
    }
  });
});

describe('a bundle served from its bytes (bundle/bundle-bytes.ts)', function () {
  const bundle = makeBundle('onboarding', '1.0.0', {
    'welcome.message': 'Hi {{name}} — "quoted" {braces} \\ back',
    'farewell.message': { template: 'Bye {{name}}', variants: { short: { template: 'Bye', tags: { tone: 'brief' } } } },
    // Content that looks like structure: keys and joins inside strings and metadata.
    tricky: { template: '"prompts":{"x":{}},"repository":"', metadata: { metadata: { prompts: { fake: { template: 'no' } }, list: [{ dependencies: {} }] } } },
  });
  const bytes = Buffer.from(canonicalJson(bundle));

  it('locates every prompt entry, and parses each to what JSON.parse gives for it', function () {
    const read = readBundleBytes(bytes)!;
    const prompts = promptsFromBytes(bytes, read.index);
    expect(Object.keys(prompts).sort()).to.deep.equal(Object.keys(bundle.prompts).sort());
    for (const id of Object.keys(bundle.prompts)) {
      expect(Object.hasOwn(prompts, id)).to.equal(true);
      expect(id in prompts).to.equal(true);
      expect(prompts[id]).to.deep.equal(bundle.prompts[id]);
    }
    expect(Object.hasOwn(prompts, 'fake')).to.equal(false);
    expect(prompts['toString' as string]).to.equal(undefined);
    expect(canonicalJson({ ...read.outline as Bundle, prompts })).to.equal(canonicalJson(bundle));
  });

  it('gives an outline that is the bundle with an empty object for each prompt entry, which the outline schema checks', function () {
    const read = readBundleBytes(bytes)!;
    const outline = read.outline as Bundle;
    expect({ ...outline, prompts: undefined }).to.deep.equal({ ...bundle, prompts: undefined });
    expect(Object.keys(outline.prompts).sort()).to.deep.equal(Object.keys(bundle.prompts).sort());
    expect(validateBundle(outline, { deferPrompts: true }).ok).to.equal(true);
  });

  it('parses an entry on its first read, not before: listing ids and checking them touches no entry', function () {
    const read = readBundleBytes(Buffer.from(bytes))!;
    const copy = Buffer.from(bytes);
    const prompts = promptsFromBytes(copy, read.index);
    // Spoil the bytes of one entry after the map was made (only a test does this: the receiver
    // never changes bytes it verified). Listing and looking up ids still works, and so does
    // every other entry; reading the spoilt one fails as invalid.
    const ordinal = read.index.entries.get('tricky')!;
    copy.fill(0x21 /* ! */, read.index.entryStarts[ordinal], read.index.entryEnds[ordinal]);
    expect(Object.keys(prompts)).to.have.length(3);
    expect(Object.hasOwn(prompts, 'tricky')).to.equal(true);
    expect(prompts['welcome.message']!.template).to.equal(bundle.prompts['welcome.message']!.template);
    expect(() => prompts['tricky']).to.throw(AnvilError).with.property('code', 'prompt.invalid');
  });

  it('is read-only', function () {
    const prompts = promptsFromBytes(bytes, readBundleBytes(bytes)!.index);
    expect(() => { (prompts as Record<string, unknown>)['x'] = {}; }).to.throw(TypeError);
    expect(() => { delete (prompts as Record<string, unknown>)['tricky']; }).to.throw(TypeError);
    expect(Object.keys(prompts)).to.have.length(3);
  });

  it('serves prompts through a store snapshot like a parsed bundle', function () {
    const read = readBundleBytes(bytes)!;
    const served = { ...read.outline as Bundle, prompts: promptsFromBytes(bytes, read.index) };
    const snapshot = createStoreSnapshot({ sets: { onboarding: { bundle: served } } });
    expect(snapshot.render('welcome.message', { name: 'Ada' })).to.equal('Hi Ada — "quoted" {braces} \\ back');
    expect(snapshot.render('farewell.message', { name: 'Ada' }, { tags: { tone: 'brief' } })).to.equal('Bye');
    expect(() => snapshot.render('welcom.message')).to.throw(AnvilError).with.property('code', 'prompt.unknown');
  });

  it('keeps an id such as __proto__ an own key of the stand-in, so the schema refuses it as JSON.parse would have it', function () {
    const evil = Buffer.from(canonicalJson(bundle).replace('"tricky":', '"__proto__":'));
    const read = readBundleBytes(evil)!;
    expect(Object.hasOwn(read.outline as object, 'prompts')).to.equal(true);
    expect(Object.hasOwn((read.outline as Bundle).prompts, '__proto__')).to.equal(true);
    expect(Object.getPrototypeOf((read.outline as Bundle).prompts)).to.equal(Object.prototype);
    expect(validateBundle(read.outline, { deferPrompts: true }).ok).to.equal(false);
    expect(Object.hasOwn(promptsFromBytes(evil, read.index), '__proto__')).to.equal(true);
  });

  it('declines bytes that are not one canonical bundle', function () {
    expect(readBundleBytes(Buffer.from(JSON.stringify(bundle, null, 2)))).to.equal(undefined);
    expect(readBundleBytes(Buffer.from(`${canonicalJson(bundle)} `))).to.equal(undefined);
    expect(readBundleBytes(Buffer.from(canonicalJson({ ...bundle, prompts: undefined })))).to.equal(undefined);
    expect(readBundleBytes(Buffer.from(canonicalJson(bundle).replace('"prompts":{', '"prompts":{},"prompts":{')))).to.equal(undefined);
    expect(indexBundleBytes(Buffer.from('[]'), 0)).to.equal(undefined);
  });

  it('stand-ins cost one empty object shared by every id', function () {
    const index = readBundleBytes(bytes)!.index;
    const standIns = Object.values(standInPrompts(index));
    expect(new Set(standIns).size).to.equal(1);
    expect(integrityOfBundleBytes(bytes)).to.equal(bundle.integrity);
  });
});
