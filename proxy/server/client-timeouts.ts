// How long a client may take to send its request (`--client-header-timeout`, `--client-body-timeout`), against slow
// clients holding connections open (slowloris). Headers: Node's headersTimeout, from a request's first byte (or, for
// a connection's first request, from the connection's opening), swept every CHECK_INTERVAL_MS instead of Node's 30 s,
// so it fires within half a second of its setting. Body: nginx's client_body_timeout, the longest pause between two
// reads. Both are answered 408 (JSON) when no response has started, then the connection closes. docs/http-front-door.md.
import type { GatewayRequest } from './gateway-request.ts';

export interface ClientTimeouts {
  /** Headers of a request complete within this, ms. */
  headerMs: number;
  /** No pause in sending the body longer than this, ms; 0: none. */
  bodyMs: number;
}

/** nginx's client_header_timeout and client_body_timeout. */
export const DEFAULT_CLIENT_TIMEOUTS: ClientTimeouts = { headerMs: 60_000, bodyMs: 60_000 };

/** How often Node looks for requests past their header deadline: a C++ walk over the connections mid-request. */
const CHECK_INTERVAL_MS = 500;

/**
 * Connection settings of both traffic listeners (plain and TLS). `requireHostHeader: false`: an HTTP/1.1 request
 * without Host is refused by host-header.ts in the JSON shape, rather than by Node with an empty 400.
 */
export function listenerSettings(timeouts: ClientTimeouts) {
  return {
    keepAliveTimeout: 65_000,
    headersTimeout: timeouts.headerMs,
    requestTimeout: 0,
    connectionsCheckingInterval: CHECK_INTERVAL_MS,
    requireHostHeader: false,
  } as const;
}

/**
 * Runs `onTimeout` when the client, sending a body, pauses longer than `ms`. Node's socket idle timer does the
 * counting (refreshed by every read and write), so a steady upload costs no timer of its own. Disarmed when the body
 * ends, unless the response finished first and Node has put its keep-alive timer on the socket since.
 */
export function watchBodyTimeout(req: GatewayRequest, ms: number, onTimeout: () => void): void {
  if (ms === 0 || req.complete) return;
  req.setTimeout(ms, onTimeout);
  req.once('end', () => {
    if (req.socket?.timeout === ms) req.setTimeout(0);
  });
}
