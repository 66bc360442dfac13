/**
 * Whether each receiver serves versions inside the ranges it declared (issue 17): the pure rule
 * as a table, the `anvil receivers` table and JSON on a data dir's store, and a running forge's
 * receivers API and dashboard page, over HTTP.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { formatReceiverTable, receiverView } from '../../src/receivers/list-receivers.ts';
import { describeRangeStatus, hasUnsatisfiedRange, rangeSatisfaction } from '../../src/receivers/range-satisfaction.ts';
import { recordReceiverCall } from '../../src/receivers/register-receiver.ts';
import type { Receiver } from '../../src/store/database.ts';
import { openStore } from '../../src/store/open-store.ts';
import { anvil } from '../cli/cli-support.ts';
import { signInOverHttp } from '../support/dashboard-http.ts';
import { ADMIN_TOKEN, startPublishedForge, type PublishedForge } from '../support/published-forge.ts';

describe('range satisfaction', () => {
  const cases: [string, Record<string, string>, Record<string, string>, Record<string, { serving: string | null; satisfied: boolean | null }>][] = [
    ['inside a caret range', { onboarding: '^1.2.0' }, { onboarding: '1.3.0' }, { onboarding: { serving: '1.3.0', satisfied: true } }],
    ['a major outside it', { onboarding: '^1.2.0' }, { onboarding: '2.0.0' }, { onboarding: { serving: '2.0.0', satisfied: false } }],
    ['below it', { onboarding: '^1.2.0' }, { onboarding: '1.1.9' }, { onboarding: { serving: '1.1.9', satisfied: false } }],
    ['a prerelease inside it, as delivery decides', { onboarding: '^1.2.0' }, { onboarding: '1.3.0-rc.1' }, { onboarding: { serving: '1.3.0-rc.1', satisfied: true } }],
    ['nothing served yet', { onboarding: '~1.2.0' }, {}, { onboarding: { serving: null, satisfied: null } }],
    ['a served set without a range: not listed', {}, { core: '2.0.0' }, {}],
    ['an unparsable version: not inside', { core: '1.x' }, { core: 'banana' }, { core: { serving: 'banana', satisfied: false } }],
  ];
  for (const [what, ranges, versions, expected] of cases) {
    it(what, () => {
      const status = rangeSatisfaction(ranges, versions);
      expect(Object.fromEntries(Object.entries(status).map(([set, s]) => [set, { serving: s.serving, satisfied: s.satisfied }]))).to.deep.equal(expected);
      for (const [set, s] of Object.entries(status)) expect(s.range).to.equal(ranges[set]);
    });
  }

  it('a receiver is unsatisfied when one set is outside; unserved sets do not count; sets in order; in words', () => {
    const status = rangeSatisfaction({ onboarding: '^1.2.0', core: '^2.0.0', legal: '^1.0.0' }, { onboarding: '2.0.0', core: '2.1.0' });
    expect(Object.keys(status)).to.deep.equal(['core', 'legal', 'onboarding']);
    expect(hasUnsatisfiedRange(status)).to.equal(true);
    expect(hasUnsatisfiedRange(rangeSatisfaction({ legal: '^1.0.0' }, {}))).to.equal(false);
    expect(Object.entries(status).map(([set, s]) => describeRangeStatus(set, s))).to.deep.equal([
      'core@2.1.0 satisfies ^2.0.0', 'legal: none served (^1.0.0)', 'onboarding@2.0.0 OUTSIDE ^1.2.0',
    ]);
  });

  it('the receivers table shows RANGES when a receiver is outside one (or always when asked), and paints that row red', () => {
    const NOW = Date.parse('2026-11-21T12:00:00.000Z');
    const row = (extra: Partial<Receiver>): Receiver => ({
      project: 'acme', instance_id: 'web-1', url: 'http://10.0.0.1/anvil', channel: 'production', mode: 'accepting',
      ranges: '{"onboarding":"^1.2.0"}', versions: '{"onboarding":"1.2.0"}', push_token: 'v1.secret',
      token_id: null, revoked_at: null, registered_at: new Date(NOW - 60_000).toISOString(), last_seen_at: new Date(NOW - 10_000).toISOString(), gone_at: null,
      last_delivery_at: null, last_delivery_state: null, last_delivery_status: null, last_delivery_code: null, last_delivery_reason: null,
      transport: 'push', stream_sent_envelope: null, stream_sent_at: null, stream_acked_envelope: null, stream_acked_at: null,
      ...extra,
    });
    const fine = receiverView(row({}), NOW);
    expect(fine.rangeStatus).to.deep.equal({ onboarding: { range: '^1.2.0', serving: '1.2.0', satisfied: true } });
    expect(formatReceiverTable([fine], NOW).split('\n')[0]).to.not.include('RANGES');
    expect(formatReceiverTable([fine], NOW, { ranges: 'always' })).to.match(/LAST DELIVERY {2}RANGES\n.*— +onboarding@1\.2\.0 satisfies \^1\.2\.0$/);

    const outside = receiverView(row({ instance_id: 'web-2', versions: '{"onboarding":"2.0.0"}' }), NOW);
    const table = formatReceiverTable([fine, outside], NOW, { colour: (code, text) => `<${code}>${text}` }).split('\n');
    expect(table[0]).to.match(/LAST DELIVERY {2}RANGES$/);
    expect(table[2]).to.match(/^<31>web-2 .* onboarding@2\.0\.0 OUTSIDE \^1\.2\.0$/);
    expect(table[1]).to.match(/^web-1 /);
  });
});

describe('anvil receivers: declared ranges (issue 17)', () => {
  let dir: string;
  let dataDir: string;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'anvil-ranges-cli-'));
    dataDir = path.join(dir, 'data');
    mkdirSync(dataDir);
    const db = await openStore({ file: path.join(dataDir, 'forge.db') });
    try {
      const ctx = { db, secrets: { seal: (s: string) => `sealed:${s.length}`, open: () => '' } };
      const reg = (instanceId: string, ranges: Record<string, string>, versions: Record<string, string>) => recordReceiverCall(ctx, {
        project: 'acme', token: 'anvil_x', actor: 'test', kind: 'register', now: Date.now(),
        registration: { instanceId, transport: 'stream', channel: 'production', mode: 'accepting', ranges, versions },
      });
      await reg('app-1', { onboarding: '^1.2.0' }, { onboarding: '1.3.0' });
      await reg('app-2', { onboarding: '^2.0.0' }, { onboarding: '1.3.0' });
      await reg('app-3', {}, { onboarding: '1.3.0' });
    } finally {
      await db.destroy();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--json gives each receiver rangeStatus; the table shows RANGES since one is outside; --unsatisfied lists only those', async () => {
    const json = JSON.parse((await anvil(dir, 'receivers', '--json', '--data-dir', dataDir)).stdout) as { receivers: { instanceId: string; rangeStatus: unknown }[] };
    expect(json.receivers.map((r) => [r.instanceId, r.rangeStatus])).to.deep.equal([
      ['app-1', { onboarding: { range: '^1.2.0', serving: '1.3.0', satisfied: true } }],
      ['app-2', { onboarding: { range: '^2.0.0', serving: '1.3.0', satisfied: false } }],
      ['app-3', {}],
    ]);

    const table = await anvil(dir, 'receivers', '--data-dir', dataDir);
    expect(table.code, table.stderr).to.equal(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).to.match(/\bRANGES$/);
    expect(lines.find((l) => l.startsWith('app-2'))).to.match(/onboarding@1\.3\.0 OUTSIDE \^2\.0\.0$/);
    expect(lines.find((l) => l.startsWith('app-3'))).to.match(/ —$/);

    const only = await anvil(dir, 'receivers', '--unsatisfied', '--json', '--data-dir', dataDir);
    expect((JSON.parse(only.stdout) as { receivers: { instanceId: string }[] }).receivers.map((r) => r.instanceId)).to.deep.equal(['app-2']);
    expect((await anvil(dir, 'receivers', '--help')).stdout).to.include('--unsatisfied');
  });
});

describe('receivers API and dashboard: declared ranges (issue 17)', function () {
  this.timeout(60_000);
  let f: PublishedForge;
  const receivers = () => `${f.forge.url}/api/v1/projects/acme/receivers`;
  const call = (method: string, body?: unknown) => fetch(receivers(), {
    method, headers: { authorization: `Bearer ${f.tokens.acme}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

  before(async () => {
    f = await startPublishedForge();
    const register = (instanceId: string, ranges: Record<string, string>, versions: Record<string, string>) =>
      call('POST', { instanceId, transport: 'stream', channel: 'production', mode: 'accepting', ranges, versions });
    expect((await register('inside-1', { core: '^1.0.0' }, { core: '1.0.0' })).status).to.equal(201);
    expect((await register('outside-1', { core: '^2.0.0' }, { core: '1.0.0' })).status).to.equal(201);
  });
  after(async () => {
    await f?.close();
  });

  it('GET …/receivers gives each receiver its rangeStatus', async () => {
    const res = await call('GET');
    expect(res.status).to.equal(200);
    const body = await res.json() as { receivers: { instanceId: string; rangeStatus: unknown }[] };
    expect(body.receivers.map((r) => [r.instanceId, r.rangeStatus])).to.deep.equal([
      ['inside-1', { core: { range: '^1.0.0', serving: '1.0.0', satisfied: true } }],
      ['outside-1', { core: { range: '^2.0.0', serving: '1.0.0', satisfied: false } }],
    ]);
  });

  it('the receivers page has a Ranges column in words, and an "unsatisfied" filter', async () => {
    const cookie = await signInOverHttp(f.forge.url, ADMIN_TOKEN);
    const page = async (query: string) => {
      const res = await fetch(`${f.forge.url}/ui/receivers${query}`, { headers: { cookie } });
      expect(res.status).to.equal(200);
      return res.text();
    };
    const rowOf = (text: string, id: string) => new RegExp(`<th scope="row" class="mono">${id}</th>[\\s\\S]*?</tr>`).exec(text)?.[0] ?? '';
    const all = await page('');
    expect(all).to.include('<th scope="col">Ranges</th>');
    expect(rowOf(all, 'inside-1')).to.include('<span class="mono">core ^1.0.0</span> <span class="badge status-active">satisfied</span>');
    expect(rowOf(all, 'outside-1')).to.include('<span class="mono">core ^2.0.0</span> <span class="badge status-stale">unsatisfied: serves 1.0.0</span>');
    expect(all).to.include('<input type="checkbox" name="ranges" value="unsatisfied">');

    const filtered = await page('?ranges=unsatisfied');
    expect(rowOf(filtered, 'outside-1')).to.not.equal('');
    expect(rowOf(filtered, 'inside-1')).to.equal('');
    expect(filtered).to.include('name="ranges" value="unsatisfied" checked');
  });
});
