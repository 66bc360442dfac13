/**
 * `anvil-live check` end to end: a real prompt repository with three releases of a set (1.0.0;
 * 1.1.0 compatible; 2.0.0 breaking), its real `anvil types` output and real `anvil build`
 * bundles, served by a forge on loopback that signs them; the app's lock file written by
 * `anvil-live install`, or the channel's envelope with `--channel`.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import type { Bundle } from '@anvil/content-schema';
import { anvil } from '../../../server/test/cli/cli-support.ts';
import { cleanupGitdirs, gitdir, type GitDir } from '../../../server/test/support/gitdir.ts';
import { anvilLive, connectArgs, readJson, useForgeAndApp } from '../cli/cli-support.ts';

const V1 = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/onboarding/set.yaml': 'mode: locked\n',
  'prompts/onboarding/welcome/message.md': '---\ninput:\n  schema:\n    name: string\n    plan?(enum): [free, pro]\n---\nHi {{name}} ({{plan}})',
  'prompts/onboarding/welcome/message.fr.md': '---\ninput:\n  schema:\n    name: string\n    plan?(enum): [free, pro]\n---\nSalut {{name}}',
  'prompts/onboarding/farewell.md': '---\ninput:\n  schema:\n    name: string\n---\nBye {{name}}',
};
/** Compatible: an optional variable and a prompt more. */
const V1_1 = {
  'prompts/onboarding/welcome/message.md': '---\ninput:\n  schema:\n    name: string\n    plan?(enum): [free, pro]\n    tone?: string\n---\nHi {{name}} ({{plan}}) {{tone}}',
  'prompts/onboarding/tips.md': 'Tips.',
};
/** Breaking: farewell gone, name a number, plan required, team new and required, no fr variant. */
const V2 = {
  'prompts/onboarding/farewell.md': null,
  'prompts/onboarding/welcome/message.fr.md': null,
  'prompts/onboarding/welcome/message.md': '---\ninput:\n  schema:\n    name: number\n    plan(enum): [free, pro]\n    team: string\n---\nHi {{name}} ({{plan}}) {{team}}',
};

