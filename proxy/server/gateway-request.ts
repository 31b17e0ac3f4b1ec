// What the request path reads and writes of a client's request and response: no more than node:http's
// IncomingMessage/ServerResponse and node:http2's compatibility Http2ServerRequest/Http2ServerResponse both have, so
// one handleRequest serves HTTP/1.1 (plain and TLS) and HTTP/2 without casts. HTTP/2's differences are handled where
// they matter: http2-requests.ts (Host from :authority), upstream-request-headers.ts (pseudo-headers never forwarded),
// body-limit.ts (a body is announced by the stream, not by framing headers), error-response.ts (no Connection header).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** The connection a request arrived on (for HTTP/2, node:http2's proxy of the session's socket). */
export interface ClientSocket {
  readonly remoteAddress?: string | undefined;
  readonly destroyed: boolean;
  /** True on TLS sockets. */
  readonly encrypted?: boolean;
  /** The idle timeout set on it (ms), which a body timeout (client-timeouts.ts) may have set. */
  readonly timeout?: number | undefined;
}

export interface GatewayRequest {
  readonly headers: IncomingHttpHeaders;
  /** Header lines as received, names in their own case (the Host count is checked on them). */
  readonly rawHeaders: string[];
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  /** 1 or 2. */
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  readonly socket: ClientSocket;
  /** The whole body has been received (or the request was aborted). */
  readonly complete: boolean;
  readonly destroyed: boolean;
  /** HTTP/2 only: whether the HEADERS frame ended the stream, i.e. the request has no body. */
  readonly stream?: { readonly endAfterHeaders: boolean };
  iterator(options?: { destroyOnReturn?: boolean }): AsyncIterableIterator<unknown>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'end', listener: () => void): unknown;
  /** Idle timeout while the body arrives (client-timeouts.ts): HTTP/1.1 on the socket, HTTP/2 on the stream. */
  setTimeout(ms: number, callback?: () => void): unknown;
  destroy(err?: Error): unknown;
  /** Reading the whole body (request validation, proxy/validation/body-buffer.ts). */
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'end' | 'close', listener: () => void): unknown;
  pause(): unknown;
}

export interface GatewayResponse {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  /** The request it answers (the error answer reads its HTTP version). */
  readonly req: { readonly httpVersionMajor: number };
  /** A header every answer carries (CORS): merged into whatever writeHead is later given. */
  setHeader(name: string, value: string): unknown;
  writeHead(statusCode: number, headers?: OutgoingHttpHeaders): unknown;
  /** "100 Continue", once the request is admitted (expect-continue.ts). */
  writeContinue(): void;
  write(chunk: Buffer): boolean;
  /** Sent after the body: HTTP/2 as a trailing HEADERS frame, HTTP/1.1 only on a chunked response. */
  addTrailers(trailers: OutgoingHttpHeaders): void;
  end(): unknown;
  end(chunk: string): unknown;
  destroy(err?: Error): unknown;
  on(event: 'close' | 'drain' | 'error', listener: () => void): unknown;
  once(event: 'close' | 'drain', listener: () => void): unknown;
}
