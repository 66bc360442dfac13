/**
 * Which addresses the forge pushes to (issue 14). Any holder of a project token can register a
 * push URL, and the forge POSTs the envelope there with that token and reports the answer back:
 * without rules, a receiver could point the forge at the cloud's metadata service, at services on
 * the forge's host or network, or at the forge itself. Pure: an address or a host name in, what
 * it is out; resolve-push-target.ts applies these to the addresses a push actually connects to.
 *
 * Three kinds of address:
 * - `public`: pushed to;
 * - `private`: loopback, RFC 1918, unique local (fc00::/7), shared (CGNAT, 100.64/10) — pushed to
 *   only with `pushTargets.allowPrivateNetworks` (local development, receivers on the forge's
 *   private network);
 * - `never`: unspecified, link-local (169.254/16, fe80::/10: where cloud metadata lives),
 *   multicast, broadcast, reserved and documentation ranges, and known metadata addresses.
 * IPv6 forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, SIIT,
 * NAT64 `64:ff9b::/96`, 6to4, Teredo) are judged by the IPv4 address they carry.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { PushTargetPolicy } from '../forge/forge-context.ts';

export type TargetKind = 'public' | 'private' | 'never';

export interface TargetClass {
  kind: TargetKind;
  /** What the address or name is, for reasons: "loopback", "link-local", "cloud metadata"… */
  what: string;
}

const V4_PRIVATE: Record<string, string> = {
  loopback: 'loopback',
  private: 'private (RFC 1918)',
  carrierGradeNat: 'shared address space (CGNAT, RFC 6598)',
};
const V4_PUBLIC = new Set(['unicast', 'as112', 'amt']);
/** ipaddr.js's names for the ranges that are never pushed to, as a reason says them. */
const NEVER_WORDS: Record<string, string> = {
  unspecified: 'unspecified (connecting to it reaches the forge\'s own host)',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local (where cloud metadata services answer)',
  reserved: 'reserved (or for documentation)',
  benchmarking: 'for benchmarking',
  discard: 'discard-only',
  deprecatedSiteLocal: 'site-local (deprecated)',
};
const words = (range: string) => NEVER_WORDS[range] ?? `not public (${range})`;
const V6_PUBLIC = new Set(['unicast', 'as112v6', 'amt']);

/**
 * Metadata and platform services that sit outside link-local, refused even on private networks:
 * AWS's IMDS over IPv6 (a unique local address), Alibaba Cloud's (in 100.64/10) and Azure's
 * WireServer (a public address every Azure VM reaches). 169.254.169.254 is link-local anyway.
 */
const METADATA_ADDRESSES = new Set(['fd00:ec2::254', '100.100.100.200', '168.63.129.16']);

/** Names of metadata services that resolve to them only inside their clouds. */
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal', 'metadata.azure.com']);

/** What an IP address (either family, any textual form ipaddr.js reads) is as a push target. */
export function classifyAddress(address: string): TargetClass {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return { kind: 'never', what: 'not an IP address' };
  }
  return parsed.kind() === 'ipv4' ? classifyV4(parsed as ipaddr.IPv4) : classifyV6(parsed as ipaddr.IPv6);
}

function classifyV4(ip: ipaddr.IPv4): TargetClass {
  if (METADATA_ADDRESSES.has(ip.toString())) return { kind: 'never', what: 'a cloud metadata address' };
  const range: string = ip.range();
  if (V4_PUBLIC.has(range)) return { kind: 'public', what: 'public' };
  const privateWhat = V4_PRIVATE[range];
  if (privateWhat !== undefined) return { kind: 'private', what: privateWhat };
  return { kind: 'never', what: words(range) };
}

