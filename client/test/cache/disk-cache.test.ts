import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, truncate, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AnvilError, generateSigningKey, type ReceiverState } from '@anvil/content-schema';
import {
  BUNDLES_DIR,
  PREVIOUS_STATE_FILE,
  STATE_FILE,
  bundleFileName,
  openDiskCache,
  type DiskCache,
} from '../../src/cache/disk-cache.ts';
import { crashState, crashStateNumber, makeBundle, makeState, type CacheFixture } from './fixtures/crash-states.ts';

const key = generateSigningKey();

async function apply(cache: DiskCache, fixture: CacheFixture): Promise<void> {
  for (const { bytes, integrity } of fixture.bundles) await cache.writeBundle(bytes, integrity);
  await cache.commit(fixture.state);
}

/** Two states sharing `core`: A serves onboarding 1.0.0, B onboarding 1.1.0 with a rollout. */
function twoStates(): { a: CacheFixture; b: CacheFixture } {
  const core = makeBundle('core', '2.0.0');
  const dependencies = { core: '2.0.0' };
  const a = makeState(key, [{ bundle: core }, { bundle: makeBundle('onboarding', '1.0.0', { dependencies, body: `A ${'x'.repeat(200)}` }) }], { n: 1 });
  const b = makeState(
    key,
    [
      { bundle: core },
      {
        bundle: makeBundle('onboarding', '1.1.0', { dependencies, body: `B ${'x'.repeat(200)}` }),
        rollout: { bundle: makeBundle('onboarding', '1.2.0-rc.1', { dependencies }), percent: 25 },
      },
    ],
    { n: 2 },
  );
  return { a, b };
}

function integritiesOf(fixture: CacheFixture): string[] {
  return fixture.bundles.map((b) => b.integrity).sort();
}

/** Flips the lowest bit of one byte inside the first run of "x" (the JSON stays valid). */
async function flipOneByte(path: string): Promise<void> {
  const bytes = await readFile(path);
  const at = bytes.indexOf('xxxx');
  expect(at).to.be.greaterThan(0);
  bytes[at + 2] = (bytes[at + 2] ?? 0) ^ 0x01;
  await writeFile(path, bytes);
}

