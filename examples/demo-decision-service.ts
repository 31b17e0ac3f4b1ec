// A demo external authorizer for `npm start` (loopback only, DEMO ONLY), answering the gateway's decision requests
// the way a Lambda authorizer would: the caller named in X-Demo-User is allowed, with that name as the consumer and
// an X-User context header, unless it is "mallory" (403); no header never reaches it (the gateway answers 401 itself).
import { createServer, type Server } from 'node:http';

export const DEMO_DECISION_PORT = 9104;

export async function startDemoDecisionService(host = '127.0.0.1', port = DEMO_DECISION_PORT): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let user = '';
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { identity?: Record<string, string> };
        user = body.identity?.['header:x-demo-user'] ?? '';
      } catch {
        // A body we cannot read is a caller we do not know.
      }
      if (user === '' || user === 'mallory') {
        res.writeHead(403, { 'content-type': 'application/json' }).end('{"allow":false}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ allow: true, consumer: user, headers: { 'x-user': user }, ttl: 60 }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}
