/**
 * An accepted envelope + the receiver's state → the next state: which version of each served
 * set, which rollouts, and every bundle those need (dependencies found by `set@version`, in the
 * envelope or already kept). Pure; apply-envelope.ts swaps the result in and writes it.
 */
import type { Bundle, Envelope, ReceiverState } from '@anvil/content-schema';
import { servedBundles } from '../receive/check-push.ts';

export const SEEN_WEBHOOK_IDS = 1_000;

export interface PlannedState {
  state: ReceiverState;
  /** Bundles the new state needs that the old one did not have (to write before committing). */
  added: Bundle[];
}

export type PlanResult = { ok: true; plan: PlannedState } | { ok: false; code: string; reason: string };

export function planState(
  current: ReceiverState,
  known: ReadonlyMap<string, Bundle>,
  envelope: Envelope,
  options: { sets?: readonly string[] | undefined; webhookId?: string | undefined; etag?: string | undefined },
): PlanResult {
  const sets = { ...current.sets };
  for (const bundle of servedBundles(envelope, options.sets)) {
    const was = sets[bundle.set];
    sets[bundle.set] = { version: bundle.version, integrity: bundle.integrity, ...(was?.rollout ? { rollout: was.rollout } : {}) };
  }
  for (const set of new Set(envelope.bundles.map((b) => b.set))) {
    const served = sets[set];
    if (!served) continue;
    const rollout = envelope.rollouts[set];
    const bundle = rollout && envelope.bundles.find((b) => b.set === set && b.version === rollout.version);
    if (bundle && rollout) served.rollout = { version: bundle.version, integrity: bundle.integrity, percent: rollout.percent };
    else delete served.rollout;
  }

  // Every bundle reachable from the served versions, through dependencies.
  const byVersion = new Map<string, Bundle>();
  for (const b of known.values()) byVersion.set(`${b.set}@${b.version}`, b);
  for (const b of envelope.bundles) byVersion.set(`${b.set}@${b.version}`, b);
  const byIntegrity = new Map<string, Bundle>([...known, ...envelope.bundles.map((b) => [b.integrity, b] as const)]);
  const needed = new Map<string, Bundle>();
  const queue: Bundle[] = [];
  for (const served of Object.values(sets)) {
    for (const integrity of [served.integrity, served.rollout?.integrity]) {
      const b = integrity === undefined ? undefined : byIntegrity.get(integrity);
      if (b) queue.push(b);
    }
  }
  while (queue.length > 0) {
    const b = queue.pop()!;
    if (needed.has(b.integrity)) continue;
    needed.set(b.integrity, b);
    for (const [dep, version] of Object.entries(b.dependencies)) {
      const found = byVersion.get(`${dep}@${version}`);
      if (!found) return { ok: false, code: 'push.missing-dependency', reason: `${b.set}@${b.version} needs ${dep}@${version}, which the envelope does not carry` };
      queue.push(found);
    }
  }

  const signatures = new Map<string, Envelope['signatures']>();
  for (const s of envelope.signatures) signatures.set(s.integrity, [...(signatures.get(s.integrity) ?? []), s]);
  const bundles: ReceiverState['bundles'] = {};
  for (const [integrity, b] of needed) {
    const kept = current.bundles[integrity];
    bundles[integrity] = { set: b.set, version: b.version, signatures: signatures.get(integrity) ?? kept?.signatures ?? [] };
  }

  const seen = options.webhookId === undefined ? current.seenWebhookIds : [...current.seenWebhookIds, options.webhookId].slice(-SEEN_WEBHOOK_IDS);
  const state: ReceiverState = { ...current, sets, bundles, seenWebhookIds: seen, ...(options.etag !== undefined ? { etag: options.etag } : {}) };
  return { ok: true, plan: { state, added: [...needed.values()].filter((b) => !current.bundles[b.integrity]) } };
}
