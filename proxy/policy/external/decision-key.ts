// The decision cache key: the route and every identity value, hashed. The route is part of it because an
// authorizer may allow a caller on one route and not another (AWS's identity-only key would let an allow for
// route A open route B); hashing keeps raw credentials out of memory as keys.
import { createHash } from 'node:crypto';

export function decisionKey(routeId: string, identity: readonly string[]): string {
  const hash = createHash('sha256');
  // Each part is prefixed by its byte length, so ("a:b", "c") and ("a", "b:c") can never produce the same input.
  hash.update(`${Buffer.byteLength(routeId)}:${routeId}`);
  for (const value of identity) hash.update(`${Buffer.byteLength(value)}:${value}`);
  return hash.digest('base64url');
}
