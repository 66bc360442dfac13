/**
 * A new envelope of a channel, told to every forge replica (issue 16): the streams open on each
 * replica (deliver/stream-hub.ts) send it to their receivers at once. Published on the store's
 * events (`ctx.events`: LISTEN/NOTIFY on PostgreSQL, in-process on SQLite) after the envelope is
 * committed, carrying ids and versions only; a replica reads the body from the store. An
 * announcement that does not arrive loses nothing: a stream that reconnects, or a replica that
 * missed events, sends the channel's current envelope from the store.
 */
import type { ForgeContext } from '../forge/forge-context.ts';

/** The store events channel of envelope announcements. */
export const ENVELOPE_EVENTS = 'envelopes';

export interface EnvelopeAnnouncement {
  project: string;
  channel: string;
  /** The envelope's id (its row in `envelopes`). */
  envelope: string;
  /** The set the envelope publishes, and its version there (for the receivers' ranges). */
  set: string;
  version: string;
}

/**
 * Tells every replica; a failure is logged, never thrown at the publish (the pushes are queued
 * already). `body`, when given, spares this replica's streams reading the envelope back.
 */
export async function announceEnvelope(ctx: ForgeContext, announcement: EnvelopeAnnouncement, body?: string): Promise<void> {
  if (body !== undefined) keepBody(ctx, announcement.envelope, body);
  try {
    await ctx.events.publish(ENVELOPE_EVENTS, { ...announcement });
  } catch (err) {
    ctx.logger.warn({ err, ...announcement }, 'the envelope could not be announced to the streams; they get it when they reconnect');
  }
}

/** Bodies of the envelopes this replica announced last, by id: its streams need not read them back. */
const recent = new WeakMap<object, Map<string, string>>();
const RECENT = 16;

function keepBody(ctx: object, id: string, body: string): void {
  const bodies = recent.get(ctx) ?? new Map<string, string>();
  recent.set(ctx, bodies);
  bodies.delete(id);
  bodies.set(id, body);
  if (bodies.size > RECENT) bodies.delete(bodies.keys().next().value!);
}

/** The body of an envelope this replica announced lately, if it still has it. */
export function announcedBody(ctx: object, id: string): string | undefined {
  return recent.get(ctx)?.get(id);
}

/** An announcement as received (from another replica, so checked), or undefined. */
export function readAnnouncement(payload: unknown): EnvelopeAnnouncement | undefined {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  const p = payload as Record<string, unknown>;
  const fields = ['project', 'channel', 'envelope', 'set', 'version'] as const;
  if (!fields.every((f) => typeof p[f] === 'string')) return undefined;
  return { project: p['project'] as string, channel: p['channel'] as string, envelope: p['envelope'] as string, set: p['set'] as string, version: p['version'] as string };
}
