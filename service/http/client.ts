/**
 * Who is on the other end of a request: the client's address, and whether it reached us over
 * HTTPS. Forwarded headers (X-Forwarded-For, -Proto, -Host) are believed only from a peer inside
 * `--trusted-proxy` (issue 16, finding 7): one decision for the console's origin check, its
 * secure cookies and the per-address limits.
 */
import { BlockList, isIP } from 'node:net';
import type { Context } from 'hono';
import { KeyshareError, Codes } from '../errors.js';

export interface ClientView {
  /** The client's IP address; null when the request came without a socket (app.request in tests). */
  address: string | null;
  /** The scheme and host the browser used, e.g. `https://keyshare.acme.io`. */
  origin: string;
  https: boolean;
}

/** The peers (CIDRs or single addresses) whose forwarded headers are believed. */
export class TrustedProxies {
  private constructor(
    private readonly list: BlockList | null,
    readonly text: string[],
  ) {}

  static none(): TrustedProxies {
    return new TrustedProxies(null, []);
  }

  /** `10.0.0.0/8`, `127.0.0.1`, `::1/128`, ...; CONFIG_INVALID otherwise. */
  static parse(cidrs: readonly string[]): TrustedProxies {
    if (cidrs.length === 0) return TrustedProxies.none();
    const list = new BlockList();
    for (const cidr of cidrs) {
      const m = /^([^/\s]+)(?:\/(\d{1,3}))?$/.exec(cidr.trim());
      const family = m ? isIP(m[1]!) : 0;
      const max = family === 6 ? 128 : 32;
      const prefix = m?.[2] === undefined ? max : Number(m[2]);
      if (!m || family === 0 || prefix > max) throw new KeyshareError(Codes.CONFIG_INVALID, `trusted-proxy: ${JSON.stringify(cidr)} is not an IP address or CIDR`);
      list.addSubnet(m[1]!, prefix, family === 6 ? 'ipv6' : 'ipv4');
    }
    return new TrustedProxies(list, [...cidrs]);
  }

  trusts(address: string | null): boolean {
    if (!this.list || !address) return false;
    const plain = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
    const family = isIP(plain);
    return family !== 0 && this.list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  }
}

/** The socket's peer address (hono's node adapter puts the IncomingMessage in c.env). */
function peerAddress(c: Context): string | null {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? null;
}

const lastOf = (header: string | undefined) => header?.split(',').at(-1)?.trim() || undefined;

/**
 * The client as the trusted proxies report it. X-Forwarded-For is read right to left, skipping
 * trusted proxies: the first address that is not one of them is the client (an address a
 * client wrote itself sits further left and is never reached).
 */
export function clientOf(c: Context, proxies: TrustedProxies): ClientView {
  const url = new URL(c.req.url);
  const peer = peerAddress(c);
  if (!proxies.trusts(peer)) return { address: peer, origin: url.origin, https: url.protocol === 'https:' };
  let address = peer;
  const hops = (c.req.header('x-forwarded-for') ?? '').split(',').map((s) => s.trim()).filter((s) => isIP(s) !== 0);
  while (hops.length > 0) {
    address = hops.pop()!;
    if (!proxies.trusts(address)) break;
  }
  const proto = lastOf(c.req.header('x-forwarded-proto'))?.toLowerCase();
  const https = proto === 'https' || (proto === undefined && url.protocol === 'https:');
  const host = lastOf(c.req.header('x-forwarded-host')) ?? c.req.header('host') ?? url.host;
  let origin = url.origin;
  try {
    // URL drops a default port, as a browser's Origin header does.
    if (/^[A-Za-z0-9.:[\]-]+$/.test(host)) origin = new URL(`${https ? 'https' : 'http'}://${host}`).origin;
  } catch {
    // an unusable forwarded host: keep the request URL's origin
  }
  return { address, origin, https };
}
