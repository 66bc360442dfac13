/**
 * The publish progress stream (issue 15): server-sent events read from the store's deliveries,
 * one per change of a receiver's push, then the result, over a real forge on loopback. And the
 * pure parts of "Publish to LIVE": who takes a release, by the delivery queue's own rules.
 */
import { expect } from 'chai';
import { publishAudience } from '../../src/dashboard/publish-view.ts';
import { answerText, resultText } from '../../src/dashboard/publish-pages.ts';
import type { ReceiverView } from '../../src/receivers/list-receivers.ts';
import { storeTime } from '../../src/store/open-store.ts';
import { signInOverHttp } from '../support/dashboard-http.ts';
import { ADMIN_TOKEN, startPublishedForge, type PublishedForge } from '../support/published-forge.ts';

function receiver(instanceId: string, over: Partial<ReceiverView> = {}): ReceiverView {
  return {
    project: 'acme', instanceId, url: 'https://x', transport: 'push', channel: 'production', mode: 'accepting', status: 'active', ranges: {}, versions: { core: '1.0.0' },
    registeredAt: '', lastSeenAt: '', goneAt: null, tokenId: null, revokedAt: null, lastDelivery: null, ...over,
  };
}

describe('publish to LIVE: who takes a release', () => {
  it('follows the delivery queue: accepting, not gone or revoked, range allowing; says why for the others', () => {
    const audience = publishAudience('core', '1.1.0', ['production', 'staging'], { production: '1.0.0', staging: '1.2.0' }, [
      receiver('a'), receiver('b', { versions: {} }), receiver('frozen', { mode: 'frozen' }), receiver('old', { ranges: { core: '~1.0.0' } }),
      receiver('gone', { status: 'gone' }), receiver('revoked', { status: 'revoked' }), receiver('stale', { status: 'stale', versions: { core: '1.1.0' } }),
      receiver('staging-1', { channel: 'staging' }), receiver('dev-1', { channel: 'development' }),
    ]);
    expect(audience.channels).to.deep.equal([{ channel: 'production', head: '1.0.0', plan: 'moves' }, { channel: 'staging', head: '1.2.0', plan: 'newer' }]);
    expect(audience.receivers.map((r) => [r.instanceId, r.verdict])).to.deep.equal([
      ['a', 'takes'], ['b', 'takes'], ['frozen', 'frozen'], ['old', 'out-of-range'], ['gone', 'gone'], ['revoked', 'revoked'], ['stale', 'takes'], ['staging-1', 'not-pushed'],
    ]);
    expect(audience.taking).to.equal(3);
    const notes = Object.fromEntries(audience.receivers.map((r) => [r.instanceId, r.note]));
    expect(notes).to.include({ a: 'moves from 1.0.0', b: 'gets its first version of the set', stale: 'serves it already: answers 200 and changes nothing', old: 'its range for core is ~1.0.0' });
    expect(audience.receivers.find((r) => r.instanceId === 'stale')!.stale).to.equal(true);
  });

  it('words the answers and the result', () => {
    expect(answerText({ status: 200, code: null, reason: null })).to.equal('200');
    expect(answerText({ status: 409, code: 'frozen', reason: 'frozen by operator' })).to.equal('409 frozen: frozen by operator');
    expect(answerText({ status: null, code: null, reason: null })).to.equal('—');
    expect(resultText({ delivered: 2, failed: 1 }, false)).to.equal('Done: 2 delivered, 1 failed.');
    expect(resultText({ pending: 1 }, true)).to.equal('Stopped following (still retrying): 1 pending.');
    expect(resultText({}, false)).to.equal('Done: no receiver was pushed.');
  });
});

