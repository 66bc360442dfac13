import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Webhooks } from '@octokit/webhooks';
import { listAudit } from '../../src/store/audit-log.ts';
import type { ForgeEvent } from '../../src/webhooks/forge-event.ts';
import { GITHUB_SECRET, githubExample, post, sleep, startWebhookForge, type Answer, type Json, type WebhookForge } from './webhook-support.ts';

const signer = new Webhooks({ secret: GITHUB_SECRET });

interface Delivery {
  event: string;
  payload: Json | string;
  id?: string;
  secret?: string;
  headers?: Record<string, string | undefined>;
}

describe('POST /webhooks/github', () => {
  let forge: WebhookForge;
  beforeEach(async () => { forge = await startWebhookForge(); });
  afterEach(async () => forge.close());

  /** Sends like GitHub does: JSON body, event, delivery id, HMAC-SHA256 signature. */
  async function deliver(d: Delivery): Promise<Answer> {
    const body = typeof d.payload === 'string' ? d.payload : JSON.stringify(d.payload);
    const signature = d.secret === undefined ? await signer.sign(body) : await new Webhooks({ secret: d.secret }).sign(body);
    const headers: Record<string, string | undefined> = {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/test',
      'x-github-event': d.event,
      'x-github-delivery': d.id ?? randomUUID(),
      'x-hub-signature-256': signature,
      ...d.headers,
    };
    return post(`${forge.url}/webhooks/github`, body, Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string>);
  }

  async function eventOf(d: Delivery): Promise<ForgeEvent> {
    const answer = await deliver(d);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(202);
    await forge.drain();
    expect(forge.events).to.have.length(1);
    return forge.events[0]!;
  }

  const base = (id: string) => ({ project: 'hello', deliveryId: id });

  /** GitHub's ping example comes from another repository than the other examples. */
  function repositoryPing(): Json {
    const payload = githubExample('ping', (p) => p['repository'] !== undefined);
    payload['repository'].full_name = 'Codertocat/Hello-World';
    return payload;
  }

  describe('maps GitHub\'s example payloads to forge events', () => {
    it('push to a branch', async () => {
      const id = randomUUID();
      const payload = githubExample('push', (p) => p['ref'] === 'refs/heads/master');
      expect(await eventOf({ event: 'push', payload, id })).to.deep.equal({
        kind: 'push', ...base(id), ref: 'refs/heads/master',
        before: '0000000000000000000000000000000000000000', after: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
        created: true, deleted: false, forced: false, sender: 'Codertocat',
      });
    });

    it('push of a tag, and a forced push', async () => {
      const id = randomUUID();
      const payload = githubExample('push', (p) => p['ref'] === 'refs/tags/simple-tag' && p['created'] === true);
      expect(await eventOf({ event: 'push', payload, id })).to.include({ kind: 'push', ref: 'refs/tags/simple-tag', created: true, deleted: false });

      const forced = githubExample('push', (p) => p['ref'] === 'refs/heads/master');
      Object.assign(forced, { before: '1'.repeat(40), created: false, forced: true });
      forge.events.length = 0;
      expect(await eventOf({ event: 'push', payload: forced })).to.include({ ref: 'refs/heads/master', before: '1'.repeat(40), created: false, forced: true });
    });

    it('create of a tag (a new branch is left to its push event)', async () => {
      const id = randomUUID();
      expect(await eventOf({ event: 'create', payload: githubExample('create'), id })).to.deep.equal({
        kind: 'tag', ...base(id), tag: 'simple-tag', via: 'create', sender: 'Codertocat',
      });
      const branch = { ...githubExample('create'), ref: 'feature', ref_type: 'branch' };
      expect(await deliver({ event: 'create', payload: branch })).to.deep.include({ status: 200, body: { ok: true, ignored: 'create branch' } });
    });

    it('release published (and a draft is ignored)', async () => {
      const id = randomUUID();
      expect(await eventOf({ event: 'release', payload: githubExample('release', (p) => p['action'] === 'published'), id })).to.deep.equal({
        kind: 'tag', ...base(id), tag: '0.0.1', via: 'release', prerelease: false, sender: 'Codertocat',
      });
      const draft = githubExample('release', (p) => p['action'] === 'created');
      draft['release'].draft = true;
      expect((await deliver({ event: 'release', payload: draft })).body).to.deep.equal({ ok: true, ignored: 'release.created (draft)' });
      expect((await deliver({ event: 'release', payload: githubExample('release', (p) => p['action'] === 'deleted') })).body)
        .to.deep.equal({ ok: true, ignored: 'release.deleted' });
      await forge.drain();
      expect(forge.events).to.have.length(1);
    });

    it('pull_request opened', async () => {
      const id = randomUUID();
      const payload = githubExample('pull_request', (p) => p['action'] === 'opened');
      expect(await eventOf({ event: 'pull_request', payload, id })).to.deep.equal({
        kind: 'pull-request', ...base(id), action: 'opened', number: 2,
        headSha: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821', headRef: 'changes',
        baseRef: 'master', baseSha: payload['pull_request'].base.sha,
        merged: false, author: 'Codertocat', authorAssociation: 'OWNER',
        headRepository: 'Codertocat/Hello-World', draft: false, sender: 'Codertocat',
      });
    });

    it('pull_request synchronize carries the new head', async () => {
      const payload = githubExample('pull_request', (p) => p['action'] === 'synchronize');
      payload['pull_request'].head.sha = 'a'.repeat(40);
      expect(await eventOf({ event: 'pull_request', payload })).to.include({ action: 'synchronize', headSha: 'a'.repeat(40), merged: false });
    });

    it('pull_request closed: merged (with the merge commit) or not', async () => {
      // GitHub's merged close, derived from its closed example: merged, merged_at, merged_by set.
      const payload = githubExample('pull_request', (p) => p['action'] === 'closed');
      const pr = payload['pull_request'];
      Object.assign(pr, { merged: true, merged_at: pr.closed_at, merged_by: payload['sender'], merge_commit_sha: 'b'.repeat(40) });
      const merged = await eventOf({ event: 'pull_request', payload });
      expect(merged).to.include({ kind: 'pull-request', action: 'closed', merged: true, mergeCommitSha: 'b'.repeat(40), baseRef: 'master' });

      forge.events.length = 0;
      const closed = await eventOf({ event: 'pull_request', payload: githubExample('pull_request', (p) => p['action'] === 'closed') });
      expect(closed).to.include({ action: 'closed', merged: false });
      // GitHub fills merge_commit_sha with a test merge for unmerged pull requests too; it is not a merge.
      expect(closed).not.to.have.property('mergeCommitSha');
    });

    it('pull_request_review approved, derived from the submitted example', async () => {
      const id = randomUUID();
      const payload = githubExample('pull_request_review', (p) => p['action'] === 'submitted');
      payload['review'].state = 'approved';
      expect(await eventOf({ event: 'pull_request_review', payload, id })).to.deep.equal({
        kind: 'pull-request-review', ...base(id), action: 'submitted', number: 2, state: 'approved',
        reviewer: 'Codertocat', commitId: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821',
        headSha: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821', reviewId: 237895671,
        reviewerAssociation: 'OWNER', submittedAt: '2019-05-15T15:20:38Z', sender: 'Codertocat',
      });
    });

    it('pull_request_review dismissed, and a state in upper case', async () => {
      const dismissed = await eventOf({ event: 'pull_request_review', payload: githubExample('pull_request_review', (p) => p['action'] === 'dismissed') });
      expect(dismissed).to.include({ action: 'dismissed', state: 'dismissed', reviewId: 237895671 });
      forge.events.length = 0;
      const upper = githubExample('pull_request_review', (p) => p['action'] === 'submitted');
      upper['review'].state = 'CHANGES_REQUESTED';
      expect(await eventOf({ event: 'pull_request_review', payload: upper })).to.include({ state: 'changes_requested' });
    });

    it('ping, from a repository hook and from an organisation hook (no repository: found by its secret)', async () => {
      const id = randomUUID();
      expect(await eventOf({ event: 'ping', payload: repositoryPing(), id })).to.deep.equal({ kind: 'ping', ...base(id) });
      forge.events.length = 0;
      const org = githubExample('ping', (p) => p['repository'] === undefined);
      expect(await eventOf({ event: 'ping', payload: org })).to.include({ kind: 'ping', project: 'hello' });
      // Signed by no project's secret: a wrong signature, like any other.
      const unsigned = await deliver({ event: 'ping', payload: org, secret: 'another secret' });
      expect(unsigned.status).to.equal(401);
      expect(unsigned.body['code']).to.equal('webhook.signature.invalid');
      // Only a ping may name no repository.
      const { repository: _repository, ...orphan } = githubExample('push', (p) => p['ref'] === 'refs/heads/master');
      const answer = await deliver({ event: 'push', payload: orphan });
      expect(answer.status).to.equal(400);
      expect(answer.body['code']).to.equal('webhook.payload.repository');
    });

    it('matches the repository whatever its case', async () => {
      const payload = githubExample('push', (p) => p['ref'] === 'refs/heads/master');
      payload['repository'].full_name = 'codertocat/hello-world';
      expect(await eventOf({ event: 'push', payload })).to.include({ project: 'hello' });
    });
  });

  it('answers 200 ignored, and records nothing, for events and actions the forge does not use', async () => {
    expect((await deliver({ event: 'issues', payload: { action: 'opened', repository: { full_name: 'Codertocat/Hello-World' } } })).body)
      .to.deep.equal({ ok: true, ignored: 'issues.opened' });
    const labeled = await deliver({ event: 'pull_request', payload: githubExample('pull_request', (p) => p['action'] === 'labeled') });
    expect(labeled).to.deep.equal({ status: 200, body: { ok: true, ignored: 'pull_request.labeled' } });
    // An event octokit does not know yet is ignored too, not refused.
    expect((await deliver({ event: 'brand_new_event', payload: { repository: { full_name: 'Codertocat/Hello-World' } } })).body)
      .to.deep.equal({ ok: true, ignored: 'brand_new_event' });
    await forge.drain();
    expect(forge.events).to.deep.equal([]);
    expect(await forge.forge.ctx.db.selectFrom('webhook_deliveries').selectAll().execute()).to.deep.equal([]);
  });

  it('audits and counts what it accepted', async () => {
    const id = randomUUID();
    await eventOf({ event: 'push', payload: githubExample('push', (p) => p['ref'] === 'refs/heads/master'), id });
    const [row] = await listAudit(forge.forge.ctx.db, { kind: 'webhook.received' });
    expect(row).to.include({ project: 'hello', kind: 'webhook.received', subject: 'push', actor: 'github:Codertocat' });
    expect(JSON.parse(row!.detail)).to.deep.include({ source: 'github', delivery: id });
    const metrics = await forge.forge.ctx.metrics.registry.metrics();
    expect(metrics).to.contain('anvil_webhooks_total{source="github",event="push",outcome="accepted"} 1');
  });

  describe('signatures', () => {
    it('a wrong signature answers 401 and is counted, not audited; nothing is processed', async () => {
      const payload = githubExample('push', (p) => p['ref'] === 'refs/heads/master');
      const answer = await deliver({ event: 'push', payload, secret: 'not the secret' });
      expect(answer.status).to.equal(401);
      expect(answer.body).to.include({ ok: false, code: 'webhook.signature.invalid' });
      await forge.drain();
      await sleep(20);
      expect(forge.events).to.deep.equal([]);
      expect(await forge.forge.ctx.db.selectFrom('webhook_deliveries').selectAll().execute()).to.deep.equal([]);
      // The audit log keeps what authenticated parties did; anyone can post a wrong signature.
      expect(await listAudit(forge.forge.ctx.db)).to.deep.equal([]);
      const metrics = await forge.forge.ctx.metrics.registry.metrics();
      expect(metrics).to.contain('outcome="rejected"} 1');
      expect(metrics).to.contain('anvil_webhook_rejections_total{source="github",reason="signature-invalid"} 1');
    });

    it('a body changed after signing is refused', async () => {
      const payload = githubExample('push', (p) => p['ref'] === 'refs/heads/master');
      const body = JSON.stringify(payload);
      const signature = await signer.sign(body);
      const tampered = body.replace('6113728f', '6113728e');
      const answer = await post(`${forge.url}/webhooks/github`, tampered, {
        'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': signature,
      });
      expect(answer.status).to.equal(401);
      expect(forge.events).to.deep.equal([]);
    });

    it('a missing signature answers 401', async () => {
      const answer = await deliver({ event: 'push', payload: githubExample('push'), headers: { 'x-hub-signature-256': undefined } });
      expect(answer).to.deep.include({ status: 401 });
      expect(answer.body['code']).to.equal('webhook.signature.missing');
    });
  });

  describe('deduplication by X-GitHub-Delivery', () => {
    it('a redelivery answers 200 duplicate and is processed once', async () => {
      const id = randomUUID();
      const payload = githubExample('push', (p) => p['ref'] === 'refs/heads/master');
      expect((await deliver({ event: 'push', payload, id })).status).to.equal(202);
      const again = await deliver({ event: 'push', payload, id });
      expect(again).to.deep.equal({ status: 200, body: { ok: true, duplicate: true, delivery: id } });
      await forge.drain();
      expect(forge.events).to.have.length(1);
      expect(await listAudit(forge.forge.ctx.db, { kind: 'webhook.received' })).to.have.length(1);
    });

    it('of several copies sent at once, exactly one is taken', async () => {
      const id = randomUUID();
      const payload = githubExample('push', (p) => p['ref'] === 'refs/heads/master');
      const answers = await Promise.all(Array.from({ length: 8 }, () => deliver({ event: 'push', payload, id })));
      expect(answers.map((a) => a.status).sort()).to.deep.equal([200, 200, 200, 200, 200, 200, 200, 202]);
      await forge.drain();
      expect(forge.events).to.have.length(1);
    });
  });

  describe('bad requests are 4xx, never 5xx, and nothing is processed', () => {
    it('an unknown repository is answered as a wrong signature is, naming nothing', async () => {
      const payload = githubExample('push');
      payload['repository'].full_name = 'someone/else';
      const answer = await deliver({ event: 'push', payload });
      const known = await deliver({ event: 'push', payload: githubExample('push'), secret: 'not the secret' });
      expect(answer.status).to.equal(401);
      expect(answer.body).to.deep.equal(known.body);
      expect(JSON.stringify(answer.body)).not.to.match(/someone|else|hello|Hello-World/i);
    });

    it('malformed JSON, correctly signed, answers 400', async () => {
      const answer = await deliver({ event: 'push', payload: '{"ref": "refs/heads/main",' });
      expect(answer.status).to.equal(400);
      expect(answer.body['code']).to.equal('webhook.payload');
    });

    it('wrong content: form-encoded, not an object, empty, too large', async () => {
      const form = await deliver({ event: 'push', payload: `payload=${encodeURIComponent(JSON.stringify(githubExample('push')))}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(form.status).to.equal(400);
      expect(form.body['code']).to.equal('webhook.payload.content-type');
      expect((await deliver({ event: 'push', payload: '[1, 2, 3]' })).status).to.equal(400);
      const empty = await post(`${forge.url}/webhooks/github`, '', {
        'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': 'sha256=00',
      });
      expect(empty.status).to.equal(400);

      const small = await startWebhookForge({ limit: 1024 });
      try {
        const body = JSON.stringify({ ...githubExample('push'), padding: 'x'.repeat(4096) });
        const answer = await post(`${small.url}/webhooks/github`, body, {
          'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': await signer.sign(body),
        });
        expect(answer.status).to.equal(413);
      } finally {
        await small.close();
      }
    });

    it('missing or malformed headers answer 400', async () => {
      const payload = githubExample('push');
      for (const headers of [
        { 'x-github-event': undefined },
        { 'x-github-delivery': undefined },
        { 'x-github-delivery': 'not a delivery id; DROP TABLE' },
        { 'x-github-event': 'Push Event!' },
      ]) {
        const answer = await deliver({ event: 'push', payload, headers });
        expect(answer.status, JSON.stringify(headers)).to.equal(400);
        expect(answer.body['code']).to.equal('webhook.headers');
      }
    });

    it('a signed payload that lacks what the event needs answers 400', async () => {
      const noRef = githubExample('push', (p) => p['ref'] === 'refs/heads/master');
      delete noRef['ref'];
      expect((await deliver({ event: 'push', payload: noRef })).status).to.equal(400);
      const noHead = githubExample('pull_request', (p) => p['action'] === 'opened');
      noHead['pull_request'].head = 'main';
      const answer = await deliver({ event: 'pull_request', payload: noHead });
      expect(answer.status).to.equal(400);
      expect(answer.body['code']).to.equal('webhook.payload');
    });

    it('mangled payloads, all correctly signed: never a 5xx', async () => {
      const originals = ['push', 'create', 'release', 'pull_request', 'pull_request_review', 'ping'].map((event) => ({ event, payload: githubExample(event) }));
      const junk = [null, 0, -1, '', 'x', true, [], {}, { login: 1 }, [{}]];
      const statuses = new Set<number>();
      for (let i = 0; i < 60; i++) {
        const { event, payload } = originals[i % originals.length]!;
        const mangled = structuredClone(payload);
        // Replace one field, at the top or one level down, by junk.
        const keys = Object.keys(mangled).filter((k) => k !== 'repository');
        const key = keys[(i * 7) % keys.length]!;
        const value = junk[i % junk.length];
        if (mangled[key] !== null && typeof mangled[key] === 'object' && i % 2 === 0) {
          const inner = Object.keys(mangled[key]);
          if (inner.length > 0) mangled[key][inner[(i * 3) % inner.length]!] = value;
        } else {
          mangled[key] = value;
        }
        const answer = await deliver({ event, payload: mangled });
        expect(answer.status, `${event} with ${key} mangled: ${JSON.stringify(answer.body)}`).to.be.below(500);
        statuses.add(answer.status);
      }
      const random = await deliver({ event: 'push', payload: randomBytes(512).toString('latin1') });
      expect(random.status).to.be.within(400, 499);
      expect(statuses.has(400)).to.equal(true);
      await forge.drain();
    });
  });

  describe('the answer comes first; the work runs in the background', () => {
    it('answers 202 before a slow onEvent finishes', async () => {
      let finish!: () => void;
      let finished = false;
      forge.setHandler(() => new Promise<void>((resolve) => {
        finish = () => { finished = true; resolve(); };
      }));
      const started = Date.now();
      const answer = await deliver({ event: 'push', payload: githubExample('push', (p) => p['ref'] === 'refs/heads/master') });
      expect(answer.status).to.equal(202);
      expect(Date.now() - started).to.be.below(2000);
      await sleep(20);
      expect(forge.events).to.have.length(1);
      expect(finished).to.equal(false);
      finish();
      await forge.drain();
      expect(finished).to.equal(true);
    });

    it('a failing onEvent is logged, audited and counted; the process carries on', async () => {
      forge.setHandler(async () => { throw new Error('mirror fetch failed'); });
      const answer = await deliver({ event: 'push', payload: githubExample('push', (p) => p['ref'] === 'refs/heads/master') });
      expect(answer.status).to.equal(202);
      await forge.drain();
      const [failed] = await listAudit(forge.forge.ctx.db, { kind: 'webhook.failed' });
      expect(failed).to.include({ project: 'hello', subject: 'push' });
      expect(JSON.parse(failed!.detail)).to.include({ reason: 'mirror fetch failed', kind: 'push' });
      expect(await forge.forge.ctx.metrics.registry.metrics()).to.contain('anvil_webhooks_total{source="github",event="push",outcome="failed"} 1');
      // Still serving.
      forge.setHandler(async () => {});
      expect((await deliver({ event: 'ping', payload: repositoryPing() })).status).to.equal(202);
    });

    it('hands one project\'s events on one at a time, in the order they were accepted', async () => {
      const order: string[] = [];
      forge.setHandler(async (event) => {
        order.push(`start ${event.kind}`);
        if (event.kind === 'push') await sleep(100);
        order.push(`end ${event.kind}`);
      });
      expect((await deliver({ event: 'push', payload: githubExample('push', (p) => p['ref'] === 'refs/heads/master') })).status).to.equal(202);
      expect((await deliver({ event: 'create', payload: githubExample('create') })).status).to.equal(202);
      await forge.drain();
      expect(order).to.deep.equal(['start push', 'end push', 'start tag', 'end tag']);
    });
  });

  it('leaves other routes to the JSON parser mounted after it', async () => {
    const answer = await post(`${forge.url}/api/echo`, '{"a":1}', { 'content-type': 'application/json' });
    expect(answer).to.deep.equal({ status: 200, body: { a: 1 } });
  });
});
