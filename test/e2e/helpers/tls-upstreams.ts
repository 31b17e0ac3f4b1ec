// A real https upstream on loopback for backend TLS tests: answers every request with what it saw of the TLS
// connection (the SNI name the client sent), echoes WebSocket messages, counts the TLS connections it accepted, and
// can switch to another certificate (for connections made after the switch).
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import type { TestCert } from '../../support/test-pki.ts';

export interface TlsUpstream {
  port: number;
  server: Server;
  /** SNI of every TLS connection accepted, in order (false: none was sent). */
  servernames: Array<string | false>;
  /** TCP connections accepted so far (handshakes attempted, whether or not the client then trusted them). */
  connections: () => number;
  /** Serve `cert` to new connections and close the open ones, so the next request handshakes again. */
  useCertificate: (cert: TestCert) => void;
  close: () => Promise<void>;
}

export interface TlsReply {
  servername: string | false;
  path: string;
  host: string | undefined;
}

export async function startTlsUpstream(cert: TestCert): Promise<TlsUpstream> {
  const servernames: Array<string | false> = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const reply: TlsReply = { servername: (req.socket as TLSSocket).servername ?? false, path: req.url ?? '/', host: req.headers.host };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
  });
  server.on('secureConnection', (s: TLSSocket) => {
    servernames.push(s.servername ?? false);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('connection', () => connections++);
  // A handshake the client aborted (a certificate it refused) is not the test's business.
  server.on('tlsClientError', () => {});
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    servernames,
    connections: () => connections,
    useCertificate: (next) => {
      server.setSecureContext({ cert: next.certPem, key: next.keyPem });
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
