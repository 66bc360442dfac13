/**
 * Aliases and canaries through the forge (issue 17): anvil.yaml edited by `anvil alias` and
 * `anvil canary` in a clone, merged through (fake) GitHub review, synced by the forge as
 * `anvil serve` runs it; `@stable` resolved over real HTTP on loopback, and the rollout reaching a
 * real LIVE receiver on production.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { AnvilClient } from '@anvil/client';
import type { Bundle, LockFile } from '@anvil/content-schema';
import { runLiveCli } from '../../../client/src/cli/main.ts';
import { anvil } from '../cli/cli-support.ts';
import { cleanupGitdirs, type GitDir } from '../support/gitdir.ts';
import { startGitHubForge, type GitHubForge } from '../support/github-forge.ts';
import { until } from '../support/until.ts';

const FILES = {
  'anvil.yaml': '# acme prompts\nname: "@acme"\n',
  'prompts/onboarding/set.yaml': 'mode: locked\n',
  'prompts/onboarding/welcome.md': 'Welcome v1.0.',
};

describe('aliases and canaries through the forge', function () {
  this.timeout(120_000);
  let t: GitHubForge;
  let prod: AnvilClient;
  let auth: { authorization: string };
  let base: string;
  let nextPull = 1;

  /** What `anvil <argv>` in a fresh clone of the repository writes into anvil.yaml. */
  async function editedInClone(...argv: string[]): Promise<string> {
    const clone: GitDir = await t.repo.clone();
    const run = await anvil(clone.dir, ...argv);
    expect(run.code, run.stderr).to.equal(0);
    return readFile(clone.path('anvil.yaml'), 'utf8');
  }

  async function get(path: string): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
    const res = await fetch(`${base}${path}`, { headers: auth });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
  }

  before(async () => {
    t = await startGitHubForge(FILES, { tags: ['onboarding@1.0.0'] });
    prod = await t.receiver('prod-1', 'production');
    await t.sync();
    await t.mergedPull(nextPull++, { 'prompts/onboarding/welcome.md': 'Welcome v1.1.' }, { tags: ['onboarding@1.1.0'] });
    await t.settle();
    await until('production on 1.1.0', () => prod.status().sets['onboarding']?.version === '1.1.0');
    base = `${t.forge.url}/api/v1/projects/acme`;
    auth = { authorization: `Bearer ${await t.token()}` };
  });

  after(async () => {
    await t?.close();
    await cleanupGitdirs();
  });

  it('serves @stable once a reviewed anvil.yaml names it; an unreviewed move is refused and audited', async () => {
    const none = await get('/sets/onboarding/versions/stable');
    expect(none.status).to.equal(404);
    expect(none.body).to.include({ code: 'alias.unknown' });

    const text = await editedInClone('alias', 'set', 'onboarding', 'stable', '1.0.0');
    expect(text).to.equal('# acme prompts\nname: "@acme"\naliases:\n  onboarding:\n    stable: 1.0.0\n');
    await t.mergedPull(nextPull++, { 'anvil.yaml': text });
    await t.settle();

    const stable = await get('/sets/onboarding/versions/stable');
    expect(stable.status).to.equal(200);
    expect((stable.body['bundle'] as Bundle)).to.include({ set: 'onboarding', version: '1.0.0', stage: 'release' });
    expect(stable.headers.get('cache-control')).to.equal('private, no-cache');
    expect(stable.headers.get('anvil-alias-version')).to.equal('1.0.0');
    const list = await get('/sets/onboarding/versions');
    expect(list.body['aliases']).to.deep.equal({ stable: '1.0.0' });
    expect((await t.audit()).some((r) => r.kind === 'decision.alias' && r.subject.startsWith('onboarding main@'))).to.equal(true);

    // Straight onto main, no pull request: the locked set's alias stays where review put it.
    const moved = await editedInClone('alias', 'set', 'onboarding', 'stable', '1.1.0');
    const commit = await t.pushCommit('move stable without review', { 'anvil.yaml': moved });
    await t.settle();
    expect(((await get('/sets/onboarding/versions/stable')).body['bundle'] as Bundle).version).to.equal('1.0.0');
    const refused = (await t.audit()).find((r) => r.kind === 'decision.unreviewed-alias' && r.subject === `onboarding main@${commit.slice(0, 7)}`);
    expect(refused, 'audited').to.not.equal(undefined);
    expect(JSON.parse(refused!.detail).unreviewedCommits).to.include(commit);
    // …and the commit shows it on GitHub, as a refused rollout does.
    const status = t.github.statuses.find((st) => st.sha === commit && st.context === 'anvil/alias');
    expect(status, 'a failing anvil/alias status').to.include({ state: 'failure' });
    expect(status!.description).to.include('aliases of onboarding refused');

    // A refused change stays refused until a reviewed change to the set's aliases: then they are
    // judged, and taken, as a whole.
    await t.mergedPull(nextPull++, { 'anvil.yaml': `${moved}    beta: 1.1.0\n` });
    await t.settle();
    expect(((await get('/sets/onboarding/versions/stable')).body['bundle'] as Bundle).version).to.equal('1.1.0');
    expect((await get('/sets/onboarding/versions')).body['aliases']).to.deep.equal({ beta: '1.1.0', stable: '1.1.0' });
    // A version by number is still immutable and cached for good.
    expect((await fetch(`${base}/sets/onboarding/versions/1.1.0`, { headers: auth })).headers.get('cache-control')).to.equal('private, max-age=31536000, immutable');
  });

  it('refuses an alias to a version that has no release tag, keeping the previous one', async () => {
    const merge = await t.mergedPull(nextPull++, { 'anvil.yaml': '# acme prompts\nname: "@acme"\naliases:\n  onboarding:\n    stable: 1.9.0\n' });
    await t.settle();
    const row = (await t.audit()).find((r) => r.kind === 'decision.alias-refused' && r.subject === `onboarding main@${merge.slice(0, 7)}`);
    expect(row, 'audited').to.not.equal(undefined);
    expect(JSON.parse(row!.detail).reason).to.contain('no release tag onboarding@1.9.0');
    expect(((await get('/sets/onboarding/versions/stable')).body['bundle'] as Bundle).version).to.equal('1.1.0');
    // Put it right (lint would otherwise refuse the next release: the alias names no release).
    await t.mergedPull(nextPull++, { 'anvil.yaml': '# acme prompts\nname: "@acme"\naliases:\n  onboarding:\n    stable: 1.1.0\n' });
    await t.settle();
    expect((await get('/sets/onboarding/versions')).body['aliases']).to.deep.equal({ stable: '1.1.0' });
  });

  it('an app whose config names the alias installs, through the forge, the release it names', async () => {
    const app = await mkdtemp(path.join(os.tmpdir(), 'anvil-alias-app-'));
    try {
      const token = await t.token();
      const live = async (argv: string[]) => {
        let out = '';
        let err = '';
        const code = await runLiveCli(argv, { out: (x) => void (out += `${x}\n`), err: (x) => void (err += `${x}\n`), tty: false, cwd: app, env: { ANVIL_TOKEN: token } });
        return { code, out, err };
      };
      const connected = await live(['connect', '--forge', t.forge.url, '--project', 'acme', '--channel', 'production', '--cache-dir', '.anvil-cache', '--set', 'onboarding@stable']);
      expect(connected.code, connected.err).to.equal(0);
      const installed = await live(['install']);
      expect(installed.code, installed.err + installed.out).to.equal(0);
      const lock = JSON.parse(await readFile(path.join(app, 'anvil.lock.json'), 'utf8')) as LockFile;
      expect(lock.sets['onboarding']).to.include({ version: '1.1.0', resolved: `${base}/sets/onboarding/versions/1.1.0` });
      // The lock pins what the alias named: a frozen install takes it as it is.
      expect((await live(['install', '--frozen-lockfile'])).code).to.equal(0);

      const config = JSON.parse(await readFile(path.join(app, 'anvil-live.json'), 'utf8')) as { sets: Record<string, string> };
      await writeFile(path.join(app, 'anvil-live.json'), JSON.stringify({ ...config, sets: { onboarding: 'gold' } }));
      const unknown = await live(['install']);
      expect(unknown.code).to.equal(1);
      expect(unknown.err + unknown.out).to.contain('the forge has no alias onboarding@gold (aliases of onboarding: stable)');
    } finally {
      await rm(app, { recursive: true, force: true });
    }
  });

  it('anvil canary set, merged, gives production receivers the rollout at its percent', async () => {
    // The release and the rollout land in one reviewed merge, as a canary does: 1.2.0 is held
    // back from production by the rollout, and served to 30% of keys.
    const clone = await t.repo.clone();
    await clone.write({ 'prompts/onboarding/welcome.md': 'Welcome v1.2.' });
    await clone.commit('v1.2');
    const released = await anvil(clone.dir, 'release', 'onboarding', '1.2.0');
    expect(released.code, released.stderr + released.stdout).to.equal(0);
    const canary = await anvil(clone.dir, 'canary', 'set', 'onboarding', '--version', '1.2.0', '--percent', '30');
    expect(canary.code, canary.stderr).to.equal(0);
    const text = await readFile(clone.path('anvil.yaml'), 'utf8');
    expect(text).to.contain('rollouts:\n  onboarding:\n    production:\n      version: 1.2.0\n      percent: 30\n');

    await t.mergedPull(nextPull++, { 'prompts/onboarding/welcome.md': 'Welcome v1.2.', 'anvil.yaml': text }, { tags: ['onboarding@1.2.0'] });
    await t.settle();
    await until('production has the rollout', () => prod.status().sets['onboarding']?.rollout?.version === '1.2.0');
    expect(prod.status().sets['onboarding']?.version, 'the current release stays').to.equal('1.1.0');
    const keys = Array.from({ length: 400 }, (_, i) => `user-${i}`);
    const onNew = keys.filter((k) => prod.track('welcome', { key: k }).version === '1.2.0').length;
    expect(onNew / keys.length).to.be.within(0.2, 0.4);

    // Ending it from the command line makes 1.2.0 production's release.
    const ended = await editedInClone('canary', 'rm', 'onboarding');
    await t.mergedPull(nextPull++, { 'anvil.yaml': ended });
    await t.settle();
    await until('production on 1.2.0', () => prod.status().sets['onboarding']?.version === '1.2.0');
  });
});
