// CIDR text, shared by the ApiRoute schema and the proxy's --trusted-proxies flag (which must not load the CRD
// schemas to check one: a proxy never parses an ApiRoute).
import { isIP } from 'node:net';

/** "10.0.0.0/8", "2001:db8::/32": an address and a prefix length that fits it. */
export function isCidr(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 0) return false;
  const family = isIP(text.slice(0, slash));
  const bits = text.slice(slash + 1);
  return family !== 0 && /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}
