import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { AnvilError, RECEIVER_STATE_FORMAT, canonicalJson, generateSigningKey, signEnvelope, signIntegrity, type Bundle, type Envelope, type ReceiverState } from '@anvil/content-schema';
import { applyEnvelope, stageEnvelope } from '../../src/apply/apply-envelope.ts';
import { checkEnvelopeYielding } from '../../src/receive/check-push.ts';
import { openDiskCache, type DiskCache } from '../../src/cache/disk-cache.ts';
import { makeBundle } from '../support/fake-forge.ts';

describe('applyEnvelope: served once verified, answered once durable', function () {
  const key = generateSigningKey();
  const v1 = makeBundle('onboarding', '1.0.0', { hello: 'Hi (v1)' });
  const v2 = makeBundle('onboarding', '1.1.0', { hello: 'Hi (v2)' });
  const envelope = (bundles: Bundle[]): Envelope => signEnvelope([key], {
    format: 'anvil.envelope/1', id: 'env-1', forge: 'f', project: 'acme', channel: 'production', bundles, rollouts: {},
  });
  const fresh: ReceiverState = {
    format: RECEIVER_STATE_FORMAT, forge: 'http://forge', project: 'acme', channel: 'production', mode: 'accepting',
    forgeKeys: { [key.keyId]: key.publicKey }, sets: {}, bundles: {}, seenWebhookIds: [], instanceId: 'test',
  };
  let dir: string;
  let cache: DiskCache;

  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), 'anvil-apply-'));
    cache = openDiskCache(dir);
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  function wrap(inner: DiskCache, overrides: Partial<Pick<DiskCache, 'writeBundle' | 'commit'>>): DiskCache {
    return {
      dir: inner.dir,
      get lastLoadProblems() {
        return inner.lastLoadProblems;
      },
      bundlePath: (integrity) => inner.bundlePath(integrity),
      stageBundle: (bytes) => inner.stageBundle(bytes),
      writeBundle: (bytes, integrity, staged) => inner.writeBundle(bytes, integrity, staged),
      commit: (state, options) => inner.commit(state, options),
      load: () => inner.load(),
      garbageCollect: () => inner.garbageCollect(),
      ...overrides,
    };
  }

  /** The disk cache, with its writes held until `release()`, and failures on demand. */
  function gated(inner: DiskCache, fail?: 'writeBundle' | 'commit') {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const calls: string[] = [];
    const wrapped = wrap(inner, {
      writeBundle: async (bytes, integrity) => {
        calls.push('writeBundle');
        await gate;
        if (fail === 'writeBundle') throw new AnvilError('cache.write', 'disk full');
        return inner.writeBundle(bytes, integrity);
      },
      commit: async (state, options) => {
        calls.push('commit');
        if (fail === 'commit') throw new AnvilError('cache.write', 'disk full');
        return inner.commit(state, options);
      },
    });
    return { cache: wrapped, release, calls };
  }

  it('serves before the disk is durable, and resolves only once the bundle and state are', async function () {
    const disk = gated(cache);
    const events: string[] = [];
    const applying = applyEnvelope({
      cache: disk.cache, current: fresh, known: new Map(), envelope: envelope([v1]), webhookId: 'msg_1',
      serve: (state, bundles) => {
        events.push(`serve ${state.sets['onboarding']?.version} ${[...bundles.keys()].join()}`);
        return () => events.push('undo');
      },
    });
    let done = false;
    void applying.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(events).to.deep.equal([`serve 1.0.0 ${v1.integrity}`]);
    // The state is being committed, but is not current while its bundle is not written.
    expect(disk.calls).to.deep.equal(['writeBundle', 'commit']);
    expect(done).to.equal(false);
    expect(await openDiskCache(dir).load()).to.equal(undefined);

    disk.release();
    const applied = await applying;
    expect(disk.calls).to.deep.equal(['writeBundle', 'commit']);
    expect(applied.state.seenWebhookIds).to.deep.equal(['msg_1']);
    const loaded = await openDiskCache(dir).load();
    expect(loaded?.state.sets['onboarding']?.version).to.equal('1.0.0');
    expect(events).to.deep.equal([`serve 1.0.0 ${v1.integrity}`]);
  });

  for (const step of ['writeBundle', 'commit'] as const) {
    it(`serves the previous snapshot again and fails when ${step} fails; the disk keeps the previous state`, async function () {
      const first = await applyEnvelope({ cache, current: fresh, known: new Map(), envelope: envelope([v1]), serve: () => () => undefined });
      const disk = gated(cache, step);
      disk.release();
      const events: string[] = [];
      let error: unknown;
      try {
        await applyEnvelope({
          cache: disk.cache, current: first.state, known: first.bundles, envelope: envelope([v2]),
          serve: (state) => {
            events.push(`serve ${state.sets['onboarding']?.version}`);
            return () => events.push('undo');
          },
        });
      } catch (err) {
        error = err;
      }
      expect((error as AnvilError).code).to.equal('cache.write');
      expect(events).to.deep.equal(['serve 1.1.0', 'undo']);
      const loaded = await openDiskCache(dir).load();
      expect(loaded?.state.sets['onboarding']?.version).to.equal('1.0.0');
    });
  }

  it('writes the bytes as received when it has them, else the canonical JSON', async function () {
    const bytes = Buffer.from(canonicalJson(v1));
    const seen: Uint8Array[] = [];
    const wrapped = wrap(cache, {
      writeBundle: (data, integrity) => {
        seen.push(typeof data === 'string' ? Buffer.from(data) : data);
        return cache.writeBundle(data, integrity);
      },
    });
    await applyEnvelope({ cache: wrapped, current: fresh, known: new Map(), envelope: envelope([v1]), bytes: new Map([[v1.integrity, bytes]]), serve: () => () => undefined });
    expect(seen[0]).to.equal(bytes);
  });

  it('takes the bundle files staged while the body was verified, and leaves no temp file behind', async function () {
    const body = Buffer.from(canonicalJson(envelope([v1, v2])));
    const intake = stageEnvelope(cache, body);
    expect(intake.staged).to.have.length(2);
    const checked = await checkEnvelopeYielding(body, { project: 'acme', channel: 'production', forgeKeys: fresh.forgeKeys, versions: {}, rollouts: {}, ranges: {}, sets: ['onboarding'] }, { spans: intake.spans });
    if (!checked.ok) throw new Error(checked.rejection.reason);
    const writes: string[] = [];
    const wrapped = wrap(cache, {
      writeBundle: async (bytes, integrity, staged) => {
        const result = await cache.writeBundle(bytes, integrity, staged);
        writes.push(integrity);
        return result;
      },
    });
    await applyEnvelope({ cache: wrapped, current: fresh, known: new Map(), envelope: checked.envelope, bytes: checked.bundleBytes, staged: intake.staged, serve: () => () => undefined });
    await intake.discard();
    expect(writes).to.deep.equal([v2.integrity]); // only the version served is kept
    const names = await readdir(path.join(dir, 'bundles'));
    expect(names.filter((n) => n.endsWith('.tmp'))).to.deep.equal([]);
    expect(await readFile(cache.bundlePath(v2.integrity), 'utf8')).to.equal(canonicalJson(v2));
  });

  it('refuses a plan that misses a dependency before serving anything', async function () {
    const needsCore = makeBundle('onboarding', '2.0.0', { hello: 'Hi' }, { dependencies: { core: '1.0.0' } });
    let served = false;
    let error: unknown;
    try {
      await applyEnvelope({ cache, current: fresh, known: new Map(), envelope: envelope([needsCore]), serve: () => ((served = true), () => undefined) });
    } catch (err) {
      error = err;
    }
    expect((error as AnvilError).code).to.equal('push.missing-dependency');
    expect(served).to.equal(false);
  });
});
