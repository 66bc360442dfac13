/**
 * Refused webhooks (issue 14): anyone can post them, so they are counted and logged — at most
 * one line per source, project and reason per interval — and never written to the append-only
 * audit log, which keeps what authenticated parties did.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Webhooks } from '@octokit/webhooks';
import { listAudit } from '../../src/store/audit-log.ts';
import { signGitWebhook } from '../../src/webhooks/git-webhook.ts';
import { capturingLogger, type LogLine } from '../support/capturing-logger.ts';
import { GIT_SECRET, githubExample, post, sleep, startWebhookForge, type WebhookForge } from './webhook-support.ts';

const INTERVAL_MS = 500;

describe('refused webhooks are counted and logged, not audited', () => {
  let forge: WebhookForge;
  let lines: LogLine[];
  beforeEach(async () => {
    const captured = capturingLogger();
    lines = captured.lines;
    forge = await startWebhookForge({ logger: captured.logger, logIntervalMs: INTERVAL_MS });
  });
  afterEach(async () => forge.close());

  const gitDelivery = (project: string, secret: string) => {
    const delivery = randomUUID();
    const body = JSON.stringify({ project, delivery, updates: [{ ref: 'refs/heads/main', before: 'a'.repeat(40), after: 'b'.repeat(40) }] });
    return post(`${forge.url}/webhooks/git`, body, { 'content-type': 'application/json', 'x-anvil-delivery': delivery, 'x-anvil-signature-256': signGitWebhook(secret, body) });
  };
  const metric = async (line: string): Promise<number> => {
    const text = await forge.forge.ctx.metrics.registry.metrics();
    const found = text.split('\n').find((l) => l.startsWith(`${line} `));
    return found === undefined ? 0 : Number(found.slice(line.length + 1));
  };
  const refusals = () => lines.filter((l) => l.msg.startsWith('webhook refused'));

  it('a flood of wrong signatures, for a real project and for made-up ones: no audit row, every one counted, one line per project and reason and interval', async () => {
    const started = Date.now();
    const answers = [];
    for (let i = 0; i < 40; i++) answers.push(await gitDelivery('plain', 'wrong secret'));
    for (let i = 0; i < 40; i++) answers.push(await gitDelivery(`made-up-${i}`, 'wrong secret'));
    const wrong = new Webhooks({ secret: 'wrong secret' });
    for (let i = 0; i < 20; i++) {
      const payload = githubExample('push', (p) => p['ref'] === 'refs/heads/master');
      if (i % 2 === 1) payload['repository'].full_name = `someone/else-${i}`;
      const body = JSON.stringify(payload);
      answers.push(await post(`${forge.url}/webhooks/github`, body, {
        'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': await wrong.sign(body),
      }));
    }
    const elapsed = Date.now() - started;
    expect(new Set(answers.map((a) => a.status))).to.deep.equal(new Set([401]));

    expect(await listAudit(forge.forge.ctx.db, { limit: 10_000 })).to.deep.equal([]);
    expect(await forge.forge.ctx.db.selectFrom('webhook_deliveries').selectAll().execute()).to.deep.equal([]);
    expect(await metric('anvil_webhook_rejections_total{source="git",reason="signature-invalid"}')).to.equal(80);
    expect(await metric('anvil_webhook_rejections_total{source="github",reason="signature-invalid"}')).to.equal(20);
    expect(await metric('anvil_webhooks_total{source="git",event="push",outcome="rejected"}')).to.equal(80);

    // What was claimed is in the line, for the operator; made-up names share one key.
    expect(refusals()[0]).to.include({ source: 'git', project: 'plain', reason: 'signature-invalid', level: 40 });
    expect(refusals().find((l) => l['source'] === 'git' && l['project'] === undefined)).to.include({ claimed: 'made-up-0' });

    await sleep(INTERVAL_MS + 200);
    // Per source, project (a real one, or none) and reason: every refusal is either a line of its
    // own or counted in a later line's `suppressed`, and there are few lines: one per interval,
    // plus the summary of the last.
    const byKey = new Map<string, { lines: number; accounted: number }>();
    for (const line of refusals()) {
      const key = `${String(line['source'])} ${String(line['project'] ?? '-')} ${String(line['reason'])}`;
      const seen = byKey.get(key) ?? { lines: 0, accounted: 0 };
      seen.lines += 1;
      seen.accounted += typeof line['suppressed'] === 'number' ? line['suppressed'] : 1;
      byKey.set(key, seen);
    }
    expect(Object.fromEntries([...byKey].map(([key, seen]) => [key, seen.accounted]))).to.deep.equal({
      'git plain signature-invalid': 40, 'git - signature-invalid': 40, 'github hello signature-invalid': 10, 'github - signature-invalid': 10,
    });
    const mostLines = Math.ceil(elapsed / INTERVAL_MS) + 2;
    for (const [key, seen] of byKey) expect(seen.lines, key).to.be.at.most(mostLines);
  });

  it('malformed requests are counted by a fixed reason and logged the same way', async () => {
    for (let i = 0; i < 5; i++) await post(`${forge.url}/webhooks/git`, 'not json', { 'content-type': 'text/plain', 'x-anvil-delivery': randomUUID(), 'x-anvil-signature-256': 'sha256=00' });
    for (let i = 0; i < 5; i++) await post(`${forge.url}/webhooks/git`, '{"project": ', { 'content-type': 'application/json', 'x-anvil-delivery': randomUUID(), 'x-anvil-signature-256': 'sha256=00' });
    await post(`${forge.url}/webhooks/git`, '{}', { 'content-type': 'application/json', 'x-anvil-delivery': randomUUID() });
    await post(`${forge.url}/webhooks/github`, '{}', { 'content-type': 'application/json', 'x-github-event': 'Not An Event', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': 'sha256=00' });
    expect(await metric('anvil_webhook_rejections_total{source="git",reason="content-type"}')).to.equal(5);
    expect(await metric('anvil_webhook_rejections_total{source="git",reason="payload"}')).to.equal(5);
    expect(await metric('anvil_webhook_rejections_total{source="git",reason="signature-missing"}')).to.equal(1);
    expect(await metric('anvil_webhook_rejections_total{source="github",reason="headers"}')).to.equal(1);
    expect(refusals().map((l) => `${l['source']} ${l['reason']}`)).to.have.members(['git content-type', 'git payload', 'git signature-missing', 'github headers']);
    expect(await listAudit(forge.forge.ctx.db)).to.deep.equal([]);
  });

  it('what a verified sender did is still audited', async () => {
    const answer = await gitDelivery('plain', GIT_SECRET);
    expect(answer.status).to.equal(202);
    await forge.drain();
    expect((await listAudit(forge.forge.ctx.db)).map((r) => [r.kind, r.project])).to.deep.equal([['webhook.received', 'plain']]);
  });
});
