/**
 * The forge's Prometheus metrics (`/metrics`, prom-client). One registry per forge, not the
 * global one, so that several forges in one process (tests) count separately.
 *
 * `/metrics` answers anyone, so no label ever carries a project name or anything a caller sent:
 * every label value comes from a fixed set in the code (issue 14). A counter that moved for an
 * unknown project but not for a known one would tell an anonymous caller which names exist, so
 * refusals are counted by why they were refused, never by what they claimed to be for.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ForgeMetrics {
  registry: Registry;
  webhooks: Counter<'source' | 'event' | 'outcome'>;
  /** Webhooks refused before anything was processed, by source and a fixed reason (webhook-rejection.ts). */
  webhookRejections: Counter<'source' | 'reason'>;
  /** API requests the token gate refused, by its code (`auth.missing`, `auth.invalid`, `auth.revoked`, `auth.forbidden`). */
  apiDenials: Counter<'code'>;
  /** Dashboard sign-ins by outcome (`admin`, `project`, `revoked`, `invalid`): garbage is counted here, not audited (issue 14). */
  dashboardSignIns: Counter<'outcome'>;
  builds: Counter<'stage' | 'outcome'>;
  deliveries: Counter<'outcome'>;
  queueDepth: Gauge;
  pushLatency: Histogram<'outcome'>;
  /** Streaming receivers' streams open on this replica (issue 16). */
  streamsOpen: Gauge;
}

export function createForgeMetrics(options: { defaults?: boolean } = {}): ForgeMetrics {
  const registry = new Registry();
  if (options.defaults) collectDefaultMetrics({ register: registry });
  return {
    registry,
    webhooks: new Counter({ name: 'anvil_webhooks_total', help: 'Webhooks received, by source, event and outcome.', labelNames: ['source', 'event', 'outcome'], registers: [registry] }),
    webhookRejections: new Counter({
      name: 'anvil_webhook_rejections_total',
      help: 'Webhooks refused unprocessed, by source and reason (signature-missing, signature-invalid, headers, content-type, payload, too-large, body).',
      labelNames: ['source', 'reason'], registers: [registry],
    }),
    apiDenials: new Counter({ name: 'anvil_api_denied_total', help: 'API requests refused by the token gate, by code.', labelNames: ['code'], registers: [registry] }),
    dashboardSignIns: new Counter({ name: 'anvil_dashboard_sign_ins_total', help: 'Dashboard sign-ins, by outcome (admin, project, revoked, invalid).', labelNames: ['outcome'], registers: [registry] }),
    builds: new Counter({ name: 'anvil_builds_total', help: 'Bundle builds, by stage and outcome (built, reused, failed).', labelNames: ['stage', 'outcome'], registers: [registry] }),
    deliveries: new Counter({ name: 'anvil_deliveries_total', help: 'Push attempts by outcome (delivered, frozen, stale, retry, failed, gone).', labelNames: ['outcome'], registers: [registry] }),
    queueDepth: new Gauge({ name: 'anvil_delivery_queue_depth', help: 'Deliveries waiting to be pushed.', registers: [registry] }),
    streamsOpen: new Gauge({ name: 'anvil_streams_open', help: 'Streaming receivers\' streams open on this forge.', registers: [registry] }),
    pushLatency: new Histogram({
      name: 'anvil_push_seconds', help: 'Time from sending a push to the receiver\'s answer.', labelNames: ['outcome'], registers: [registry],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
  };
}
