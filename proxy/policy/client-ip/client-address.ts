// The client's address, for IP rules, authorizers and (later) rate-limit keys: the socket's peer, unless that peer is
// a proxy the operator trusts (--trusted-proxies), in which case X-Forwarded-For is read from the right, skipping
// trusted hops, and the first address a trusted hop did not itself add is the client. A header from an untrusted
// peer is never believed.
import type { GatewayRequest } from '../../server/gateway-request.ts';
import { BlockList, isIP } from 'node:net';

export class ClientAddresses {
  readonly #trusted: BlockList | null;

  /** `trustedCidrs`: proxies in front of the gateway (load balancers, ingress) whose X-Forwarded-For is believed. */
  constructor(trustedCidrs: readonly string[]) {
    this.#trusted = trustedCidrs.length === 0 ? null : cidrList(trustedCidrs);
  }

  /** Whether the socket's peer is one of the trusted proxies (whose Forwarded and X-Real-IP are passed on). */
  trustsPeer(req: Pick<GatewayRequest, 'socket'>): boolean {
    const trusted = this.#trusted;
    return trusted !== null && contains(trusted, plainAddress(req.socket.remoteAddress ?? ''));
  }

  of(req: Pick<GatewayRequest, 'headers' | 'socket'>): string {
    const peer = plainAddress(req.socket.remoteAddress ?? '');
    const trusted = this.#trusted;
    if (trusted === null || !contains(trusted, peer)) return peer;
    const header = req.headers['x-forwarded-for'];
    if (header === undefined) return peer;
    const hops = (Array.isArray(header) ? header.join(',') : header).split(',');
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = plainAddress((hops[i] as string).trim());
      // Garbage from a trusted hop's upstream is not an address: the last address we could vouch for stands.
      if (isIP(hop) === 0) return client;
      client = hop;
      if (!contains(trusted, hop)) return hop;
    }
    return client;
  }
}

/** A BlockList of CIDRs ("10.0.0.0/8", "2001:db8::/32"); each was validated by the compiler or the flag parser. */
export function cidrList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const slash = cidr.indexOf('/');
    const address = cidr.slice(0, slash);
    list.addSubnet(address, Number(cidr.slice(slash + 1)), isIP(address) === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

export function contains(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** "::ffff:10.1.2.3" (an IPv4 client on a dual-stack socket) → "10.1.2.3", so IPv4 rules apply to it. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
