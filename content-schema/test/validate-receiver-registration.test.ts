import { expect } from 'chai';
import { validateReceiverLeave, validateReceiverRegistration, type ReceiverRegistration } from '../src/index.ts';
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
});

describe('validateReceiverLeave', () => {
  it('takes an instance id and nothing else', () => {
    expect(validateReceiverLeave({ instanceId: 'web-1' }).ok).to.equal(true);
    expect(validateReceiverLeave({}).ok).to.equal(false);
    expect(validateReceiverLeave({ instanceId: 'web-1', url: 'http://x/' }).ok).to.equal(false);
  });
});
