import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { listAudit } from '../../src/store/audit-log.ts';
import { fromGitUpdates, signGitWebhook, verifyGitWebhook } from '../../src/webhooks/git-webhook.ts';
import { GIT_SECRET, post, startWebhookForge, type Answer, type WebhookForge } from './webhook-support.ts';

const ZERO = '0'.repeat(40);
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const T = 'c'.repeat(40);

describe('POST /webhooks/git', () => {
  let forge: WebhookForge;
  beforeEach(async () => { forge = await startWebhookForge(); });
  afterEach(async () => forge.close());

  interface Send {
    body?: Record<string, unknown> | string;
    delivery?: string;
    secret?: string;
    headers?: Record<string, string | undefined>;
  }

  /** Sends as the post-receive hook does. */
  async function send(options: Send = {}): Promise<Answer> {
    const delivery = options.delivery ?? randomUUID();
    const body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body ?? {
      project: 'plain', delivery, updates: [{ ref: 'refs/heads/main', before: A, after: B }],
    });
    const headers: Record<string, string | undefined> = {
      'content-type': 'application/json',
      'x-anvil-delivery': delivery,
      'x-anvil-signature-256': signGitWebhook(options.secret ?? GIT_SECRET, body),
      ...options.headers,
    };
    return post(`${forge.url}/webhooks/git`, body, Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string>);
  }

  it('turns each branch and tag update into a push event', async () => {
    const delivery = randomUUID();
    const answer = await send({
      delivery,
      body: {
        project: 'plain', delivery,
        updates: [
          { ref: 'refs/heads/main', before: A, after: B },
          { ref: 'refs/tags/onboarding@1.2.0', before: ZERO, after: T },
          { ref: 'refs/tags/old', before: T, after: ZERO },
          { ref: 'refs/heads/rewritten', before: A, after: B, forced: true },
          { ref: 'refs/notes/commits', before: A, after: B },
        ],
      },
    });
    expect(answer).to.deep.equal({ status: 202, body: { ok: true, delivery, events: 4 } });
    await forge.drain();
    const base = { kind: 'push', project: 'plain', deliveryId: delivery };
    expect(forge.events).to.deep.equal([
      { ...base, ref: 'refs/heads/main', before: A, after: B, created: false, deleted: false, forced: false },
      { ...base, ref: 'refs/tags/onboarding@1.2.0', before: ZERO, after: T, created: true, deleted: false, forced: false },
      { ...base, ref: 'refs/tags/old', before: T, after: ZERO, created: false, deleted: true, forced: false },
      { ...base, ref: 'refs/heads/rewritten', before: A, after: B, created: false, deleted: false, forced: true },
    ]);
    const [row] = await listAudit(forge.forge.ctx.db, { kind: 'webhook.received' });
    expect(row).to.include({ project: 'plain', subject: 'push', actor: 'git-hook' });
    expect(await forge.forge.ctx.metrics.registry.metrics()).to.contain('anvil_webhooks_total{source="git",event="push",outcome="accepted"} 1');
  });

  it('takes SHA-256 object ids too', () => {
    const id = 'd'.repeat(64);
    expect(fromGitUpdates('p', 'x', [{ ref: 'refs/heads/main', before: '0'.repeat(64), after: id }])[0]).to.include({ created: true, after: id });
  });

  it('answers 200 ignored when no branch or tag moved', async () => {
    const delivery = randomUUID();
    const answer = await send({ delivery, body: { project: 'plain', delivery, updates: [{ ref: 'refs/notes/commits', before: A, after: B }] } });
    expect(answer).to.deep.equal({ status: 200, body: { ok: true, ignored: 'no branch or tag updates' } });
  });

  describe('the HMAC signature', () => {
    it('verifies in constant time, and any other value is not equal', () => {
      const body = Buffer.from('{"project":"plain"}');
      const good = signGitWebhook('s3cret', body);
      expect(verifyGitWebhook('s3cret', body, good)).to.equal(true);
      expect(verifyGitWebhook('s3cret', body, good.toUpperCase().replace('SHA256', 'sha256'))).to.equal(true);
      for (const bad of ['', 'sha256=', good.slice(0, -1), `${good}0`, signGitWebhook('other', body), good.replace('sha256=', 'sha1=')]) {
        expect(verifyGitWebhook('s3cret', body, bad), bad).to.equal(false);
      }
      expect(verifyGitWebhook('', body, signGitWebhook('', body))).to.equal(false);
    });

    it('a wrong secret answers 401 and is counted, not audited; nothing is processed', async () => {
      const answer = await send({ secret: 'wrong' });
      expect(answer.status).to.equal(401);
      expect(answer.body['code']).to.equal('webhook.signature.invalid');
      expect(JSON.stringify(answer.body)).not.to.contain('plain');
      await forge.drain();
      expect(forge.events).to.deep.equal([]);
      expect(await listAudit(forge.forge.ctx.db)).to.deep.equal([]);
      expect(await forge.forge.ctx.metrics.registry.metrics()).to.contain('anvil_webhook_rejections_total{source="git",reason="signature-invalid"} 1');
    });

    it('a missing signature answers 401', async () => {
      const answer = await send({ headers: { 'x-anvil-signature-256': undefined } });
      expect(answer.status).to.equal(401);
      expect(answer.body['code']).to.equal('webhook.signature.missing');
    });

    it('another project\'s secret does not sign for this one', async () => {
      const answer = await send({ secret: 'It\'s a Secret to Everybody' });
      expect(answer.status).to.equal(401);
    });
  });

  describe('deduplication', () => {
    it('the same delivery twice is processed once', async () => {
      const delivery = randomUUID();
      expect((await send({ delivery })).status).to.equal(202);
      expect(await send({ delivery })).to.deep.equal({ status: 200, body: { ok: true, duplicate: true, delivery } });
      await forge.drain();
      expect(forge.events).to.have.length(1);
    });

    it('a captured request replayed under a fresh delivery header is refused (the id that counts is signed)', async () => {
      const delivery = randomUUID();
      const body = JSON.stringify({ project: 'plain', delivery, updates: [{ ref: 'refs/heads/main', before: A, after: B }] });
      expect((await send({ body, delivery })).status).to.equal(202);
      const replay = await send({ body, delivery: randomUUID() });
      expect(replay.status).to.equal(400);
      expect(replay.body['code']).to.equal('webhook.headers.delivery');
      await forge.drain();
      expect(forge.events).to.have.length(1);
    });

    it('GitHub and git delivery ids do not collide', async () => {
      const delivery = randomUUID();
      await forge.forge.ctx.db.insertInto('webhook_deliveries').values({ source: 'github', delivery_id: delivery, event: 'push', received_at: new Date().toISOString() }).execute();
      expect((await send({ delivery })).status).to.equal(202);
    });
  });

  describe('bad requests are 4xx, never 5xx', () => {
    it('an unknown project is answered as a wrong signature for a real one is', async () => {
      const delivery = randomUUID();
      const answer = await send({ delivery, body: { project: 'nope', delivery, updates: [] } });
      const known = await send({ delivery, body: { project: 'plain', delivery, updates: [] }, secret: 'wrong' });
      expect(answer.status).to.equal(401);
      expect(answer.body).to.deep.equal(known.body);
      expect(JSON.stringify(answer.body)).not.to.match(/nope|plain/);
    });

    it('malformed bodies and updates answer 400', async () => {
      const delivery = randomUUID();
      const bodies: (Record<string, unknown> | string)[] = [
        '{"project": "plain"',
        '"plain"',
        { delivery, updates: [] },
        { project: 'plain', delivery },
        { project: 'plain', delivery, updates: 'refs/heads/main' },
        { project: 'plain', delivery, updates: [null] },
        { project: 'plain', delivery, updates: [{ ref: 'main', before: A, after: B }] },
        { project: 'plain', delivery, updates: [{ ref: 'refs/heads/main', before: 'HEAD', after: B }] },
        { project: 'plain', delivery, updates: [{ ref: 'refs/heads/main', before: A.toUpperCase(), after: B }] },
        { project: 'plain', delivery, updates: [{ ref: 'refs/heads/main', before: ZERO, after: ZERO }] },
        { project: 'plain', delivery, updates: [{ ref: 'refs/heads/ma in', before: A, after: B }] },
        { project: 'plain', delivery, updates: [{ ref: 'refs/heads/main', before: A, after: B, forced: 'yes' }] },
        { project: 'plain', delivery, updates: Array.from({ length: 10_001 }, () => ({ ref: 'refs/heads/main', before: A, after: B })) },
      ];
      for (const body of bodies) {
        const answer = await send({ body, delivery });
        expect(answer.status, `${JSON.stringify(body).slice(0, 100)} → ${JSON.stringify(answer.body)}`).to.equal(400);
      }
      await forge.drain();
      expect(forge.events).to.deep.equal([]);
    });

    it('missing delivery id or wrong content type answer 400', async () => {
      expect((await send({ headers: { 'x-anvil-delivery': undefined } })).status).to.equal(400);
      expect((await send({ headers: { 'content-type': 'text/plain' } })).status).to.equal(400);
    });
  });
});