describe('disk cache', () => {
  let root: string;
  let dir: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'anvil-cache-'));
    dir = join(root, 'cache');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describe('bundles', () => {
    describe('staged while they are verified', () => {
      const temps = async () => (await readdir(join(dir, BUNDLES_DIR))).filter((name) => name.endsWith('.tmp'));

      it('a staged temp file becomes the bundle when writeBundle is given the very same bytes', async () => {
        const cache = openDiskCache(dir);
        const bundle = makeBundle('core', '2.0.0');
        const body = Buffer.from(`{"bundles":[${JSON.stringify(bundle)}]}`);
        const span = body.subarray(12, body.length - 2);
        const staged = cache.stageBundle(span);
        // Another view of the same memory counts as the same bytes.
        expect(await cache.writeBundle(body.subarray(12, body.length - 2), bundle.integrity, [staged])).to.equal('written');
        expect(await temps()).to.deep.equal([]);
        expect(await readFile(cache.bundlePath(bundle.integrity), 'utf8')).to.equal(JSON.stringify(bundle));
        await staged.discard(); // taken: nothing left to remove, and no error
        expect(await readFile(cache.bundlePath(bundle.integrity), 'utf8')).to.equal(JSON.stringify(bundle));
      });

      it('equal bytes elsewhere in memory are written anew, and discard removes what was staged', async () => {
        const cache = openDiskCache(dir);
        const bundle = makeBundle('core', '2.0.0');
        const staged = cache.stageBundle(Buffer.from(JSON.stringify(bundle)));
        expect(await cache.writeBundle(Buffer.from(JSON.stringify(bundle)), bundle.integrity, [staged])).to.equal('written');
        expect(await temps()).to.have.length(1);
        await staged.discard();
        await staged.discard();
        expect(await temps()).to.deep.equal([]);
      });

      it('leaves no temp file when what was staged is never used', async () => {
        const cache = openDiskCache(dir);
        await cache.stageBundle(Buffer.from('{"not":"verified"}')).discard();
        expect(await temps()).to.deep.equal([]);
        expect(await readdir(join(dir, BUNDLES_DIR))).to.deep.equal([]);
      });
    });

    it('are kept as bundles/sha256-<hex digest>.json with the exact bytes', async () => {
      const cache = openDiskCache(dir);
      const bundle = makeBundle('core', '2.0.0');
      const bytes = `${JSON.stringify(bundle, null, 2)}\n`;
      expect(await cache.writeBundle(bytes, bundle.integrity)).to.equal('written');
      const hex = Buffer.from(bundle.integrity.slice('sha256-'.length), 'base64').toString('hex');
      expect(bundleFileName(bundle.integrity)).to.equal(`sha256-${hex}.json`);
      expect(cache.bundlePath(bundle.integrity)).to.equal(join(dir, BUNDLES_DIR, `sha256-${hex}.json`));
      expect(await readFile(cache.bundlePath(bundle.integrity), 'utf8')).to.equal(bytes);
    });

    it('leave identical bytes alone, and replace different bytes atomically', async () => {
      const cache = openDiskCache(dir);
      const bundle = makeBundle('core', '2.0.0');
      await cache.writeBundle(JSON.stringify(bundle), bundle.integrity);
      const inode = (await stat(cache.bundlePath(bundle.integrity))).ino;
      expect(await cache.writeBundle(Buffer.from(JSON.stringify(bundle)), bundle.integrity)).to.equal('kept');
      expect((await stat(cache.bundlePath(bundle.integrity))).ino).to.equal(inode);
      expect(await cache.writeBundle(JSON.stringify(bundle, null, 1), bundle.integrity)).to.equal('replaced');
      expect(await readFile(cache.bundlePath(bundle.integrity), 'utf8')).to.equal(JSON.stringify(bundle, null, 1));
      expect((await readdir(join(dir, BUNDLES_DIR))).filter((name) => name.endsWith('.tmp'))).to.deep.equal([]);
    });

    it('refuse a name that is not a canonical integrity string', async () => {
      const cache = openDiskCache(dir);
      const integrity = makeBundle('core', '2.0.0').integrity;
      // Base64 with stray bits in its last character decodes to the same digest: it must not alias.
      const last = integrity.charCodeAt(integrity.length - 2);
      const nonCanonical = `${integrity.slice(0, -2)}${String.fromCharCode(last + 1)}=`;
      for (const bad of ['sha256-../../etc/passwd', 'sha512-abc', nonCanonical]) {
        const err = await cache.writeBundle('{}', bad).catch((e: unknown) => e);
        expect(err, bad).to.be.instanceOf(AnvilError).with.property('code', 'cache.integrity');
      }
    });
  });

  describe('commit and load', () => {
    it('load back a committed state, verified, with every bundle it names', async () => {
      const { a } = twoStates();
      await apply(openDiskCache(dir), a);
      const loaded = await openDiskCache(dir).load();
      expect(loaded?.source).to.equal('current');
      expect(loaded?.problems).to.deep.equal([]);
      expect(loaded?.state).to.deep.equal(a.state);
      expect([...(loaded?.bundles.keys() ?? [])].sort()).to.deep.equal(integritiesOf(a));
      for (const { integrity, bundle } of a.bundles) expect(loaded?.bundles.get(integrity)).to.deep.equal(bundle);
    });

    it('serve each bundle from its file\'s bytes: prompt entries are located when loaded and parsed when first read', async () => {
      const { a } = twoStates();
      await apply(openDiskCache(dir), a);
      const loaded = await openDiskCache(dir).load();
      expect(loaded?.source).to.equal('current');
      for (const { integrity, bundle } of a.bundles) {
        const prompts = loaded!.bundles.get(integrity)!.prompts;
        expect(Object.keys(prompts)).to.deep.equal(Object.keys(bundle.prompts));
        // A read-only view over the bytes (client/src/bundle/bundle-bytes.ts), not a parsed copy.
        expect(() => { (prompts as Record<string, unknown>)['x'] = 1; }).to.throw(TypeError);
        for (const id of Object.keys(bundle.prompts)) expect(prompts[id]).to.deep.equal(bundle.prompts[id]);
      }
    });

    it('load a bundle file that is not canonical JSON too, parsed whole', async () => {
      const { a } = twoStates();
      const cache = openDiskCache(dir);
      for (const { integrity, bundle } of a.bundles) await cache.writeBundle(JSON.stringify(bundle, null, 2), integrity);
      await cache.commit(a.state);
      const loaded = await openDiskCache(dir).load();
      expect(loaded?.source).to.equal('current');
      for (const { integrity, bundle } of a.bundles) expect(loaded?.bundles.get(integrity)).to.deep.equal(bundle);
    });

    it('keep the state a commit replaces as state.prev.json', async () => {
      const { a, b } = twoStates();
      const cache = openDiskCache(dir);
      await apply(cache, a);
      expect(await readFile(join(dir, PREVIOUS_STATE_FILE)).catch(() => undefined)).to.equal(undefined);
      await apply(cache, b);
      expect(JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8'))).to.deep.equal(b.state);
      expect(JSON.parse(await readFile(join(dir, PREVIOUS_STATE_FILE), 'utf8'))).to.deep.equal(a.state);
      expect((await readdir(dir)).sort()).to.deep.equal([BUNDLES_DIR, STATE_FILE, PREVIOUS_STATE_FILE].sort());
    });

    it('know state.json as the file its own last commit made current, and not once anything else replaced it', async () => {
      const { a, b } = twoStates();
      const cache = openDiskCache(dir);
      const identity = async () => {
        const info = await stat(join(dir, STATE_FILE));
        return { ino: info.ino, size: info.size, mtimeMs: info.mtimeMs };
      };
      await apply(cache, a);
      expect(cache.isLastCommit!(await identity())).to.equal(true);
      // Another cache of the same folder (another process: `anvil-live freeze`) commits.
      await apply(openDiskCache(dir), b);
      expect(cache.isLastCommit!(await identity())).to.equal(false);
      // A file put there by hand, with the committed file's size, is not it either.
      await apply(cache, a);
      const text = await readFile(join(dir, STATE_FILE));
      await unlink(join(dir, STATE_FILE));
      await writeFile(join(dir, STATE_FILE), text);
      expect(cache.isLastCommit!(await identity())).to.equal(false);
      // A cache that has committed nothing vouches for nothing.
      expect(openDiskCache(dir).isLastCommit!(await identity())).to.equal(false);
    });

    it('write the new state while its bundles are still being written, and make it current only once they are', async () => {
      const { a, b } = twoStates();
      const cache = openDiskCache(dir);
      await apply(cache, a);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const writes = gate.then(() => Promise.all(b.bundles.map(({ bytes, integrity }) => cache.writeBundle(bytes, integrity))));
      const committing = cache.commit(b.state, { after: writes });
      await delay(30);
      expect(JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8'))).to.deep.equal(a.state);
      release();
      await committing;
      expect(JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8'))).to.deep.equal(b.state);
      expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).to.deep.equal([]);
    });

    it('fail with the bundle writes\' error when they fail, and change nothing', async () => {
      const { a, b } = twoStates();
      const cache = openDiskCache(dir);
      await apply(cache, a);
      const failed = new AnvilError('cache.write', 'disk full');
      expect(await cache.commit(b.state, { after: Promise.reject(failed) }).catch((e: unknown) => e)).to.equal(failed);
      expect(JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8'))).to.deep.equal(a.state);
      expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).to.deep.equal([]);
    });

    it('refuse to commit an invalid state, or one naming a bundle not written', async () => {
      const { a } = twoStates();
      const cache = openDiskCache(dir);
      const invalid = { ...a.state, mode: 'paused' } as unknown as ReceiverState;
      expect(await cache.commit(invalid).catch((e: unknown) => e)).to.be.instanceOf(AnvilError).with.property('code', 'cache.invalid-state');
      const first = a.bundles[0];
      if (first) await cache.writeBundle(first.bytes, first.integrity);
      expect(await cache.commit(a.state).catch((e: unknown) => e)).to.be.instanceOf(AnvilError).with.property('code', 'cache.missing-bundle');
      expect(await readFile(join(dir, STATE_FILE)).catch(() => undefined)).to.equal(undefined);
    });

    it('load nothing from a directory that does not exist, and create nothing', async () => {
      const cache = openDiskCache(dir);
      expect(await cache.load()).to.equal(undefined);
      expect(cache.lastLoadProblems.map((p) => `${p.state}:${p.code}`)).to.deep.equal(['current:cache.no-file', 'previous:cache.no-file']);
      expect(await stat(dir).catch(() => undefined)).to.equal(undefined);
    });

    it('fall back to the previous state when a bundle file has one flipped byte', async () => {
      const { a, b } = twoStates();
      await apply(openDiskCache(dir), a);
      await apply(openDiskCache(dir), b);
      const onlyInB = b.bundles.find(({ integrity, bundle }) => !integritiesOf(a).includes(integrity) && bundle.version === '1.1.0');
      await flipOneByte(join(dir, BUNDLES_DIR, bundleFileName(onlyInB?.integrity ?? '')));

      const loaded = await openDiskCache(dir).load();
      expect(loaded?.source).to.equal('previous');
      expect(loaded?.state).to.deep.equal(a.state);
      expect(loaded?.problems.map((p) => p.code)).to.deep.equal(['cache.bundle-integrity']);
      expect(loaded?.problems[0]?.file).to.equal(`${BUNDLES_DIR}/${bundleFileName(onlyInB?.integrity ?? '')}`);
    });

    it('serve nothing when a bundle both states share is tampered with', async () => {
      const { a, b } = twoStates();
      await apply(openDiskCache(dir), a);
      await apply(openDiskCache(dir), b);
      const core = a.bundles.find(({ bundle }) => bundle.set === 'core');
      const path = join(dir, BUNDLES_DIR, bundleFileName(core?.integrity ?? ''));
      await writeFile(path, (await readFile(path, 'utf8')).replace('Hello', 'Hellp'));
      const cache = openDiskCache(dir);
      expect(await cache.load()).to.equal(undefined);
      expect(cache.lastLoadProblems.map((p) => `${p.state}:${p.code}`)).to.deep.equal(['current:cache.bundle-integrity', 'previous:cache.bundle-integrity']);
    });

    it('refuse a state whose bundles are signed by a key it did not pin', async () => {
      const { a } = twoStates();
      const stranger = generateSigningKey();
      const forged = makeState(key, [{ bundle: makeBundle('core', '2.0.0') }], { signer: stranger, n: 3 });
      const cache = openDiskCache(dir);
      await apply(cache, forged);
      expect(await cache.load()).to.equal(undefined);
      expect(cache.lastLoadProblems.find((p) => p.state === 'current')).to.include({ file: STATE_FILE, code: 'signature.untrusted-key' });

      await apply(openDiskCache(dir), a);
      await apply(openDiskCache(dir), forged);
      const loaded = await openDiskCache(dir).load();
      expect(loaded?.source).to.equal('previous');
      expect(loaded?.state).to.deep.equal(a.state);
    });

    it('refuse a state whose pinned key was swapped for the signer\'s after the fact', async () => {
      const { a } = twoStates();
      await apply(openDiskCache(dir), a);
      const path = join(dir, STATE_FILE);
      const state = JSON.parse(await readFile(path, 'utf8')) as ReceiverState;
      const other = generateSigningKey();
      state.forgeKeys = { [key.keyId]: other.publicKey };
      await writeFile(path, JSON.stringify(state));
      const cache = openDiskCache(dir);
      expect(await cache.load()).to.equal(undefined);
      expect(cache.lastLoadProblems[0]?.code).to.equal('signature.invalid');
    });

    it('fall back to the previous state when state.json is truncated', async () => {
      const { a, b } = twoStates();
      await apply(openDiskCache(dir), a);
      await apply(openDiskCache(dir), b);
      const path = join(dir, STATE_FILE);
      await truncate(path, Math.floor((await stat(path)).size / 2));
      const loaded = await openDiskCache(dir).load();
      expect(loaded?.source).to.equal('previous');
      expect(loaded?.state).to.deep.equal(a.state);
      expect(loaded?.problems.map((p) => p.code)).to.deep.equal(['cache.state-json']);
    });

    it('fall back when a bundle file is missing or a dependency is not kept', async () => {
      const { a, b } = twoStates();
      await apply(openDiskCache(dir), a);
      await apply(openDiskCache(dir), b);
      const rc = b.bundles.find(({ bundle }) => bundle.version === '1.2.0-rc.1');
      await unlink(join(dir, BUNDLES_DIR, bundleFileName(rc?.integrity ?? '')));
      const loaded = await openDiskCache(dir).load();
      expect(loaded?.source).to.equal('previous');
      expect(loaded?.problems.map((p) => p.code)).to.deep.equal(['cache.bundle-missing']);

      const orphan = makeState(key, [{ bundle: makeBundle('onboarding', '3.0.0', { dependencies: { core: '9.9.9' } }) }], { n: 4 });
      await apply(openDiskCache(dir), orphan);
      const cache = openDiskCache(dir);
      await cache.load();
      expect(cache.lastLoadProblems.filter((p) => p.state === 'current').map((p) => p.code)).to.deep.equal(['cache.missing-dependency']);
    });

    it('after falling back, keep the good previous state rather than the broken current one', async () => {
      const { a, b } = twoStates();
      await apply(openDiskCache(dir), a);
      await apply(openDiskCache(dir), b);
      await writeFile(join(dir, STATE_FILE), '{"format": "anvil.receiver-st');
      const cache = openDiskCache(dir);
      expect((await cache.load())?.source).to.equal('previous');
      const c = crashState(6, key);
      await apply(cache, c);
      expect(JSON.parse(await readFile(join(dir, PREVIOUS_STATE_FILE), 'utf8'))).to.deep.equal(a.state);
      expect((await cache.load())?.state).to.deep.equal(c.state);
    });

    it('never throw for garbage on disk', async () => {
      await mkdir(join(dir, BUNDLES_DIR), { recursive: true });
      const nonCanonical = `sha256-${'A'.repeat(42)}B=`;
      const cases: [string, string | undefined][] = [
        ['', undefined],
        ['null', undefined],
        ['[]', undefined],
        ['{"__proto__": {"format": "anvil.receiver-state/1"}}', undefined],
        [JSON.stringify({ ...twoStates().a.state, sets: {}, bundles: { [nonCanonical]: { set: 'core', version: '1.0.0', signatures: [{ keyId: key.keyId, integrity: nonCanonical, signature: `${'A'.repeat(86)}==` }] } } }), 'cache.state-invalid'],
      ];
      for (const [text, code] of cases) {
        await writeFile(join(dir, STATE_FILE), text);
        const cache = openDiskCache(dir);
        expect(await cache.load(), text).to.equal(undefined);
        expect(cache.lastLoadProblems.length, text).to.be.greaterThan(0);
        if (code !== undefined) expect(cache.lastLoadProblems[0]?.code).to.equal(code);
      }
      await rm(join(dir, STATE_FILE));
      await mkdir(join(dir, STATE_FILE));
      const cache = openDiskCache(dir);
      expect(await cache.load()).to.equal(undefined);
      expect(cache.lastLoadProblems[0]?.code).to.equal('cache.unreadable');
    });

    it('throw cache.io, with a hint, for a cache it may not read', async function () {
      if (process.getuid?.() === 0) this.skip();
      const { a } = twoStates();
      await apply(openDiskCache(dir), a);
      const { chmod } = await import('node:fs/promises');
      await chmod(join(dir, STATE_FILE), 0o000);
      const err = await openDiskCache(dir).load().catch((e: unknown) => e);
      await chmod(join(dir, STATE_FILE), 0o644);
      expect(err).to.be.instanceOf(AnvilError).with.property('code', 'cache.io');
      expect((err as AnvilError).hint).to.contain(dir);
    });
  });

  describe('garbage collection', () => {
    it('removes bundles neither state names, and stale temp files, keeping both states loadable', async () => {
      const old = crashState(0, key);
      const mid = crashState(1, key);
      const now = crashState(2, key);
      const cache = openDiskCache(dir, { gcGraceMs: 60_000 });
      for (const fixture of [old, mid, now]) await apply(cache, fixture);
      const stale = new Date(Date.now() - 120_000);
      for (const name of await readdir(join(dir, BUNDLES_DIR))) await utimes(join(dir, BUNDLES_DIR, name), stale, stale);
      const staleTemp = join(dir, BUNDLES_DIR, 'sha256-0.json.4000000000.abcd.tmp');
      const youngTemp = join(dir, BUNDLES_DIR, 'sha256-1.json.4000000000.abcd.tmp');
      await writeFile(staleTemp, 'partial');
      await utimes(staleTemp, stale, stale);
      await writeFile(youngTemp, 'partial');

      const named = new Set([...integritiesOf(mid), ...integritiesOf(now)]);
      const expected = integritiesOf(old).filter((i) => !named.has(i)).map((i) => `${BUNDLES_DIR}/${bundleFileName(i)}`);
      expect(expected).to.have.length(1);
      const result = await cache.garbageCollect();
      expect(result.removed.sort()).to.deep.equal([...expected, `${BUNDLES_DIR}/sha256-0.json.4000000000.abcd.tmp`].sort());
      expect(await stat(youngTemp).then(() => true)).to.equal(true);
      expect((await cache.load())?.state).to.deep.equal(now.state);

      await writeFile(join(dir, STATE_FILE), 'not json');
      expect((await openDiskCache(dir).load())?.state, 'the previous state is whole').to.deep.equal(mid.state);
    });

    it('removes nothing while a state file cannot be read', async () => {
      const cache = openDiskCache(dir, { gcGraceMs: 0 });
      await apply(cache, crashState(0, key));
      await apply(cache, crashState(1, key));
      await apply(cache, crashState(2, key));
      await writeFile(join(dir, PREVIOUS_STATE_FILE), '{');
      const result = await cache.garbageCollect();
      expect(result.removed).to.deep.equal([]);
      expect(result.skipped).to.contain(PREVIOUS_STATE_FILE);
    });

    it('spares bundles written but not yet committed', async () => {
      const cache = openDiskCache(dir, { gcGraceMs: 0 });
      await apply(cache, crashState(0, key));
      const next = crashState(2, key);
      for (const { bytes, integrity } of next.bundles) await cache.writeBundle(bytes, integrity);
      expect((await cache.garbageCollect()).removed).to.deep.equal([]);
      await cache.commit(next.state);
      expect((await cache.load())?.state).to.deep.equal(next.state);
    });
  });
});

