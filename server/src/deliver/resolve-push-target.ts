/**
 * The address one push connects to, judged by push-target-rules.ts (issue 14). A registration is
 * checked too (receivers/check-push-url.ts), but only what its URL says: a host name can resolve
 * anywhere later (DNS rebinding), so every push resolves the name again, refuses it if any address
 * it resolves to is refused, and connects to exactly the address it checked (`pinnedLookup`),
 * with no second lookup between the check and the connection.
 *
 * The forge itself is never a target, whatever the policy: not its public URL (by name and port),
 * nor the socket it listens on (by address and port; a forge listening on 0.0.0.0 or :: answers on
 * every local address), nor the addresses its public name resolves to, on its port.
 */
import { lookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { ForgeContext, HostResolver, PushTargets } from '../forge/forge-context.ts';
import { classifyAddress, classifyHostName, hostOf, isLoopback, isUnspecified, portOf, refusal, sameAddress } from './push-target-rules.ts';

export type TargetContext = Pick<ForgeContext, 'publicUrl' | 'pushTargets'>;

export interface CheckedAddress {
  address: string;
  family: 4 | 6;
}

/** What a forge without a `pushTargets` setting does: public addresses only. */
export const DEFAULT_PUSH_TARGETS: PushTargets = { allowPrivateNetworks: false };

export type PushTarget =
  /** Every address the host resolves to, each checked: the connection may use any of them. */
  | { kind: 'allowed'; addresses: CheckedAddress[] }
  /** Refused for good: nothing is sent. */
  | { kind: 'blocked'; reason: string }
  /** The name did not resolve (now): a fault like a refused connection, retried. */
  | { kind: 'unresolved'; error: string };

/** What the URL alone says, before any lookup. */
export type UrlScreen =
  | { kind: 'blocked'; reason: string; forgeItself: boolean }
  | { kind: 'address'; address: string }
  | { kind: 'name'; host: string };

export const defaultResolver: HostResolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

/** Judges what can be judged from the URL: an IP address, a name that says what it is, the forge's own URL. */
export function screenUrl(ctx: TargetContext, url: URL): UrlScreen {
  const policy = ctx.pushTargets ?? DEFAULT_PUSH_TARGETS;
  const { host, literal } = hostOf(url);
  const port = portOf(url);
  const own = forgeByName(ctx, host, port) ?? (literal ? forgeByAddress(ctx, host, port) : undefined);
  if (own) return { kind: 'blocked', reason: own, forgeItself: true };
  if (literal) {
    const why = refusal(host, classifyAddress(host), policy);
    return why ? { kind: 'blocked', reason: why, forgeItself: false } : { kind: 'address', address: host };
  }
  const named = classifyHostName(host);
  const why = named && refusal(host, named, policy);
  return why ? { kind: 'blocked', reason: why, forgeItself: false } : { kind: 'name', host };
}

export interface PushTargetResolver {
  resolve(url: URL): Promise<PushTarget>;
}

/**
 * One per push worker. Lookups of one name that overlap share one answer (a fan-out to receivers
 * behind one name asks once); nothing else is cached, so each fan-out sees DNS as it is now.
 */
export function createPushTargetResolver(ctx: TargetContext): PushTargetResolver {
  const inFlight = new Map<string, Promise<readonly { address: string; family: number }[]>>();
  const publicAddresses = { host: '', until: 0, addresses: Promise.resolve([] as readonly string[]) };

  function lookUp(host: string) {
    let pending = inFlight.get(host);
    if (!pending) {
      pending = (ctx.pushTargets?.resolve ?? defaultResolver)(host);
      inFlight.set(host, pending);
      const forget = () => inFlight.delete(host);
      pending.then(forget, forget);
    }
    return pending;
  }

  /** The addresses the forge's public name resolves to, looked up at most once a minute. */
  function forgePublicAddresses(): Promise<readonly string[]> {
    const publicUrl = parsedPublicUrl(ctx);
    if (!publicUrl || hostOf(publicUrl).literal) return Promise.resolve([]);
    const { host } = hostOf(publicUrl);
    if (publicAddresses.host !== host || publicAddresses.until < Date.now()) {
      publicAddresses.host = host;
      publicAddresses.until = Date.now() + 60_000;
      publicAddresses.addresses = lookUp(host).then((found) => found.map((a) => a.address), () => []);
    }
    return publicAddresses.addresses;
  }

  return {
    async resolve(url) {
      const screened = screenUrl(ctx, url);
      if (screened.kind === 'blocked') return { kind: 'blocked', reason: screened.reason };
      const policy = ctx.pushTargets ?? DEFAULT_PUSH_TARGETS;
      const port = portOf(url);
      let found: readonly { address: string; family: number }[];
      if (screened.kind === 'address') {
        found = [{ address: screened.address, family: screened.address.includes(':') ? 6 : 4 }];
      } else {
        try {
          found = await lookUp(screened.host);
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          return { kind: 'unresolved', error: `${screened.host} did not resolve (${e.code ?? e.message})` };
        }
        if (found.length === 0) return { kind: 'unresolved', error: `${screened.host} resolved to no address` };
      }
      const named = screened.kind === 'name' ? ` (${screened.host})` : '';
      const publicUrl = parsedPublicUrl(ctx);
      const publicOnPort = publicUrl && portOf(publicUrl) === port ? await forgePublicAddresses() : [];
      for (const { address } of found) {
        const why = refusal(`${address}${named}`, classifyAddress(address), policy)
          ?? forgeByAddress(ctx, address, port)
          ?? (publicOnPort.some((a) => sameAddress(a, address)) ? `${address}:${port}${named} is the forge itself (its public URL)` : undefined);
        if (why) return { kind: 'blocked', reason: why };
      }
      return { kind: 'allowed', addresses: found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 })) };
    },
  };
}

