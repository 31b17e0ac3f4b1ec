// A demo OpenID-style token issuer for `npm start` (loopback only, DEMO ONLY): a fresh ES256 key each start, its public
// JWKS at /.well-known/jwks.json (what the example JWT Authorizer fetches), and /token to mint a test token:
//   curl -s 'http://127.0.0.1:9103/token?sub=alice&scope=pets:read'
// Query parameters: sub (default "demo-user"), scope (space-separated), tenant (a custom claim), ttl (seconds, ≤ 3600).
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

export const DEMO_ISSUER_PORT = 9103;
export const DEMO_ISSUER = `http://127.0.0.1:${DEMO_ISSUER_PORT}`;
export const DEMO_AUDIENCE = 'petstore';

export async function startDemoIssuer(host = '127.0.0.1', port = DEMO_ISSUER_PORT): Promise<Server> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = `demo-${Date.now().toString(36)}`;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', DEMO_ISSUER);
    if (url.pathname === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
      res.end(jwks);
      return;
    }
    if (url.pathname === '/token') {
      const q = url.searchParams;
      const ttl = Math.min(Math.max(Number(q.get('ttl') ?? 600) || 600, 1), 3600);
      const claims: Record<string, string> = {};
      if (q.get('scope')) claims.scope = q.get('scope') as string;
      if (q.get('tenant')) claims.tenant = q.get('tenant') as string;
      void new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid })
        .setIssuer(DEMO_ISSUER)
        .setAudience(DEMO_AUDIENCE)
        .setSubject(q.get('sub') || 'demo-user')
        .setIssuedAt()
        .setExpirationTime(`${ttl}s`)
        .sign(privateKey)
        .then((token) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(`${token}\n`);
        });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}