describe('anvil-live check', function () {
  this.timeout(60_000);
  let repo: GitDir;
  const bundles: Record<string, Bundle> = {};

  before(async function () {
    repo = await gitdir({ files: V1, tags: ['onboarding@1.0.0'] });
    await repo.commit('compatible', V1_1);
    await repo.tag('onboarding@1.1.0');
    await repo.commit('breaking', V2);
    await repo.tag('onboarding@2.0.0');
    for (const version of ['1.0.0', '1.1.0', '2.0.0']) {
      const built = await anvil(repo.dir, 'build', 'onboarding', '--ref', version, '--out', 'bundles');
      expect(built.code, built.stderr).to.equal(0);
      bundles[version] = await readJson<Bundle>(repo.path('bundles', `onboarding@${version}.json`)) as unknown as Bundle;
    }
  });
  after(cleanupGitdirs);

  const ctx = useForgeAndApp();
  const typesFile = () => path.join(ctx.app, 'src/anvil-prompts.d.ts');

  /** The app's types at `ref`, as the app's build would generate them; its config at `range`. */
  async function app(ref: string, range: string): Promise<void> {
    const types = await anvil(ctx.app, 'types', '--repo', repo.dir, '--ref', ref, '--out', 'src/anvil-prompts.d.ts');
    expect(types.code, types.stderr).to.equal(0);
    ctx.forge.release(bundles['1.0.0']!, bundles['1.1.0']!, bundles['2.0.0']!);
    const connected = await anvilLive(ctx.app, connectArgs(ctx.forge, `onboarding@${range}`));
    expect(connected.code, connected.stderr).to.equal(0);
  }

  async function install(): Promise<void> {
    const run = await anvilLive(ctx.app, ['install'], { env: ctx.env });
    expect(run.code, run.stderr).to.equal(0);
  }

  it('passes when the locked version keeps every contract of the app\'s types, and notes additions only with --verbose', async function () {
    await app('onboarding@1.0.0', '^1.0.0');
    await install();
    const run = await anvilLive(ctx.app, ['check'], { env: ctx.env });
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.equal(`compatible: 2 prompt contracts of src/anvil-prompts.d.ts (@acme at onboarding@1.0.0 (${(await repo.revParse('onboarding@1.0.0^{commit}')).slice(0, 7)})) hold against anvil.lock.json: onboarding@1.1.0\n`);

    const verbose = await anvilLive(ctx.app, ['check', '--verbose'], { env: ctx.env });
    expect(verbose.code).to.equal(0);
    expect(verbose.stdout).to.include("src/anvil-prompts.d.ts: onboarding/welcome.message tone  variable-added  onboarding@1.1.0 takes an optional tone that the app's types do not have\n");
    expect(verbose.stdout).to.include('src/anvil-prompts.d.ts: onboarding/tips  prompt-added');
  });

  it('lists every break of the locked version with the types file, prompt and variable, and exits 1', async function () {
    await app('onboarding@1.0.0', '^2.0.0');
    await install();
    const run = await anvilLive(ctx.app, ['check'], { env: ctx.env });
    expect(run.code).to.equal(1);
    expect(run.stdout.split('\n').filter(Boolean).slice(0, -1)).to.deep.equal([
      'src/anvil-prompts.d.ts: onboarding/farewell  prompt-missing  onboarding@2.0.0 has no prompt farewell',
      'src/anvil-prompts.d.ts: onboarding/welcome.message (variant fr)  variant-missing  onboarding@2.0.0 has no variant "fr" of welcome.message',
      'src/anvil-prompts.d.ts: onboarding/welcome.message plan  variable-required  onboarding@2.0.0 requires plan; the app\'s types have it optional',
      'src/anvil-prompts.d.ts: onboarding/welcome.message team  variable-required  onboarding@2.0.0 requires team, which the app\'s types do not have',
      'src/anvil-prompts.d.ts: onboarding/welcome.message name  type-changed  name: the app\'s types say string, onboarding@2.0.0 takes number (refuses string)',
      // Picoschema makes an optional variable nullable: a required one no longer takes null.
      'src/anvil-prompts.d.ts: onboarding/welcome.message plan  type-changed  plan: the app\'s types say \'free\' | \'pro\' | null, onboarding@2.0.0 takes \'free\' | \'pro\' (refuses null)',
    ]);
    expect(run.stdout).to.match(/6 breaks: src\/anvil-prompts\.d\.ts \(@acme at onboarding@1\.0\.0 \([0-9a-f]{7}\)\) does not match anvil\.lock\.json: onboarding@2\.0\.0\n$/);
    expect(run.stderr).to.include('run `npx anvil types` again');
  });

  it('--json gives the same findings for machines, with the exit code', async function () {
    await app('onboarding@1.0.0', '^2.0.0');
    await install();
    const run = await anvilLive(ctx.app, ['check', '--json'], { env: ctx.env });
    expect(run.code).to.equal(1);
    const out = JSON.parse(run.stdout) as { ok: boolean; types: string; source: unknown; bundles: unknown; breaks: { code: string; prompt: string; variable?: string; version: string }[]; notes?: unknown };
    expect(out).to.deep.include({ ok: false, types: typesFile(), source: { lockfile: path.join(ctx.app, 'anvil.lock.json') }, bundles: [{ set: 'onboarding', version: '2.0.0', role: 'current' }] });
    expect(out.breaks.map((b) => [b.code, b.prompt, b.variable ?? null])).to.deep.equal([
      ['prompt-missing', 'onboarding/farewell', null],
      ['variant-missing', 'onboarding/welcome.message', null],
      ['variable-required', 'onboarding/welcome.message', 'plan'],
      ['variable-required', 'onboarding/welcome.message', 'team'],
      ['type-changed', 'onboarding/welcome.message', 'name'],
      ['type-changed', 'onboarding/welcome.message', 'plan'],
    ]);
    expect(out).to.not.have.property('notes');

    // Types regenerated at the version the lock serves: compatible again.
    await anvil(ctx.app, 'types', '--repo', repo.dir, '--ref', 'onboarding@2.0.0', '--out', 'src/anvil-prompts.d.ts');
    const fixed = await anvilLive(ctx.app, ['check', '--json'], { env: ctx.env });
    expect(fixed.code, fixed.stdout).to.equal(0);
    expect(JSON.parse(fixed.stdout)).to.deep.include({ ok: true, breaks: [] });
  });

  it('reads the lock\'s bundles from the cache, offline', async function () {
    await app('onboarding@1.0.0', '^1.0.0');
    await install();
    ctx.forge.down();
    const run = await anvilLive(ctx.app, ['check']);
    expect(run.code, run.stderr).to.equal(0);
  });

  it('reads a locked bundle from the cache folder when no state names it any more (the app moved on), offline', async function () {
    await app('onboarding@1.0.0', '^1.0.0');
    await install();
    await rm(path.join(ctx.app, '.anvil-cache/state.json'));
    await rm(path.join(ctx.app, '.anvil-cache/state.prev.json'), { force: true });
    ctx.forge.down();
    const run = await anvilLive(ctx.app, ['check']);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include('onboarding@1.1.0');
  });

  it('without a cache, fetches the locked releases and verifies them against the pinned key', async function () {
    await app('onboarding@1.0.0', '^1.0.0');
    await install();
    await rm(path.join(ctx.app, '.anvil-cache'), { recursive: true });
    const run = await anvilLive(ctx.app, ['check'], { env: ctx.env });
    expect(run.code, run.stderr).to.equal(0);
    expect(ctx.forge.requests.some((r) => r.path.endsWith('/sets/onboarding/versions/1.1.0'))).to.equal(true);
  });

  it('--channel checks the forge\'s current envelope for that channel, rollouts included', async function () {
    await app('onboarding@1.0.0', '>=1.0.0');
    ctx.forge.publish('production', [bundles['1.1.0']!]);
    const current = await anvilLive(ctx.app, ['check', '--channel', 'production'], { env: ctx.env });
    expect(current.code, current.stdout + current.stderr).to.equal(0);
    expect(current.stdout).to.include(`hold against channel production of ${ctx.forge.url}: onboarding@1.1.0`);

    ctx.forge.publish('production', [bundles['1.1.0']!, bundles['2.0.0']!], { onboarding: { version: '2.0.0', percent: 10 } });
    const rollout = await anvilLive(ctx.app, ['check', '--channel', 'production', '--json'], { env: ctx.env });
    expect(rollout.code).to.equal(1);
    const out = JSON.parse(rollout.stdout) as { breaks: { code: string; version: string; message: string }[]; bundles: unknown };
    expect(out.bundles).to.deep.equal([{ set: 'onboarding', version: '1.1.0', role: 'current' }, { set: 'onboarding', version: '2.0.0', role: 'rollout' }]);
    expect(out.breaks).to.have.length(6);
    expect(out.breaks.every((b) => b.version === '2.0.0' && b.message.includes('onboarding@2.0.0 (rollout)'))).to.equal(true);
  });

  it('--channel refuses an envelope the app would refuse: a bundle not signed by the pinned key', async function () {
    await app('onboarding@1.0.0', '^1.0.0');
    const { generateSigningKey } = await import('@anvil/content-schema');
    ctx.forge.serve('production', ctx.forge.envelope('production', [bundles['1.1.0']!], {}, { key: generateSigningKey() }));
    const run = await anvilLive(ctx.app, ['check', '--channel', 'production'], { env: ctx.env });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/^anvil-live: check\.envelope-refused {2}this app would refuse the forge's envelope for production: .*\(push\.signature\)/);
  });

  it('user errors: no types file, types without a manifest, no lock', async function () {
    await app('onboarding@1.0.0', '^1.0.0');
    const noLock = await anvilLive(ctx.app, ['check'], { env: ctx.env });
    expect([noLock.code, noLock.stderr]).to.satisfy(([code, err]: [number, string]) => code === 1 && err.startsWith('anvil-live: lock.missing'));

    await install();
    const noTypes = await anvilLive(ctx.app, ['check', '--types', 'src/other.d.ts'], { env: ctx.env });
    expect(noTypes.code).to.equal(1);
    expect(noTypes.stderr).to.match(/^anvil-live: check\.no-types {2}src\/other\.d\.ts does not exist/);

    // The config's `types` names the file when --types does not (relative to the config).
    const configFile = path.join(ctx.app, 'anvil-live.json');
    const config = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
    await writeFile(configFile, JSON.stringify({ ...config, types: 'types/prompts.d.ts' }));
    const fromConfig = await anvilLive(ctx.app, ['check'], { env: ctx.env });
    expect(fromConfig.stderr).to.match(/^anvil-live: check\.no-types {2}types\/prompts\.d\.ts does not exist/);
    await writeFile(configFile, JSON.stringify(config));

    // Declarations from before the manifest: the generated part only.
    const text = await readFile(typesFile(), 'utf8');
    await writeFile(typesFile(), text.slice(0, text.indexOf('/* anvil.types-manifest/1')));
    const old = await anvilLive(ctx.app, ['check', '--json'], { env: ctx.env });
    expect(old.code).to.equal(1);
    expect(JSON.parse(old.stdout).error).to.include({ code: 'check.no-manifest', file: 'src/anvil-prompts.d.ts' });
  });

  it('has --help and is listed', async function () {
    const help = await anvilLive(ctx.app, ['check', '--help']);
    expect(help.stdout).to.include('Usage: anvil-live check [--types <file>] [--channel <channel>]');
    expect((await anvilLive(ctx.app, ['--help'])).stdout).to.match(/\n {2}check +compare the app's generated prompt types/);
  });
});
