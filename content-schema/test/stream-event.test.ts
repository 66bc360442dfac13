import { expect } from 'chai';
import { decodeStreamEnvelope, encodeStreamEnvelope, STREAM_ENVELOPE_EVENT } from '../src/index.ts';

describe('an envelope on a stream (issue 16)', () => {
  const headers = { 'webhook-id': 'stm-env-1', 'webhook-timestamp': '1700000000', 'webhook-signature': 'v1a,abc= v1a,def=' };
  const body = '{"bundles":[],"channel":"production","note":"a \\n in a string is escaped"}';

  it('is an SSE event whose id is the envelope id and whose data is the push: its headers, then its body as sent', () => {
    const text = encodeStreamEnvelope({ id: 'env-1', headers, body });
    expect(text).to.equal(`id: env-1\nevent: ${STREAM_ENVELOPE_EVENT}\ndata: ${JSON.stringify(headers)}\ndata: ${body}\n\n`);
    // As a reader joins the data lines.
    const data = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
    const decoded = decodeStreamEnvelope(data);
    expect(decoded?.headers).to.deep.equal(headers);
    expect(decoded?.body.equals(Buffer.from(body, 'utf8'))).to.equal(true);
  });

  it('never writes a body with a line break, and reads nothing that is not shaped so', () => {
    expect(() => encodeStreamEnvelope({ id: 'env-1', headers, body: '{\n}' })).to.throw(/line break/);
    expect(decodeStreamEnvelope('{}')).to.equal(undefined);
    expect(decodeStreamEnvelope('not json\n{}')).to.equal(undefined);
    expect(decodeStreamEnvelope('{"webhook-id":"a"}\n{}')).to.equal(undefined);
    expect(decodeStreamEnvelope('[]\n{}')).to.equal(undefined);
  });
});
