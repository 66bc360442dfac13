/** Which addresses and names the forge pushes to (issue 14), as a table. Pure: no network. */
import { expect } from 'chai';
import { classifyAddress, classifyHostName, refusal, type TargetKind } from '../../src/deliver/push-target-rules.ts';
import { screenUrl } from '../../src/deliver/resolve-push-target.ts';

const STRICT = { allowPrivateNetworks: false };
const PRIVATE_OK = { allowPrivateNetworks: true };

describe('push target rules', () => {
  const table: [string, TargetKind][] = [
    ['93.184.215.14', 'public'],
    ['8.8.8.8', 'public'],
    ['2606:4700:4700::1111', 'public'],
    // loopback, private, shared: only with allowPrivateNetworks
    ['127.0.0.1', 'private'],
    ['127.255.255.254', 'private'],
    ['::1', 'private'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fc00::1', 'private'],
    // never
    ['169.254.169.254', 'never'],
    ['169.254.170.2', 'never'],
    ['fe80::1', 'never'],
    ['fe80::1%eth0', 'never'],
    ['0.0.0.0', 'never'],
    ['0.1.2.3', 'never'],
    ['::', 'never'],
    ['224.0.0.1', 'never'],
    ['ff02::1', 'never'],
    ['255.255.255.255', 'never'],
    ['240.0.0.1', 'never'],
    ['192.0.2.1', 'never'],
    ['2001:db8::1', 'never'],
    ['fd00:ec2::254', 'never'],
    ['100.100.100.200', 'never'],
    ['168.63.129.16', 'never'],
    // IPv6 forms that carry an IPv4 address are judged by it
    ['::ffff:169.254.169.254', 'never'],
    ['::ffff:a9fe:a9fe', 'never'],
    ['0:0:0:0:0:ffff:7f00:1', 'private'],
    ['::ffff:127.0.0.1', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['::169.254.169.254', 'never'],
    ['::7f00:1', 'private'],
    ['::ffff:0:a9fe:a9fe', 'never'],
    ['64:ff9b::a9fe:a9fe', 'never'],
    ['64:ff9b::7f00:1', 'private'],
    ['64:ff9b::808:808', 'public'],
    ['64:ff9b:1::1', 'private'],
    ['2002:a9fe:a9fe::1', 'never'],
    ['2002:7f00:1::1', 'private'],
    ['2002:808:808::1', 'public'],
    // Teredo: server 65.54.227.120; client 127.0.0.1, 8.8.8.8 and 192.0.2.45 (documentation), stored inverted
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'private'],
    ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'public'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'never'],
    // the odd IPv4 spellings (when an address reaches the rules in one)
    ['2852039166', 'never'],
    ['0xA9FEA9FE', 'never'],
    ['0251.0376.0251.0376', 'never'],
    ['not an address', 'never'],
  ];
  for (const [address, kind] of table) {
    it(`${address} is ${kind}`, () => {
      expect(classifyAddress(address).kind, classifyAddress(address).what).to.equal(kind);
    });
  }

  it('names say what they are before any lookup: localhost is loopback, metadata names are never pushed to', () => {
    expect(classifyHostName('localhost')).to.deep.include({ kind: 'private' });
    expect(classifyHostName('LOCALHOST.')).to.deep.include({ kind: 'private' });
    expect(classifyHostName('app.localhost')).to.deep.include({ kind: 'private' });
    expect(classifyHostName('metadata.google.internal')).to.deep.include({ kind: 'never' });
    expect(classifyHostName('metadata.google.internal.')).to.deep.include({ kind: 'never' });
    expect(classifyHostName('app.example.com')).to.equal(undefined);
  });

  it('refuses private addresses unless allowed, never-addresses always, with a reason that names the setting', () => {
    expect(refusal('8.8.8.8', classifyAddress('8.8.8.8'), STRICT)).to.equal(undefined);
    expect(refusal('127.0.0.1', classifyAddress('127.0.0.1'), STRICT)).to.match(/127\.0\.0\.1 is loopback.*allowPrivateNetworks/);
    expect(refusal('127.0.0.1', classifyAddress('127.0.0.1'), PRIVATE_OK)).to.equal(undefined);
    expect(refusal('169.254.169.254', classifyAddress('169.254.169.254'), PRIVATE_OK)).to.match(/link-local.*never/);
    expect(refusal('::ffff:a9fe:a9fe', classifyAddress('::ffff:a9fe:a9fe'), PRIVATE_OK)).to.contain('169.254.169.254 as an IPv4-mapped address');
  });

  describe('screenUrl (what a URL alone shows)', () => {
    const ctx = (pushTargets = STRICT, publicUrl = 'https://anvil.example.com') => ({ publicUrl, pushTargets: { ...pushTargets } });
    const screen = (url: string, c = ctx()) => screenUrl(c, new URL(url));

    it('judges every spelling of an address by the address WHATWG reads', () => {
      for (const url of ['http://2852039166/', 'http://0xA9FEA9FE/', 'http://0251.0376.0251.0376/', 'http://169.254.43518/', 'http://[::ffff:169.254.169.254]/', 'http://[::ffff:a9fe:a9fe]/']) {
        expect(screen(url, ctx(PRIVATE_OK)), url).to.deep.include({ kind: 'blocked' });
      }
      for (const url of ['http://127.1/', 'http://0x7f000001/', 'http://2130706433/', 'http://[0:0:0:0:0:ffff:7f00:1]/', 'http://localhost:8080/', 'http://[::1]/']) {
        expect(screen(url), url).to.deep.include({ kind: 'blocked' });
        expect(screen(url, ctx(PRIVATE_OK)).kind, url).not.to.equal('blocked');
      }
      expect(screen('http://metadata.google.internal/computeMetadata/v1/', ctx(PRIVATE_OK))).to.deep.include({ kind: 'blocked' });
      expect(screen('https://app.example.com/anvil')).to.deep.equal({ kind: 'name', host: 'app.example.com' });
      expect(screen('https://93.184.215.14/anvil')).to.deep.equal({ kind: 'address', address: '93.184.215.14' });
    });

    it('refuses the forge itself by its public URL and by the socket it listens on, whatever the policy', () => {
      const own = { publicUrl: 'https://Anvil.Example.com', pushTargets: { allowPrivateNetworks: true, listening: { address: '0.0.0.0', port: 8080 } } };
      expect(screen('https://anvil.example.com./api/v1/projects/acme/receivers', own)).to.deep.include({ kind: 'blocked', forgeItself: true });
      expect(screen('https://anvil.example.com:8443/', own).kind).to.equal('name');
      expect(screen('http://127.0.0.1:8080/', own)).to.deep.include({ kind: 'blocked', forgeItself: true });
      expect(screen('http://[::ffff:127.0.0.1]:8080/', own)).to.deep.include({ kind: 'blocked', forgeItself: true });
      expect(screen('http://127.0.0.1:8081/', own).kind).to.equal('address');
      const literal = { publicUrl: 'http://127.0.0.1:4000', pushTargets: { allowPrivateNetworks: true, listening: { address: '127.0.0.1', port: 4000 } } };
      expect(screen('http://127.0.0.1:4000/x', literal)).to.deep.include({ kind: 'blocked', forgeItself: true });
      expect(screen('http://127.0.0.2:4000/x', literal).kind).to.equal('address');
    });

    it('without a pushTargets setting, the forge pushes to public addresses only', () => {
      expect(screenUrl({ publicUrl: '' }, new URL('http://127.0.0.1:4000/'))).to.deep.include({ kind: 'blocked' });
      expect(screenUrl({ publicUrl: '' }, new URL('http://8.8.8.8/')).kind).to.equal('address');
    });
  });
});
