// The HTTPS traffic listener: TLS in front of the same request path as the plain port. Built on node:http2's secure
// server with allowHTTP1, so one port can offer HTTP/1.1 and (by ALPN) HTTP/2; HTTP/1.1 requests and WebSocket
// upgrades arrive as node:http's own objects and take the plain listener's path unchanged.
import { createSecureServer, type Http2SecureServer, type SecureServerOptions } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { handleRequest, serveGatewayEvents, type GatewayServerDeps } from './gateway-server.ts';
import { listenerSettings } from './client-timeouts.ts';

export interface TlsListenerOptions {
  port: number;
  /** Certificates (or an SNICallback), client-certificate and protocol settings. */
  tls: SecureServerOptions;
}

export interface TlsGatewayServer {
  server: Http2SecureServer;
  /** Ends the TLS connections with no request in progress (a shutdown's idle sweep). */
  closeIdle(): void;
  /** Destroys every TLS connection still open (a shutdown's deadline). */
  closeAll(): void;
}

export function createTlsGatewayServer(deps: GatewayServerDeps, tls: SecureServerOptions): TlsGatewayServer {
  const server = createSecureServer(
    {
      ...listenerSettings(deps.clientTimeouts),
      ...tls,
      allowHTTP1: true,
      // HTTP/2 is offered once the request path handles its requests (issue 12 §2); until then ALPN picks HTTP/1.1.
      ALPNProtocols: ['http/1.1'],
    },
    (req, res) => handleRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse, deps),
  );
  serveGatewayEvents(server, deps);
  // node:http2's server keeps no list of its HTTP/1.1 connections to close at a deadline, so it is kept here.
  const sockets = new Set<TLSSocket>();
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    server,
    // Present at run time with allowHTTP1 (it closes the idle HTTP/1.1 keep-alive sockets); @types/node omits it.
    closeIdle: () => (server as unknown as { closeIdleConnections(): void }).closeIdleConnections(),
    closeAll: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}