describe('publish progress as server-sent events', function () {
  this.timeout(60_000);
  let published: PublishedForge;
  let cookie: string;
  const since = storeTime(Date.now() - 1000);

  async function addDelivery(instanceId: string, state: 'pending' | 'delivered'): Promise<void> {
    const now = storeTime();
    await published.forge.ctx.db.insertInto('deliveries').values({
      id: `d-${instanceId}`, project: 'acme', instance_id: instanceId, envelope_id: 'env-test', set_name: 'core', version: '1.0.0', url: 'https://x/anvil',
      // Far in the future: the push worker leaves it to the test.
      state, attempts: 0, next_attempt_at: storeTime(Date.now() + 3_600_000), lease_owner: null, lease_until: null,
      last_status: null, last_code: null, last_reason: null, created_at: now, updated_at: now, expires_at: storeTime(Date.now() + 3_600_000),
    }).execute();
  }

  before(async () => {
    published = await startPublishedForge();
    cookie = await signInOverHttp(published.forge.url, ADMIN_TOKEN);
  });
  after(async () => published?.close());

  it('streams each receiver as its delivery changes, then the result, and ends', async () => {
    await addDelivery('web-1', 'pending');
    await addDelivery('<script>web-2</script>', 'delivered');
    const res = await fetch(`${published.forge.url}/ui/projects/acme/sets/core/publish/events?since=${encodeURIComponent(since)}&envelope=env-test`, { headers: { cookie } });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    const next = async (): Promise<{ event: string; data: Record<string, unknown> }> => {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith(':')) continue;
          const event = /^event: (.*)$/m.exec(block)![1]!;
          return { event, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as Record<string, unknown> };
        }
        const chunk = await reader.read();
        if (chunk.done) throw new Error('the stream ended early');
        buffer += chunk.value;
      }
    };
    const first = [await next(), await next()];
    expect(first.map((e) => [e.event, e.data['instanceId'], e.data['state']])).to.deep.equal([
      ['delivery', '<script>web-2</script>', 'delivered'], ['delivery', 'web-1', 'pending'],
    ]);
    // The push worker (here: the test) records the answer; the stream follows.
    await published.forge.ctx.db.updateTable('deliveries').set({ state: 'delivered', attempts: 1, last_status: 200, updated_at: storeTime() }).where('id', '=', 'd-web-1').execute();
    const moved = await next();
    expect([moved.event, moved.data['instanceId'], moved.data['state'], moved.data['answer']]).to.deep.equal(['delivery', 'web-1', 'delivered', '200']);
    const done = await next();
    expect(done.event).to.equal('done');
    expect(done.data['result']).to.equal('Done: 2 delivered.');
    expect((await reader.read()).done).to.equal(true);
  });

  it('the session cookie lasts the session\'s 12 hours, and the sign-in form\'s cookie an hour', async () => {
    const form = await fetch(`${published.forge.url}/ui/sign-in`);
    expect(form.headers.getSetCookie().find((c) => c.startsWith('anvil_sign_in='))).to.match(/Max-Age=3600;/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
    const res = await fetch(`${published.forge.url}/ui/sign-in`, {
      method: 'POST', redirect: 'manual',
      headers: { cookie: form.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; '), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, token: ADMIN_TOKEN }),
    });
    expect(res.headers.getSetCookie().find((c) => c.startsWith('anvil_session='))).to.match(/Max-Age=43200;/);
  });

  it('refuses a malformed progress link with a page, not a stream or a 5xx', async () => {
    for (const query of ['since=yesterday&envelope=env-test', `since=${encodeURIComponent(since)}&envelope=${encodeURIComponent('a b')}`]) {
      const res = await fetch(`${published.forge.url}/ui/projects/acme/sets/core/publish/events?${query}`, { headers: { cookie } });
      expect(res.status).to.equal(400);
      expect(await res.text()).to.include('This progress link is not one the forge made');
    }
    const unknown = await fetch(`${published.forge.url}/ui/projects/nope/sets/core/publish/events?since=${encodeURIComponent(since)}&envelope=env-test`, { headers: { cookie } });
    expect(unknown.status).to.equal(404);
  });
});
