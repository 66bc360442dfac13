/** rateLimitedLog: what anyone can trigger is logged at most once per key and interval, with a count of the rest. */
import { expect } from 'chai';
import { OVERFLOW_KEY, rateLimitedLog } from '../../src/forge/rate-limited-log.ts';
import { capturingLogger } from '../support/capturing-logger.ts';
import { sleep } from '../webhooks/webhook-support.ts';

describe('rateLimitedLog', () => {
  it('writes the first line of a key, holds back the rest of the interval, then writes how many it held back', async () => {
    const { logger, lines } = capturingLogger();
    const log = rateLimitedLog(logger, { intervalMs: 100 });
    const written = Array.from({ length: 50 }, (_, i) => log.log('warn', 'git acme signature-invalid', { i }, 'webhook refused'));
    expect(written.filter(Boolean)).to.have.length(1);
    expect(log.log('warn', 'git beta signature-invalid', { i: 0 }, 'webhook refused')).to.equal(true);
    expect(lines.map((l) => l['i'])).to.deep.equal([0, 0]);

    await sleep(150);
    expect(lines).to.have.length(3);
    expect(lines[2]).to.include({ level: 40, i: 49, suppressed: 49, rateLimitKey: 'git acme signature-invalid' });
    expect(lines[2]!.msg).to.equal('webhook refused (49 more like it held back)');

    // The summary opened a new interval: a steady flood writes one line per interval.
    expect(log.log('warn', 'git acme signature-invalid', {}, 'webhook refused')).to.equal(false);
    log.flush();
    expect(lines).to.have.length(4);
    expect(lines[3]).to.include({ suppressed: 1 });
    await sleep(150);
    expect(log.log('warn', 'git acme signature-invalid', { again: true }, 'webhook refused')).to.equal(true);
    expect(lines).to.have.length(5);
  });

  it('keeps at most maxKeys keys: beyond them every new key shares one', () => {
    const { logger, lines } = capturingLogger();
    const log = rateLimitedLog(logger, { intervalMs: 60_000, maxKeys: 3 });
    for (let i = 0; i < 1_000; i++) log.log('info', `key ${i}`, { i }, 'line');
    // Three keys of their own, then one line for all the others.
    expect(lines.map((l) => l['i'])).to.deep.equal([0, 1, 2, 3]);
    log.flush();
    expect(lines[4]).to.include({ suppressed: 996, rateLimitKey: OVERFLOW_KEY });
  });
});
