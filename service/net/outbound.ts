/**
 * Issue 16, finding 9: which addresses the service itself may fetch from. `upstream add`,
 * `crl add --url` and their refreshers fetch URLs an admin gave; left open, they reach the
 * service's own loopback, the cloud metadata address (169.254.169.254) and the private network
 * behind it. By default every address a host name resolves to, and every redirect's, must be
 * public; `--allow-private-upstreams` lifts that (a site whose upstreams are on its own network).
 *
 * The check runs inside the connection's DNS lookup (net.connect `lookup`), so that the address
 * checked is the address connected to (no DNS rebinding between a check and a connect), and on
 * each hop's literal address, which node connects to without a lookup.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { KeyshareError, Codes } from '../errors.js';
import type { ConnectGuard } from '../../shared/http.js';

/** Ranges that are not the public internet: RFC 6890 special-purpose, loopback, link-local, private (RFC 1918, RFC 4193). */
const NOT_PUBLIC = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // RFC 1918
  ['100.64.0.0', 10], // RFC 6598 carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata services)
  ['172.16.0.0', 12], // RFC 1918
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // RFC 1918
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) NOT_PUBLIC.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // RFC 4193 unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['64:ff9b:1::', 48], // RFC 8215 local-use NAT64
] as const) NOT_PUBLIC.addSubnet(net, bits, 'ipv6');

/** Whether an IP address is loopback, link-local, private or otherwise not on the public internet. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return NOT_PUBLIC.check(address, 'ipv4');
  if (family !== 6) return true; // not an address: never allowed
  const lower = address.toLowerCase();
  // IPv4-mapped and -compatible IPv6 (::ffff:127.0.0.1) reach the IPv4 address they carry.
  const mapped = /^::(?:ffff:(?:0:)?)?(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return isPrivateAddress(mapped[1]!);
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const n = (parseInt(hex[1]!, 16) << 16) | parseInt(hex[2]!, 16);
    return isPrivateAddress([24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.'));
  }
  return NOT_PUBLIC.check(address, 'ipv6');
}

/** Whether the service may connect to `address` for `url` (the URL of the hop being fetched). */
export type AddressPolicy = (address: string, url: URL) => boolean;

/** The default: public addresses only. */
export const PUBLIC_ONLY: AddressPolicy = (address) => !isPrivateAddress(address);
/** `--allow-private-upstreams`: any address. */
export const ANY_ADDRESS: AddressPolicy = () => true;

export function addressPolicy(allowPrivate: boolean): AddressPolicy {
  return allowPrivate ? ANY_ADDRESS : PUBLIC_ONLY;
}

export const ADDRESS_NOT_ALLOWED = Codes.ADDRESS_NOT_ALLOWED;

function refused(url: URL, address: string): KeyshareError {
  return new KeyshareError(
    ADDRESS_NOT_ALLOWED,
    `${url.host} is ${address === url.hostname.replace(/^\[|\]$/g, '') ? '' : `at ${address}, `}a loopback, link-local or private address: the service fetches only from public addresses unless it runs with --allow-private-upstreams`,
  );
}

/** A host name resolver (dns.lookup with `all: true`); tests give a stub. */
export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

const systemResolve: Resolve = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/**
 * Refuses a URL whose host is, or resolves to, an address the policy does not allow (every
 * address it resolves to is checked). A name that does not resolve is left to the fetch.
 */
export async function checkUrlAddress(url: URL, policy: AddressPolicy, resolve: Resolve = systemResolve): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await resolve(host)).map((a) => a.address);
    } catch {
      return;
    }
  }
  const bad = addresses.find((a) => !policy(a, url));
  if (bad !== undefined) throw refused(url, bad);
}

/** What the HTTP transport (shared/http.ts) needs to guard one hop; both refuse with ADDRESS_NOT_ALLOWED. */
export type { ConnectGuard };

export function connectGuard(policy: AddressPolicy): ConnectGuard {
  return {
    check(url) {
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) && !policy(host, url)) throw refused(url, host);
    },
    lookup(url) {
      return (hostname: string, options: LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
        dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
          if (err) return callback(err, '');
          const bad = addresses.find((a) => !policy(a.address, url));
          if (bad) return callback(refused(url, bad.address) as unknown as NodeJS.ErrnoException, '');
          if (options.all) return callback(null, addresses);
          callback(null, addresses[0]!.address, addresses[0]!.family);
        });
      };
    },
  };
}

/** One guard per policy, so that kept-alive connections are never shared across policies. */
const guards = new WeakMap<AddressPolicy, ConnectGuard>();
export function guardFor(policy: AddressPolicy): ConnectGuard {
  let g = guards.get(policy);
  if (!g) guards.set(policy, (g = connectGuard(policy)));
  return g;
}
