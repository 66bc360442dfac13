/**
 * An envelope on a receiver's stream (issue 16): a server-sent event whose `id` is the envelope
 * id and whose data is what a push would carry — first line the push's Standard Webhooks
 * headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`) as JSON, second line the
 * envelope body, byte for byte. The receiver checks it exactly as a push (client
 * receive/check-push.ts). The forge writes it (server deliver/stream-hub.ts), the client reads it
 * (client sync/stream-transport.ts); this is the one definition of the frame.
 *
 * An envelope body is canonical JSON, which never holds a raw line break (JSON escapes them in
 * strings), so it travels as one `data:` line.
 */

/** The SSE `event:` name of an envelope. */
export const STREAM_ENVELOPE_EVENT = 'envelope';

/** What a push carries in its headers, besides the bearer token (DESIGN §8). */
export interface StreamEnvelopeHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export interface StreamEnvelope {
  /** The envelope id: the event's `id`, which the receiver sends back as `Last-Event-ID`. */
  id: string;
  headers: StreamEnvelopeHeaders;
  /** The envelope as the forge stores and pushes it (canonical JSON). */
  body: string;
}

const LINE_BREAK = /[\r\n]/;

/** The event as written on the stream, blank line included. */
export function encodeStreamEnvelope(event: StreamEnvelope): string {
  if (LINE_BREAK.test(event.body) || LINE_BREAK.test(event.id)) throw new Error('a stream envelope must not hold a line break (is the body canonical JSON?)');
  const headers = JSON.stringify({
    'webhook-id': event.headers['webhook-id'], 'webhook-timestamp': event.headers['webhook-timestamp'], 'webhook-signature': event.headers['webhook-signature'],
  });
  return `id: ${event.id}\nevent: ${STREAM_ENVELOPE_EVENT}\ndata: ${headers}\ndata: ${event.body}\n\n`;
}

/**
 * An envelope event's data (the `data:` lines joined by "\n", as SSE joins them) → its headers
 * and body bytes; undefined when it is not shaped so. Nothing here is trusted: the receiver
 * verifies the signature over the body and the envelope itself afterwards.
 */
export function decodeStreamEnvelope(data: string): { headers: Record<string, string>; body: Buffer } | undefined {
  const cut = data.indexOf('\n');
  if (cut < 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.slice(0, cut));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const headers: Record<string, string> = {};
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
    const value = Object.hasOwn(parsed, name) ? (parsed as Record<string, unknown>)[name] : undefined;
    if (typeof value !== 'string') return undefined;
    headers[name] = value;
  }
  return { headers, body: Buffer.from(data.slice(cut + 1), 'utf8') };
}
