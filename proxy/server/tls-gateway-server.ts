// The HTTPS traffic listener: TLS in front of the same request path as the plain port. Built on node:http2's secure
// server with allowHTTP1, so one port can offer HTTP/1.1 and (by ALPN) HTTP/2; HTTP/1.1 requests and WebSocket
// upgrades arrive as node:http's own objects and take the plain listener's path unchanged.
import { createSecureServer, type Http2SecureServer, type SecureServerOptions } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleRequest, LISTENER_SETTINGS, serveGatewayEvents, type GatewayServerDeps } from './gateway-server.ts';

/** `tls`: certificates (or an SNICallback), client-certificate and protocol settings. */
export function createTlsGatewayServer(deps: GatewayServerDeps, tls: SecureServerOptions): Http2SecureServer {
  const server = createSecureServer(
    {
      ...LISTENER_SETTINGS,
      ...tls,
      allowHTTP1: true,
      // HTTP/2 is offered once the request path handles its requests (issue 12 §2); until then ALPN picks HTTP/1.1.
      ALPNProtocols: ['http/1.1'],
    },
    (req, res) => handleRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse, deps),
  );
  serveGatewayEvents(server, deps);
  return server;
}