const KILLS = 200;
const LANES = 2;

describe('disk cache crash safety', () => {
  let root: string;
  let keyFile: string;
  let childArgs: string[];
  const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
  const childSource = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));

  before(async function () {
    this.timeout(60_000);
    root = await mkdtemp(join(tmpdir(), 'anvil-crash-'));
    keyFile = join(root, 'key.json');
    await writeFile(keyFile, JSON.stringify(key));
    childArgs = await prepareChild(childSource, join(root, 'crash-child.mjs'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it(`crash safety: SIGKILLed at random instants ${KILLS} times while applying, it always restarts with a complete, verified state`, async function () {
    this.timeout(180_000);
    const started = Date.now();
    const stats = { kills: 0, commits: 0, midWrite: 0, prevSameAsCurrent: 0 };
    await Promise.all(
      Array.from({ length: LANES }, (_, lane) => runLane(join(root, `lane-${lane}`), Math.ceil(KILLS / LANES), stats)),
    );
    expect(stats.kills).to.be.at.least(KILLS);
    console.log(
      `      crash test: ${stats.kills} kills, ${stats.commits} commits, ${stats.midWrite} inside a file write, ` +
        `${stats.prevSameAsCurrent} between keeping the previous state and replacing the current one; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  async function runLane(dir: string, kills: number, stats: { kills: number; commits: number; midWrite: number; prevSameAsCurrent: number }) {
    let committed = -1;
    let lastLoaded = -1;
    for (let i = 0; i < kills; i++) {
      const child = spawn(process.execPath, [...childArgs, dir, keyFile], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let ready = false;
      let highest = -1;
      const seen: (() => void)[] = [];
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          const [what, n] = line.split(' ');
          if (what === 'ready') ready = true;
          if (what === 'committed') highest = Math.max(highest, Number(n));
        }
        for (const wake of seen.splice(0)) wake();
      });
      const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('close', (code, signal) => resolve({ code, signal })),
      );
      const until = async (condition: () => boolean): Promise<void> => {
        while (!condition() && child.exitCode === null && child.signalCode === null) {
          await Promise.race([new Promise<void>((wake) => seen.push(wake)), closed]);
        }
      };

      if (committed < 0) await until(() => highest >= 0);
      else if (Math.random() < 0.15) await delay(Math.random() * 250); // anywhere, start-up and load included
      else {
        await until(() => ready);
        await delay(Math.random() * 40);
      }
      child.kill('SIGKILL');
      const { code, signal } = await closed;
      if (signal !== 'SIGKILL') throw new Error(`the crash child exited by itself (code ${String(code)}):\n${stderr}`);
      stats.kills++;
      committed = Math.max(committed, highest);

      const cache = openDiskCache(dir);
      const loaded = await cache.load();
      expect(loaded, `after kill ${i} in ${dir}: ${JSON.stringify(cache.lastLoadProblems)}`).not.to.equal(undefined);
      if (!loaded) return;
      expect(loaded.source, JSON.stringify(loaded.problems)).to.equal('current');
      const n = crashStateNumber(loaded.state);
      expect(n, 'every commit that returned is still there').to.be.at.least(committed);
      expect(n, 'states only move forward').to.be.at.least(lastLoaded);
      stats.commits += n - Math.max(lastLoaded, -1);
      lastLoaded = n;
      const expected = crashState(n, key);
      expect(loaded.state).to.deep.equal(expected.state);
      expect([...loaded.bundles.keys()].sort()).to.deep.equal(integritiesOf(expected));
      for (const { integrity, bundle } of expected.bundles) expect(loaded.bundles.get(integrity)).to.deep.equal(bundle);

      const previous = await readFile(join(dir, PREVIOUS_STATE_FILE), 'utf8').catch(() => undefined);
      if (previous !== undefined) {
        const m = crashStateNumber(JSON.parse(previous) as ReceiverState);
        expect(m).to.be.at.most(n);
        if (m === n) stats.prevSameAsCurrent++;
        expect(JSON.parse(previous)).to.deep.equal(crashState(m, key).state);
        const view = `${dir}-previous-view`;
        await rm(view, { recursive: true, force: true });
        await mkdir(view);
        await copyFile(join(dir, PREVIOUS_STATE_FILE), join(view, STATE_FILE));
        await symlink(join(dir, BUNDLES_DIR), join(view, BUNDLES_DIR));
        const asCurrent = await openDiskCache(view).load();
        expect(asCurrent?.source, `the previous state is whole: ${JSON.stringify(openDiskCache(view).lastLoadProblems)}`).to.equal('current');
      }
      // Its own temp files mean the kill landed inside a write (older ones wait for a collection).
      const names = [...(await readdir(dir)), ...(await readdir(join(dir, BUNDLES_DIR)))];
      if (names.some((name) => name.endsWith('.tmp') && name.includes(`.${String(child.pid)}.`))) stats.midWrite++;
    }
  }
});

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Node arguments that start the crash child. Bundled into one plain ESM file with esbuild
 * (installed with tsx), a child starts in about 0.1 s; through the tsx loader it takes about
 * 0.8 s, which for hundreds of kills would be minutes. Without esbuild, tsx it is.
 */
async function prepareChild(source: string, outfile: string): Promise<string[]> {
  try {
    const esbuild = (await import('esbuild' as string)) as { build(options: Record<string, unknown>): Promise<unknown> };
    await esbuild.build({
      entryPoints: [source],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      conditions: ['anvil-source'],
      logLevel: 'silent',
      // Bundled CommonJS dependencies (ajv) call require() for Node built-ins.
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    });
    return [outfile];
  } catch {
    return ['--conditions=anvil-source', '--import', 'tsx', source];
  }
}
