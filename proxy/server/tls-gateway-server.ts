// The HTTPS traffic listener: TLS in front of the same request path as the plain port. Built on node:http2's secure
// server with allowHTTP1, so one port offers HTTP/2 and HTTP/1.1 by ALPN (docs/http2.md). HTTP/1.1 requests and
// WebSocket upgrades arrive as node:http's own objects and take the plain listener's path unchanged; HTTP/2 requests
// arrive as node:http2's compatibility objects, which the request path reads through the same narrow interface
// (gateway-request.ts), once their Host is set from :authority. Upstreams stay HTTP/1.1 (undici).
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type SecureServerOptions } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { handleRequest, serveGatewayEvents, type GatewayServerDeps } from './gateway-server.ts';
import { listenerSettings } from './client-timeouts.ts';
import type { TlsSettings } from '../tls/tls-settings.ts';
import { HTTP2_SESSION_OPTIONS, Http2Sessions, hostFromAuthority } from './http2-sessions.ts';

export interface TlsListenerOptions {
  port: number;
  /** Minimum version and ciphers (tls-settings.ts); the certificates come from the routing table, chosen by SNI. */
  settings?: TlsSettings;
}

export interface TlsGatewayServer {
  server: Http2SecureServer;
  /** Shutdown, phase 1: HTTP/2 sessions get GOAWAY (now, and new ones after their first request). */
  goAway(): void;
  /** Ends the TLS connections with no request in progress (a shutdown's idle sweep). */
  closeIdle(): void;
  /** Destroys every TLS connection still open (a shutdown's deadline). */
  closeAll(): void;
  /** Open HTTP/2 sessions. */
  http2Sessions(): number;
}

export function createTlsGatewayServer(deps: GatewayServerDeps, tls: SecureServerOptions): TlsGatewayServer {
  const sessions = new Http2Sessions();
  const server = createSecureServer(
    {
      ...listenerSettings(deps.clientTimeouts),
      ...HTTP2_SESSION_OPTIONS,
      ...tls,
      allowHTTP1: true,
      ALPNProtocols: ['h2', 'http/1.1'],
    },
    // With allowHTTP1 an HTTP/1.1 request arrives here as node:http's IncomingMessage (httpVersionMajor 1).
    (req: Http2ServerRequest, res: Http2ServerResponse) => {
      if (req.httpVersionMajor === 2) {
        hostFromAuthority(req.headers);
        sessions.requestOn(req.stream.session);
      }
      handleRequest(req, res, deps);
    },
  );
  server.on('session', sessions.add);
  // A session ended for a protocol violation (a rapid-reset flood, too many refused streams): the client's doing, so
  // debug, like the HTTP/1.1 parser errors.
  server.on('sessionError', (err: Error & { code?: string }) => deps.settings.logger.debug({ code: err.code, err: err.message }, 'http2 session error'));
  serveGatewayEvents(server, deps);
  // node:http2's server keeps no list of its HTTP/1.1 connections to close at a deadline, so it is kept here.
  const sockets = new Set<TLSSocket>();
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    server,
    goAway: () => sessions.goAway(),
    // Present at run time with allowHTTP1 (it closes the idle HTTP/1.1 keep-alive sockets); @types/node omits it.
    // Idle HTTP/2 sessions need no sweep: the listener's close() sent them GOAWAY, and they close once their streams end.
    closeIdle: () => (server as unknown as { closeIdleConnections(): void }).closeIdleConnections(),
    closeAll: () => {
      for (const socket of sockets) socket.destroy();
    },
    http2Sessions: () => sessions.size,
  };
}
