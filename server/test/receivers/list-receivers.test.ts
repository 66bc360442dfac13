import { expect } from 'chai';
import { DEFAULT_STALE_AFTER_MS, ago, describeDelivery, formatReceiverTable, receiverView } from '../../src/receivers/list-receivers.ts';
import type { Receiver } from '../../src/store/database.ts';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const iso = (msBefore: number) => new Date(NOW - msBefore).toISOString();

function row(extra: Partial<Receiver> = {}): Receiver {
  return {
    project: 'acme', instance_id: 'web-1', url: 'http://10.0.0.1/anvil', channel: 'production', mode: 'accepting',
    ranges: '{"onboarding":"^1.2.0"}', versions: '{"onboarding":"1.2.0","core":"2.0.0"}', push_token: 'v1.secret',
    token_id: 'tok_0123456789ab', revoked_at: null, registered_at: iso(3_600_000), last_seen_at: iso(10_000), gone_at: null,
    last_delivery_at: null, last_delivery_state: null, last_delivery_status: null, last_delivery_code: null, last_delivery_reason: null,
    transport: 'push', stream_sent_envelope: null, stream_sent_at: null, stream_acked_envelope: null, stream_acked_at: null,
    ...extra,
  };
}

describe('the receivers view', () => {
  it('is active while heartbeats come, stale after missing them, gone once it left', () => {
    expect(receiverView(row(), NOW).status).to.equal('active');
    expect(receiverView(row({ last_seen_at: iso(DEFAULT_STALE_AFTER_MS) }), NOW).status).to.equal('active');
    expect(receiverView(row({ last_seen_at: iso(DEFAULT_STALE_AFTER_MS + 1) }), NOW).status).to.equal('stale');
    expect(receiverView(row({ last_seen_at: iso(DEFAULT_STALE_AFTER_MS + 1) }), NOW, 10 * 60_000).status).to.equal('active');
    expect(receiverView(row({ gone_at: iso(1_000) }), NOW).status).to.equal('gone');
    // Revoking marks it gone too; the listing says why (issue 18).
    const revoked = receiverView(row({ gone_at: iso(1_000), revoked_at: iso(1_000) }), NOW);
    expect(revoked).to.include({ status: 'revoked', tokenId: 'tok_0123456789ab', revokedAt: iso(1_000) });
  });

  it('never carries the sealed token, and survives unreadable JSON columns', () => {
    const view = receiverView(row({ ranges: 'not json', versions: '["1.0.0"]' }), NOW);
    expect(JSON.stringify(view)).not.to.contain('v1.secret');
    expect(view.ranges).to.deep.equal({});
    expect(view.versions).to.deep.equal({});
  });

  it('says how the last delivery went, with the reason when it did not', () => {
    expect(describeDelivery(null, NOW)).to.equal('—');
    const last = { at: iso(90_000), state: 'delivered', status: 200, code: 'applied', reason: null };
    expect(describeDelivery(last, NOW)).to.equal('delivered 200 (1m ago)');
    expect(describeDelivery({ ...last, state: 'frozen', status: 409, code: 'frozen', reason: 'the receiver is frozen' }, NOW)).to.equal('frozen 409 frozen: the receiver is frozen (1m ago)');
    expect(describeDelivery({ ...last, state: 'pending', status: 503, code: 'busy', reason: null }, NOW)).to.equal('retrying 503 busy (1m ago)');
    expect(describeDelivery({ ...last, state: 'failed', status: null, code: 'unreachable', reason: 'x'.repeat(200) }, NOW)).to.match(/^failed unreachable: x+… \(1m ago\)$/);
    expect([ago(iso(0), NOW), ago(iso(59_000), NOW), ago(iso(7_200_000), NOW), ago(iso(3 * 86_400_000), NOW)]).to.deep.equal(['0s ago', '59s ago', '2h ago', '3d ago']);
  });

  it('lays out a table, with a project column only when there are several, and colour by status', () => {
    const views = [
      receiverView(row(), NOW),
      receiverView(row({ instance_id: 'worker-long-name', mode: 'frozen', last_seen_at: iso(600_000) }), NOW),
      receiverView(row({ instance_id: 'web-3', gone_at: iso(5_000), last_delivery_at: iso(5_000), last_delivery_state: 'gone', last_delivery_status: 410 }), NOW),
    ];
    const plain = formatReceiverTable(views, NOW).split('\n');
    expect(plain[0]).to.equal('INSTANCE          CHANNEL     MODE       TRANSPORT  STATUS  VERSIONS                      LAST SEEN  LAST DELIVERY');
    expect(plain[1]).to.equal('web-1             production  accepting  push       active  onboarding@1.2.0, core@2.0.0  10s ago    —');
    expect(plain[2]).to.match(/^worker-long-name\s+production\s+frozen\s+push\s+stale\s+/);
    const painted = formatReceiverTable(views, NOW, { colour: (code, text) => `<${code}>${text}` }).split('\n');
    expect(painted.map((l) => /^<(\d+)>/.exec(l)?.[1] ?? '')).to.deep.equal(['1', '', '33', '2']);
    const two = formatReceiverTable([views[0]!, receiverView(row({ project: 'beta' }), NOW)], NOW);
    expect(two.split('\n')[0]).to.match(/^PROJECT\s+INSTANCE/);
  });

  it('shows a streaming receiver as such, with what its stream carried and what it acknowledged (issue 16)', () => {
    const streaming = receiverView(row({
      url: '', transport: 'stream', stream_sent_envelope: 'env-b', stream_sent_at: iso(3_000), stream_acked_envelope: 'env-a', stream_acked_at: iso(60_000),
      last_delivery_at: iso(3_000), last_delivery_state: 'sent', last_delivery_status: null, last_delivery_code: 'stream.sent',
    }), NOW);
    expect(streaming).to.include({ transport: 'stream', url: '' });
    expect(streaming.stream).to.deep.equal({ sentEnvelope: 'env-b', sentAt: iso(3_000), ackedEnvelope: 'env-a', ackedAt: iso(60_000) });
    expect(receiverView(row(), NOW).stream).to.equal(undefined);
    const line = formatReceiverTable([streaming], NOW).split('\n')[1];
    expect(line).to.match(/^web-1\s+production\s+accepting\s+stream\s+active\s+.*\s+sent \(3s ago\)$/);
  });
});
