/**
 * A reader of `text/event-stream` (the HTML standard's server-sent events, §9.2.6), fed text as
 * it arrives and calling back once per complete event. Pure: no I/O; the stream transport
 * (stream-transport.ts) feeds it the decoded body of a `fetch`. Written here rather than taken
 * from a package because `@anvil/client` has no dependency beyond content-schema (DESIGN §3)
 * and Node 20 has no EventSource; the format is small and this follows it: lines end in CRLF,
 * LF or CR; `:` starts a comment; `data` lines are joined with LF; `id` persists across events
 * (one holding NUL is ignored); an event is dispatched at a blank line, and only with data.
 */

export interface StreamEvent {
  /** `event:`, or `message` when the event names none. */
  type: string;
  data: string;
  /** The last event id seen so far on this stream (`id:` of this event or an earlier one). */
  lastEventId: string;
}

export interface EventStreamParser {
  /** Text as it arrives (any split, even inside a line or a CRLF). */
  push(text: string): void;
  /** Characters buffered for the event not yet complete. */
  readonly pending: number;
}

export interface EventStreamOptions {
  /** A line or an event's data longer than this is refused (the stream is to be dropped). */
  maxEventChars: number;
  onEvent(event: StreamEvent): void;
  /** `retry:` — the server's reconnection time in ms. */
  onRetry?(ms: number): void;
}

export class EventStreamTooLarge extends Error {
  constructor(limit: number) {
    super(`an event on the stream is larger than ${limit} characters`);
  }
}

export function createEventStreamParser(options: EventStreamOptions): EventStreamParser {
  let buffer = '';
  // A CR was the last character of the previous chunk: an LF starting this one belongs to it.
  let afterCr = false;
  let data: string[] = [];
  let dataChars = 0;
  let type = '';
  let lastEventId = '';

  const field = (line: string) => {
    if (line === '') {
      if (data.length > 0) options.onEvent({ type: type || 'message', data: data.join('\n'), lastEventId });
      data = [];
      dataChars = 0;
      type = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'data') {
      dataChars += value.length + 1;
      if (dataChars > options.maxEventChars) throw new EventStreamTooLarge(options.maxEventChars);
      data.push(value);
    } else if (name === 'event') {
      type = value;
    } else if (name === 'id') {
      if (!value.includes('\u0000')) lastEventId = value;
    } else if (name === 'retry') {
      if (/^\d+$/.test(value)) options.onRetry?.(Number(value));
    }
  };

  return {
    push(text: string) {
      let start = 0;
      if (afterCr && text.startsWith('\n')) start = 1;
      afterCr = false;
      for (;;) {
        const cr = text.indexOf('\r', start);
        const lf = text.indexOf('\n', start);
        const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
        if (end < 0) break;
        field(buffer + text.slice(start, end));
        buffer = '';
        if (text[end] === '\r') {
          if (end + 1 === text.length) afterCr = true;
          else if (text[end + 1] === '\n') start = end + 2;
          else start = end + 1;
          if (afterCr) {
            start = text.length;
            break;
          }
        } else {
          start = end + 1;
        }
      }
      buffer += text.slice(start);
      if (buffer.length > options.maxEventChars) throw new EventStreamTooLarge(options.maxEventChars);
    },
    get pending() {
      return buffer.length + dataChars;
    },
  };
}
