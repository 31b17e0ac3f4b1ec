// HTTP/2 on the TLS listener: the limits each client session gets, the one thing its requests need before the shared
// request path reads them (a Host), and the sessions themselves, tracked so a shutdown can send them GOAWAY and idle
// ones are closed like idle HTTP/1.1 keep-alive connections.
import type { IncomingHttpHeaders } from 'node:http';
import type { Http2Session, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';

/** How long a session with no open stream stays open: the HTTP/1.1 listener's keep-alive timeout. */
export const HTTP2_IDLE_TIMEOUT_MS = 65_000;

/**
 * Session options of the TLS listener (docs/http2.md "Limits"). 100 concurrent streams per session, as nginx's
 * http2_max_concurrent_streams (128) and Envoy's edge recommendation (100); a client past it gets REFUSED_STREAM.
 * Rapid reset (CVE-2023-44487): nghttp2's RST_STREAM rate limit (a burst of 1000, then 33 a second) ends a session that
 * resets faster with GOAWAY(ENHANCE_YOUR_CALM); set here explicitly rather than left to the library's defaults.
 * Node also destroys a session after 100 refused streams (maxSessionRejectedStreams) or 1000 invalid frames.
 */
export const HTTP2_SESSION_OPTIONS = {
  settings: { maxConcurrentStreams: 100, enablePush: false },
  streamResetBurst: 1000,
  streamResetRate: 33,
  maxSessionRejectedStreams: 100,
  maxSessionInvalidFrames: 1000,
} as const;

/**
 * The Host the request path routes and forwards by. An HTTP/2 request names its target in `:authority` (curl, browsers
 * and h2load send no Host), and when both are present `:authority` is the one to use (RFC 9113 §8.3.1: a recipient
 * "MUST NOT use the Host header field to determine the target URI if :authority is present"). Pseudo-headers are
 * left in place (Node's compatibility request reads its method and url from them); they are never sent upstream.
 */
export function hostFromAuthority(headers: IncomingHttpHeaders): void {
  const authority = headers[':authority'];
  if (typeof authority === 'string') headers.host = authority;
}

interface SessionState {
  streams: number;
}

/** The listener's open HTTP/2 sessions. */
export class Http2Sessions {
  readonly #open = new Map<ServerHttp2Session, SessionState>();
  #goingAway = false;

  /** Called for each new session ('session' event). */
  readonly add = (session: ServerHttp2Session): void => {
    const state: SessionState = { streams: 0 };
    this.#open.set(session, state);
    session.once('close', () => this.#open.delete(session));
    session.on('stream', (stream: ServerHttp2Stream) => {
      state.streams++;
      stream.once('close', () => state.streams--);
    });
    // Fires after this long without a frame either way; a session waiting on a slow upstream is left alone.
    session.setTimeout(HTTP2_IDLE_TIMEOUT_MS, () => {
      if (state.streams === 0) session.close();
    });
  };

  /**
   * Shutdown (failReadiness): every open session gets GOAWAY, so its client opens its next request elsewhere (through
   * its balancer) while the streams in flight finish; sessions opened from now on get it once their first request is
   * answered — HTTP/2's counterpart of the Connection: close every HTTP/1.1 response gets then.
   */
  goAway(): void {
    this.#goingAway = true;
    for (const session of this.#open.keys()) session.close();
  }

  /** A request on `session` arrived; after goAway, its session is told to go away (its streams still finish). */
  requestOn(session: Http2Session | undefined): void {
    if (this.#goingAway && session !== undefined && !session.closed) session.close();
  }

  get size(): number {
    return this.#open.size;
  }
}
