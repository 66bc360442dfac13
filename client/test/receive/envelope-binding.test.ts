/**
 * Issue 18, hole 5: envelopes are bound to the request. A man in the middle on a production
 * pull or push (or a compromised TLS terminator) holds bundles the forge signed for other
 * channels — a `live` set's head build, a `review` set's release — and re-wraps them into a
 * production envelope. The receiver checks the forge's signature over the envelope statement
 * (project, channel, bundle list, rollouts) and its channel's policy for every bundle, rollouts
 * included, and refuses with 422 (or 409 stale) without changing anything it serves.
 *
 * Real LIVE receivers (createClient + listen) on loopback, a fake forge with real keys.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { generateSigningKey, isAnvilError, signEnvelope, type Bundle, type Channel, type Envelope } from '@anvil/content-schema';
import { createClient, type AnvilClient, type ClientOptions } from '../../src/client.ts';
import { channelAccepts, type BundleRole } from '../../src/receive/channel-policy.ts';
import { makeBundle, startFakeForge, type FakeForge } from '../support/fake-forge.ts';

const locked100 = makeBundle('onboarding', '1.0.0', { 'welcome.message': 'Hi {{name}} (locked 1.0.0)' });
const locked120 = makeBundle('onboarding', '1.2.0', { 'welcome.message': 'Hi {{name}} (locked 1.2.0)' });
const locked130 = makeBundle('onboarding', '1.3.0', { 'welcome.message': 'Hi {{name}} (locked 1.3.0)' });
const locked200 = makeBundle('onboarding', '2.0.0', { 'welcome.message': 'Hi {{name}} (locked 2.0.0)' });
const liveHead = makeBundle('onboarding', '1.0.1-head.7+abc1234', { 'welcome.message': 'PWNED {{name}} (live head)' }, { mode: 'live' });
const reviewRelease = makeBundle('onboarding', '1.1.0', { 'welcome.message': 'PWNED {{name}} (review release)' }, { mode: 'review' });
const reviewHead = makeBundle('onboarding', '1.1.1-head.3+def5678', { 'welcome.message': 'Hi {{name}} (review head)' }, { mode: 'review' });

describe('envelope binding (issue 18)', function () {
  describe('the channel policy', function () {
    const cases: [Channel, Bundle, BundleRole, boolean][] = [
      ['production', locked100, 'set', true],
      ['production', locked100, 'rollout', true],
      ['production', reviewRelease, 'set', false],
      ['production', reviewRelease, 'rollout', false],
      ['production', reviewRelease, 'dependency', true],
      ['production', liveHead, 'set', false],
      ['production', reviewHead, 'dependency', false],
      ['production', makeBundle('onboarding', '1.3.0-rc.1', {}), 'set', false],
      ['production', { ...locked130, version: '1.3.0-rc.1', stage: 'release' }, 'set', false],
      ['production', { ...locked130, version: '1.3.0-rc.1', stage: 'release' }, 'dependency', false],
      ['staging', locked100, 'set', true],
      ['staging', reviewRelease, 'set', true],
      ['staging', { ...locked130, version: '1.3.0-rc.1', stage: 'release', mode: 'live' }, 'set', true],
      ['staging', reviewHead, 'set', true],
      ['staging', reviewHead, 'rollout', true],
      ['staging', reviewHead, 'dependency', false],
      ['staging', liveHead, 'set', false],
      ['staging', makeBundle('onboarding', '1.0.1-head.2+abc', {}), 'set', false],
      ['development', liveHead, 'set', true],
      ['development', reviewHead, 'dependency', true],
      ['development', locked100, 'rollout', true],
    ];
    for (const [channel, bundle, role, ok] of cases) {
      it(`${channel} ${ok ? 'takes' : 'refuses'} ${bundle.stage} ${bundle.version} of a ${bundle.mode} set as ${role}`, function () {
        const verdict = channelAccepts(channel, bundle, role);
        expect(verdict.ok, JSON.stringify(verdict)).to.equal(ok);
        if (!verdict.ok) expect(verdict.reason).to.include(`${bundle.set}@${bundle.version}`);
      });
    }
    it('refuses every bundle on a channel it does not know', function () {
      expect(channelAccepts('nightly', locked100)).to.include({ ok: false });
    });
  });

  describe('a production receiver', function () {
    let forge: FakeForge;
    let cacheDir: string;
    let anvil: AnvilClient;
    let url: string;
    const closers: (() => Promise<void>)[] = [];

    async function start(extra: Partial<ClientOptions> = {}, current: Bundle[] = [locked100]): Promise<void> {
      forge.publish('production', current);
      anvil = await createClient({ forge: forge.url, project: 'acme', token: forge.token, channel: 'production', cacheDir, readyTimeoutMs: 2_000, pollMs: 0, ...extra });
      closers.push(() => anvil.close());
      expect(await anvil.ready).to.equal(true);
      const listener = await anvil.listen();
      closers.push(() => listener.close());
      url = listener.url;
    }

    /** What the receiver serves, in memory and on disk, to compare byte for byte. */
    async function served(): Promise<string> {
      const state = await readFile(path.join(cacheDir, 'state.json'), 'utf8');
      const bundles = (await readdir(path.join(cacheDir, 'bundles'))).filter((f) => f.endsWith('.json')).sort();
      return JSON.stringify({ prompt: anvil.prompt('welcome.message', { name: 'Ada' }), sets: anvil.status().sets, state, bundles });
    }

    /** An envelope the forge signed for `channel`, then relabelled `production` keeping every signature. */
    function rewrapped(channel: Channel, bundles: Bundle[], rollouts: Envelope['rollouts'] = {}): Envelope {
      const signedForOther = forge.envelope(channel, bundles, rollouts);
      return { ...signedForOther, channel: 'production' };
    }

    beforeEach(async function () {
      forge = await startFakeForge();
      cacheDir = await mkdtemp(path.join(os.tmpdir(), 'anvil-binding-'));
    });
    afterEach(async function () {
      for (const close of closers.splice(0).reverse()) await close();
      await forge.close();
      await rm(cacheDir, { recursive: true, force: true });
    });

    const attacks: [string, () => Bundle, Channel][] = [
      ['a live set\'s head build, signed for development', () => liveHead, 'development'],
      ['a review set\'s release, signed for staging', () => reviewRelease, 'staging'],
    ];

    for (const [what, bundle, from] of attacks) {
      describe(`pushed ${what}`, function () {
        it('re-wrapped with the original signatures: 422, the envelope signature does not verify, nothing changes', async function () {
          await start();
          const before = await served();
          const answer = await forge.push(url, rewrapped(from, [bundle()]));
          expect(answer.status).to.equal(422);
          expect(answer.body).to.include({ ok: false, code: 'push.envelope-signature' });
          expect(String(answer.body['reason'])).to.match(/not what the forge signed/).and.include('channel production');
          expect(await served()).to.equal(before);
          expect(anvil.prompt('welcome.message', { name: 'Ada' })).to.equal('Hi Ada (locked 1.0.0)');
        });

        it('with a fresh envelope signature by a key the receiver did not pin: 422, nothing changes', async function () {
          await start();
          const before = await served();
          const attacker = generateSigningKey();
          const original = forge.envelope(from, [bundle()]);
          const forged = signEnvelope([attacker], { ...original, channel: 'production' });
          // The forge's bundle signatures are kept (they are valid); only the statement is the attacker's.
          const answer = await forge.push(url, { ...forged, signatures: original.signatures });
          expect(answer.status).to.equal(422);
          expect(answer.body).to.include({ code: 'push.envelope-signature' });
          expect(String(answer.body['reason'])).to.include('not trusted here');
          expect(await served()).to.equal(before);
        });

        it('even with a valid forge envelope signature over the production channel: 422 by the channel policy, nothing changes', async function () {
          await start();
          const before = await served();
          // As if the forge itself had signed it for production: the receiver's own policy still refuses.
          const answer = await forge.push(url, forge.envelope('production', [bundle()]));
          expect(answer.status).to.equal(422);
          expect(answer.body).to.include({ code: 'push.channel-policy' });
          expect(String(answer.body['reason'])).to.include(`${bundle().set}@${bundle().version}`).and.match(/production/);
          expect(await served()).to.equal(before);
        });

        it('answered to a pull (a forge, or a man in the middle, serving the re-wrapped envelope): refused, nothing changes', async function () {
          await start();
          const before = await served();
          forge.serve('production', rewrapped(from, [bundle()]));
          const refused = await anvil.sync().then(() => undefined, (err: unknown) => err);
          expect(isAnvilError(refused) && refused.code).to.equal('sync.push.envelope-signature');
          expect(await served()).to.equal(before);

          forge.serve('production', forge.envelope('production', [bundle()]));
          const policy = await anvil.sync().then(() => undefined, (err: unknown) => err);
          expect(isAnvilError(policy) && policy.code).to.equal('sync.push.channel-policy');
          expect(await served()).to.equal(before);
        });
      });
    }

    it('refuses a production envelope whose bundles were swapped or whose rollouts were added after signing', async function () {
      await start();
      const before = await served();
      const genuine = forge.envelope('production', [locked120]);
      const swapped = { ...genuine, bundles: [reviewRelease], signatures: [...genuine.signatures, ...forge.envelope('staging', [reviewRelease]).signatures] };
      expect((await forge.push(url, swapped)).body).to.include({ code: 'push.envelope-signature' });
      const withRollout = { ...genuine, bundles: [locked120, locked130], rollouts: { onboarding: { version: '1.3.0', percent: 50 } }, signatures: forge.envelope('production', [locked120, locked130]).signatures };
      expect((await forge.push(url, withRollout)).body).to.include({ code: 'push.envelope-signature' });
      expect(await served()).to.equal(before);
      // The genuine one applies.
      expect((await forge.push(url, genuine)).body).to.include({ code: 'applied' });
      expect(anvil.prompt('welcome.message', { name: 'Ada' })).to.equal('Hi Ada (locked 1.2.0)');
    });

    it('refuses an envelope for another project, even signed by the forge', async function () {
      await start();
      const before = await served();
      const other = makeBundle('onboarding', '1.2.0', { 'welcome.message': 'other' }, { project: 'other' });
      const envelope = signEnvelope([forge.key], { ...forge.envelope('production', [other]), project: 'other' });
      const answer = await forge.push(url, envelope);
      expect(answer.status).to.equal(422);
      expect(answer.body).to.include({ code: 'push.wrong-project' });
      expect(await served()).to.equal(before);
    });

    describe('rollouts', function () {
      it('takes a rollout inside its range, of a locked release newer than what it serves', async function () {
        await start({ sets: { onboarding: '^1.0.0' } });
        const answer = await forge.push(url, forge.envelope('production', [locked100, locked130], { onboarding: { version: '1.3.0', percent: 100 } }));
        expect(answer.body).to.include({ code: 'applied' });
        expect(anvil.prompt('welcome.message', { name: 'Ada' }, { key: 'user-1' })).to.equal('Hi Ada (locked 1.3.0)');
      });

      it('refuses a rollout outside the receiver\'s range (422)', async function () {
        await start({ sets: { onboarding: '^1.0.0' } });
        const before = await served();
        const answer = await forge.push(url, forge.envelope('production', [locked100, locked200], { onboarding: { version: '2.0.0', percent: 10 } }));
        expect(answer.status).to.equal(422);
        expect(answer.body).to.include({ code: 'push.out-of-range' });
        expect(String(answer.body['reason'])).to.include('rollout onboarding@2.0.0').and.include('^1.0.0');
        expect(await served()).to.equal(before);
      });

      it('refuses a rollout older than what it serves for that set (409 stale)', async function () {
        await start({}, [locked120]);
        const before = await served();
        const answer = await forge.push(url, forge.envelope('production', [locked120, locked100], { onboarding: { version: '1.0.0', percent: 50 } }));
        expect(answer.status).to.equal(409);
        expect(answer.body).to.include({ code: 'stale' });
        expect(String(answer.body['reason'])).to.include('onboarding@1.2.0').and.include('1.0.0');
        expect(await served()).to.equal(before);
      });

      it('refuses a rollout the channel does not take: a review release rolled out on production (422)', async function () {
        await start();
        const before = await served();
        const answer = await forge.push(url, forge.envelope('production', [locked100, reviewRelease], { onboarding: { version: '1.1.0', percent: 10 } }));
        expect(answer.status).to.equal(422);
        expect(answer.body).to.include({ code: 'push.channel-policy' });
        expect(String(answer.body['reason'])).to.include('rollout onboarding@1.1.0');
        expect(await served()).to.equal(before);
      });
    });

    describe('dependencies', function () {
      const coreReview = makeBundle('core', '2.0.0', {}, { mode: 'review', partials: { signature: '-- core' } });
      const coreHead = makeBundle('core', '2.0.1-head.4+abc9999', {}, { mode: 'review', partials: { signature: '-- head' } });
      const coreRc = { ...makeBundle('core', '2.1.0-rc.1', {}, { partials: { signature: '-- rc' } }) };

      it('takes a stable release of any mode that a locked set pins', async function () {
        await start({ sets: ['onboarding'] });
        const app = makeBundle('onboarding', '1.2.0', { 'welcome.message': 'Hi {{name}} {{> core/signature}}' }, { dependencies: { core: '2.0.0' } });
        const answer = await forge.push(url, forge.envelope('production', [app, coreReview]));
        expect(answer.body).to.include({ code: 'applied' });
        expect(anvil.prompt('welcome.message', { name: 'Ada' })).to.equal('Hi Ada -- core');
      });

      it('refuses a head build or a prerelease as a production dependency (422)', async function () {
        await start({ sets: ['onboarding'] });
        const before = await served();
        for (const dep of [coreHead, coreRc]) {
          const app = makeBundle('onboarding', '1.2.0', { 'welcome.message': 'Hi {{> core/signature}}' }, { dependencies: { core: dep.version } });
          const answer = await forge.push(url, forge.envelope('production', [app, dep]));
          expect(answer.status, dep.version).to.equal(422);
          expect(answer.body).to.include({ code: 'push.channel-policy' });
          expect(String(answer.body['reason'])).to.include(`dependency core@${dep.version}`);
        }
        expect(await served()).to.equal(before);
      });
    });
  });

  describe('a staging receiver', function () {
    let forge: FakeForge;
    let cacheDir: string;
    const clients: AnvilClient[] = [];
    beforeEach(async function () {
      forge = await startFakeForge();
      cacheDir = await mkdtemp(path.join(os.tmpdir(), 'anvil-binding-'));
    });
    afterEach(async function () {
      for (const c of clients.splice(0)) await c.close();
      await forge.close();
      await rm(cacheDir, { recursive: true, force: true });
    });

    it('takes a review set\'s head build and refuses a live set\'s, however signed', async function () {
      forge.publish('staging', [reviewHead]);
      const anvil = await createClient({ forge: forge.url, project: 'acme', token: forge.token, channel: 'staging', cacheDir, readyTimeoutMs: 2_000, pollMs: 0 });
      clients.push(anvil);
      expect(await anvil.ready).to.equal(true);
      expect(anvil.prompt('welcome.message', { name: 'Ada' })).to.equal('Hi Ada (review head)');
      const { url } = await anvil.listen();
      const newerLiveHead = makeBundle('onboarding', '1.1.2-head.9+abc0000', { 'welcome.message': 'live' }, { mode: 'live' });
      const rewrapped = { ...forge.envelope('development', [newerLiveHead]), channel: 'staging' as const };
      expect((await forge.push(url, rewrapped)).body).to.include({ code: 'push.envelope-signature' });
      expect((await forge.push(url, forge.envelope('staging', [newerLiveHead]))).body).to.include({ code: 'push.channel-policy' });
      expect(anvil.prompt('welcome.message', { name: 'Ada' })).to.equal('Hi Ada (review head)');
    });
  });
});
