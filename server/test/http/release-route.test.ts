/**
 * `GET /api/v1/projects/:p/sets/:set/versions[/:version]` serves releases only (DESIGN §8:
 * "releases and their bundles (immutable)"); head builds reach receivers in their channel's
 * envelope. And `anvil-live install`, which reads this route, still installs from a real forge.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { signIntegrity, type Bundle, type LockFile } from '@anvil/content-schema';
import { checkRelease } from '../../../client/src/cli/resolve-lock.ts';
import { runLiveCli } from '../../../client/src/cli/main.ts';
import { startPublishedForge, type PublishedForge } from '../support/published-forge.ts';

describe('the versions route serves releases only', function () {
  this.timeout(60_000);
  let published: PublishedForge;
  let base: string;
  let auth: { authorization: string };

  before(async () => {
    published = await startPublishedForge();
    base = `${published.forge.url}/api/v1/projects/acme`;
    auth = { authorization: `Bearer ${published.tokens.acme}` };
  });
  after(() => published?.close());

  it('a release: its bundle and signatures, immutable, kept by the caller\'s cache only', async () => {
    const res = await fetch(`${base}/sets/core/versions/1.0.0`, { headers: auth });
    expect(res.status).to.equal(200);
    expect(res.headers.get('cache-control')).to.equal('private, max-age=31536000, immutable');
    const body = (await res.json()) as { bundle: Bundle; signatures: unknown[] };
    expect(body.bundle).to.include({ set: 'core', version: '1.0.0', stage: 'release' });
    expect(res.headers.get('etag')).to.equal(`"${body.bundle.integrity}"`);
    expect(body.signatures).to.have.length(1);
  });

  it('a head build is no release: 404 here, listed nowhere here, and served in its channel\'s envelope', async () => {
    const { headVersion } = published;
    expect(headVersion).to.match(/-head\.\d+\+[0-9a-f]{7}$/);
    const res = await fetch(`${base}/sets/support/versions/${encodeURIComponent(headVersion)}`, { headers: auth });
    expect(res.status).to.equal(404);
    expect(res.headers.get('cache-control')).to.equal(null);
    expect(await res.json()).to.include({ ok: false, code: 'release.unknown' });

    const list = await fetch(`${base}/sets/support/versions`, { headers: auth });
    expect(list.status).to.equal(404);
    const releases = await fetch(`${base}/sets/core/versions`, { headers: auth });
    // Each release with the channels the forge decided for it (issue 18): core is locked.
    expect(await releases.json()).to.deep.equal({ versions: [{
      version: '1.0.0', integrity: (await published.forge.ctx.db.selectFrom('bundles').select('integrity').where('set_name', '=', 'core').executeTakeFirstOrThrow()).integrity,
      channels: ['production', 'staging', 'development'],
    }] });
    expect(releases.headers.get('cache-control')).to.equal('private, no-cache');

    const envelope = await fetch(`${base}/envelope?channel=development`, { headers: auth });
    expect(envelope.status).to.equal(200);
    expect(envelope.headers.get('cache-control')).to.equal('private, no-cache');
    const { bundles } = (await envelope.json()) as { bundles: Bundle[] };
    expect(bundles.find((b) => b.set === 'support')).to.include({ version: headVersion, stage: 'head' });
  });

  it('the client refuses to lock a head build, should a forge serve one as a release', async () => {
    const row = await published.forge.ctx.db.selectFrom('bundles').select(['body', 'integrity']).where('stage', '=', 'head').executeTakeFirstOrThrow();
    const key = published.forge.ctx.keys.active;
    const bundle = JSON.parse(row.body) as Bundle;
    expect(() => checkRelease({ bundle, signatures: [signIntegrity(key, row.integrity)] }, { project: 'acme', set: bundle.set, version: bundle.version }, { [key.keyId]: key.publicKey }))
      .to.throw().with.property('code', 'install.not-a-release');
  });

  it('anvil-live connect and install lock the release from the real forge', async () => {
    const app = await mkdtemp(path.join(os.tmpdir(), 'anvil-release-route-app-'));
    try {
      const live = async (argv: string[]) => {
        let out = '';
        let err = '';
        const code = await runLiveCli(argv, {
          out: (t) => void (out += `${t}\n`), err: (t) => void (err += `${t}\n`), tty: false, cwd: app, env: { ANVIL_TOKEN: published.tokens.acme },
        });
        return { code, out, err };
      };
      const connected = await live(['connect', '--forge', published.forge.url, '--project', 'acme', '--channel', 'development', '--mode', 'accepting', '--cache-dir', '.anvil-cache', '--set', 'core@^1.0.0']);
      expect(connected.code, connected.err).to.equal(0);
      const installed = await live(['install']);
      expect(installed.code, installed.err).to.equal(0);
      const lock = JSON.parse(await readFile(path.join(app, 'anvil.lock.json'), 'utf8')) as LockFile;
      expect(lock.sets['core']).to.include({ version: '1.0.0', resolved: `${base}/sets/core/versions/1.0.0` });
    } finally {
      await rm(app, { recursive: true, force: true });
    }
  });
});
