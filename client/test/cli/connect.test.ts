/**
 * `anvil-live connect`: the wizard run from flags (no terminal) and from a person's answers,
 * against a forge on loopback.
 */
import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { validateLiveConfig } from '@anvil/content-schema';
import { makeBundle } from '../support/fake-forge.ts';
import { anvilLive, connectArgs, readJson, useForgeAndApp } from './cli-support.ts';

describe('anvil-live connect', function () {
  const ctx = useForgeAndApp();
  const configFile = () => path.join(ctx.app, 'anvil-live.json');

  it('without a terminal, writes anvil-live.json from the flags and pins the forge key', async function () {
    const run = await anvilLive(ctx.app, connectArgs(ctx.forge, 'onboarding@^1.0.0'));
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include(`pinned forge key ${ctx.forge.key.keyId}`).and.include('nothing published on production yet');

    const config = await readJson(configFile());
    expect(validateLiveConfig(config).ok).to.equal(true);
    expect(config).to.deep.include({
      forge: ctx.forge.url, project: 'acme', channel: 'production', mode: 'accepting', cacheDir: '.anvil-cache',
      sets: { onboarding: '^1.0.0' },
      forgeKeys: { [ctx.forge.key.keyId]: ctx.forge.key.publicKey },
      token: { env: 'ANVIL_TOKEN' },
    });
    expect(await readFile(configFile(), 'utf8')).not.to.include(ctx.forge.token);
    const check = ctx.forge.requests.find((r) => r.path.startsWith('/api/v1/projects/acme/envelope'));
    expect(check?.path).to.equal('/api/v1/projects/acme/envelope?channel=production');
    expect(check?.headers.authorization).to.equal(`Bearer ${ctx.forge.token}`);
  });

  it('accepts a token that reads published content, and takes it from ANVIL_TOKEN', async function () {
    ctx.forge.publish('production', [makeBundle('onboarding', '1.0.0', { hi: 'Hi' })]);
    const args = connectArgs(ctx.forge).filter((a, i, all) => a !== '--token' && all[i - 1] !== '--token');
    const run = await anvilLive(ctx.app, [...args, '--json'], { env: ctx.env });
    expect(run.code, run.stdout).to.equal(0);
    expect(JSON.parse(run.stdout)).to.deep.include({ ok: true, published: true, keys: [ctx.forge.key.keyId] });
  });

  it('refuses a wrong token with exit 1 and one line, and writes nothing', async function () {
    const args = connectArgs(ctx.forge);
    args[args.indexOf('--token') + 1] = 'anvil_wrong';
    const run = await anvilLive(ctx.app, args);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/^anvil-live: connect\.token {2}the forge refused the token for project acme.*\(hint: .*\)\n$/);
    expect(run.stderr.trim().split('\n')).to.have.length(1);
    const written = await access(configFile()).then(() => true, () => false);
    expect(written).to.equal(false);
  });

  it('without a terminal, a missing value is an error that names its flag', async function () {
    const args = connectArgs(ctx.forge);
    args.splice(args.indexOf('--channel'), 2);
    const run = await anvilLive(ctx.app, args);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include('connect.missing').and.include('--channel is required');

    const noToken = connectArgs(ctx.forge);
    noToken.splice(noToken.indexOf('--token'), 2);
    const again = await anvilLive(ctx.app, noToken);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.include('--token, or set ANVIL_TOKEN');
  });

  it('refuses bad values with the flag named', async function () {
    const args = connectArgs(ctx.forge, 'onboarding@not-a-range');
    args[args.indexOf('--channel') + 1] = 'prod';
    const run = await anvilLive(ctx.app, args);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include('connect.bad-value').and.include('--channel: "prod" is not a channel');
    // Neither a range nor an alias name (`onboarding@stable` names an alias, resolved at install).
    const badSet = await anvilLive(ctx.app, connectArgs(ctx.forge, 'onboarding@>>1'));
    expect(badSet.stderr).to.include('">>1" is not a semver range');
    const badTransport = await anvilLive(ctx.app, [...connectArgs(ctx.forge), '--transport', 'carrier-pigeon']);
    expect(badTransport.stderr).to.include('connect.bad-value').and.include('--transport: "carrier-pigeon" is not a transport');
  });

  it('writes --transport stream, and keeps it when connecting again (issue 16)', async function () {
    const run = await anvilLive(ctx.app, [...connectArgs(ctx.forge), '--transport', 'stream']);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include('streaming');
    expect(await readJson(configFile())).to.include({ transport: 'stream' });
    expect((await anvilLive(ctx.app, [...connectArgs(ctx.forge), '--yes'])).code).to.equal(0);
    expect(await readJson(configFile())).to.include({ transport: 'stream' });
  });

  it('does not overwrite a config without --yes; --yes does, keeping its sets', async function () {
    expect((await anvilLive(ctx.app, connectArgs(ctx.forge, 'onboarding@^1.0.0'))).code).to.equal(0);
    await writeFile(configFile(), (await readFile(configFile(), 'utf8')).replace('"mode": "accepting"', '"mode": "frozen"'));
    const refused = await anvilLive(ctx.app, connectArgs(ctx.forge));
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.include('connect.exists').and.include('--yes');
    expect(await readJson(configFile())).to.include({ mode: 'frozen' });

    const again = await anvilLive(ctx.app, [...connectArgs(ctx.forge), '--yes']);
    expect(again.code, again.stderr).to.equal(0);
    expect(await readJson(configFile())).to.deep.include({ mode: 'accepting', sets: { onboarding: '^1.0.0' } });
  });

  it('at a terminal, asks for what the flags leave out, again until an answer is valid', async function () {
    const asked: string[] = [];
    const answers = [ctx.forge.url, 'acme', ctx.forge.token, 'prod', 'staging', '', 'cache'];
    const run = await anvilLive(ctx.app, ['connect', '--config', 'config/live.json'], {
      ask: async (question, options) => {
        asked.push(`${question}${options?.secret ? ' (secret)' : ''}`);
        return answers.shift() ?? '';
      },
    });
    expect(run.code, run.stderr).to.equal(0);
    expect(asked).to.deep.equal([
      'Forge URL: ',
      'Project: ',
      'Access token (input hidden):  (secret)',
      'Channel (production | staging | development): ',
      'Channel (production | staging | development): ',
      'Reception mode (accepting | frozen) [accepting]: ',
      'Cache folder (relative to the config) [.anvil-cache]: ',
    ]);
    expect(run.stderr).to.include('"prod" is not a channel');
    expect(await readJson(path.join(ctx.app, 'config/live.json'))).to.deep.include({ channel: 'staging', mode: 'accepting', cacheDir: 'cache', sets: {} });
  });
});
