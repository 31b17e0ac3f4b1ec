// X-Forwarded-For/Proto/Host: what the upstream needs to know about the client the gateway stands in for.
import type { GatewayRequest } from '../server/gateway-request.ts';
import type { HeaderBag } from './header-changes.ts';

/** The client's address as upstreams expect it: IPv4-mapped IPv6 ("::ffff:10.0.0.1") shown as plain IPv4. */
export function clientAddress(req: GatewayRequest): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * X-Forwarded-For gets the client appended (earlier hops are kept: whether to trust them is the upstream's call).
 * Proto and Host are the gateway's own view, replacing whatever the client claimed.
 */
export function setForwardedHeaders(out: HeaderBag, req: GatewayRequest): void {
  const ip = clientAddress(req);
  const prior = req.headers['x-forwarded-for'];
  if (ip !== '') out['x-forwarded-for'] = prior === undefined || prior === '' ? ip : `${prior}, ${ip}`;
  else if (prior !== undefined) out['x-forwarded-for'] = prior;
  out['x-forwarded-proto'] = req.socket.encrypted === true ? 'https' : 'http';
  const host = req.headers.host;
  if (host !== undefined) out['x-forwarded-host'] = host;
}
