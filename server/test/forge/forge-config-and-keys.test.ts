import { mkdtempSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { verifyBundleSignatures, verifyWebhook } from '@anvil/content-schema';
import { makeBundle } from '../../../client/test/support/fake-forge.ts';
import { readForgeConfig } from '../../src/forge/forge-config.ts';
import { loadSecretBox } from '../../src/forge/secret-box.ts';
import { loadKeyring, rotateSigningKey, signingKeyFile } from '../../src/forge/signing-keys.ts';
import { composeEnvelope } from '../../src/publish/compose-envelope.ts';
import { canonicalJson, signWebhook } from '@anvil/content-schema';

describe('forge configuration, signing keys and secrets', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'anvil-forge-config-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (text: string) => {
    const file = path.join(dir, 'anvil-forge.yaml');
    writeFileSync(file, text);
    return file;
  };

  describe('readForgeConfig', () => {
    it('resolves paths against the file, reads secrets from the environment, and lets the environment override', () => {
      mkdirSync(path.join(dir, 'prompts'));
      const file = write('name: acme-forge\ndataDir: ./data\nport: 9000\nprojects:\n  - name: acme\n    remote: ./prompts\n    webhookSecret: {env: ACME_SECRET}\n');
      const read = readForgeConfig(file, { ACME_SECRET: 'x'.repeat(32), ANVIL_ADMIN_TOKEN: 'a'.repeat(40), PORT: '9100' });
      expect(read.problems.filter((p) => p.severity === 'error')).to.deep.equal([]);
      expect(read.config).to.include({ name: 'acme-forge', dataDir: path.join(dir, 'data'), port: 9100, adminToken: 'a'.repeat(40) });
      expect(read.config!.projects[0]).to.deep.include({ name: 'acme', remote: path.join(dir, 'prompts'), provider: 'git', webhookSecret: 'x'.repeat(32) });
    });

    it('names every problem at once, with line and column where the file has one', () => {
      const file = write([
        'port: 99999',
        'projects:',
        '  - name: acme',
        '    remote: ./missing',
        '  - name: acme',
        '    remote: https://example.com/acme.git',
        '    provider: github',
        '  - name: Bad Name',
        '    remote: x',
      ].join('\n'));
      const read = readForgeConfig(file, {});
      expect(read.config).to.equal(undefined);
      const codes = read.problems.map((p) => p.code);
      expect(read.problems.find((p) => p.message.includes('65535') || p.message.includes('65,535') || p.code.includes('maximum'))?.line).to.equal(1);
      expect(codes).to.include('forge-config.duplicate-project');
      expect(codes).to.include('forge-config.github-repository');
      expect(read.problems.filter((p) => p.severity === 'error').length).to.be.greaterThanOrEqual(4);
    });

    it('refuses to start without webhook secrets, or with a remote that does not exist', () => {
      const file = write('projects:\n  - name: acme\n    remote: ./nowhere\n');
      const read = readForgeConfig(file, {});
      expect(read.config).to.equal(undefined);
      expect(read.problems.map((p) => p.code)).to.include.members(['forge-config.remote-missing', 'forge-config.webhook-secret']);
      expect(read.problems.find((p) => p.code === 'forge-config.webhook-secret')!.hint).to.contain('ANVIL_WEBHOOK_SECRET');
    });

    it('takes the store from DATABASE_URL, else `database`; a password belongs in the environment, never the file', () => {
      const env = { ANVIL_WEBHOOK_SECRET: 's'.repeat(32) };
      const base = 'projects:\n  - name: acme\n    remote: https://example.com/acme.git\n';
      expect(readForgeConfig(write(base), env).config!.database).to.equal(undefined);
      const inFile = readForgeConfig(write(`database: postgres://anvil@db.internal:5432/anvil\n${base}`), env);
      expect(inFile.config!.database).to.equal('postgres://anvil@db.internal:5432/anvil');
      const fromEnv = readForgeConfig(write(`database: postgres://anvil@db.internal:5432/anvil\n${base}`), { ...env, DATABASE_URL: 'postgresql://anvil:pw@db2.internal/anvil' });
      expect(fromEnv.config!.database).to.equal('postgresql://anvil:pw@db2.internal/anvil');
      const withPassword = readForgeConfig(write(`database: postgres://anvil:hunter2@db.internal/anvil\n${base}`), env);
      expect(withPassword.problems.map((p) => [p.code, p.line])).to.deep.include(['forge-config.database-password', 1]);
      expect(readForgeConfig(write(`database: mysql://db.internal/anvil\n${base}`), env).problems.map((p) => p.code)).to.include('forge-config.database');
      expect(readForgeConfig(write(base), { ...env, DATABASE_URL: 'db.internal' }).problems.map((p) => p.code)).to.include('forge-config.database-url');
    });

    it('takes the streams\' limits from `streams`, and names a bad one with its line', () => {
      const env = { ANVIL_WEBHOOK_SECRET: 's'.repeat(32) };
      const base = 'projects:\n  - name: acme\n    remote: https://example.com/acme.git\n';
      expect(readForgeConfig(write(base), env).config!.streams).to.equal(undefined);
      const read = readForgeConfig(write(`streams:\n  maxPerToken: 100\n  keepAliveSeconds: 30\n${base}`), env);
      expect(read.config!.streams).to.deep.equal({ maxPerToken: 100, maxPerProject: 20_000, keepAliveMs: 30_000 });
      const bad = readForgeConfig(write(`streams:\n  keepAliveSeconds: 0\n${base}`), env);
      expect(bad.config).to.equal(undefined);
      expect(bad.problems.map((p) => p.line)).to.include(2);
    });

    it('takes how usage metrics are kept from `usage`', () => {
      const env = { ANVIL_WEBHOOK_SECRET: 's'.repeat(32) };
      const base = 'projects:\n  - name: acme\n    remote: https://example.com/acme.git\n';
      expect(readForgeConfig(write(base), env).config!.usage).to.equal(undefined);
      const read = readForgeConfig(write(`usage:\n  rawRetentionHours: 2\n  eventsPerSecond: 500\n${base}`), env);
      expect(read.config!.usage).to.deep.equal({ rawRetentionMs: 7_200_000, eventsPerSecond: 500, eventsBurst: 200_000 });
      const bad = readForgeConfig(write(`usage:\n  eventsPerSecond: 0\n${base}`), env);
      expect(bad.config).to.equal(undefined);
      expect(bad.problems.map((p) => p.line)).to.include(2);
    });

    describe('GitHub credentials', () => {
      const github = (extra: string) => write(`projects:\n  - name: acme\n    remote: https://github.com/acme/prompts.git\n    provider: github\n    github:\n      repository: acme/prompts\n${extra}`);
      const env = { ANVIL_WEBHOOK_SECRET: 's'.repeat(32) };

      it('a token from GITHUB_TOKEN by default, against api.github.com', () => {
        const read = readForgeConfig(github(''), { ...env, GITHUB_TOKEN: 'ghp_token' });
        expect(read.config!.projects[0]!.github).to.deep.equal({ apiUrl: 'https://api.github.com', auth: { kind: 'token', token: 'ghp_token' } });
      });

      it('without any token, the forge starts with a warning: review through pull requests is off', () => {
        const read = readForgeConfig(github(''), env);
        expect(read.config!.projects[0]!.github).to.equal(undefined);
        const warning = read.problems.find((p) => p.code === 'forge-config.no-github-credentials');
        expect(warning).to.include({ severity: 'warning' });
        expect(warning!.message).to.contain('GITHUB_TOKEN');
      });

      it('a token named in the file must be set; an Enterprise Server API URL is taken as written', () => {
        const file = github('      apiUrl: https://ghe.example.com/api/v3/\n      token: {env: ACME_GITHUB_TOKEN}\n');
        expect(readForgeConfig(file, env).problems.map((p) => p.code)).to.include('forge-config.github-token');
        const read = readForgeConfig(file, { ...env, ACME_GITHUB_TOKEN: 't' });
        expect(read.config!.projects[0]!.github).to.deep.equal({ apiUrl: 'https://ghe.example.com/api/v3', auth: { kind: 'token', token: 't' } });
      });

      it('a GitHub App: its id, installation and private key from the environment', () => {
        const file = github('      app: {appId: 12, installationId: 34}\n'.replace('}', ', privateKey: {env: ACME_APP_KEY}}'));
        const missing = readForgeConfig(file, env);
        expect(missing.config).to.equal(undefined);
        expect(missing.problems.find((p) => p.code === 'forge-config.github-app-key')!.hint).to.contain('ACME_APP_KEY');
        const pem = '-----BEGIN RSA PRIVATE KEY-----\nMII…\n-----END RSA PRIVATE KEY-----\n';
        const read = readForgeConfig(file, { ...env, ACME_APP_KEY: pem });
        expect(read.config!.projects[0]!.github).to.deep.equal({ apiUrl: 'https://api.github.com', auth: { kind: 'app', appId: 12, installationId: 34, privateKey: pem } });
      });
    });

    it('a missing file is a clear problem, not a crash', () => {
      const read = readForgeConfig(path.join(dir, 'nope.yaml'), {});
      expect(read.problems[0]!.code).to.equal('forge-config.missing');
    });
  });

  describe('signing keys', () => {
    it('creates the key on first start (0600) and keeps it across restarts', async () => {
      const first = await loadKeyring(dir);
      expect(statSync(signingKeyFile(dir)).mode & 0o777).to.equal(0o600);
      const again = await loadKeyring(dir);
      expect(again.active.keyId).to.equal(first.active.keyId);
      expect(again.published()).to.deep.equal([{ keyId: first.active.keyId, publicKey: first.active.publicKey, status: 'active' }]);
    });

    it('rotation keeps the old key published and signing during the grace period, then drops it', async () => {
      let now = Date.parse('2026-11-21T00:00:00Z');
      const clock = () => now;
      const old = await loadKeyring(dir, clock);
      const rotated = await rotateSigningKey(dir, 7, clock);
      expect(rotated.active.keyId).to.not.equal(old.active.keyId);
      expect(rotated.published().map((k) => [k.keyId, k.status])).to.deep.equal([[old.active.keyId, 'retiring'], [rotated.active.keyId, 'active']]);
      expect(rotated.signers.map((k) => k.keyId)).to.deep.equal([rotated.active.keyId, old.active.keyId]);

      // A receiver that pinned only the old key still verifies what the forge sends now.
      const bundle = makeBundle('core', '1.0.0', { hello: 'Hi' });
      const envelope = composeEnvelope({ forge: 'f', project: 'acme', channel: 'production', bundles: [{ integrity: bundle.integrity, set: 'core', version: '1.0.0', body: canonicalJson(bundle) }], rollouts: {}, keys: rotated.signers });
      const parsed = JSON.parse(envelope.body) as { signatures: { keyId: string; integrity: string; signature: string }[] };
      const pinnedOld = { [old.active.keyId]: old.active.publicKey };
      expect(verifyBundleSignatures([bundle], parsed.signatures, pinnedOld)).to.include({ ok: true });
      const body = Buffer.from(envelope.body);
      const signature = rotated.signers.map((k) => signWebhook(k, { id: 'msg_1', timestamp: Math.floor(Date.now() / 1000), body })).join(' ');
      expect(verifyWebhook(pinnedOld, { id: 'msg_1', timestamp: String(Math.floor(Date.now() / 1000)), signature, body })).to.include({ ok: true });

      now += 8 * 86_400_000;
      const later = await loadKeyring(dir, clock);
      expect(later.published().map((k) => k.keyId)).to.deep.equal([rotated.active.keyId]);
      expect(later.signers.map((k) => k.keyId)).to.deep.equal([rotated.active.keyId]);
    });

    it('a corrupt key file is refused with a clear message, not replaced', async () => {
      mkdirSync(path.join(dir, 'keys'));
      writeFileSync(signingKeyFile(dir), '{not json');
      try {
        await loadKeyring(dir);
        expect.fail('loaded');
      } catch (err) {
        expect((err as { code: string }).code).to.equal('keys.corrupt');
      }
    });
  });

  it('the secret box seals and opens, and a box with another key cannot open it', () => {
    const box = loadSecretBox(dir);
    const sealed = box.seal('anvil_token');
    expect(sealed).to.not.contain('anvil_token');
    expect(loadSecretBox(dir).open(sealed)).to.equal('anvil_token');
    const other = loadSecretBox(mkdtempSync(path.join(tmpdir(), 'anvil-other-')));
    expect(() => other.open(sealed)).to.throw();
  });
});

describe('anvil serve', () => {
  it('refuses to start on a bad configuration, naming every problem, without a stack trace', async () => {
    const { anvil } = await import('../cli/cli-support.ts');
    const dir = mkdtempSync(path.join(tmpdir(), 'anvil-serve-'));
    try {
      writeFileSync(path.join(dir, 'anvil-forge.yaml'), 'port: 8080\nprojects:\n  - name: acme\n    remote: ./missing\n    provider: github\n');
      const run = await anvil(dir, 'serve');
      expect(run.code).to.equal(1);
      expect(run.stderr).to.contain('forge-config.github-repository');
      expect(run.stderr).to.match(/anvil-forge\.yaml:\d+:\d+/);
      expect(run.stderr).to.contain('nothing was started');
      expect(run.stderr).to.not.contain('    at ');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