function classifyV6(ip: ipaddr.IPv6): TargetClass {
  const normal = ip.toRFC5952String();
  if (METADATA_ADDRESSES.has(normal)) return { kind: 'never', what: 'a cloud metadata address' };
  const range: string = ip.range();
  const p = ip.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  const carried = (form: string, inner: ipaddr.IPv4): TargetClass => {
    const cls = classifyV4(inner);
    return cls.kind === 'public' ? cls : { kind: cls.kind, what: `${cls.what}: ${inner.toString()} as ${form}` };
  };
  switch (range) {
    case 'ipv4Mapped': return carried('an IPv4-mapped address', v4(p[6]!, p[7]!));
    case 'rfc6145': return carried('an IPv4-translated address', v4(p[6]!, p[7]!));
    case 'rfc6052':
      // 64:ff9b::/96 carries the address in its last 32 bits; 64:ff9b:1::/48 is for a
      // network's own translator, so it is as private as the network.
      return p[2] === 0 ? carried('a NAT64 address', v4(p[6]!, p[7]!)) : { kind: 'private', what: 'local-use NAT64 (RFC 8215)' };
    case '6to4': {
      const inner = carried('a 6to4 address', v4(p[1]!, p[2]!));
      return inner.kind === 'public' ? { kind: 'public', what: 'public' } : inner;
    }
    case 'teredo': {
      // The server's address, and the client's, stored inverted (RFC 4380).
      const server = carried('a Teredo server address', v4(p[2]!, p[3]!));
      if (server.kind !== 'public') return server;
      return carried('a Teredo client address', v4(~p[6]! & 0xffff, ~p[7]! & 0xffff));
    }
    case 'loopback': return { kind: 'private', what: 'loopback' };
    case 'uniqueLocal': return { kind: 'private', what: 'unique local (fc00::/7)' };
    default: break;
  }
  // IPv4-compatible ::a.b.c.d (deprecated, ::/96 less :: and ::1, which matched above).
  if (p.slice(0, 6).every((part) => part === 0)) return carried('an IPv4-compatible address', v4(p[6]!, p[7]!));
  if (V6_PUBLIC.has(range)) return { kind: 'public', what: 'public' };
  return { kind: 'never', what: words(range) };
}

/**
 * What a host name is before any lookup, when its name alone says: `localhost` and `*.localhost`
 * are loopback whatever DNS says (RFC 6761), metadata names are refused always. Undefined: ask DNS.
 */
export function classifyHostName(hostname: string): TargetClass | undefined {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return { kind: 'private', what: 'loopback (localhost)' };
  if (METADATA_NAMES.has(name)) return { kind: 'never', what: 'a cloud metadata name' };
  return undefined;
}

/** Why a target of this class is refused under `policy`, or undefined when it is pushed to. */
export function refusal(target: string, cls: TargetClass, policy: PushTargetPolicy): string | undefined {
  if (cls.kind === 'public' || (cls.kind === 'private' && policy.allowPrivateNetworks)) return undefined;
  return `${target} is ${cls.what}${cls.kind === 'private' ? ', and pushTargets.allowPrivateNetworks is off' : ', which the forge never pushes to'}`;
}

/** The URL's host without IPv6 brackets, and whether it is an IP address. */
export function hostOf(url: URL): { host: string; literal: boolean } {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, literal: isIP(host) !== 0 };
}

/** The URL's port, the scheme's default when it names none. */
export function portOf(url: URL): number {
  return url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/** Two IP addresses are the same (an IPv4-mapped IPv6 address is its IPv4 address). */
export function sameAddress(a: string, b: string): boolean {
  try {
    return ipaddr.process(a).toString() === ipaddr.process(b).toString();
  } catch {
    return false;
  }
}

/** Unspecified (0.0.0.0, ::): a socket bound to it answers on every local address. */
export function isUnspecified(address: string): boolean {
  try {
    return ipaddr.process(address).range() === 'unspecified';
  } catch {
    return false;
  }
}

export function isLoopback(address: string): boolean {
  try {
    return ipaddr.process(address).range() === 'loopback';
  } catch {
    return false;
  }
}
