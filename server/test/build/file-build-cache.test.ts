/**
 * The build cache on disk (`<git dir>/anvil/build-cache/`): entries come back as they were
 * written, damaged files are misses, and the folder stays within its bounds, dropping the least
 * recently used entries first.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { BuildCacheEntry } from '../../src/build/build-cache.ts';
import { fileBuildCache } from '../../src/build/file-build-cache.ts';

const pack = (n: number): BuildCacheEntry => ({
  kind: 'pack',
  prompts: { [`${n}`.padStart(40, '0')]: { template: `Hello ${n} — ünïcode`, metadata: { description: `#${n}`, config: {}, metadata: {}, ext: {} } } },
});

describe('the build cache on disk', function () {
  let dir: string;
  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), 'anvil-file-cache-'));
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });
  const fileOf = (key: string) => path.join(dir, `${createHash('sha256').update(key).digest('hex')}.json`);

  it('gives back what was written, under its key only', function () {
    const cache = fileBuildCache(dir, { memory: false });
    expect(cache.get('a')).to.equal(undefined);
    cache.set('a', pack(1));
    expect(cache.get('a')).to.deep.equal(pack(1));
    expect(fileBuildCache(dir, { memory: false }).get('a')).to.deep.equal(pack(1));
    expect(cache.get('b')).to.equal(undefined);
  });

  it('reads a file that is not an entry it wrote as a miss', async function () {
    const cache = fileBuildCache(dir, { memory: false });
    cache.set('a', pack(1));
    const [file] = await readdir(dir);
    for (const text of ['', 'garbage', '{"format":"anvil.build-cache/2","key":"a","sha256":"00","bytes":2}\n{}', '{"key":"a","content":{}}']) {
      await writeFile(path.join(dir, file!), text);
      expect(cache.get('a'), JSON.stringify(text)).to.equal(undefined);
    }
  });

  it('keeps at most maxFiles entries, dropping the least recently used', async function () {
    const cache = fileBuildCache(dir, { memory: false, maxFiles: 3 });
    for (const key of ['a', 'b', 'c']) cache.set(key, pack(key.charCodeAt(0)));
    // Ages set by hand (file times are too coarse to order writes a millisecond apart): a is
    // the oldest written, but then read, which makes it the most recently used.
    for (const [i, key] of ['a', 'b', 'c'].entries()) await utimes(fileOf(key), new Date(1000 * (i + 1)), new Date(1000 * (i + 1)));
    expect(cache.get('a')).to.not.equal(undefined);
    cache.set('d', pack(4));
    expect(await readdir(dir)).to.have.length(3);
    expect(['a', 'b', 'c', 'd'].filter((key) => cache.get(key) !== undefined)).to.deep.equal(['a', 'c', 'd']);
  });

  it('keeps at most maxBytes, and never drops the entry just written', async function () {
    const cache = fileBuildCache(dir, { memory: false, maxBytes: 1 });
    cache.set('a', pack(1));
    cache.set('b', pack(2));
    expect(cache.get('a')).to.equal(undefined);
    expect(cache.get('b')).to.deep.equal(pack(2));
    expect(await readdir(dir)).to.have.length(1);
  });

  it('cleans up what an interrupted write left behind, once it is old', async function () {
    const cache = fileBuildCache(dir, { memory: false });
    const stale = path.join(dir, 'x.json.123.tmp');
    const fresh = path.join(dir, 'y.json.456.tmp');
    cache.set('a', pack(1));
    await writeFile(stale, 'partial');
    await writeFile(fresh, 'partial');
    await utimes(stale, new Date(0), new Date(0));
    cache.set('b', pack(2));
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).to.deep.equal(['y.json.456.tmp']);
  });

  it('keeps entries in memory only while their files are there', async function () {
    const cache = fileBuildCache(dir);
    const entry = pack(7);
    cache.set('a', entry);
    expect(fileBuildCache(dir).get('a')).to.equal(entry); // the very object, not read again
    await rm(fileOf('a'));
    expect(fileBuildCache(dir).get('a')).to.equal(undefined);
    cache.set('b', entry);
    await writeFile(fileOf('b'), 'replaced by hand');
    expect(fileBuildCache(dir).get('b')).to.equal(undefined);
    cache.set('link', { kind: 'link', key: 'a' });
    expect(cache.get('link')).to.not.equal(undefined);
  });

  it('works where nothing can be written, as a cache that never hits', async function () {
    const file = path.join(dir, 'not-a-folder');
    await writeFile(file, '');
    const cache = fileBuildCache(path.join(file, 'cache'));
    cache.set('a', pack(1));
    expect(cache.get('a')).to.equal(undefined);
  });
});
