/**
 * Issue 18, hole 2: a release the forge refused (here: it carries a change nobody reviewed) is
 * served nowhere — not listed by the versions route, not installable by `anvil-live install`,
 * not pushed by "Publish to LIVE" — unless an admin overrides the refusal on purpose, with a
 * reason, which is audited and still stays inside the policy's channels.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { AnvilClient } from '@anvil/client';
import { anvilLive } from '../../../client/test/cli/cli-support.ts';
import { listAudit } from '../../src/store/audit-log.ts';
import { anvil } from '../cli/cli-support.ts';
import { cleanupGitdirs } from '../support/gitdir.ts';
import { until } from '../support/until.ts';
import { startGitHubForge, type GitHubForge } from '../support/github-forge.ts';

const FILES = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/legal/set.yaml': 'mode: locked\n',
  'prompts/legal/terms.md': 'Terms v1.',
};
const ADMIN = 'trust-chain-admin-token-0123456789abcdef';

describe('trust chain: a refused release is served nowhere (issue 18)', function () {
  this.timeout(60_000);
  let t: GitHubForge;
  let prod: AnvilClient;
  let staging: AnvilClient;
  let app: string;
  let token: string;
  const versionOf = (client: AnvilClient, set: string) => client.status().sets[set]?.version;
  const api = () => `${t.forge.url}/api/v1/projects/acme`;

  async function withAdmin<T>(fn: () => Promise<T>): Promise<T> {
    const had = process.env['ANVIL_ADMIN_TOKEN'];
    process.env['ANVIL_ADMIN_TOKEN'] = ADMIN;
    try {
      return await fn();
    } finally {
      if (had === undefined) delete process.env['ANVIL_ADMIN_TOKEN'];
      else process.env['ANVIL_ADMIN_TOKEN'] = had;
    }
  }

  before(async () => {
    t = await startGitHubForge(FILES, { tags: ['legal@1.0.0'], adminToken: ADMIN });
    prod = await t.receiver('prod-1', 'production');
    staging = await t.receiver('staging-1', 'staging');
    await t.sync();
    expect(versionOf(prod, 'legal')).to.equal('1.0.0');
    // Pushed straight to main, no pull request, and released.
    await t.pushCommit('direct push', { 'prompts/legal/terms.md': 'Terms nobody reviewed.' }, { tags: ['legal@1.1.0'] });
    await t.settle();
    const audit = await listAudit(t.forge.ctx.db, { project: 'acme' });
    expect(audit.some((r) => r.kind === 'decision.unreviewed-release' && r.subject === 'legal legal@1.1.0')).to.equal(true);
    token = await t.token();
    app = await mkdtemp(path.join(os.tmpdir(), 'anvil-trust-app-'));
  });

  after(async () => {
    await t?.close();
    await rm(app, { recursive: true, force: true });
    await cleanupGitdirs();
  });

  it('records the decision: refused, with the reason', async () => {
    const row = await t.forge.ctx.db.selectFrom('release_decisions').selectAll().where('set_name', '=', 'legal').where('version', '=', '1.1.0').executeTakeFirstOrThrow();
    expect(row).to.include({ refused: 1, audit: 'decision.unreviewed-release', channels: '[]' });
    expect(row.reason).to.match(/no approved, merged pull request/);
    expect(versionOf(prod, 'legal')).to.equal('1.0.0');
    expect(versionOf(staging, 'legal')).to.equal('1.0.0');
  });

  it('the versions route does not offer it, and says which channels each release may be served on', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const list = (await (await fetch(`${api()}/sets/legal/versions`, { headers: auth })).json()) as { versions: { version: string; channels: string[] }[] };
    expect(list.versions.map((v) => v.version)).to.deep.equal(['1.0.0']);
    expect(list.versions[0]!.channels).to.deep.equal(['production', 'staging', 'development']);
    const filtered = (await (await fetch(`${api()}/sets/legal/versions?channel=staging`, { headers: auth })).json()) as { versions: unknown[] };
    expect(filtered.versions).to.have.length(1);
    const one = await fetch(`${api()}/sets/legal/versions/1.1.0`, { headers: auth });
    expect(one.status).to.equal(404);
    expect(await one.json()).to.include({ code: 'release.refused' });
    const ok = (await (await fetch(`${api()}/sets/legal/versions/1.0.0`, { headers: auth })).json()) as { channels: string[] };
    expect(ok.channels).to.include('production');
  });

  it('anvil-live install on production cannot install it: ^1.0.0 locks 1.0.0, ~1.1.0 fails', async () => {
    const env = { ANVIL_TOKEN: token };
    const connect = await anvilLive(app, ['connect', '--forge', t.forge.url, '--project', 'acme', '--token', token, '--channel', 'production', '--mode', 'accepting', '--cache-dir', '.anvil-cache', '--set', 'legal@^1.0.0', '--yes'], { env });
    expect(connect.code, connect.stderr).to.equal(0);
    const install = await anvilLive(app, ['install'], { env });
    expect(install.code, install.stderr).to.equal(0);
    const lock = JSON.parse(await readFile(path.join(app, 'anvil.lock.json'), 'utf8')) as { sets: Record<string, { version: string }> };
    expect(lock.sets['legal']!.version).to.equal('1.0.0');

    const config = JSON.parse(await readFile(path.join(app, 'anvil-live.json'), 'utf8')) as { sets: Record<string, string> };
    config.sets['legal'] = '~1.1.0';
    await writeFile(path.join(app, 'anvil-live.json'), JSON.stringify(config));
    const refused = await anvilLive(app, ['install'], { env });
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/install\.no-match|install\.channel/);
  });

  it('anvil publish refuses it; with --override-refusal --reason it is published inside the policy, and audited', async () => {
    await withAdmin(async () => {
      const plain = await anvil(t.dataDir, 'publish', 'legal@1.1.0', '--forge', t.forge.url, '--project', 'acme', '--wait', '0');
      expect(plain.code).to.equal(1);
      expect(plain.stderr).to.contain('release.refused').and.to.contain('--override-refusal');
      const noReason = await anvil(t.dataDir, 'publish', 'legal@1.1.0', '--forge', t.forge.url, '--project', 'acme', '--override-refusal');
      expect(noReason.code).to.equal(1);
      expect(noReason.stderr).to.contain('--reason');
      await t.settle();
      expect(versionOf(prod, 'legal')).to.equal('1.0.0');

      // The route takes the override from the admin token only.
      const asProject = await fetch(`${api()}/publish`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ set: 'legal', version: '1.1.0', overrideRefusal: true, reason: 'x' }),
      });
      expect(asProject.status).to.equal(403);
      // Without the override, the admin's request is understood and refused by the release's state.
      const refusedByRoute = await fetch(`${api()}/publish`, {
        method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ set: 'legal', version: '1.1.0' }),
      });
      expect(refusedByRoute.status).to.equal(409);
      expect(await refusedByRoute.json()).to.include({ code: 'release.refused' });

      const run = await anvil(t.dataDir, 'publish', 'legal@1.1.0', '--forge', t.forge.url, '--project', 'acme', '--override-refusal', '--reason', 'legal signed off by mail', '--json', '--wait', '20');
      expect(run.code, run.stderr).to.equal(0);
      const out = JSON.parse(run.stdout) as { channels: { channel: string }[] };
      expect(out.channels.map((c) => c.channel)).to.deep.equal(['production', 'staging', 'development']);
    });
    await until('production on the overridden release', () => versionOf(prod, 'legal') === '1.1.0');
    expect(prod.prompt('terms', {})).to.equal('Terms nobody reviewed.');
    const audit = await listAudit(t.forge.ctx.db, { project: 'acme', kind: 'publish.override' });
    expect(audit).to.have.length(1);
    expect(audit[0]).to.include({ actor: 'api:admin', subject: 'legal@1.1.0' });
    expect(JSON.parse(audit[0]!.detail)).to.include({ reason: 'legal signed off by mail' });
  });

  it('an overridden prerelease still never reaches production', async () => {
    await t.pushCommit('direct push', { 'prompts/legal/terms.md': 'Terms, candidate nobody reviewed.' }, { tags: ['legal@1.2.0-rc.1'] });
    await t.settle();
    await withAdmin(async () => {
      const run = await anvil(t.dataDir, 'publish', 'legal@1.2.0-rc.1', '--forge', t.forge.url, '--project', 'acme', '--override-refusal', '--reason', 'try on staging', '--json', '--wait', '20');
      expect(run.code, run.stderr).to.equal(0);
      expect((JSON.parse(run.stdout) as { channels: { channel: string }[] }).channels.map((c) => c.channel)).to.deep.equal(['staging', 'development']);
    });
    await until('staging on the candidate', () => versionOf(staging, 'legal') === '1.2.0-rc.1');
    await prod.sync();
    expect(versionOf(prod, 'legal')).to.equal('1.1.0');
  });
});
