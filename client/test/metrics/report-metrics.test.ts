/**
 * Usage metrics from the LIVE client (issue 17): `reportMetrics` queues beside the render path
 * and batches to the forge, past the raw allowance it folds reports into aggregates, memory
 * stays bounded (drops counted), a forge that is down neither blocks nor throws into the app,
 * and `spanAttributes` is a one-liner on a real OpenTelemetry span.
 * The forge is the loopback fake of the receiver tests; its `/metrics` answers come from a
 * `fetch` wrapper that records each batch (the real forge's route is tested in server/test/metrics).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { validateMetricsBatch, type MetricsBatch } from '@anvil/content-schema';
import { createClient, type AnvilClient, type ClientOptions } from '../../src/client.ts';
import { makeBundle, startFakeForge, type FakeForge } from '../support/fake-forge.ts';

const v1 = makeBundle('onboarding', '1.0.0', { 'welcome.message': { template: 'Hi {{name}} (v1)', variants: { fr: { template: 'Salut {{name}}' } } } });
const v2 = makeBundle('onboarding', '1.1.0', { 'welcome.message': 'Hello {{name}} (v2)' });

describe('usage metrics from the LIVE client (issue 17)', function () {
  let forge: FakeForge;
  let cacheDir: string;
  const clients: AnvilClient[] = [];
  let batches: MetricsBatch[];
  /** What /metrics answers: a status, or 'down' (the connection fails). */
  let metricsAnswer: number | 'down';
  let metricsCalls: number;

  const recordingFetch: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.endsWith('/metrics')) return fetch(input, init);
    metricsCalls++;
    if (metricsAnswer === 'down') throw new TypeError('fetch failed');
    const body = JSON.parse(String(init?.body)) as unknown;
    const checked = validateMetricsBatch(body);
    if (!checked.ok) return new Response(JSON.stringify({ ok: false, code: 'metrics.invalid', reason: checked.errors[0]?.message }), { status: 400 });
    if (metricsAnswer === 202) batches.push(checked.value);
    return new Response(JSON.stringify({ ok: metricsAnswer === 202 }), { status: metricsAnswer, headers: { 'content-type': 'application/json' } });
  };

  beforeEach(async function () {
    forge = await startFakeForge();
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'anvil-metrics-'));
    batches = [];
    metricsAnswer = 202;
    metricsCalls = 0;
  });
  afterEach(async function () {
    for (const c of clients.splice(0)) await c.close();
    await forge.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  async function client(extra: Partial<ClientOptions> = {}): Promise<AnvilClient> {
    const c = await createClient({
      forge: forge.url, project: 'acme', token: forge.token, channel: 'production', cacheDir, readyTimeoutMs: 2_000, pollMs: 0,
      fetch: recordingFetch, ...extra,
    });
    clients.push(c);
    expect(await c.ready).to.equal(true);
    return c;
  }

  it('batches reports by size and on the timer, each event saying what served the call', async function () {
    forge.publish('production', [v1]);
    const anvil = await client({ metrics: { batchSize: 10, flushMs: 100 } });
    for (let i = 0; i < 25; i++) anvil.reportMetrics('welcome.message', { success: i % 5 !== 0, latency_ms: 100 + i, key: `user-${i}` });
    anvil.reportMetrics('welcome.message', { success: false, latency_ms: 12.5, variant: 'fr', error: 'timeout' });
    // Nothing left inside the calls: a full batch goes on the next turn of the event loop.
    expect(batches).to.have.length(0);
    await waitFor(() => anvil.metricsStats().sent === 26);
    expect(batches.map((b) => b.events.length).slice(0, 2)).to.deep.equal([10, 10]);
    expect(batches.flatMap((b) => b.events)).to.have.length(26);
    const first = batches[0]!;
    expect(first.channel).to.equal('production');
    expect(first.instanceId).to.be.a('string');
    expect(first.events[0]).to.deep.include({ set: 'onboarding', version: '1.0.0', integrity: v1.integrity, prompt: 'welcome.message', variant: null, rollout: false, success: false, latencyMs: 100 });
    const last = batches.at(-1)!.events.at(-1)!;
    expect(last).to.deep.include({ variant: 'fr', success: false, latencyMs: 12.5, error: 'timeout' });
    // Keys are not sent.
    expect(JSON.stringify(batches)).to.not.include('user-');
    expect(anvil.metricsStats()).to.deep.equal({ queued: 0, sent: 26, folded: 0, dropped: 0, failedBatches: 0 });
  });

  it('reports the rollout side a key is served from', async function () {
    forge.publish('production', [v1, v2], { onboarding: { version: '1.1.0', percent: 50 } });
    const anvil = await client({ metrics: { flushMs: 50 } });
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    for (const key of keys) anvil.reportMetrics('welcome.message', { success: true, latency_ms: 5, key });
    await anvil.close();
    clients.splice(0);
    const events = batches.flatMap((b) => b.events);
    expect(events).to.have.length(200);
    const onRollout = events.filter((e) => e.rollout);
    expect(onRollout.length).to.be.within(60, 140);
    expect(new Set(onRollout.map((e) => e.version))).to.deep.equal(new Set(['1.1.0']));
    expect(new Set(events.filter((e) => !e.rollout).map((e) => e.version))).to.deep.equal(new Set(['1.0.0']));
  });

  it('past the raw allowance, folds reports into aggregates that add up to the same figures', async function () {
    forge.publish('production', [v1, v2], { onboarding: { version: '1.1.0', percent: 50 } });
    const anvil = await client({ metrics: { rawPerFlush: 20, flushMs: 60_000 } });
    const now = Date.now();
    // Over three minutes; some with 1.0.0's variant (1.1.0 has none).
    const reports = Array.from({ length: 500 }, (_, i) => ({
      key: `k${i}`, success: i % 4 !== 0, latency_ms: (i % 40) * 2.5, at: now + (i % 3) * 60_000,
      ...(i % 7 === 0 && anvil.track('welcome.message', { key: `k${i}` }).version === '1.0.0' ? { variant: 'fr' } : {}),
    }));
    for (const r of reports) anvil.reportMetrics('welcome.message', r);
    expect(anvil.metricsStats()).to.deep.include({ queued: 500, folded: 480, dropped: 0 });
    await anvil.close();
    clients.splice(0);
    // Each batch passed the forge's validation (recordingFetch): raw events, then aggregates.
    const events = batches.flatMap((b) => b.events);
    const aggregates = batches.flatMap((b) => b.aggregates ?? []);
    expect(events).to.have.length(20);
    expect(aggregates.reduce((n, a) => n + a.events, 0)).to.equal(480);
    // Per side: the calls, successes and latency sum of the reports served from it, raw and folded together.
    for (const rollout of [false, true]) {
      const served = reports.filter((r) => anvil.track('welcome.message', r).rollout === rollout);
      const got = [...events.filter((e) => e.rollout === rollout).map((e) => ({ events: 1, successes: e.success ? 1 : 0, latencySumMs: e.latencyMs })),
        ...aggregates.filter((a) => a.rollout === rollout)].reduce((t, x) => ({ events: t.events + x.events, successes: t.successes + x.successes, latencySumMs: t.latencySumMs + x.latencySumMs }), { events: 0, successes: 0, latencySumMs: 0 });
      expect(got).to.deep.equal({ events: served.length, successes: served.filter((r) => r.success).length, latencySumMs: served.reduce((n, r) => n + r.latency_ms, 0) });
    }
    expect(new Set(aggregates.map((a) => `${a.version} ${String(a.rollout)} ${a.variant}`))).to.deep.equal(new Set(['1.0.0 false null', '1.0.0 false fr', '1.1.0 true null']));
    expect(JSON.stringify(batches)).to.not.include('"k1"');
    expect(anvil.metricsStats()).to.deep.equal({ queued: 0, sent: 500, folded: 480, dropped: 0, failedBatches: 0 });
  });

  it('keeps memory bounded: past maxQueued reports are folded, past maxAggregates dropped and counted, and the next batch says so', async function () {
    forge.publish('production', [v1]);
    const anvil = await client({ metrics: { maxQueued: 50, maxAggregates: 3, batchSize: 1000, flushMs: 60_000 } });
    // Ten minutes of calls: three aggregates hold three of them.
    const now = Date.now();
    for (let i = 0; i < 1_000; i++) anvil.reportMetrics('welcome.message', { success: true, latency_ms: 1, at: now - (i % 10) * 60_000 });
    expect(anvil.metricsStats()).to.deep.include({ queued: 335, folded: 285, dropped: 665 });
    await anvil.close();
    clients.splice(0);
    expect(batches).to.have.length(1);
    expect(batches[0]!.events).to.have.length(50);
    expect(batches[0]!.aggregates!.map((a) => a.events)).to.deep.equal([95, 95, 95]);
    expect(batches[0]!.dropped).to.equal(665);
  });

  it('with the forge down: never blocks or throws; the batch is dropped after a bounded retry and counted', async function () {
    forge.publish('production', [v1]);
    const anvil = await client({ metrics: { maxQueued: 1_000, batchSize: 100, flushMs: 20, retries: 2, retryBaseMs: 5 } });
    const errors: unknown[] = [];
    anvil.on('error', (e) => errors.push(e));
    metricsAnswer = 'down';
    const started = performance.now();
    for (let i = 0; i < 5_000; i++) anvil.reportMetrics('welcome.message', { success: true, latency_ms: 3 });
    const elapsed = performance.now() - started;
    // 5,000 reports are bookkeeping only: far below the time of a single request.
    expect(elapsed).to.be.below(500);
    await waitFor(() => anvil.metricsStats().failedBatches >= 2);
    const stats = anvil.metricsStats();
    expect(stats.sent).to.equal(0);
    expect(stats.dropped).to.be.at.least(4_000);
    expect(stats.queued).to.be.at.most(1_000);
    // Bounded: one try and two retries per failed batch.
    expect(metricsCalls).to.be.at.most(3 * stats.failedBatches + 3);
    expect(errors.some((e) => (e as { code?: string }).code === 'forge.unreachable')).to.equal(true);
    // Renders are untouched, and the forge coming back takes the next batches.
    expect(anvil.prompt('welcome.message', { name: 'Ada' })).to.equal('Hi Ada (v1)');
    metricsAnswer = 202;
    anvil.reportMetrics('welcome.message', { success: true, latency_ms: 3 });
    await waitFor(() => batches.length > 0);
    expect(batches[0]!.dropped).to.be.at.least(4_000);
  });

  it('a batch the forge refuses (4xx) is dropped at once, not retried', async function () {
    forge.publish('production', [v1]);
    const anvil = await client({ metrics: { batchSize: 5, flushMs: 20, retries: 5, retryBaseMs: 5 } });
    anvil.on('error', () => undefined);
    metricsAnswer = 400;
    for (let i = 0; i < 5; i++) anvil.reportMetrics('welcome.message', { success: true, latency_ms: 3 });
    await waitFor(() => anvil.metricsStats().failedBatches === 1);
    expect(metricsCalls).to.equal(1);
    expect(anvil.metricsStats().dropped).to.equal(5);
  });

  it('a bad report or an unknown prompt is an error event, never a throw', async function () {
    forge.publish('production', [v1]);
    const anvil = await client();
    const errors: { code?: string }[] = [];
    anvil.on('error', (e) => errors.push(e as { code?: string }));
    expect(() => anvil.reportMetrics('welcome.message', { success: true, latency_ms: -1 })).to.not.throw();
    expect(() => anvil.reportMetrics('welcome.message', { success: 'yes' as unknown as boolean, latency_ms: 1 })).to.not.throw();
    expect(() => anvil.reportMetrics('welcome.message', { success: true, latency_ms: 1, at: Number.NaN })).to.not.throw();
    expect(() => anvil.reportMetrics('no.such.prompt', { success: true, latency_ms: 1 })).to.not.throw();
    expect(errors.map((e) => e.code)).to.deep.equal(['metrics.bad-report', 'metrics.bad-report', 'metrics.bad-report', 'prompt.unknown']);
    expect(anvil.metricsStats().queued).to.equal(0);
  });

  it('spanAttributes: one line on a real OpenTelemetry span', async function () {
    forge.publish('production', [v1]);
    const anvil = await client();
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer('app');
    expect(trace).to.be.an('object');
    const span = tracer.startSpan('llm.call');
    span.setAttributes(anvil.spanAttributes('welcome.message', { variant: 'fr' }));
    span.end();
    await provider.forceFlush();
    const [finished] = exporter.getFinishedSpans();
    expect(finished!.attributes).to.deep.equal({
      'gen_ai.prompt.name': 'onboarding/welcome.message',
      'gen_ai.prompt.version': '1.0.0',
      'anvil.set': 'onboarding',
      'anvil.prompt': 'welcome.message',
      'anvil.integrity': v1.integrity,
      'anvil.rollout': false,
      'anvil.channel': 'production',
      'anvil.variant': 'fr',
    });
    await provider.shutdown();
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
