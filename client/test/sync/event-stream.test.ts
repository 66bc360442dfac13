/**
 * The server-sent events reader (sync/event-stream.ts) against the format's rules, fed in every
 * possible split, since a network hands text over in arbitrary chunks.
 */
import { expect } from 'chai';
import { createEventStreamParser, EventStreamTooLarge, type StreamEvent } from '../../src/sync/event-stream.ts';

function parse(chunks: string[], maxEventChars = 1_000_000): { events: StreamEvent[]; retries: number[] } {
  const events: StreamEvent[] = [];
  const retries: number[] = [];
  const parser = createEventStreamParser({ maxEventChars, onEvent: (e) => events.push(e), onRetry: (ms) => retries.push(ms) });
  for (const c of chunks) parser.push(c);
  return { events, retries };
}

/** Every way of cutting `text` in two. */
function everySplit(text: string): string[][] {
  return Array.from({ length: text.length + 1 }, (_, i) => [text.slice(0, i), text.slice(i)]);
}

describe('the event stream reader', () => {
  const stream = ': hello\r\nid: env-1\r\nevent: envelope\r\ndata: {"a":1}\r\ndata:{"b":2}\r\n\r\n: keep-alive\n\ndata: plain\rretry: 1500\r\r';

  it('reads events, ids, comments and retry, whatever the line endings and however the text is cut', () => {
    const expected = [
      { type: 'envelope', data: '{"a":1}\n{"b":2}', lastEventId: 'env-1' },
      // The id carries over to later events; no `event:` means "message".
      { type: 'message', data: 'plain', lastEventId: 'env-1' },
    ];
    for (const chunks of [[stream], stream.split(''), ...everySplit(stream)]) {
      const { events, retries } = parse(chunks);
      expect(events, JSON.stringify(chunks)).to.deep.equal(expected);
      expect(retries).to.deep.equal([1500]);
    }
  });

  it('dispatches only at a blank line and only with data, and ignores an id holding NUL', () => {
    expect(parse(['data: no end yet\n']).events).to.deep.equal([]);
    expect(parse(['event: empty\n\n']).events).to.deep.equal([]);
    expect(parse(['id: a\u0000b\ndata: x\n\n']).events).to.deep.equal([{ type: 'message', data: 'x', lastEventId: '' }]);
    // One leading space is part of the syntax; a second one is data.
    expect(parse(['data:  two\n\n']).events[0]!.data).to.equal(' two');
    expect(parse(['data\n\n']).events[0]!.data).to.equal('');
  });

  it('refuses an event or a line larger than its limit, so a stream cannot grow memory without bound', () => {
    expect(() => parse([`data: ${'x'.repeat(200)}\n`], 100)).to.throw(EventStreamTooLarge);
    expect(() => parse(['data: ', 'x'.repeat(200)], 100)).to.throw(EventStreamTooLarge);
    expect(() => parse([`data: ${'x'.repeat(60)}\ndata: ${'x'.repeat(60)}\n`], 100)).to.throw(EventStreamTooLarge);
    expect(parse([`data: ${'x'.repeat(90)}\n\n`], 100).events).to.have.length(1);
  });
});
