/**
 * An accepted envelope → served, then durable (DESIGN.md §10, §11 "apply"). The caller has
 * verified it (receive/check-push.ts: JSON, the schema of everything but prompt entries,
 * integrity over the bytes, forge signatures); this plans the next state, starts writing the new
 * bundle files (or takes the temp files `stageEnvelope` wrote while the body was verified), swaps
 * the new snapshot in as soon as that is done, then waits for the bundle files and `state.json` to
 * be durable. Only then does the apply resolve, and so the push is answered 200
 * and the state the receiver reports (versions, seen webhook ids) moves on.
 *
 * Serving before the disk is durable changes nothing that a crash can break: the disk still
 * goes old state → new bundle files → new state, each step atomic (cache/), so a restart finds the
 * old state or the new one; a crash in between only means the forge, which got no 200, pushes
 * again. If the writes fail, the snapshot that was replaced is served again and the apply fails.
 */
import { AnvilError, canonicalJson, type Bundle, type Envelope, type ReceiverState } from '@anvil/content-schema';
import type { DiskCache, StagedBundle } from '../cache/disk-cache.ts';
import { bundleSpans } from '../receive/envelope-spans.ts';
import { planState } from './plan-state.ts';

export interface ApplyRequest {
  cache: DiskCache;
  /** The committed state, and the bundles it keeps (by integrity). */
  current: ReceiverState;
  known: ReadonlyMap<string, Bundle>;
  envelope: Envelope;
  /** Bundles' exact bytes as received, by integrity (else they are re-serialised). */
  bytes?: ReadonlyMap<string, Uint8Array> | undefined;
  /** Spans of the body already being written to temp files (`DiskCache.stageBundle`). */
  staged?: readonly StagedBundle[] | undefined;
  sets?: readonly string[] | undefined;
  webhookId?: string | undefined;
  etag?: string | undefined;
  /**
   * Serves `bundles` as `state` says (one snapshot swap) and returns how to undo that: called
   * when the writes fail, to serve again what was served before.
   */
  serve(state: ReceiverState, bundles: Map<string, Bundle>): () => void;
}

/** The bundle spans a body seems to hold, already being written to temp files. */
export interface StagedEnvelope {
  /** As `bundleSpans` guessed them (undefined: not a canonical body); for `checkEnvelope`. */
  spans: Buffer[] | undefined;
  staged: StagedBundle[];
  /** Removes the temp files that no apply took. */
  discard(): Promise<void>;
}

/**
 * Starts writing each bundle an envelope body seems to hold (receive/envelope-spans.ts) to a temp
 * file, before the body is even parsed: a 10 MB bundle is then on disk by the time it is verified,
 * and its apply only renames it. Only for a body whose sender was authenticated (a push's token
 * and request signature, or a pull from the forge); nothing names these files until an apply
 * takes them (`ApplyRequest.staged`), and `discard()` removes the rest.
 */
export function stageEnvelope(cache: DiskCache, body: Buffer): StagedEnvelope {
  const spans = bundleSpans(body);
  const staged = (spans ?? []).map((span) => cache.stageBundle(span));
  return { spans, staged, discard: async () => void (await Promise.all(staged.map((s) => s.discard()))) };
}

export interface AppliedState {
  state: ReceiverState;
  bundles: Map<string, Bundle>;
}

export async function applyEnvelope(request: ApplyRequest): Promise<AppliedState> {
  const { cache, current, known, envelope } = request;
  const planned = planState(current, known, envelope, { sets: request.sets, webhookId: request.webhookId, etag: request.etag });
  if (!planned.ok) throw new AnvilError(planned.code, planned.reason);
  const { state, added } = planned.plan;

  // The disk work starts first and goes on (in libuv's threads) while the snapshot is swapped.
  const writes = Promise.all(added.map((b) => {
    const bytes = request.bytes?.get(b.integrity);
    if (bytes === undefined) return cache.writeBundle(canonicalJson(b), b.integrity);
    return cache.writeBundle(bytes, b.integrity, request.staged);
  }));
  writes.catch(() => undefined); // awaited below; not unhandled while the swap runs

  const bundles = new Map<string, Bundle>();
  const byIntegrity = new Map(envelope.bundles.map((b) => [b.integrity, b] as const));
  for (const integrity of Object.keys(state.bundles)) {
    const b = known.get(integrity) ?? byIntegrity.get(integrity);
    if (b) bundles.set(integrity, b);
  }
  const undo = request.serve(state, bundles);
  try {
    await cache.commit(state, { after: writes });
  } catch (err) {
    undo();
    throw err;
  }
  return { state, bundles };
}
