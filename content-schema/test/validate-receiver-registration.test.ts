import { expect } from 'chai';
import { validateReceiverAck, validateReceiverLeave, validateReceiverRegistration, type ReceiverRegistration } from '../src/index.ts';
import { codes } from './support/samples.ts';

const good = (): ReceiverRegistration => ({
  instanceId: 'anvil-3f2a9c',
  url: 'http://127.0.0.1:4100/anvil',
  channel: 'staging',
  mode: 'frozen',
  ranges: { onboarding: '^1.2.0', core: '>=2 <3' },
  versions: { onboarding: '1.2.3', core: '2.0.0-rc.1+build.5' },
});

describe('validateReceiverRegistration', () => {
  it('accepts what the LIVE client sends, as is', () => {
    const body = good();
    const result = validateReceiverRegistration(body);
    expect(result.ok, JSON.stringify(result.errors)).to.equal(true);
    expect(result.value).to.equal(body);
    expect(validateReceiverRegistration({ ...good(), ranges: {}, versions: {} }).ok).to.equal(true);
  });

  it('reports every problem at once, each where it is', () => {
    const result = validateReceiverRegistration({
      instanceId: 'has space', url: 'ftp://example.com/x', channel: 'canary', mode: 'paused',
      ranges: { onboarding: 'not a range' }, versions: { onboarding: '^1.0.0' }, extra: true,
    });
    expect(codes(result.errors)).to.include.members([
      'schema.pattern@/instanceId',
      'receiver-registration.url@/url',
      'semver.range@/ranges/onboarding',
    ]);
    const paths = result.errors.map((e) => e.path);
    expect(paths).to.include.members(['/channel', '/mode', '/versions/onboarding']);
    expect(result.errors.some((e) => e.code === 'schema.unknown-field' || e.path === '/extra' || e.message.includes('extra'))).to.equal(true);
  });

  it('refuses credentials in the push URL, prototype keys, huge and deep values', () => {
    expect(codes(validateReceiverRegistration({ ...good(), url: 'https://u:p@app.example.com/' }).errors)).to.deep.equal(['receiver-registration.url-credentials@/url']);
    const proto = JSON.parse('{"instanceId":"a","url":"http://x/","channel":"production","mode":"accepting","ranges":{"__proto__":"^1"},"versions":{}}') as unknown;
    expect(codes(validateReceiverRegistration(proto).errors)).to.include('schema.forbidden-key@/ranges/__proto__');
    expect(validateReceiverRegistration({ ...good(), instanceId: 'x'.repeat(100_000) }).ok).to.equal(false);
    expect(validateReceiverRegistration({ ...good(), url: `http://x/${'a'.repeat(5_000)}` }).ok).to.equal(false);
    let deep: unknown = 'x';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(validateReceiverRegistration({ ...good(), ranges: deep }).ok).to.equal(false);
    for (const wrong of [null, [], 'text', 42, { ...good(), ranges: [] }, { ...good(), mode: 1 }]) {
      expect(validateReceiverRegistration(wrong).ok, JSON.stringify(wrong)).to.equal(false);
    }
  });

  it('normalises the push URL (WHATWG serialisation), leaving the body it was given as it was', () => {
    const cases: [string, string][] = [
      ['HTTP://App.Example.COM:80/anvil', 'http://app.example.com/anvil'],
      ['https://app.example.com', 'https://app.example.com/'],
      ['http://[0:0:0:0:0:ffff:7f00:1]:4100/a', 'http://[::ffff:7f00:1]:4100/a'],
      ['http://[::ffff:169.254.169.254]/', 'http://[::ffff:a9fe:a9fe]/'],
      ['https://bücher.example/x?y=1', 'https://xn--bcher-kva.example/x?y=1'],
    ];
    for (const [url, normal] of cases) {
      const body = { ...good(), url };
      const result = validateReceiverRegistration(body);
      expect(result.ok, url).to.equal(true);
      expect(result.value!.url, url).to.equal(normal);
      expect(body.url).to.equal(url);
    }
  });

  it('refuses push URLs that URL parsers read differently: spaces, backslashes, odd IPv4 spellings, encoded hosts', () => {
    const cases: [string, string][] = [
      [' http://app.example.com/', 'url-whitespace'],
      ['http://app.example.com/ ', 'url-whitespace'],
      ['http://app.exa\nmple.com/', 'url-whitespace'],
      ['http://app.example.com\\@evil.example/', 'url-backslash'],
      ['http://@app.example.com/', 'url-credentials'],
      ['http:app.example.com', 'url'],
      ['http:///app.example.com', 'url'],
      ['http://2852039166/', 'url-host'],
      ['http://0xA9FEA9FE/', 'url-host'],
      ['http://0251.0376.0251.0376/', 'url-host'],
      ['http://127.1/', 'url-host'],
      ['http://127.0.0.1./', 'url-host'],
      ['http://%31%32%37.0.0.1/', 'url-host'],
      ['http://app.example.com:0/', 'url-port'],
    ];
    for (const [url, code] of cases) {
      expect(codes(validateReceiverRegistration({ ...good(), url }).errors), url).to.deep.equal([`receiver-registration.${code}@/url`]);
    }
  });
});

describe('validateReceiverLeave', () => {
  it('takes an instance id and nothing else', () => {
    expect(validateReceiverLeave({ instanceId: 'web-1' }).ok).to.equal(true);
    expect(validateReceiverLeave({}).ok).to.equal(false);
    expect(validateReceiverLeave({ instanceId: 'web-1', url: 'http://x/' }).ok).to.equal(false);
  });
});

describe('a streaming receiver\'s registration and acks (issue 16)', () => {
  const { url: _url, ...streaming } = good();

  it('registers with transport "stream" and no URL; a pushed receiver needs its URL', () => {
    expect(validateReceiverRegistration({ ...streaming, transport: 'stream' }).ok).to.equal(true);
    expect(validateReceiverRegistration({ ...good(), transport: 'push' }).ok).to.equal(true);
    expect(codes(validateReceiverRegistration({ ...good(), transport: 'stream' }).errors)).to.deep.equal(['receiver-registration.url-with-stream@/url']);
    expect(codes(validateReceiverRegistration(streaming).errors)).to.deep.equal(['receiver-registration.url-missing@/url']);
    expect(codes(validateReceiverRegistration({ ...streaming, transport: 'websocket' }).errors)).to.include('receiver-registration.url-missing@/url');
    expect(validateReceiverRegistration({ ...streaming, transport: 'websocket' }).errors.some((e) => e.path === '/transport')).to.equal(true);
  });

  it('takes an ack: the envelope, the answer a push would have got, and the versions served', () => {
    const ack = { instanceId: 'web-1', envelope: 'env-abc', status: 200, code: 'applied', versions: { core: '1.2.0' } };
    expect(validateReceiverAck(ack).ok).to.equal(true);
    expect(validateReceiverAck({ ...ack, status: 409, code: 'frozen', reason: 'frozen' }).ok).to.equal(true);
    expect(validateReceiverAck({ ...ack, status: 99 }).ok).to.equal(false);
    expect(validateReceiverAck({ ...ack, envelope: 'has space' }).ok).to.equal(false);
    expect(validateReceiverAck({ ...ack, versions: { core: '^1' } }).errors.map((e) => e.path)).to.include('/versions/core');
    expect(validateReceiverAck({ ...ack, url: 'http://x/' }).ok).to.equal(false);
  });
});