/**
 * A `lookup` for http.request that answers the addresses already checked, so the connection goes
 * where the check said and nowhere else. All of them, so that Node still tries each family in
 * turn (`autoSelectFamily`) when a name has both. (Node does not call it for an IP address host.)
 */
export function pinnedLookup(addresses: readonly CheckedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
    const usable = family === 0 ? addresses : addresses.filter((a) => a.family === family);
    if (usable.length === 0) {
      callback(Object.assign(new Error(`no IPv${family} address among those checked`), { code: 'ENOTFOUND' }), '', 0);
      return;
    }
    if (options.all) callback(null, usable.map((a) => ({ address: a.address, family: a.family })));
    else callback(null, usable[0]!.address, usable[0]!.family);
  };
}

let lastPublic: { text: string; url: URL | undefined } = { text: '', url: undefined };

/** The forge's public URL, parsed once (this runs for every push). */
function parsedPublicUrl(ctx: TargetContext): URL | undefined {
  if (ctx.publicUrl !== lastPublic.text) {
    lastPublic = { text: ctx.publicUrl, url: ctx.publicUrl && URL.canParse(ctx.publicUrl) ? new URL(ctx.publicUrl) : undefined };
  }
  return lastPublic.url;
}

function forgeByName(ctx: TargetContext, host: string, port: number): string | undefined {
  const publicUrl = parsedPublicUrl(ctx);
  if (!publicUrl) return undefined;
  const bare = (h: string) => h.toLowerCase().replace(/\.$/, '');
  const own = hostOf(publicUrl);
  const same = own.literal ? sameAddress(own.host, host) : bare(own.host) === bare(host);
  return same && portOf(publicUrl) === port ? `${publicUrl.host} is the forge itself (its public URL)` : undefined;
}

function forgeByAddress(ctx: TargetContext, address: string, port: number): string | undefined {
  const listening = ctx.pushTargets?.listening;
  if (!listening || listening.port !== port) return undefined;
  const own = sameAddress(listening.address, address)
    || (isUnspecified(listening.address) && (isLoopback(address) || isUnspecified(address) || localAddresses().some((a) => sameAddress(a, address))));
  return own ? `${address}:${port} is the forge itself (the address it listens on)` : undefined;
}

let interfaces = { until: 0, addresses: [] as string[] };

/** This host's interface addresses, read at most every 10 s (they change rarely; the read is not free). */
function localAddresses(): string[] {
  if (interfaces.until < Date.now()) {
    const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
    interfaces = { until: Date.now() + 10_000, addresses };
  }
  return interfaces.addresses;
}
